// minio-js (the `minio` npm package) against a real Stocktake server, configured the way a new
// user configures it: endpoint, port, credentials and region, everything else left at its default
// (for an IP endpoint that means path-style requests, and SigV4 with a SHA-256 payload hash over
// plain HTTP). One workflow, in order: bucket, small and multipart uploads, a delimited listing,
// a 1,000-file "sync", downloads (whole, to a file, ranged), presigned GET and PUT, a presigned
// POST policy (browser form upload), deletes.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { ClientRequest } from "node:http";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { Client, S3Error, type BucketItem } from "minio";
import { HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { startTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import { rejectsWith } from "../helpers/errors.js";

const MiB = 1024 * 1024;
const BUCKET = "minio-js-workflow";
const SMALL_KEY = "hello.txt";
const SMALL_BODY = Buffer.from("hello from minio-js\n");
const BIG_KEY = "big/twelve-mib.bin";
const BIG_SIZE = 12 * MiB;
const TREE_DIRS = 10;
const TREE_FILES_PER_DIR = 100;

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Deterministic, incompressible-looking bytes, so a misplaced range or part shows as a mismatch. */
function patternBytes(size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash("sha256").update("seed").digest();
  for (let offset = 0; offset < size; offset += block.length) {
    block.copy(out, offset);
    block = createHash("sha256").update(block).digest();
  }
  return out;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function collect(stream: NodeJS.ReadableStream): Promise<BucketItem[]> {
  const items: BucketItem[] = [];
  for await (const item of stream) items.push(item as unknown as BucketItem);
  return items;
}

/** Runs `task` over `items` with at most `limit` in flight, as a sync tool would. */
async function eachLimited<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

/** A delimited listing as a user reads it: folders first, then files with their sizes. */
function shown(items: BucketItem[]): string[] {
  const folders = items.filter((item) => item.prefix !== undefined).map((item) => `folder ${item.prefix}`);
  const files = items.filter((item) => item.name !== undefined).map((item) => `file ${item.name} ${item.size}`);
  return [...folders.sort(), ...files.sort()];
}

function treeKeys(): string[] {
  const keys: string[] = [];
  for (let d = 0; d < TREE_DIRS; d++) {
    for (let f = 0; f < TREE_FILES_PER_DIR; f++) {
      keys.push(`d${String(d).padStart(2, "0")}/f${String(f).padStart(3, "0")}.txt`);
    }
  }
  return keys;
}

function treeBody(relative: string): string {
  return `contents of ${relative}\n`;
}

function minioClient(server: TestServer): Client {
  const port = Number(new URL(server.url).port);
  return new Client({
    endPoint: "127.0.0.1",
    port,
    useSSL: false,
    accessKey: TEST_ACCESS_KEY,
    secretKey: TEST_SECRET_KEY,
    region: "us-east-1",
    // minio-js's default part size is 64 MiB, so a 12 MiB upload would go as one PUT. 5 MiB (S3's
    // minimum part size) is the least change that makes it a multipart upload.
    partSize: 5 * MiB,
  });
}

describe("minio-js with default settings", () => {
  let server: TestServer;
  let minio: Client;
  let work: string;
  const big = patternBytes(BIG_SIZE);
  const relativeTree = treeKeys();
  const treeObjectKeys = relativeTree.map((relative) => `tree/${relative}`);

  before(async () => {
    server = await startTestServer();
    minio = minioClient(server);
    work = mkdtempSync(join(tmpdir(), "stocktake-minio-js-"));
    writeFileSync(join(work, "big.bin"), big);
    for (let d = 0; d < TREE_DIRS; d++) mkdirSync(join(work, "tree", `d${String(d).padStart(2, "0")}`), { recursive: true });
    for (const relative of relativeTree) writeFileSync(join(work, "tree", relative), treeBody(relative));
  });
  after(async () => {
    rmSync(work, { recursive: true, force: true });
    await server.stop();
  });

  it("makeBucket creates a bucket that bucketExists and the AWS SDK both see", async () => {
    await minio.makeBucket(BUCKET);
    assert.equal(await minio.bucketExists(BUCKET), true);
    const head = await server.client.send(new HeadBucketCommand({ Bucket: BUCKET }));
    assert.equal(head.$metadata.httpStatusCode, 200);
  });

  it("putObject stores a small object in one PUT, with its MD5 as the ETag", async () => {
    const put = await minio.putObject(BUCKET, SMALL_KEY, SMALL_BODY, SMALL_BODY.length, { "Content-Type": "text/plain" });
    const md5 = createHash("md5").update(SMALL_BODY).digest("hex");
    assert.equal(put.etag, md5);
    const head = await server.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: SMALL_KEY }));
    assert.equal(head.ETag, `"${md5}"`);
    assert.equal(head.ContentLength, SMALL_BODY.length);
    assert.equal(head.ContentType, "text/plain");
  });

  it("fPutObject uploads a 12 MiB file as a three-part multipart upload", async () => {
    const put = await minio.fPutObject(BUCKET, BIG_KEY, join(work, "big.bin"));
    const head = await server.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: BIG_KEY }));
    assert.equal(head.ContentLength, BIG_SIZE);
    // 5 + 5 + 2 MiB. (minio-js 8.0.7 numbers the parts 2, 3, 4; S3 allows gaps, and the ETag's
    // count is the number of parts, not the highest number.)
    const parts = [big.subarray(0, 5 * MiB), big.subarray(5 * MiB, 10 * MiB), big.subarray(10 * MiB)];
    const md5s = parts.map((part) => createHash("md5").update(part).digest());
    const expected = `${createHash("md5").update(Buffer.concat(md5s)).digest("hex")}-3`;
    assert.equal(head.ETag, `"${expected}"`);
    assert.equal(put.etag, expected);
  });

  it("listObjectsV2 without recursion shows the top-level files and the folders as prefixes", async () => {
    await minio.putObject(BUCKET, "docs/readme.md", "# docs\n");
    await minio.putObject(BUCKET, "docs/nested/deep.txt", "deep\n");
    assert.deepEqual(shown(await collect(minio.listObjectsV2(BUCKET, "", false))), [
      "folder big/",
      "folder docs/",
      `file ${SMALL_KEY} ${SMALL_BODY.length}`,
    ]);
    assert.deepEqual(shown(await collect(minio.listObjectsV2(BUCKET, "docs/", false))), [
      "folder docs/nested/",
      "file docs/readme.md 7",
    ]);
  });

  it("syncs a 1,000-file tree with 16 uploads in flight, and a recursive listing returns exactly those keys", async () => {
    await eachLimited(relativeTree, 16, async (relative) => {
      await minio.fPutObject(BUCKET, `tree/${relative}`, join(work, "tree", relative), { "Content-Type": "text/plain" });
    });
    // 1,000 keys is exactly one page of S3's default max-keys: minio-js must read the page's
    // IsTruncated=false and stop, not ask again or drop the last key.
    const listed = await collect(minio.listObjectsV2(BUCKET, "tree/", true));
    assert.equal(listed.length, 1000);
    assert.deepEqual(
      listed.map((item) => item.name),
      [...treeObjectKeys].sort(),
    );
    for (const item of listed) {
      assert.equal(item.size, Buffer.byteLength(treeBody(item.name!.slice("tree/".length))), item.name);
    }

    const sdk = await server.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "tree/" }));
    assert.equal(sdk.KeyCount, 1000);
    assert.equal(sdk.IsTruncated, false);
  });

  it("getObject and fGetObject return the multipart object's bytes exactly", async () => {
    const whole = await readAll(await minio.getObject(BUCKET, BIG_KEY));
    assert.equal(whole.length, BIG_SIZE);
    assert.equal(sha256(whole), sha256(big));

    const small = await readAll(await minio.getObject(BUCKET, SMALL_KEY));
    assert.deepEqual(small, SMALL_BODY);

    const downloaded = join(work, "downloaded.bin");
    await minio.fGetObject(BUCKET, BIG_KEY, downloaded);
    assert.equal(sha256(readFileSync(downloaded)), sha256(big));

    const sample = relativeTree[537];
    const tree = await readAll(await minio.getObject(BUCKET, `tree/${sample}`));
    assert.equal(tree.toString(), treeBody(sample));
  });

  it("getPartialObject returns exactly the requested range, across a part boundary", async () => {
    const offset = 5 * MiB - 1000;
    const length = 4096;
    const part = await readAll(await minio.getPartialObject(BUCKET, BIG_KEY, offset, length));
    assert.equal(part.length, length);
    assert.deepEqual(part, big.subarray(offset, offset + length));

    const tail = await readAll(await minio.getPartialObject(BUCKET, BIG_KEY, BIG_SIZE - 10));
    assert.deepEqual(tail, big.subarray(BIG_SIZE - 10));
  });

  it("a presigned PUT URL accepts a plain fetch upload, and a presigned GET URL returns it", async () => {
    const key = "presigned/uploaded.txt";
    const body = "uploaded through a presigned PUT URL\n";
    const putUrl = await minio.presignedPutObject(BUCKET, key, 600);
    assert.equal(new URL(putUrl).pathname, `/${BUCKET}/${key}`);
    const put = await fetch(putUrl, { method: "PUT", body });
    assert.equal(put.status, 200, await put.text());

    const getUrl = await minio.presignedGetObject(BUCKET, key, 600);
    const got = await fetch(getUrl);
    assert.equal(got.status, 200);
    assert.equal(await got.text(), body);

    // The signature covers the key: the same query string on another key is refused.
    const other = new URL(getUrl);
    other.pathname = `/${BUCKET}/${SMALL_KEY}`;
    const refused = await fetch(other);
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /<Code>SignatureDoesNotMatch<\/Code>/);
  });

  it("presignedPostPolicy gives a browser form that uploads within its conditions, and one outside them is refused", async () => {
    const policy = minio.newPostPolicy();
    policy.setBucket(BUCKET);
    policy.setKey("presigned/form.txt");
    policy.setExpires(new Date(Date.now() + 600_000));
    policy.setContentType("text/plain");
    policy.setContentLengthRange(1, 64);
    const { postURL, formData } = await minio.presignedPostPolicy(policy);
    const post = (content: string) => {
      const form = new FormData();
      for (const [name, value] of Object.entries(formData)) form.append(name, value);
      form.append("file", new Blob([content], { type: "text/plain" }), "form.txt");
      return fetch(postURL, { method: "POST", body: form });
    };

    const ok = await post("uploaded from a browser form\n");
    assert.equal(ok.status, 204, await ok.text());
    assert.equal(await readAll(await minio.getObject(BUCKET, "presigned/form.txt")).then(String), "uploaded from a browser form\n");

    // Past the policy's content-length-range: S3 refuses the whole upload.
    const tooBig = await post("x".repeat(65));
    assert.equal(tooBig.status, 400);
    assert.match(await tooBig.text(), /<Code>EntityTooLarge<\/Code>/);
  });

  it("removeObject deletes one object, removeObjects the 1,000, and removeBucket the emptied bucket", async () => {
    await minio.removeObject(BUCKET, SMALL_KEY);
    await rejectsWith(server.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: SMALL_KEY })), "NotFound", 404);

    // Quiet mode: S3 answers only the failures, so success is an empty list.
    assert.deepEqual(await minio.removeObjects(BUCKET, treeObjectKeys), []);
    assert.deepEqual(await collect(minio.listObjectsV2(BUCKET, "tree/", true)), []);

    const rest = (await collect(minio.listObjectsV2(BUCKET, "", true))).map((item) => item.name!);
    assert.deepEqual(rest, [BIG_KEY, "docs/nested/deep.txt", "docs/readme.md", "presigned/form.txt", "presigned/uploaded.txt"]);
    assert.deepEqual(await minio.removeObjects(BUCKET, rest), []);

    await minio.removeBucket(BUCKET);
    assert.equal(await minio.bucketExists(BUCKET), false);
    await rejectsWith(server.client.send(new HeadBucketCommand({ Bucket: BUCKET })), "NotFound", 404);
  });
});

