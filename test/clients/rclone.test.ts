// rclone (Debian's 1.60.1, /usr/bin/rclone) against a real server, configured the way a new user
// sets up an S3-compatible remote: provider "Other", endpoint, key pair and region, nothing else.
// One workflow, in order: make a bucket, upload (single-part and multipart), list a folder,
// sync a 1,000-file tree twice, download, presign, delete.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
} from "@aws-sdk/client-s3";
import { getBody, listAll, MiB, multipartEtag, readTree, rewrittenKeys, tamperedSignature, treePath } from "../helpers/client-workflow.js";
import { startTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";

const execFileAsync = promisify(execFile);
const BUCKET = "rclone-workflow";
const TREE_FILES = 1000;

/** rclone -v's per-file report of a sync: which paths it copied and which it deleted. */
function syncReport(log: string): { copied: string[]; deleted: string[] } {
  const copied: string[] = [];
  const deleted: string[] = [];
  for (const line of log.split("\n")) {
    const m = /INFO {2}: (.+): (Copied \((?:new|replaced existing)\)|Deleted)$/.exec(line);
    if (!m) continue;
    (m[2] === "Deleted" ? deleted : copied).push(m[1]);
  }
  return { copied: copied.sort(), deleted: deleted.sort() };
}

describe("rclone against Stocktake", () => {
  let server: TestServer;
  let work: string;
  let configFile: string;
  let env: NodeJS.ProcessEnv;
  const small = Buffer.from("a small file uploaded by rclone\n");
  const big = randomBytes(12 * MiB + 12_345);
  const tree = () => join(work, "tree");

  /** Runs rclone; a run that succeeds must also not have logged an error or a retry on the way. */
  const rclone = async (...args: string[]) => {
    const result = await execFileAsync("/usr/bin/rclone", ["--config", configFile, ...args], {
      env,
      timeout: 60_000,
      maxBuffer: 64 * MiB,
    });
    assert.doesNotMatch(result.stderr, /\bERROR\b|retry|Failed/i, `rclone ${args.join(" ")} logged trouble`);
    return result;
  };

  before(async () => {
    server = await startTestServer();
    work = mkdtempSync(join(tmpdir(), "stocktake-rclone-"));
    configFile = join(work, "rclone.conf");
    // What `rclone config` writes for "Any other S3 compatible provider" with keys typed in.
    writeFileSync(
      configFile,
      [
        "[stocktake]",
        "type = s3",
        "provider = Other",
        "env_auth = false",
        `access_key_id = ${TEST_ACCESS_KEY}`,
        `secret_access_key = ${TEST_SECRET_KEY}`,
        "region = us-east-1",
        `endpoint = ${server.url}`,
        "",
      ].join("\n"),
    );
    // The test machine exports AWS_CA_BUNDLE, which rclone 1.60's AWS SDK cannot apply to its own
    // HTTP transport ("LoadCustomCABundleError: unsupported transport"), so no AWS_* or RCLONE_*
    // variable reaches it; HOME and XDG_* point into the temp dir so nothing of the user's is read
    // or written.
    env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(AWS_|RCLONE_|XDG_)/.test(k)));
    env.HOME = work;
    env.XDG_CONFIG_HOME = join(work, ".config");
    env.XDG_CACHE_HOME = join(work, ".cache");
  });

  after(async () => {
    if (work) rmSync(work, { recursive: true, force: true });
    await server?.stop();
  });

  it("rclone makes a bucket", async () => {
    await rclone("mkdir", `stocktake:${BUCKET}`);
    await server.client.send(new HeadBucketCommand({ Bucket: BUCKET }));
    const { stdout } = await rclone("lsf", "stocktake:");
    assert.deepEqual(stdout.split("\n").filter(Boolean), [`${BUCKET}/`]);
  });

  it("rclone uploads a small file in one PUT and a 12 MiB file as a 3-part multipart upload", async () => {
    writeFileSync(join(work, "readme.txt"), small);
    writeFileSync(join(work, "big.bin"), big);
    await rclone("copyto", join(work, "readme.txt"), `stocktake:${BUCKET}/docs/readme.txt`);
    // rclone's default upload cutoff is 200 MiB; its own flags lower it so a 12 MiB file goes
    // multipart in 5 MiB chunks without the test writing 200 MiB.
    await rclone(
      "copyto",
      join(work, "big.bin"),
      `stocktake:${BUCKET}/docs/archive/big.bin`,
      "--s3-upload-cutoff",
      "5M",
      "--s3-chunk-size",
      "5M",
    );

    const smallHead = await server.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "docs/readme.txt" }));
    assert.equal(smallHead.ETag, `"${createHash("md5").update(small).digest("hex")}"`);
    assert.equal(smallHead.ContentLength, small.length);
    assert.deepEqual(await getBody(server.client, BUCKET, "docs/readme.txt"), small);

    const bigHead = await server.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "docs/archive/big.bin" }));
    assert.equal(bigHead.ETag, multipartEtag(big, 5 * MiB));
    assert.match(bigHead.ETag!, /-3"$/);
    assert.equal(bigHead.ContentLength, big.length);
    // rclone keeps the whole file's MD5 in metadata since a multipart ETag is not one.
    assert.equal(bigHead.Metadata?.md5chksum, createHash("md5").update(big).digest("base64"));
    const uploads = await server.client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
    assert.equal(uploads.Uploads?.length ?? 0, 0, "no multipart upload is left open");
  });

  it("rclone lists a folder with a delimiter and shows its subfolder and its file", async () => {
    const files = await rclone("lsf", `stocktake:${BUCKET}/docs`, "--dump", "headers");
    assert.deepEqual(files.stdout.split("\n").filter(Boolean), ["archive/", "readme.txt"]);
    // The listing is one delimited request for the folder, not a recursive walk.
    assert.match(files.stderr, /GET \/rclone-workflow\?delimiter=%2F&max-keys=1000&prefix=docs%2F HTTP\/1\.1/);
    assert.doesNotMatch(files.stderr, /GET \/rclone-workflow\?(?![^ ]*delimiter)/);

    const dirs = await rclone("lsd", `stocktake:${BUCKET}/docs`);
    assert.deepEqual(
      dirs.stdout.split("\n").filter(Boolean).map((line) => line.trim().split(/\s+/).pop()),
      ["archive"],
    );
    const sized = await rclone("lsf", `stocktake:${BUCKET}/docs`, "--files-only", "--format", "sp");
    assert.deepEqual(sized.stdout.split("\n").filter(Boolean), [`${small.length};readme.txt`]);
    const top = await rclone("lsf", `stocktake:${BUCKET}`);
    assert.deepEqual(top.stdout.split("\n").filter(Boolean), ["docs/"]);
    const inner = await rclone("lsf", `stocktake:${BUCKET}/docs/archive`, "--format", "sp");
    assert.deepEqual(inner.stdout.split("\n").filter(Boolean), [`${big.length};big.bin`]);
  });

  it("rclone syncs 1,000 files and a second sync sends only what changed", async () => {
    for (let i = 0; i < TREE_FILES; i++) {
      const path = join(tree(), treePath(i));
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, `file ${i}\n`.repeat((i % 13) + 1));
    }
    const first = await rclone("sync", tree(), `stocktake:${BUCKET}/tree`, "-v");
    const firstReport = syncReport(first.stderr);
    assert.equal(firstReport.copied.length, TREE_FILES);
    assert.deepEqual(firstReport.deleted, []);

    const before = await listAll(server.client, BUCKET, "tree/");
    assert.equal(before.size, TREE_FILES);
    assert.deepEqual([...before.keys()].sort(), [...readTree(tree()).keys()].map((p) => `tree/${p}`).sort());

    const changed = [0, 1, 503].map(treePath);
    const removed = [2, 5, 999].map(treePath);
    const added = ["set0/new-folder/added.txt"];
    for (const p of changed) writeFileSync(join(tree(), p), `changed content for ${p}, longer than before\n`);
    for (const p of removed) rmSync(join(tree(), p));
    mkdirSync(join(tree(), "set0/new-folder"));
    writeFileSync(join(tree(), added[0]), "a file that appeared between syncs\n");
    // Object times may have a one-second grain: a rewrite of an unchanged file must not land in
    // the same second as the first sync, or the comparison below could not see it.
    await sleep(1100);

    const second = await rclone("sync", tree(), `stocktake:${BUCKET}/tree`, "-v");
    const secondReport = syncReport(second.stderr);
    assert.deepEqual(secondReport.copied, [...changed, ...added].sort());
    assert.deepEqual(secondReport.deleted, [...removed].sort());

    // The server's view agrees: only those keys differ, the rest were not rewritten.
    const afterSync = await listAll(server.client, BUCKET, "tree/");
    assert.equal(afterSync.size, TREE_FILES - removed.length + added.length);
    for (const p of removed) assert.ok(!afterSync.has(`tree/${p}`), `${p} was deleted`);
    const rewritten = rewrittenKeys(before, afterSync, "tree/");
    assert.deepEqual(rewritten, [...changed, ...added].sort());
    for (const p of [...changed, ...added]) {
      assert.deepEqual(await getBody(server.client, BUCKET, `tree/${p}`), readFileSync(join(tree(), p)));
    }
  });

  it("rclone downloads a file and the synced tree byte for byte", async () => {
    const down = join(work, "download");
    await rclone("copyto", `stocktake:${BUCKET}/docs/archive/big.bin`, join(down, "big.bin"));
    assert.ok(readFileSync(join(down, "big.bin")).equals(big), "the multipart object comes back intact");

    await rclone("copy", `stocktake:${BUCKET}/tree`, join(down, "tree"));
    const original = readTree(tree());
    const downloaded = readTree(join(down, "tree"));
    assert.equal(downloaded.size, TREE_FILES - 3 + 1);
    assert.deepEqual([...downloaded.keys()].sort(), [...original.keys()].sort());
    for (const [path, bytes] of original) assert.ok(downloaded.get(path)!.equals(bytes), `${path} matches`);
  });

  it("rclone link gives a presigned URL that plain fetch can read", async () => {
    // rclone 1.60 supports `link` on S3: a SigV4 query-string presign.
    const { stdout } = await rclone("link", `stocktake:${BUCKET}/docs/readme.txt`, "--expire", "10m");
    const url = new URL(stdout.trim());
    assert.equal(url.origin, server.url);
    assert.equal(url.pathname, `/${BUCKET}/docs/readme.txt`);
    assert.equal(url.searchParams.get("X-Amz-Algorithm"), "AWS4-HMAC-SHA256");
    assert.equal(url.searchParams.get("X-Amz-Expires"), "600");

    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), small);

    // The body came from the signature, not from the object being public.
    const refused = await fetch(tamperedSignature(url));
    assert.equal(refused.status, 403);
    await refused.arrayBuffer();
  });

  it("rclone deletes one object, the whole synced tree, and then the empty bucket", async () => {
    await rclone("deletefile", `stocktake:${BUCKET}/docs/readme.txt`);
    assert.deepEqual([...(await listAll(server.client, BUCKET, "docs/")).keys()], ["docs/archive/big.bin"]);

    await rclone("purge", `stocktake:${BUCKET}/tree`);
    assert.equal((await listAll(server.client, BUCKET, "tree/")).size, 0);

    // A bucket that still holds an object is refused, as S3 does.
    const notEmpty = await rclone("rmdir", `stocktake:${BUCKET}`).then(
      () => "",
      (e: { stderr: string }) => e.stderr,
    );
    assert.match(notEmpty, /BucketNotEmpty/);

    await rclone("deletefile", `stocktake:${BUCKET}/docs/archive/big.bin`);
    assert.equal((await listAll(server.client, BUCKET, "")).size, 0);
    await rclone("rmdir", `stocktake:${BUCKET}`);

    await assert.rejects(
      server.client.send(new HeadBucketCommand({ Bucket: BUCKET })),
      (e: { $metadata?: { httpStatusCode?: number } }) => {
        assert.equal(e.$metadata?.httpStatusCode, 404);
        return true;
      },
    );
    const buckets = await server.client.send(new ListBucketsCommand({}));
    assert.deepEqual(buckets.Buckets ?? [], []);
    const { stdout } = await rclone("lsf", "stocktake:");
    assert.equal(stdout, "");
  });
});
