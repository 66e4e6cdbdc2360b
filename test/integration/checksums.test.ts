// Checksums through the AWS SDK v3 (which sends them as aws-chunked trailers), checksum headers
// sent directly, GetObjectAttributes, and storage classes changed in place by CopyObject.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CopyObjectCommand,
  CreateBucketCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3ServiceException,
  type ChecksumAlgorithm,
} from "@aws-sdk/client-s3";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { checksumBase64 } from "../../src/crypto/checksums.js";

describe("checksums and storage classes", () => {
  let server: TestServer;
  const Bucket = "checksum-bucket";
  before(async () => {
    server = await startTestServer();
    await server.client.send(new CreateBucketCommand({ Bucket }));
  });
  after(async () => {
    await server.stop();
  });

  for (const alg of ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"] as const) {
    it(`stores a ${alg} checksum sent by the SDK and returns it on HEAD, GET and GetObjectAttributes`, async () => {
      const data = Buffer.from(`payload for ${alg} `.repeat(1000));
      const Key = `sum-${alg}`;
      const put = await server.client.send(new PutObjectCommand({ Bucket, Key, Body: data, ChecksumAlgorithm: alg as ChecksumAlgorithm }));
      const expected = checksumBase64(alg, data);
      const field = `Checksum${alg}` as const;
      assert.equal(put[field], expected);
      const head = await server.client.send(new HeadObjectCommand({ Bucket, Key, ChecksumMode: "ENABLED" }));
      assert.equal(head[field], expected);
      assert.equal(head.ChecksumType, "FULL_OBJECT");
      const got = await server.client.send(new GetObjectCommand({ Bucket, Key, ChecksumMode: "ENABLED" }));
      assert.equal(got[field], expected);
      await got.Body!.transformToByteArray();
      const attrs = await server.client.send(new GetObjectAttributesCommand({ Bucket, Key, ObjectAttributes: ["Checksum", "ETag", "ObjectSize", "StorageClass"] }));
      assert.equal(attrs.Checksum?.[field], expected);
      assert.equal(attrs.ObjectSize, data.length);
      assert.equal(attrs.StorageClass, "STANDARD");
      assert.match(attrs.ETag ?? "", /^[0-9a-f]{32}$/);
      const listed = await server.client.send(new ListObjectsV2Command({ Bucket, Prefix: Key }));
      assert.deepEqual(listed.Contents?.[0]?.ChecksumAlgorithm, [alg]);
    });
  }

  it("answers BadDigest when a checksum header does not match the body", async () => {
    const res = await server.client
      .send(new PutObjectCommand({ Bucket, Key: "wrong-sum", Body: "actual body", ChecksumSHA256: checksumBase64("SHA256", Buffer.from("other body")) }))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(res instanceof S3ServiceException);
    assert.equal(res.name, "BadDigest");
    assert.equal(res.$metadata.httpStatusCode, 400);
  });

  it("refuses unknown attribute names in GetObjectAttributes", async () => {
    await server.client.send(new PutObjectCommand({ Bucket, Key: "attrs", Body: "x" }));
    const res = await server.client.send(new GetObjectAttributesCommand({ Bucket, Key: "attrs", ObjectAttributes: ["Nope" as "ETag"] })).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(res instanceof S3ServiceException && res.name === "InvalidArgument");
  });

  it("changes an object's storage class in place with CopyObject", async () => {
    await server.client.send(new PutObjectCommand({ Bucket, Key: "tiered", Body: "cold soon" }));
    await server.client.send(new CopyObjectCommand({ Bucket, Key: "tiered", CopySource: `${Bucket}/tiered`, StorageClass: "GLACIER_IR" }));
    const head = await server.client.send(new HeadObjectCommand({ Bucket, Key: "tiered" }));
    assert.equal(head.StorageClass, "GLACIER_IR");
    const listed = await server.client.send(new ListObjectsV2Command({ Bucket, Prefix: "tiered" }));
    assert.equal(listed.Contents?.[0]?.StorageClass, "GLACIER_IR");
  });
});
