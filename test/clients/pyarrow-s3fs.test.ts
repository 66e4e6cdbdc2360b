// pyarrow's S3FileSystem (Arrow's C++ S3 filesystem, on the AWS SDK for C++) against a real
// Stocktake server, configured as a new user configures it: endpoint, scheme, credentials and
// region, plus the two bucket switches pyarrow needs before it will create or delete a bucket
// (see test/clients/pyarrow_s3fs.py). One workflow, in order, each step a run of that script:
// bucket, uploads (a streamed 12 MiB object, a Parquet dataset), a non-recursive listing, a
// 1,000-file copy_files "sync", downloads (stream, seek and read, copy_files back, read_table),
// deletes. pyarrow has no presigned URLs, so there is no presign step.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, HeadBucketCommand, HeadObjectCommand, paginateListObjectsV2 } from "@aws-sdk/client-s3";
import { startTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import { rejectsWith } from "../helpers/errors.js";

const run = promisify(execFile);
const MiB = 1024 * 1024;
const BUCKET = "pyarrow-workflow";
const SMALL_BODY = "hello from pyarrow\n";
const BIG_SIZE = 12 * MiB;
const TREE_DIRS = 10;
const TREE_FILES_PER_DIR = 100;

function sha256(data: Buffer | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function md5(data: Buffer): Buffer {
  return createHash("md5").update(data).digest();
}

/** Deterministic, incompressible-looking bytes, so a misplaced range or part shows as a mismatch. */
function patternBytes(size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash("sha256").update("pyarrow").digest();
  for (let offset = 0; offset < size; offset += block.length) {
    block.copy(out, offset);
    block = createHash("sha256").update(block).digest();
  }
  return out;
}

const dirName = (d: number) => `d${String(d).padStart(2, "0")}`;

function treeFiles(): string[] {
  const files: string[] = [];
  for (let d = 0; d < TREE_DIRS; d++) {
    for (let f = 0; f < TREE_FILES_PER_DIR; f++) files.push(`${dirName(d)}/f${String(f).padStart(3, "0")}.txt`);
  }
  return files;
}

function treeBody(relative: string): string {
  return `contents of ${relative}\n`;
}

interface Entry {
  path: string;
  type: "File" | "Directory" | "NotFound";
  size?: number;
}

describe("pyarrow S3FileSystem with default settings", () => {
  let server: TestServer;
  let work: string;
  let env: NodeJS.ProcessEnv;
  const big = patternBytes(BIG_SIZE);
  const relativeTree = treeFiles();

  /** Runs one step of test/clients/pyarrow_s3fs.py and returns what pyarrow reported. */
  async function step(name: string): Promise<unknown> {
    const { stdout } = await run("python3", ["test/clients/pyarrow_s3fs.py", name, BUCKET, work], {
      env,
      timeout: 60_000,
      maxBuffer: 16 * MiB,
    });
    return JSON.parse(stdout.trim().split("\n").at(-1)!);
  }

  before(async () => {
    server = await startTestServer();
    work = mkdtempSync(join(tmpdir(), "stocktake-pyarrow-"));
    env = {
      ...process.env,
      STOCKTAKE_URL: server.url,
      AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY,
      AWS_SECRET_ACCESS_KEY: TEST_SECRET_KEY,
      // Keeps the AWS SDK for C++ from reading the user's ~/.aws or asking EC2 metadata for a region.
      AWS_CONFIG_FILE: join(work, "aws-config"),
      AWS_SHARED_CREDENTIALS_FILE: join(work, "aws-credentials"),
      AWS_EC2_METADATA_DISABLED: "true",
    };
    writeFileSync(join(work, "small.txt"), SMALL_BODY);
    writeFileSync(join(work, "big.bin"), big);
    for (let d = 0; d < TREE_DIRS; d++) mkdirSync(join(work, "tree", dirName(d)), { recursive: true });
    for (const relative of relativeTree) writeFileSync(join(work, "tree", relative), treeBody(relative));
  });
  after(async () => {
    rmSync(work, { recursive: true, force: true });
    await server.stop();
  });

  it("create_dir on a bucket name creates the bucket, and on a path inside it a folder", async () => {
    assert.deepEqual(await step("create-bucket"), { bucket: "Directory", folder: "Directory" });
    const head = await server.client.send(new HeadBucketCommand({ Bucket: BUCKET }));
    assert.equal(head.$metadata.httpStatusCode, 200);
    // S3 has no folders: pyarrow keeps an empty one as a zero-byte "name/" object.
    const marker = await server.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "empty-folder/" }));
    assert.equal(marker.ContentLength, 0);
  });

  it("open_output_stream uploads through multipart uploads: one part for a small file, two for 12 MiB", async () => {
    assert.deepEqual(await step("upload"), {});

    // pyarrow starts a multipart upload when the stream opens (its allow_delayed_open is False
    // by default), so even five bytes arrive as a one-part upload.
    const small = await server.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "small.txt" }));
    assert.equal(small.ContentLength, SMALL_BODY.length);
    assert.equal(small.ETag, `"${md5(md5(Buffer.from(SMALL_BODY))).toString("hex")}-1"`);

    // pyarrow's parts are 10 MiB: 10 + 2.
    const bigHead = await server.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "data/big.bin" }));
    assert.equal(bigHead.ContentLength, BIG_SIZE);
    const parts = [big.subarray(0, 10 * MiB), big.subarray(10 * MiB)];
    assert.equal(bigHead.ETag, `"${md5(Buffer.concat(parts.map(md5))).toString("hex")}-2"`);
    const got = await server.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: "data/big.bin" }));
    assert.equal(sha256(await got.Body!.transformToByteArray()), sha256(big));
  });

  it("get_file_info with a non-recursive FileSelector shows folders as directories and files with sizes", async () => {
    assert.deepEqual(await step("list"), {
      root: [
        { path: `${BUCKET}/data`, type: "Directory" },
        { path: `${BUCKET}/empty-folder`, type: "Directory" },
        { path: `${BUCKET}/small.txt`, type: "File", size: SMALL_BODY.length },
        { path: `${BUCKET}/table`, type: "Directory" },
      ],
      data: [{ path: `${BUCKET}/data/big.bin`, type: "File", size: BIG_SIZE }],
    });
  });

  it("copy_files syncs a 1,000-file local tree, and a recursive listing shows exactly those files", async () => {
    const expected: Entry[] = [];
    for (let d = 0; d < TREE_DIRS; d++) expected.push({ path: `${BUCKET}/tree/${dirName(d)}`, type: "Directory" });
    for (const relative of relativeTree) {
      expected.push({ path: `${BUCKET}/tree/${relative}`, type: "File", size: Buffer.byteLength(treeBody(relative)) });
    }
    expected.sort((a, b) => (a.path < b.path ? -1 : 1));
    const { tree } = (await step("sync")) as { tree: Entry[] };
    assert.equal(tree.filter((entry) => entry.type === "File").length, 1000);
    assert.deepEqual(tree, expected);

    // copy_files creates each directory first, and pyarrow stores a directory as a zero-byte
    // "name/" object: the 1,000 files plus markers for tree/ and its ten subdirectories.
    const keys: string[] = [];
    for await (const page of paginateListObjectsV2({ client: server.client }, { Bucket: BUCKET, Prefix: "tree/" })) {
      for (const object of page.Contents ?? []) keys.push(object.Key!);
    }
    const markers = ["tree/", ...Array.from({ length: TREE_DIRS }, (_, d) => `tree/${dirName(d)}/`)];
    assert.deepEqual(keys, [...markers, ...relativeTree.map((relative) => `tree/${relative}`)].sort());
  });

  it("reads back whole streams, a seek and read across a part boundary, the synced tree, and the Parquet dataset", async () => {
    const got = await step("download");
    const rangeStart = 10 * MiB - 1000;
    assert.deepEqual(got, {
      small: SMALL_BODY,
      whole: { size: BIG_SIZE, sha256: sha256(big) },
      size: BIG_SIZE,
      ranged: { size: 4096, sha256: sha256(big.subarray(rangeStart, rangeStart + 4096)), tell: rangeStart + 4096 },
      tail: { size: 10, sha256: sha256(big.subarray(BIG_SIZE - 10)) },
      dataset: { rows: 150, schema: ["id: int64", "name: string", "score: double"], equal: true },
      single: [100, 101, 102],
    });

    const back = join(work, "back");
    const files = (readdirSync(back, { recursive: true }) as string[])
      .filter((name) => name.endsWith(".txt"))
      .sort();
    assert.deepEqual(files, relativeTree);
    for (const relative of relativeTree) assert.equal(readFileSync(join(back, relative), "utf8"), treeBody(relative), relative);
  });

  it("delete_file, delete_dir_contents and delete_dir remove a file, a tree, then the bucket", async () => {
    assert.deepEqual(await step("delete"), { small: "NotFound", tree: [], treeDir: "Directory", bucket: "NotFound" });
    await rejectsWith(server.client.send(new HeadBucketCommand({ Bucket: BUCKET })), "NotFound", 404);
  });
});
