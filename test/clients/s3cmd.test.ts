// s3cmd (Debian's 2.3.0, /usr/bin/s3cmd) against a real server, configured the way a new user
// points it at an S3-compatible endpoint: keys, host_base/host_bucket, region, plain HTTP and
// SigV4; every other setting left at its default. One workflow, in order: make a bucket, upload
// (single-part and multipart), list a folder, sync a 1,000-file tree twice, download, presign,
// delete.
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
const BUCKET = "s3cmd-workflow";
const TREE_FILES = 1000;
/** s3cmd's default multipart_chunk_size_mb. */
const S3CMD_CHUNK = 15 * MiB;

/** s3cmd sync's per-file report: the keys under s3://BUCKET/tree/ it uploaded and deleted. */
function syncReport(out: string): { uploaded: string[]; deleted: string[] } {
  const prefix = `s3://${BUCKET}/tree/`;
  const uploaded: string[] = [];
  const deleted: string[] = [];
  for (const line of out.split("\n")) {
    const up = /^upload: '[^']*' -> '([^']*)'/.exec(line);
    if (up) uploaded.push(up[1].slice(prefix.length));
    const del = /^delete: '([^']*)'$/.exec(line);
    if (del) deleted.push(del[1].slice(prefix.length));
  }
  return { uploaded: uploaded.sort(), deleted: deleted.sort() };
}

/** `s3cmd ls` lines as [size or "DIR", uri]. */
function lsEntries(out: string): Array<[string, string]> {
  return out
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const parts = line.trim().split(/\s+/);
      return [parts[parts.length - 2], parts[parts.length - 1]];
    });
}

