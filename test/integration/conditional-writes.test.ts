// Conditional writes through the AWS SDK v3 (default settings): If-None-Match: * and If-Match on
// PutObject, CopyObject's destination and CompleteMultipartUpload, including a race of concurrent
// creates of one key, which exactly one may win.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3ServiceException,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { rejectsWith } from "../helpers/errors.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

describe("conditional writes", () => {
  let server: TestServer;
  const Bucket = "conditional-bucket";
  const Versioned = "conditional-versioned";

  const body = async (Key: string, B = Bucket) => (await server.client.send(new GetObjectCommand({ Bucket: B, Key }))).Body!.transformToString();

  before(async () => {
    server = await startTestServer();
    await server.client.send(new CreateBucketCommand({ Bucket }));
    await server.client.send(new CreateBucketCommand({ Bucket: Versioned }));
    await server.client.send(new PutBucketVersioningCommand({ Bucket: Versioned, VersioningConfiguration: { Status: "Enabled" } }));
  });
  after(async () => {
    await server.stop();
  });

  it("creates with If-None-Match: * once, then answers 412 PreconditionFailed and keeps the first body", async () => {
    await server.client.send(new PutObjectCommand({ Bucket, Key: "once", Body: "first", IfNoneMatch: "*" }));
    await rejectsWith(server.client.send(new PutObjectCommand({ Bucket, Key: "once", Body: "second", IfNoneMatch: "*" })), "PreconditionFailed", 412);
    assert.equal(await body("once"), "first");
  });

  it("lets exactly one of 16 concurrent If-None-Match creates of one key win", async () => {
    const bodies = Array.from({ length: 16 }, (_, i) => `writer-${i}-` + randomBytes(8).toString("hex"));
    const outcomes = await Promise.allSettled(bodies.map((Body) => server.client.send(new PutObjectCommand({ Bucket, Key: "race", Body, IfNoneMatch: "*" }))));
    const won = outcomes.flatMap((o, i) => (o.status === "fulfilled" ? [i] : []));
    assert.equal(won.length, 1, `winners: ${won.join(", ")}`);
    for (const o of outcomes) {
      if (o.status === "rejected") {
        const err = o.reason as S3ServiceException;
        assert.ok(
          (err.name === "PreconditionFailed" && err.$metadata.httpStatusCode === 412) || (err.name === "ConditionalRequestConflict" && err.$metadata.httpStatusCode === 409),
          `loser got ${err.name} ${err.$metadata.httpStatusCode}`,
        );
      }
    }
    assert.equal(await body("race"), bodies[won[0]!]);
  });

  it("replaces with If-Match only when the ETag is the current one", async () => {
    const first = await server.client.send(new PutObjectCommand({ Bucket, Key: "cas", Body: "v1" }));
    await rejectsWith(server.client.send(new PutObjectCommand({ Bucket, Key: "cas", Body: "v2", IfMatch: '"0123456789abcdef0123456789abcdef"' })), "PreconditionFailed", 412);
    assert.equal(await body("cas"), "v1");
    await server.client.send(new PutObjectCommand({ Bucket, Key: "cas", Body: "v2", IfMatch: first.ETag }));
    assert.equal(await body("cas"), "v2");
    // The ETag read before the second write no longer names the current object.
    await rejectsWith(server.client.send(new PutObjectCommand({ Bucket, Key: "cas", Body: "v3", IfMatch: first.ETag })), "PreconditionFailed", 412);
  });

  it("answers If-Match on a key with no object 404 NoSuchKey, and refuses If-None-Match other than * as not implemented", async () => {
    await rejectsWith(server.client.send(new PutObjectCommand({ Bucket, Key: "absent", Body: "x", IfMatch: '"0123456789abcdef0123456789abcdef"' })), "NoSuchKey", 404);
    const etag = server.client.send(new PutObjectCommand({ Bucket, Key: "absent", Body: "x", IfNoneMatch: '"0123456789abcdef0123456789abcdef"' }));
    await assert.rejects(etag, (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(err.name, "NotImplemented");
      assert.equal(err.$metadata?.httpStatusCode, 501);
      assert.equal(err.message, "A header you provided implies functionality that is not implemented.");
      return true;
    });
  });

  it("treats a key whose latest version is a delete marker as absent", async () => {
    await server.client.send(new PutObjectCommand({ Bucket: Versioned, Key: "k", Body: "old" }));
    await server.client.send(new DeleteObjectCommand({ Bucket: Versioned, Key: "k" }));
    await server.client.send(new PutObjectCommand({ Bucket: Versioned, Key: "k", Body: "new", IfNoneMatch: "*" }));
    assert.equal(await body("k", Versioned), "new");
    await rejectsWith(server.client.send(new PutObjectCommand({ Bucket: Versioned, Key: "k", Body: "newer", IfNoneMatch: "*" })), "PreconditionFailed", 412);
    const versions = await server.client.send(new ListObjectVersionsCommand({ Bucket: Versioned, Prefix: "k" }));
    assert.equal(versions.Versions?.length, 2);
  });

  it("checks CopyObject's destination with If-None-Match and If-Match", async () => {
    await server.client.send(new PutObjectCommand({ Bucket, Key: "copy-src", Body: "source" }));
    const dest = await server.client.send(new PutObjectCommand({ Bucket, Key: "copy-dst", Body: "dest" }));
    await rejectsWith(server.client.send(new CopyObjectCommand({ Bucket, Key: "copy-dst", CopySource: `${Bucket}/copy-src`, IfNoneMatch: "*" })), "PreconditionFailed", 412);
    await rejectsWith(server.client.send(new CopyObjectCommand({ Bucket, Key: "copy-dst", CopySource: `${Bucket}/copy-src`, IfMatch: '"00000000000000000000000000000000"' })), "PreconditionFailed", 412);
    assert.equal(await body("copy-dst"), "dest");
    await server.client.send(new CopyObjectCommand({ Bucket, Key: "copy-dst", CopySource: `${Bucket}/copy-src`, IfMatch: dest.ETag }));
    assert.equal(await body("copy-dst"), "source");
    await server.client.send(new CopyObjectCommand({ Bucket, Key: "copy-new", CopySource: `${Bucket}/copy-src`, IfNoneMatch: "*" }));
    assert.equal(await body("copy-new"), "source");
  });

  it("checks CompleteMultipartUpload's condition and keeps the upload when it fails", async () => {
    const complete = async (Key: string, cond: { IfNoneMatch?: string; IfMatch?: string }) => {
      const { UploadId } = await server.client.send(new CreateMultipartUploadCommand({ Bucket, Key }));
      const part = await server.client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: "multipart body" }));
      const send = () =>
        server.client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] }, ...cond }));
      return { send };
    };
    await server.client.send(new PutObjectCommand({ Bucket, Key: "mpu-taken", Body: "taken" }));
    const refused = await complete("mpu-taken", { IfNoneMatch: "*" });
    await rejectsWith(refused.send(), "PreconditionFailed", 412);
    // The upload is still there: the same Complete fails on its condition again, not NoSuchUpload.
    await rejectsWith(refused.send(), "PreconditionFailed", 412);
    assert.equal(await body("mpu-taken"), "taken");
    const fresh = await complete("mpu-fresh", { IfNoneMatch: "*" });
    await fresh.send();
    assert.equal(await body("mpu-fresh"), "multipart body");
  });
});
