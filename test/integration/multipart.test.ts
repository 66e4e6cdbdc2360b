// Multipart uploads through the AWS SDK v3 (default settings), @aws-sdk/lib-storage and boto3:
// completion (ETag, parts count, part order and size rules), UploadPartCopy, ListParts and
// ListMultipartUploads pagination, abort, composite and full-object checksums, reads across parts.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes, type Hash } from "node:crypto";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, readdirSync, rmSync, createWriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type ChecksumAlgorithm,
  type CompletedPart,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { startTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import { rejectsWith } from "../helpers/errors.js";
import { signedFetch } from "../helpers/raw.js";
import { checksumBase64 } from "../../src/crypto/checksums.js";

const run = promisify(execFile);
const MiB = 1024 * 1024;
const credentials = { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY };

function md5(data: Buffer): Buffer {
  return createHash("md5").update(data).digest();
}

/** S3's multipart ETag: the MD5 of the parts' binary MD5s, then "-N". */
function multipartEtag(parts: Buffer[]): string {
  return `"${md5(Buffer.concat(parts.map(md5))).toString("hex")}-${parts.length}"`;
}

/** `total` random bytes as a stream of 1 MiB chunks, hashed into `hash` as they are produced. */
function randomStream(total: number, hash: Hash): Readable {
  return Readable.from(
    (function* () {
      for (let offset = 0; offset < total; offset += MiB) {
        const chunk = randomBytes(Math.min(MiB, total - offset));
        hash.update(chunk);
        yield chunk;
      }
    })(),
  );
}

async function md5OfObject(s3: S3Client, Bucket: string, Key: string): Promise<string> {
  const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
  const hash = createHash("md5");
  for await (const chunk of got.Body as Readable) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function countBlobFiles(dataDir: string): number {
  let n = 0;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else n++;
    }
  };
  walk(join(dataDir, "blobs"));
  return n;
}