describe("s3cmd against Stocktake", () => {
  let server: TestServer;
  let work: string;
  let configFile: string;
  let env: NodeJS.ProcessEnv;
  const small = Buffer.from("a small file uploaded by s3cmd\n");
  // Over s3cmd's 15 MiB default chunk size, so a plain `put` goes multipart in two parts.
  const big = randomBytes(20 * MiB + 777);
  const tree = () => join(work, "tree");

  /** Runs s3cmd; a run that succeeds must also not have warned (retries, MD5 mismatches) on the way. */
  const s3cmd = async (...args: string[]) => {
    const result = await execFileAsync("/usr/bin/s3cmd", ["-c", configFile, ...args], {
      env,
      timeout: 60_000,
      maxBuffer: 64 * MiB,
    });
    assert.doesNotMatch(result.stderr, /WARNING|ERROR/, `s3cmd ${args.join(" ")} warned`);
    return result;
  };

  before(async () => {
    server = await startTestServer();
    work = mkdtempSync(join(tmpdir(), "stocktake-s3cmd-"));
    configFile = join(work, "s3cfg");
    const hostPort = new URL(server.url).host;
    writeFileSync(
      configFile,
      [
        "[default]",
        `access_key = ${TEST_ACCESS_KEY}`,
        `secret_key = ${TEST_SECRET_KEY}`,
        "bucket_location = us-east-1",
        `host_base = ${hostPort}`,
        // No %(bucket)s: path-style requests, as for most S3-compatible servers.
        `host_bucket = ${hostPort}`,
        "use_https = False",
        "signature_v2 = False",
        "",
      ].join("\n"),
    );
    // No AWS_* variable (s3cmd falls back to them for missing keys), and HOME in the temp dir so
    // the user's ~/.s3cfg is never read or written.
    env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("AWS_")));
    env.HOME = work;
  });

  after(async () => {
    if (work) rmSync(work, { recursive: true, force: true });
    await server?.stop();
  });

  it("s3cmd makes a bucket", async () => {
    const { stdout } = await s3cmd("mb", `s3://${BUCKET}`);
    assert.equal(stdout.trim(), `Bucket 's3://${BUCKET}/' created`);
    await server.client.send(new HeadBucketCommand({ Bucket: BUCKET }));
    const ls = await s3cmd("ls");
    assert.deepEqual(lsEntries(ls.stdout).map(([, uri]) => uri), [`s3://${BUCKET}`]);
  });

  it("s3cmd uploads a small file in one PUT and a 20 MiB file as a 2-part multipart upload by default", async () => {
    writeFileSync(join(work, "readme.txt"), small);
    writeFileSync(join(work, "big.bin"), big);
    await s3cmd("put", join(work, "readme.txt"), `s3://${BUCKET}/docs/readme.txt`);
    await s3cmd("put", join(work, "big.bin"), `s3://${BUCKET}/docs/archive/big.bin`);

    const smallHead = await server.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "docs/readme.txt" }));
    assert.equal(smallHead.ETag, `"${createHash("md5").update(small).digest("hex")}"`);
    assert.equal(smallHead.ContentLength, small.length);
    assert.deepEqual(await getBody(server.client, BUCKET, "docs/readme.txt"), small);

    const bigHead = await server.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "docs/archive/big.bin" }));
    assert.equal(bigHead.ETag, multipartEtag(big, S3CMD_CHUNK));
    assert.match(bigHead.ETag!, /-2"$/);
    assert.equal(bigHead.ContentLength, big.length);
    // s3cmd records the whole file's MD5 in its attrs header, since a multipart ETag is not one.
    assert.match(bigHead.Metadata?.["s3cmd-attrs"] ?? "", new RegExp(`md5:${createHash("md5").update(big).digest("hex")}`));
    const uploads = await server.client.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
    assert.equal(uploads.Uploads?.length ?? 0, 0, "no multipart upload is left open");
  });

  it("s3cmd ls of a folder shows its subfolder as DIR and its file with its size", async () => {
    const docs = await s3cmd("ls", `s3://${BUCKET}/docs/`, "--debug");
    assert.deepEqual(lsEntries(docs.stdout), [
      ["DIR", `s3://${BUCKET}/docs/archive/`],
      [String(small.length), `s3://${BUCKET}/docs/readme.txt`],
    ]);
    // One delimited request for the folder, not a recursive walk.
    assert.match(docs.stderr, /uri='\/s3cmd-workflow\/\?delimiter=%2F&prefix=docs%2F'/);

    const top = await s3cmd("ls", `s3://${BUCKET}/`);
    assert.deepEqual(lsEntries(top.stdout), [["DIR", `s3://${BUCKET}/docs/`]]);
    const archive = await s3cmd("ls", `s3://${BUCKET}/docs/archive/`);
    assert.deepEqual(lsEntries(archive.stdout), [[String(big.length), `s3://${BUCKET}/docs/archive/big.bin`]]);
  });

  it("s3cmd syncs 1,000 files and a second sync --delete-removed sends only what changed", async () => {
    for (let i = 0; i < TREE_FILES; i++) {
      const path = join(tree(), treePath(i));
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, `file ${i}\n`.repeat((i % 13) + 1));
    }
    const first = await s3cmd("sync", `${tree()}/`, `s3://${BUCKET}/tree/`);
    const firstReport = syncReport(first.stdout);
    assert.equal(firstReport.uploaded.length, TREE_FILES);
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

    const second = await s3cmd("sync", "--delete-removed", `${tree()}/`, `s3://${BUCKET}/tree/`);
    const secondReport = syncReport(second.stdout);
    assert.deepEqual(secondReport.uploaded, [...changed, ...added].sort());
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

  it("s3cmd downloads a file and the synced tree byte for byte", async () => {
    const down = join(work, "download");
    mkdirSync(down);
    await s3cmd("get", `s3://${BUCKET}/docs/archive/big.bin`, join(down, "big.bin"));
    assert.ok(readFileSync(join(down, "big.bin")).equals(big), "the multipart object comes back intact");

    await s3cmd("sync", `s3://${BUCKET}/tree/`, `${join(down, "tree")}/`);
    const original = readTree(tree());
    const downloaded = readTree(join(down, "tree"));
    assert.equal(downloaded.size, TREE_FILES - 3 + 1);
    assert.deepEqual([...downloaded.keys()].sort(), [...original.keys()].sort());
    for (const [path, bytes] of original) assert.ok(downloaded.get(path)!.equals(bytes), `${path} matches`);
  });

  it("s3cmd signurl gives a presigned URL that plain fetch can read", async () => {
    const { stdout } = await s3cmd("signurl", `s3://${BUCKET}/docs/readme.txt`, "+600");
    const url = new URL(stdout.trim());
    assert.equal(url.origin, server.url);
    assert.equal(url.pathname, `/${BUCKET}/docs/readme.txt`);
    // s3cmd 2.3.0 presigns with SigV2 query parameters whatever signature_v2 says.
    assert.equal(url.searchParams.get("AWSAccessKeyId"), TEST_ACCESS_KEY);
    const expires = Number(url.searchParams.get("Expires"));
    assert.ok(Math.abs(expires - (Date.now() / 1000 + 600)) < 30, `expires about 600 s from now (${expires})`);

    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), small);

    // The body came from the signature, not from the object being public.
    const refused = await fetch(tamperedSignature(url));
    assert.equal(refused.status, 403);
    await refused.arrayBuffer();
  });

  it("s3cmd deletes one object, the whole synced tree, and then the empty bucket", async () => {
    const single = await s3cmd("rm", `s3://${BUCKET}/docs/readme.txt`);
    assert.equal(single.stdout.trim(), `delete: 's3://${BUCKET}/docs/readme.txt'`);
    assert.deepEqual([...(await listAll(server.client, BUCKET, "docs/")).keys()], ["docs/archive/big.bin"]);

    const recursive = await s3cmd("rm", "--recursive", `s3://${BUCKET}/tree/`);
    assert.equal(recursive.stdout.split("\n").filter((l) => l.startsWith("delete: ")).length, TREE_FILES - 3 + 1);
    assert.equal((await listAll(server.client, BUCKET, "tree/")).size, 0);

    // A bucket that still holds an object is refused, as S3 does.
    const notEmpty = await s3cmd("rb", `s3://${BUCKET}`).then(
      () => "",
      (e: { stderr: string }) => e.stderr,
    );
    assert.match(notEmpty, /409 \(BucketNotEmpty\)/);

    await s3cmd("rm", `s3://${BUCKET}/docs/archive/big.bin`);
    const { stdout } = await s3cmd("rb", `s3://${BUCKET}`);
    assert.equal(stdout.trim(), `Bucket 's3://${BUCKET}/' removed`);

    await assert.rejects(
      server.client.send(new HeadBucketCommand({ Bucket: BUCKET })),
      (e: { $metadata?: { httpStatusCode?: number } }) => {
        assert.equal(e.$metadata?.httpStatusCode, 404);
        return true;
      },
    );
    const buckets = await server.client.send(new ListBucketsCommand({}));
    assert.deepEqual(buckets.Buckets ?? [], []);
    assert.equal((await s3cmd("ls")).stdout, "");
  });
});
