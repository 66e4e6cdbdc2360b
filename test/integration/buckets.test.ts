// Bucket operations through the AWS SDK for JavaScript v3 with its default settings.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  GetBucketLocationCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { rejectsWith } from "../helpers/errors.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { createAccount, loadSealingKey } from "../../src/auth/accounts.js";


describe("buckets", () => {
  let server: TestServer;
  let other: S3Client;
  let otherAccountId: string;

  before(async () => {
    server = await startTestServer();
    const creds = await createAccount(server.context.metadata, loadSealingKey(server.dataDir), {}, new Date());
    otherAccountId = creds.accountId;
    other = server.clientFor(creds.accessKeyId, creds.secretAccessKey);
  });
  after(async () => {
    other.destroy();
    await server.stop();
  });

  it("creates a bucket, heads it with its region and lists it", async () => {
    const created = await server.client.send(new CreateBucketCommand({ Bucket: "alpha-bucket" }));
    assert.equal(created.Location, "/alpha-bucket");
    const head = await server.client.send(new HeadBucketCommand({ Bucket: "alpha-bucket" }));
    assert.equal(head.BucketRegion, "us-east-1");
    const list = await server.client.send(new ListBucketsCommand({}));
    assert.deepEqual(list.Buckets?.map((b) => b.Name), ["alpha-bucket"]);
    assert.ok(list.Buckets?.[0]?.CreationDate instanceof Date);
    assert.match(list.Owner?.ID ?? "", /^[0-9a-f]{64}$/);
  });

  it("lets its owner create it again in us-east-1 (S3's legacy 200) and answers BucketAlreadyExists to another account", async () => {
    const again = await server.client.send(new CreateBucketCommand({ Bucket: "alpha-bucket" }));
    assert.equal(again.$metadata.httpStatusCode, 200);
    assert.deepEqual((await server.client.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name), ["alpha-bucket"]);
    await rejectsWith(other.send(new CreateBucketCommand({ Bucket: "alpha-bucket" })), "BucketAlreadyExists", 409);
  });

  it("refuses names that break the naming rules, or that S3 Metadata keeps for an account's table bucket, with InvalidBucketName", async () => {
    for (const bad of ["ab", "Upper-Case", "has_underscore", "192.168.1.1", "double..dot", "-leading", "xn--punycode", "a".repeat(64), "aws-s3-210987654321"]) {
      await rejectsWith(server.client.send(new CreateBucketCommand({ Bucket: bad })), "InvalidBucketName", 400);
    }
  });

  it("checks the location constraint against the server's region", async () => {
    await rejectsWith(
      server.client.send(new CreateBucketCommand({ Bucket: "eu-bucket", CreateBucketConfiguration: { LocationConstraint: "eu-west-1" } })),
      "IllegalLocationConstraintException",
      400,
    );
    const loc = await server.client.send(new GetBucketLocationCommand({ Bucket: "alpha-bucket" }));
    assert.equal(loc.LocationConstraint, undefined);
  });

  it("lists only the caller's own buckets", async () => {
    await other.send(new CreateBucketCommand({ Bucket: "other-owned" }));
    const mine = await server.client.send(new ListBucketsCommand({}));
    assert.ok(!mine.Buckets?.some((b) => b.Name === "other-owned"));
    const theirs = await other.send(new ListBucketsCommand({}));
    assert.deepEqual(theirs.Buckets?.map((b) => b.Name), ["other-owned"]);
  });

  it("denies another account's access and honours ExpectedBucketOwner", async () => {
    await rejectsWith(other.send(new HeadBucketCommand({ Bucket: "alpha-bucket" })), undefined, 403);
    await rejectsWith(
      server.client.send(new HeadBucketCommand({ Bucket: "alpha-bucket", ExpectedBucketOwner: otherAccountId })),
      undefined,
      403,
    );
    await rejectsWith(
      server.client.send(new PutObjectCommand({ Bucket: "alpha-bucket", Key: "k", Body: "x", ExpectedBucketOwner: otherAccountId })),
      "AccessDenied",
      403,
    );
    await server.client.send(new HeadBucketCommand({ Bucket: "alpha-bucket", ExpectedBucketOwner: server.root.accountId }));
  });

  it("answers NoSuchBucket for a bucket that does not exist", async () => {
    await rejectsWith(server.client.send(new HeadBucketCommand({ Bucket: "missing-bucket" })), "NotFound", 404);
    await rejectsWith(server.client.send(new DeleteBucketCommand({ Bucket: "missing-bucket" })), "NoSuchBucket", 404);
  });

  it("refuses to delete a bucket that holds objects, then deletes it once empty", async () => {
    await server.client.send(new CreateBucketCommand({ Bucket: "to-delete" }));
    await server.client.send(new PutObjectCommand({ Bucket: "to-delete", Key: "k", Body: "x" }));
    await rejectsWith(server.client.send(new DeleteBucketCommand({ Bucket: "to-delete" })), "BucketNotEmpty", 409);
    const { DeleteObjectCommand } = await import("@aws-sdk/client-s3");
    await server.client.send(new DeleteObjectCommand({ Bucket: "to-delete", Key: "k" }));
    const res = await server.client.send(new DeleteBucketCommand({ Bucket: "to-delete" }));
    assert.equal(res.$metadata.httpStatusCode, 204);
  });

  it("keeps buckets across a restart", async () => {
    server = await server.restart();
    const list = await server.client.send(new ListBucketsCommand({}));
    assert.ok(list.Buckets?.some((b) => b.Name === "alpha-bucket"));
  });
});