describe("minio-js listenBucketNotification (a MinIO extension S3 does not have)", () => {
  const bucket = "minio-js-listen";
  let server: TestServer;
  let minio: Client;

  before(async () => {
    server = await startTestServer();
    minio = minioClient(server);
    await minio.makeBucket(bucket);
  });
  after(async () => {
    await server.stop();
  });

  it("ends with exactly one NotImplemented error and sends no further requests", async () => {
    // Counts the listener's requests (the only ones carrying `events=`) as they leave the client.
    const listenRequests: string[] = [];
    const onRequest = (message: unknown) => {
      const request = (message as { request: ClientRequest }).request;
      if (request.path.includes("events=")) listenRequests.push(`${request.method} ${request.path}`);
    };
    subscribe("http.client.request.start", onRequest);
    try {
      const errors: unknown[] = [];
      const notifications: unknown[] = [];
      const listener = minio.listenBucketNotification(bucket, "", "", ["s3:ObjectCreated:*"]);
      listener.on("notification", (record) => notifications.push(record));
      const first = new Promise<void>((resolve) => listener.on("error", () => resolve()));
      listener.on("error", (err) => errors.push(err));

      const timeout = new AbortController();
      await Promise.race([
        first,
        sleep(5_000, undefined, { signal: timeout.signal }).then(() =>
          assert.fail(`no error within 5 s; requests sent: ${listenRequests.join("; ")}`),
        ),
      ]).finally(() => timeout.abort());
      // A poller that took the answer for an empty event stream would ask again at once.
      await sleep(1_000);
      listener.stop();

      assert.equal(errors.length, 1, `errors: ${errors.map(String).join("; ")}`);
      const err = errors[0];
      assert.ok(err instanceof S3Error, `expected an S3Error, got ${String(err)}`);
      assert.equal((err as S3Error & { code?: string }).code, "NotImplemented");
      assert.deepEqual(notifications, []);
      assert.equal(listenRequests.length, 1, `requests: ${listenRequests.join("; ")}`);
      assert.equal(listenRequests[0], `GET /${bucket}?events=s3%3AObjectCreated%3A%2A`);
    } finally {
      unsubscribe("http.client.request.start", onRequest);
    }
  });
});