describe("multipart uploads", () => {
  let server: TestServer;
  let s3: S3Client;
  const Bucket = "multipart-bucket";
  // Two full-size parts and a short last one: the smallest upload that exercises every rule.
  const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(1000)];
  const whole = Buffer.concat(parts);

  before(async () => {
    server = await startTestServer();
    s3 = server.client;
    await s3.send(new CreateBucketCommand({ Bucket }));
  });
  after(async () => {
    await server.stop();
  });

  async function create(Key: string, extra: Partial<ConstructorParameters<typeof CreateMultipartUploadCommand>[0]> = {}): Promise<string> {
    const out = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key, ...extra }));
    assert.ok(out.UploadId);
    return out.UploadId;
  }

  async function uploadAll(Key: string, UploadId: string, bodies: Buffer[], ChecksumAlgorithm?: ChecksumAlgorithm): Promise<CompletedPart[]> {
    return Promise.all(
      bodies.map(async (Body, i) => {
        const out = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: i + 1, Body, ChecksumAlgorithm }));
        const sum = ChecksumAlgorithm ? { [`Checksum${ChecksumAlgorithm}`]: out[`Checksum${ChecksumAlgorithm}`] } : {};
        return { PartNumber: i + 1, ETag: out.ETag, ...sum };
      }),
    );
  }

  async function complete(Key: string, UploadId: string, Parts: CompletedPart[], extra: Record<string, unknown> = {}) {
    return s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts }, ...extra }));
  }

  it("completes parts into one object with S3's multipart ETag, its bytes in order and its parts count", async () => {
    const Key = "three-parts.bin";
    const UploadId = await create(Key);
    const done = await complete(Key, UploadId, await uploadAll(Key, UploadId, parts));
    assert.equal(done.ETag, multipartEtag(parts));
    assert.equal(done.Key, Key);
    assert.equal(done.Bucket, Bucket);
    const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
    assert.equal(got.ETag, multipartEtag(parts));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(whole));
    // S3 names the parts count only to a request for one part.
    assert.equal(got.PartsCount, undefined);
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key, PartNumber: 3 }));
    assert.equal(head.PartsCount, 3);
    assert.equal(head.ContentLength, 1000);
    assert.equal(head.ETag, multipartEtag(parts));
  });

  it("serves ranges that span part boundaries and single parts by ?partNumber=", async () => {
    const Key = "three-parts.bin";
    const start = 5 * MiB - 10;
    const end = 10 * MiB + 9;
    const ranged = await s3.send(new GetObjectCommand({ Bucket, Key, Range: `bytes=${start}-${end}` }));
    assert.equal(ranged.ContentRange, `bytes ${start}-${end}/${whole.length}`);
    assert.ok(Buffer.from(await ranged.Body!.transformToByteArray()).equals(whole.subarray(start, end + 1)));
    const suffix = await s3.send(new GetObjectCommand({ Bucket, Key, Range: "bytes=-1500" }));
    assert.ok(Buffer.from(await suffix.Body!.transformToByteArray()).equals(whole.subarray(whole.length - 1500)));
    const second = await s3.send(new GetObjectCommand({ Bucket, Key, PartNumber: 2 }));
    assert.equal(second.$metadata.httpStatusCode, 206);
    assert.equal(second.PartsCount, 3);
    assert.equal(second.ContentRange, `bytes ${5 * MiB}-${10 * MiB - 1}/${whole.length}`);
    assert.ok(Buffer.from(await second.Body!.transformToByteArray()).equals(parts[1]!));
    await rejectsWith(s3.send(new GetObjectCommand({ Bucket, Key, PartNumber: 4 })), "InvalidPartNumber", 416);
    await rejectsWith(s3.send(new GetObjectCommand({ Bucket, Key, PartNumber: 1, Range: "bytes=0-1" })), "InvalidRequest", 400);
  });

  it("treats a single-PUT object as its own part 1", async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: "single", Body: "just one part" }));
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: "single", PartNumber: 1 }));
    assert.equal(await got.Body!.transformToString(), "just one part");
    assert.equal(got.PartsCount, undefined);
    await rejectsWith(s3.send(new GetObjectCommand({ Bucket, Key: "single", PartNumber: 2 })), "InvalidPartNumber", 416);
  });

  it("gives the object the storage class, content type, metadata and content headers of CreateMultipartUpload, dated by its start", async () => {
    const Key = "described.txt";
    const UploadId = await create(Key, {
      StorageClass: "STANDARD_IA",
      ContentType: "text/plain",
      ContentDisposition: "attachment",
      CacheControl: "no-cache",
      Metadata: { colour: "blue" },
    });
    const started = (await s3.send(new ListMultipartUploadsCommand({ Bucket, Prefix: Key }))).Uploads![0]!.Initiated!;
    await complete(Key, UploadId, await uploadAll(Key, UploadId, [Buffer.from("small single part")]));
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key }));
    assert.equal(head.StorageClass, "STANDARD_IA");
    assert.equal(head.ContentType, "text/plain");
    assert.equal(head.ContentDisposition, "attachment");
    assert.equal(head.CacheControl, "no-cache");
    assert.deepEqual(head.Metadata, { colour: "blue" });
    assert.equal(head.ContentLength, 17);
    assert.equal(head.LastModified!.getTime(), Math.floor(started.getTime() / 1000) * 1000);
    await rejectsWith(create("bad-class", { StorageClass: "NOPE" as "STANDARD" }), "InvalidStorageClass", 400);
  });

  it("returns a version id per completion on a versioned bucket", async () => {
    const VBucket = "multipart-versioned";
    await s3.send(new CreateBucketCommand({ Bucket: VBucket }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: VBucket, VersioningConfiguration: { Status: "Enabled" } }));
    const ids: string[] = [];
    for (const text of ["first", "second"]) {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: VBucket, Key: "k" }));
      const part = await s3.send(new UploadPartCommand({ Bucket: VBucket, Key: "k", UploadId, PartNumber: 1, Body: text }));
      const done = await s3.send(
        new CompleteMultipartUploadCommand({ Bucket: VBucket, Key: "k", UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }),
      );
      assert.ok(done.VersionId && done.VersionId !== "null");
      ids.push(done.VersionId);
    }
    const older = await s3.send(new GetObjectCommand({ Bucket: VBucket, Key: "k", VersionId: ids[0] }));
    assert.equal(await older.Body!.transformToString(), "first");
    const latest = await s3.send(new GetObjectCommand({ Bucket: VBucket, Key: "k" }));
    assert.equal(latest.VersionId, ids[1]);
    assert.equal(await latest.Body!.transformToString(), "second");
  });

  it("refuses parts out of order with InvalidPartOrder, unknown parts or ETags with InvalidPart, short middle parts with EntityTooSmall", async () => {
    const Key = "rules";
    const UploadId = await create(Key);
    const [p1, p2] = await uploadAll(Key, UploadId, [randomBytes(5 * MiB), randomBytes(10)]);
    const p3 = { PartNumber: 3, ETag: (await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 3, Body: "tail" }))).ETag };
    await rejectsWith(complete(Key, UploadId, [p2!, p1!]), "InvalidPartOrder", 400);
    await rejectsWith(complete(Key, UploadId, [p1!, p1!]), "InvalidPartOrder", 400);
    await rejectsWith(complete(Key, UploadId, [p1!, { PartNumber: 7, ETag: p2!.ETag }]), "InvalidPart", 400);
    await rejectsWith(complete(Key, UploadId, [p1!, { PartNumber: 2, ETag: '"00000000000000000000000000000000"' }]), "InvalidPart", 400);
    await rejectsWith(complete(Key, UploadId, [p1!, p2!, p3]), "EntityTooSmall", 400);
    await rejectsWith(complete(Key, UploadId, []), "MalformedXML", 400);
    // Part numbers may skip; unlisted parts are dropped.
    const done = await complete(Key, UploadId, [p1!, p3]);
    assert.match(done.ETag!, /-2"$/);
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key }));
    assert.equal(head.ContentLength, 5 * MiB + 4);
    const third = await s3.send(new GetObjectCommand({ Bucket, Key, PartNumber: 3 }));
    assert.equal(await third.Body!.transformToString(), "tail");
  });

  it("answers NoSuchUpload for unknown or finished uploads and InvalidArgument for part numbers outside 1..10000", async () => {
    const Key = "gone";
    await rejectsWith(s3.send(new UploadPartCommand({ Bucket, Key, UploadId: "nope", PartNumber: 1, Body: "x" })), "NoSuchUpload", 404);
    await rejectsWith(s3.send(new ListPartsCommand({ Bucket, Key, UploadId: "nope" })), "NoSuchUpload", 404);
    await rejectsWith(complete(Key, "nope", [{ PartNumber: 1, ETag: '"x"' }]), "NoSuchUpload", 404);
    await rejectsWith(s3.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: "nope" })), "NoSuchUpload", 404);
    const UploadId = await create(Key);
    await rejectsWith(s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 0, Body: "x" })), "InvalidArgument", 400);
    await rejectsWith(s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 10001, Body: "x" })), "InvalidArgument", 400);
    // The upload id belongs to its key.
    await rejectsWith(s3.send(new UploadPartCommand({ Bucket, Key: "other", UploadId, PartNumber: 1, Body: "x" })), "NoSuchUpload", 404);
    const [p1] = await uploadAll(Key, UploadId, [Buffer.from("x")]);
    await complete(Key, UploadId, [p1!]);
    await rejectsWith(s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 2, Body: "x" })), "NoSuchUpload", 404);
    await rejectsWith(s3.send(new ListPartsCommand({ Bucket, Key, UploadId })), "NoSuchUpload", 404);
    await rejectsWith(s3.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })), "NoSuchUpload", 404);
  });

  it("answers a retried completion with the first answer while the object it made is current, NoSuchUpload once the key moves on", async () => {
    const Key = "retried";
    const UploadId = await create(Key, { ChecksumAlgorithm: "SHA256" });
    const listed = await uploadAll(Key, UploadId, parts, "SHA256");
    const first = await complete(Key, UploadId, listed);
    const again = await complete(Key, UploadId, listed);
    assert.equal(again.ETag, first.ETag);
    assert.equal(again.ChecksumSHA256, first.ChecksumSHA256);
    assert.equal(again.Location, first.Location);
    // The retry made nothing new: the object is still the first completion's.
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key }));
    assert.equal(head.ETag, first.ETag);
    assert.equal(head.ContentLength, whole.length);
    // Another upload's id on the same key is no retry.
    const other = await create(Key);
    await s3.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: other }));
    await rejectsWith(complete(Key, other, listed), "NoSuchUpload", 404);
    await s3.send(new PutObjectCommand({ Bucket, Key, Body: "overwritten" }));
    await rejectsWith(complete(Key, UploadId, listed), "NoSuchUpload", 404);
  });

  it("keeps the last upload of a part number and completes with it", async () => {
    const Key = "replaced";
    const UploadId = await create(Key);
    await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: "old bytes" }));
    const [p1] = await uploadAll(Key, UploadId, [Buffer.from("new bytes")]);
    const listed = await s3.send(new ListPartsCommand({ Bucket, Key, UploadId }));
    assert.deepEqual(listed.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size]), [[1, p1!.ETag, 9]]);
    await complete(Key, UploadId, [p1!]);
    const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
    assert.equal(await got.Body!.transformToString(), "new bytes");
  });

  it("aborts an upload and frees its part blobs", async () => {
    const Key = "aborted";
    const before = countBlobFiles(server.dataDir);
    const UploadId = await create(Key);
    await uploadAll(Key, UploadId, [Buffer.from("a"), Buffer.from("b")]);
    assert.equal(countBlobFiles(server.dataDir), before + 2);
    const aborted = await s3.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId }));
    assert.equal(aborted.$metadata.httpStatusCode, 204);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(countBlobFiles(server.dataDir), before);
    await rejectsWith(s3.send(new ListPartsCommand({ Bucket, Key, UploadId })), "NoSuchUpload", 404);
  });

  it("copies byte ranges of other objects into parts with UploadPartCopy", async () => {
    const source = randomBytes(6 * MiB);
    await s3.send(new PutObjectCommand({ Bucket, Key: "copy-source", Body: source }));
    const Key = "copied";
    const UploadId = await create(Key);
    const first = await s3.send(
      new UploadPartCopyCommand({ Bucket, Key, UploadId, PartNumber: 1, CopySource: `${Bucket}/copy-source`, CopySourceRange: `bytes=0-${5 * MiB - 1}` }),
    );
    assert.equal(first.CopyPartResult?.ETag, `"${md5(source.subarray(0, 5 * MiB)).toString("hex")}"`);
    // Without a range the whole source is copied; the source may itself be a multipart object.
    const second = await s3.send(new UploadPartCopyCommand({ Bucket, Key, UploadId, PartNumber: 2, CopySource: `${Bucket}/three-parts.bin` }));
    await complete(Key, UploadId, [
      { PartNumber: 1, ETag: first.CopyPartResult!.ETag },
      { PartNumber: 2, ETag: second.CopyPartResult!.ETag },
    ]);
    const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat([source.subarray(0, 5 * MiB), whole])));
    await rejectsWith(
      s3.send(new UploadPartCopyCommand({ Bucket, Key: "c2", UploadId: await create("c2"), PartNumber: 1, CopySource: `${Bucket}/copy-source`, CopySourceRange: `bytes=0-${6 * MiB}` })),
      "InvalidArgument",
      400,
    );
    await rejectsWith(
      s3.send(new UploadPartCopyCommand({ Bucket, Key: "c2", UploadId: await create("c2"), PartNumber: 1, CopySource: `${Bucket}/copy-source`, CopySourceRange: "bytes=5-" })),
      "InvalidArgument",
      400,
    );
    await rejectsWith(
      s3.send(new UploadPartCopyCommand({ Bucket, Key: "c2", UploadId: await create("c2"), PartNumber: 1, CopySource: `${Bucket}/no-such-key` })),
      "NoSuchKey",
      404,
    );
  });

  it("copies a multipart object whole with CopyObject", async () => {
    await s3.send(new CopyObjectCommand({ Bucket, Key: "copy-of-multipart", CopySource: `${Bucket}/three-parts.bin` }));
    assert.equal(await md5OfObject(s3, Bucket, "copy-of-multipart"), md5(whole).toString("hex"));
  });

  it("pages through ListParts with max-parts and part-number-marker", async () => {
    const Key = "listed-parts";
    const UploadId = await create(Key, { StorageClass: "ONEZONE_IA" });
    const uploaded = await uploadAll(Key, UploadId, ["1", "2", "3", "4", "5"].map((s) => Buffer.from(s)));
    const first = await s3.send(new ListPartsCommand({ Bucket, Key, UploadId, MaxParts: 2 }));
    assert.deepEqual(first.Parts?.map((p) => p.PartNumber), [1, 2]);
    assert.equal(first.IsTruncated, true);
    assert.equal(first.NextPartNumberMarker, "2");
    assert.equal(first.StorageClass, "ONEZONE_IA");
    assert.equal(first.Parts![0]!.ETag, uploaded[0]!.ETag);
    assert.equal(first.Owner?.ID, first.Initiator?.ID);
    const rest = await s3.send(new ListPartsCommand({ Bucket, Key, UploadId, PartNumberMarker: first.NextPartNumberMarker }));
    assert.deepEqual(rest.Parts?.map((p) => p.PartNumber), [3, 4, 5]);
    assert.equal(rest.IsTruncated, false);
    // The SDK cannot send a non-integer page size; a raw signed request can.
    const badMax = await signedFetch(server.url, credentials, "GET", `/${Bucket}/${Key}`, { uploadId: UploadId, "max-parts": "abc" });
    assert.equal(badMax.status, 400);
    assert.match(badMax.text, /<Code>InvalidArgument<\/Code>/);
  });

  it("pages through ListMultipartUploads by key and upload id markers, with prefix and delimiter", async () => {
    const LBucket = "multipart-listing";
    await s3.send(new CreateBucketCommand({ Bucket: LBucket }));
    const start = async (Key: string) => (await s3.send(new CreateMultipartUploadCommand({ Bucket: LBucket, Key }))).UploadId!;
    const twice = [await start("b"), await start("b")];
    await start("a");
    await start("dir/one");
    await start("dir/two");
    await start("c");
    const all = await s3.send(new ListMultipartUploadsCommand({ Bucket: LBucket }));
    assert.deepEqual(all.Uploads?.map((u) => u.Key), ["a", "b", "b", "c", "dir/one", "dir/two"]);
    assert.deepEqual(all.Uploads?.filter((u) => u.Key === "b").map((u) => u.UploadId), twice);
    const seen: string[] = [];
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    for (;;) {
      const page = await s3.send(new ListMultipartUploadsCommand({ Bucket: LBucket, MaxUploads: 2, KeyMarker, UploadIdMarker }));
      seen.push(...(page.Uploads ?? []).map((u) => `${u.Key}:${u.UploadId}`));
      if (!page.IsTruncated) break;
      KeyMarker = page.NextKeyMarker;
      UploadIdMarker = page.NextUploadIdMarker;
    }
    assert.deepEqual(seen, all.Uploads!.map((u) => `${u.Key}:${u.UploadId}`));
    const folded = await s3.send(new ListMultipartUploadsCommand({ Bucket: LBucket, Delimiter: "/" }));
    assert.deepEqual(folded.Uploads?.map((u) => u.Key), ["a", "b", "b", "c"]);
    assert.deepEqual(folded.CommonPrefixes?.map((p) => p.Prefix), ["dir/"]);
    const prefixed = await s3.send(new ListMultipartUploadsCommand({ Bucket: LBucket, Prefix: "dir/" }));
    assert.deepEqual(prefixed.Uploads?.map((u) => u.Key), ["dir/one", "dir/two"]);
    const afterB = await s3.send(new ListMultipartUploadsCommand({ Bucket: LBucket, KeyMarker: "b" }));
    assert.deepEqual(afterB.Uploads?.map((u) => u.Key), ["c", "dir/one", "dir/two"]);
    const insideB = await s3.send(new ListMultipartUploadsCommand({ Bucket: LBucket, KeyMarker: "b", UploadIdMarker: twice[0] }));
    assert.deepEqual(insideB.Uploads?.map((u) => u.UploadId)[0], twice[1]);
  });

  it("deletes a bucket whose only content is unfinished uploads, freeing their parts", async () => {
    const DBucket = "multipart-delete-bucket";
    await s3.send(new CreateBucketCommand({ Bucket: DBucket }));
    const before = countBlobFiles(server.dataDir);
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: DBucket, Key: "k" }));
    await s3.send(new UploadPartCommand({ Bucket: DBucket, Key: "k", UploadId, PartNumber: 1, Body: "part" }));
    await s3.send(new DeleteBucketCommand({ Bucket: DBucket }));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(countBlobFiles(server.dataDir), before);
  });

  it("stops referencing every part blob once a multipart object is deleted", async () => {
    const Key = "to-delete";
    const UploadId = await create(Key);
    await complete(Key, UploadId, await uploadAll(Key, UploadId, [randomBytes(5 * MiB), Buffer.from("end")]));
    const record = (await server.context.metadata.getLatest(Bucket, Key))!;
    assert.equal(record.body?.kind, "parts");
    const blobIds = record.body?.kind === "parts" ? record.body.parts.map((p) => p.blobId) : [];
    assert.equal(blobIds.length, 2);
    const referenced = async () => Promise.all(blobIds.map((id) => server.context.metadata.isBlobReferenced(id)));
    assert.ok((await referenced()).every((live) => live));
    await s3.send(new DeleteObjectCommand({ Bucket, Key }));
    assert.ok((await referenced()).every((live) => !live));
  });

  describe("checksums", () => {
    for (const alg of ["CRC32", "CRC32C", "SHA1", "SHA256"] as const) {
      it(`gives a ${alg} upload the COMPOSITE checksum of its part checksums, suffixed -N`, async () => {
        const Key = `composite-${alg}`;
        const created = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key, ChecksumAlgorithm: alg }));
        assert.equal(created.ChecksumAlgorithm, alg);
        assert.equal(created.ChecksumType, "COMPOSITE");
        const UploadId = created.UploadId!;
        const completed = await uploadAll(Key, UploadId, parts, alg);
        const partSums = parts.map((p) => checksumBase64(alg, p));
        assert.deepEqual(completed.map((p) => p[`Checksum${alg}`]), partSums);
        const expected = `${checksumBase64(alg, Buffer.concat(partSums.map((s) => Buffer.from(s, "base64"))))}-3`;
        const done = await complete(Key, UploadId, completed);
        assert.equal(done[`Checksum${alg}`], expected);
        assert.equal(done.ChecksumType, "COMPOSITE");
        const head = await s3.send(new HeadObjectCommand({ Bucket, Key, ChecksumMode: "ENABLED" }));
        assert.equal(head[`Checksum${alg}`], expected);
        assert.equal(head.ChecksumType, "COMPOSITE");
        const attrs = await s3.send(new GetObjectAttributesCommand({ Bucket, Key, ObjectAttributes: ["Checksum", "ObjectParts", "ETag"] }));
        assert.equal(attrs.Checksum?.[`Checksum${alg}`], expected);
        assert.equal(attrs.ObjectParts?.TotalPartsCount, 3);
        assert.deepEqual(attrs.ObjectParts?.Parts?.map((p) => [p.PartNumber, p.Size, p[`Checksum${alg}`]]), parts.map((p, i) => [i + 1, p.length, partSums[i]]));
      });
    }

    for (const alg of ["CRC32", "CRC32C", "CRC64NVME"] as const) {
      it(`gives a ${alg} upload of type FULL_OBJECT the ${alg} of the whole object, combined from the parts' CRCs`, async () => {
        const Key = `full-${alg}`;
        const created = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key, ChecksumAlgorithm: alg, ChecksumType: "FULL_OBJECT" }));
        assert.equal(created.ChecksumType, "FULL_OBJECT");
        const UploadId = created.UploadId!;
        const completed = await uploadAll(Key, UploadId, parts, alg);
        const expected = checksumBase64(alg, whole);
        await rejectsWith(complete(Key, UploadId, completed, { [`Checksum${alg}`]: checksumBase64(alg, Buffer.from("other")), ChecksumType: "FULL_OBJECT" }), "BadDigest", 400);
        // Part checksums are optional in a FULL_OBJECT Complete; the whole-object value is checked when sent.
        const done = await complete(Key, UploadId, completed.map(({ PartNumber, ETag }) => ({ PartNumber, ETag })), { [`Checksum${alg}`]: expected, ChecksumType: "FULL_OBJECT" });
        assert.equal(done[`Checksum${alg}`], expected);
        assert.equal(done.ChecksumType, "FULL_OBJECT");
        const got = await s3.send(new GetObjectCommand({ Bucket, Key, ChecksumMode: "ENABLED" }));
        assert.equal(got[`Checksum${alg}`], expected);
        assert.equal(got.ChecksumType, "FULL_OBJECT");
        await got.Body!.transformToByteArray();
      });
    }

    it("defaults CRC64NVME uploads to FULL_OBJECT and refuses checksum types an algorithm cannot have", async () => {
      const created = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: "nvme", ChecksumAlgorithm: "CRC64NVME" }));
      assert.equal(created.ChecksumType, "FULL_OBJECT");
      await rejectsWith(create("bad", { ChecksumAlgorithm: "SHA256", ChecksumType: "FULL_OBJECT" }), "InvalidRequest", 400);
      await rejectsWith(create("bad", { ChecksumAlgorithm: "CRC64NVME", ChecksumType: "COMPOSITE" }), "InvalidRequest", 400);
      await rejectsWith(create("bad", { ChecksumType: "COMPOSITE" }), "InvalidRequest", 400);
    });

    it("verifies part checksums: BadDigest for a wrong one, InvalidRequest for another algorithm, InvalidPart or InvalidRequest at Complete", async () => {
      const Key = "checked-parts";
      const UploadId = await create(Key, { ChecksumAlgorithm: "SHA256" });
      await rejectsWith(
        s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: "data", ChecksumSHA256: checksumBase64("SHA256", Buffer.from("other")) })),
        "BadDigest",
        400,
      );
      await rejectsWith(s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: "data", ChecksumAlgorithm: "CRC32C" })), "InvalidRequest", 400);
      const [p1] = await uploadAll(Key, UploadId, [Buffer.from("data")], "SHA256");
      await rejectsWith(complete(Key, UploadId, [{ PartNumber: 1, ETag: p1!.ETag }]), "InvalidRequest", 400);
      await rejectsWith(complete(Key, UploadId, [{ ...p1!, ChecksumSHA256: checksumBase64("SHA256", Buffer.from("other")) }]), "InvalidPart", 400);
      const listed = await s3.send(new ListPartsCommand({ Bucket, Key, UploadId }));
      assert.equal(listed.ChecksumAlgorithm, "SHA256");
      assert.equal(listed.Parts![0]!.ChecksumSHA256, checksumBase64("SHA256", Buffer.from("data")));
      const done = await complete(Key, UploadId, [p1!]);
      assert.match(done.ChecksumSHA256!, /-1$/);
    });

    it("answers a GET of one part with that part's checksum and the object's checksum type", async () => {
      const Key = "part-checksums";
      const UploadId = await create(Key, { ChecksumAlgorithm: "SHA256" });
      const bodies = [Buffer.alloc(5 * 1024 * 1024, "a"), Buffer.from("tail")];
      const parts = await uploadAll(Key, UploadId, bodies, "SHA256");
      await complete(Key, UploadId, parts);
      for (const [i, part] of bodies.entries()) {
        const got = await s3.send(new GetObjectCommand({ Bucket, Key, PartNumber: i + 1, ChecksumMode: "ENABLED" }));
        assert.equal(got.ChecksumSHA256, checksumBase64("SHA256", part));
        assert.equal(got.ChecksumType, "COMPOSITE");
        assert.equal((await got.Body!.transformToByteArray()).length, part.length);
      }
    });
  });

  it("persists multipart objects across a restart", async () => {
    server = await server.restart();
    s3 = server.client;
    assert.equal(await md5OfObject(s3, Bucket, "three-parts.bin"), md5(whole).toString("hex"));
  });

  it("uploads 100 MiB from a stream with @aws-sdk/lib-storage's Upload", async () => {
    const Key = "lib-storage-100mib";
    const hash = createHash("md5");
    const upload = new Upload({ client: s3, params: { Bucket, Key, Body: randomStream(100 * MiB, hash) } });
    const done = await upload.done();
    assert.match(done.ETag!, /-\d+"$/);
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key, ChecksumMode: "ENABLED" }));
    assert.equal(head.ContentLength, 100 * MiB);
    // lib-storage asks for CRC32 checksums by default: the object gets their composite.
    assert.match(head.ChecksumCRC32 ?? "", /-\d+$/);
    assert.equal(head.ChecksumType, "COMPOSITE");
    assert.equal(await md5OfObject(s3, Bucket, Key), hash.digest("hex"));
  });

  it("uploads a 100 MiB file with boto3's upload_file", async () => {
    const work = mkdtempSync(join(tmpdir(), "stocktake-boto3-mpu-"));
    try {
      const file = join(work, "big.bin");
      const hash = createHash("md5");
      const out = createWriteStream(file);
      for await (const chunk of randomStream(100 * MiB, hash)) if (!out.write(chunk)) await new Promise<void>((r) => out.once("drain", () => r()));
      out.end();
      await finished(out);
      const script = [
        "import boto3, os, sys",
        "s3 = boto3.client('s3', endpoint_url=os.environ['STOCKTAKE_URL'], region_name='us-east-1')",
        "s3.upload_file(sys.argv[1], sys.argv[2], 'boto3-100mib')",
        "print(s3.head_object(Bucket=sys.argv[2], Key='boto3-100mib')['ETag'])",
      ].join("\n");
      const env = { ...process.env, STOCKTAKE_URL: server.url, AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: TEST_SECRET_KEY };
      const { stdout } = await run("python3", ["-c", script, file, Bucket], { env, timeout: 180_000 });
      assert.match(stdout.trim(), /^"[0-9a-f]{32}-\d+"$/);
      assert.equal(await md5OfObject(s3, Bucket, "boto3-100mib"), hash.digest("hex"));
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
