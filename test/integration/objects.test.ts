// Object operations through the AWS SDK for JavaScript v3 with its default settings (which sends
// PutObject bodies as aws-chunked with a trailing CRC32 checksum).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketAccelerateConfigurationCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { rejectsWith } from "../helpers/errors.js";
import { startTestServer, type TestServer } from "../helpers/server.js";


const md5hex = (b: Buffer | string) => createHash("md5").update(b).digest("hex");

describe("objects", () => {
  let server: TestServer;
  const Bucket = "objects-bucket";

  before(async () => {
    server = await startTestServer();
    await server.client.send(new CreateBucketCommand({ Bucket }));
  });
  after(async () => {
    await server.stop();
  });

  it("puts and gets an object with its ETag, metadata and content headers", async () => {
    const put = await server.client.send(
      new PutObjectCommand({
        Bucket,
        Key: "docs/hello.txt",
        Body: "hello world",
        ContentType: "text/plain",
        CacheControl: "max-age=60",
        ContentDisposition: "attachment",
        Metadata: { colour: "blue" },
      }),
    );
    assert.equal(put.ETag, `"${md5hex("hello world")}"`);
    const got = await server.client.send(new GetObjectCommand({ Bucket, Key: "docs/hello.txt" }));
    assert.equal(await got.Body!.transformToString(), "hello world");
    assert.equal(got.ETag, put.ETag);
    assert.equal(got.ContentType, "text/plain");
    assert.equal(got.CacheControl, "max-age=60");
    assert.equal(got.ContentDisposition, "attachment");
    assert.equal(got.ContentEncoding, undefined, "aws-chunked must not be stored as the content encoding");
    assert.deepEqual(got.Metadata, { colour: "blue" });
    assert.equal(got.ContentLength, 11);
  });

  it("keeps a Content-Encoding as sent, dropping only its aws-chunked framing", async () => {
    for (const [sent, kept] of [["deflate, gzip", "deflate, gzip"], ["gzip, aws-chunked", "gzip"], ["aws-chunked, gzip", "gzip"], ["aws-chunked", undefined]] as const) {
      await server.client.send(new PutObjectCommand({ Bucket, Key: "encoded", Body: "x", ContentEncoding: sent }));
      const head = await server.client.send(new HeadObjectCommand({ Bucket, Key: "encoded" }));
      assert.equal(head.ContentEncoding, kept, sent);
    }
  });

  it("stores and returns the trailing CRC32 checksum the SDK sends by default", async () => {
    const put = await server.client.send(new PutObjectCommand({ Bucket, Key: "sum.txt", Body: "checksummed" }));
    assert.ok(put.ChecksumCRC32, "the PutObject response carries the CRC32");
    const head = await server.client.send(new HeadObjectCommand({ Bucket, Key: "sum.txt", ChecksumMode: "ENABLED" }));
    assert.equal(head.ChecksumCRC32, put.ChecksumCRC32);
  });

  it("streams a large object (above the inline threshold) to a blob and back intact", async () => {
    const body = randomBytes(3 * 1024 * 1024 + 17);
    const put = await server.client.send(new PutObjectCommand({ Bucket, Key: "big.bin", Body: body }));
    assert.equal(put.ETag, `"${md5hex(body)}"`);
    const got = await server.client.send(new GetObjectCommand({ Bucket, Key: "big.bin" }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    assert.ok(bytes.equals(body));
  });

  it("serves byte ranges, suffix ranges and 416 for unsatisfiable ones", async () => {
    await server.client.send(new PutObjectCommand({ Bucket, Key: "range.txt", Body: "0123456789" }));
    const mid = await server.client.send(new GetObjectCommand({ Bucket, Key: "range.txt", Range: "bytes=2-5" }));
    assert.equal(await mid.Body!.transformToString(), "2345");
    assert.equal(mid.ContentRange, "bytes 2-5/10");
    assert.equal(mid.$metadata.httpStatusCode, 206);
    const suffix = await server.client.send(new GetObjectCommand({ Bucket, Key: "range.txt", Range: "bytes=-3" }));
    assert.equal(await suffix.Body!.transformToString(), "789");
    const open = await server.client.send(new GetObjectCommand({ Bucket, Key: "range.txt", Range: "bytes=7-" }));
    assert.equal(await open.Body!.transformToString(), "789");
    await rejectsWith(server.client.send(new GetObjectCommand({ Bucket, Key: "range.txt", Range: "bytes=10-20" })), "InvalidRange", 416);
  });

  it("applies If-Match, If-None-Match, If-Modified-Since and If-Unmodified-Since", async () => {
    const put = await server.client.send(new PutObjectCommand({ Bucket, Key: "cond.txt", Body: "c" }));
    await server.client.send(new GetObjectCommand({ Bucket, Key: "cond.txt", IfMatch: put.ETag }));
    await rejectsWith(server.client.send(new GetObjectCommand({ Bucket, Key: "cond.txt", IfMatch: '"nope"' })), "PreconditionFailed", 412);
    await rejectsWith(server.client.send(new GetObjectCommand({ Bucket, Key: "cond.txt", IfNoneMatch: put.ETag })), undefined, 304);
    const future = new Date(Date.now() + 3600_000);
    const past = new Date(Date.now() - 3600_000);
    await rejectsWith(server.client.send(new GetObjectCommand({ Bucket, Key: "cond.txt", IfModifiedSince: future })), undefined, 304);
    await rejectsWith(server.client.send(new GetObjectCommand({ Bucket, Key: "cond.txt", IfUnmodifiedSince: past })), "PreconditionFailed", 412);
  });

  it("applies response-* overrides", async () => {
    const got = await server.client.send(
      new GetObjectCommand({ Bucket, Key: "docs/hello.txt", ResponseContentType: "application/json", ResponseContentDisposition: "inline" }),
    );
    assert.equal(got.ContentType, "application/json");
    assert.equal(got.ContentDisposition, "inline");
    await got.Body!.transformToString();
  });

  it("answers NoSuchKey for a missing key and treats keys as keys, never paths", async () => {
    await rejectsWith(server.client.send(new GetObjectCommand({ Bucket, Key: "missing" })), "NoSuchKey", 404);
    await rejectsWith(server.client.send(new HeadObjectCommand({ Bucket, Key: "missing" })), "NotFound", 404);
    const tricky = "../../etc/passwd";
    await server.client.send(new PutObjectCommand({ Bucket, Key: tricky, Body: "not a file" }));
    const got = await server.client.send(new GetObjectCommand({ Bucket, Key: tricky }));
    assert.equal(await got.Body!.transformToString(), "not a file");
    const unicode = "ünï cödé/ключ/🔑 key+plus&amp?.txt";
    await server.client.send(new PutObjectCommand({ Bucket, Key: unicode, Body: "u" }));
    const u = await server.client.send(new GetObjectCommand({ Bucket, Key: unicode }));
    assert.equal(await u.Body!.transformToString(), "u");
  });

  it("checks Content-MD5 and answers BadDigest when it does not match", async () => {
    const good = createHash("md5").update("digest me").digest("base64");
    await server.client.send(new PutObjectCommand({ Bucket, Key: "md5.txt", Body: "digest me", ContentMD5: good }));
    const wrong = createHash("md5").update("something else").digest("base64");
    await rejectsWith(server.client.send(new PutObjectCommand({ Bucket, Key: "md5.txt", Body: "digest me", ContentMD5: wrong })), "BadDigest", 400);
  });

  it("rejects an unknown storage class and keeps a valid one", async () => {
    await server.client.send(new PutObjectCommand({ Bucket, Key: "ia.txt", Body: "ia", StorageClass: "STANDARD_IA" }));
    const head = await server.client.send(new HeadObjectCommand({ Bucket, Key: "ia.txt" }));
    assert.equal(head.StorageClass, "STANDARD_IA");
    await rejectsWith(
      server.client.send(new PutObjectCommand({ Bucket, Key: "bad.txt", Body: "x", StorageClass: "NOPE" as "STANDARD" })),
      "InvalidStorageClass",
      400,
    );
  });

  it("copies with COPY and REPLACE directives and honours copy-source conditions", async () => {
    await server.client.send(new PutObjectCommand({ Bucket, Key: "src.txt", Body: "source", Metadata: { a: "1" }, ContentType: "text/x-src" }));
    const copy = await server.client.send(new CopyObjectCommand({ Bucket, Key: "dst.txt", CopySource: `${Bucket}/src.txt` }));
    assert.equal(copy.CopyObjectResult?.ETag, `"${md5hex("source")}"`);
    const dst = await server.client.send(new HeadObjectCommand({ Bucket, Key: "dst.txt" }));
    assert.deepEqual(dst.Metadata, { a: "1" });
    assert.equal(dst.ContentType, "text/x-src");
    await server.client.send(
      new CopyObjectCommand({ Bucket, Key: "dst2.txt", CopySource: `${Bucket}/src.txt`, MetadataDirective: "REPLACE", Metadata: { b: "2" }, ContentType: "text/plain" }),
    );
    const dst2 = await server.client.send(new HeadObjectCommand({ Bucket, Key: "dst2.txt" }));
    assert.deepEqual(dst2.Metadata, { b: "2" });
    await rejectsWith(
      server.client.send(new CopyObjectCommand({ Bucket, Key: "dst3.txt", CopySource: `${Bucket}/src.txt`, CopySourceIfMatch: '"other"' })),
      "PreconditionFailed",
      412,
    );
    await rejectsWith(server.client.send(new CopyObjectCommand({ Bucket, Key: "src.txt", CopySource: `${Bucket}/src.txt` })), "InvalidRequest", 400);
    await rejectsWith(server.client.send(new CopyObjectCommand({ Bucket, Key: "x", CopySource: `${Bucket}/nothing-here` })), "NoSuchKey", 404);
  });

  it("deletes one object and many in one request, quietly or not", async () => {
    for (const k of ["d1", "d2", "d3"]) await server.client.send(new PutObjectCommand({ Bucket, Key: k, Body: k }));
    const del = await server.client.send(new DeleteObjectCommand({ Bucket, Key: "d1" }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    const again = await server.client.send(new DeleteObjectCommand({ Bucket, Key: "d1" }));
    assert.equal(again.$metadata.httpStatusCode, 204);
    const many = await server.client.send(
      new DeleteObjectsCommand({ Bucket, Delete: { Objects: [{ Key: "d2" }, { Key: "d3" }, { Key: "never-was" }] } }),
    );
    assert.deepEqual(many.Deleted?.map((d) => d.Key).sort(), ["d2", "d3", "never-was"]);
    assert.equal(many.Errors, undefined);
    await server.client.send(new PutObjectCommand({ Bucket, Key: "q1", Body: "q" }));
    const quiet = await server.client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: [{ Key: "q1" }], Quiet: true } }));
    assert.equal(quiet.Deleted, undefined);
    await rejectsWith(server.client.send(new GetObjectCommand({ Bucket, Key: "q1" })), "NoSuchKey", 404);
  });

  it("serves presigned GET and PUT URLs and refuses them once expired or tampered with", async () => {
    const putUrl = await getSignedUrl(server.client, new PutObjectCommand({ Bucket, Key: "presigned.txt" }), { expiresIn: 60 });
    const put = await fetch(putUrl, { method: "PUT", body: "via presigned url" });
    assert.equal(put.status, 200);
    const getUrl = await getSignedUrl(server.client, new GetObjectCommand({ Bucket, Key: "presigned.txt" }), { expiresIn: 60 });
    const got = await fetch(getUrl);
    assert.equal(got.status, 200);
    assert.equal(await got.text(), "via presigned url");
    const tampered = getUrl.replace("presigned.txt", "presigned.tx%74x");
    const bad = await fetch(tampered);
    assert.equal(bad.status, 403);
    assert.match(await bad.text(), /<Code>SignatureDoesNotMatch<\/Code>/);
    const expiredUrl = await getSignedUrl(server.client, new GetObjectCommand({ Bucket, Key: "presigned.txt" }), {
      expiresIn: 1,
      signingDate: new Date(Date.now() - 10 * 60_000),
    });
    const expired = await fetch(expiredUrl);
    assert.equal(expired.status, 403);
    assert.match(await expired.text(), /<Code>AccessDenied<\/Code>/);
  });

  it("refuses anonymous requests and wrong credentials with the codes S3 uses", async () => {
    const anon = await fetch(`${server.url}/${Bucket}/docs/hello.txt`);
    assert.equal(anon.status, 403);
    assert.match(await anon.text(), /<Code>AccessDenied<\/Code>[\s\S]*<RequestId>/);
    const unknownKey = server.clientFor("STKUNKNOWNKEY0000000", "whatever");
    await rejectsWith(unknownKey.send(new GetObjectCommand({ Bucket, Key: "docs/hello.txt" })), "InvalidAccessKeyId", 403);
    unknownKey.destroy();
    const wrongSecret = server.clientFor(server.root.accessKeyId, "not-the-secret");
    await rejectsWith(wrongSecret.send(new GetObjectCommand({ Bucket, Key: "docs/hello.txt" })), "SignatureDoesNotMatch", 403);
    wrongSecret.destroy();
  });

  it("answers 501 NotImplemented in S3's error form for operations not built yet", async () => {
    await rejectsWith(server.client.send(new GetBucketAccelerateConfigurationCommand({ Bucket })), "NotImplemented", 501);
  });
});
