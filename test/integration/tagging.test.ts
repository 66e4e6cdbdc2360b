// Object and bucket tagging through the AWS SDK v3 and boto3: x-amz-tagging on writes, the tag
// count on GET/HEAD, Put/Get/DeleteObjectTagging (also per version), CopyObject's tagging
// directive, multipart uploads, bucket tagging, and S3's errors for bad tag sets.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketTaggingCommand,
  DeleteObjectTaggingCommand,
  GetBucketTaggingCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { startTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import { rejectsWith } from "../helpers/errors.js";
import { python } from "../helpers/inventory.js";
import { signedFetch } from "../helpers/raw.js";

const BUCKET = "tagging-bucket";
const VERSIONED = "tagging-versioned";

describe("object and bucket tagging", () => {
  let server: TestServer;
  let s3: S3Client;

  before(async () => {
    server = await startTestServer();
    s3 = server.client;
    for (const Bucket of [BUCKET, VERSIONED]) await s3.send(new CreateBucketCommand({ Bucket }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: VERSIONED, VersioningConfiguration: { Status: "Enabled" } }));
  });
  after(() => server.stop());

  const tagSet = async (Bucket: string, Key: string, VersionId?: string) => (await s3.send(new GetObjectTaggingCommand({ Bucket, Key, VersionId }))).TagSet;

  it("stores x-amz-tagging from PutObject, counts it on GET and HEAD, and returns it", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "tagged", Body: "x", Tagging: "project=blue%20sky&team=core&empty=" }));
    assert.deepEqual(await tagSet(BUCKET, "tagged"), [
      { Key: "empty", Value: "" },
      { Key: "project", Value: "blue sky" },
      { Key: "team", Value: "core" },
    ]);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "tagged" }))).TagCount, 3);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "tagged" }));
    assert.equal(got.TagCount, 3);
    await got.Body!.transformToString();
  });

  it("answers an empty TagSet and no tag count for an untagged object", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "plain", Body: "x" }));
    assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: "plain" }))).TagSet ?? [], []);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "plain" }))).TagCount, undefined);
  });

  it("replaces and deletes tags with Put/DeleteObjectTagging", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "retag", Body: "x", Tagging: "a=1" }));
    await s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: "retag", Tagging: { TagSet: [{ Key: "b", Value: "2" }, { Key: "c", Value: "3" }] } }));
    assert.deepEqual(await tagSet(BUCKET, "retag"), [{ Key: "b", Value: "2" }, { Key: "c", Value: "3" }]);
    await s3.send(new DeleteObjectTaggingCommand({ Bucket: BUCKET, Key: "retag" }));
    assert.deepEqual((await tagSet(BUCKET, "retag")) ?? [], []);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "retag" }))).TagCount, undefined);
  });

  it("answers a tag set in key order however it was sent, a key without = as an empty value", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "ordered", Body: "x", Tagging: "foo=bar&bar" }));
    assert.deepEqual(await tagSet(BUCKET, "ordered"), [{ Key: "bar", Value: "" }, { Key: "foo", Value: "bar" }]);
    await s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: "ordered", Tagging: { TagSet: [{ Key: "z", Value: "1" }, { Key: "a", Value: "2" }] } }));
    assert.deepEqual(await tagSet(BUCKET, "ordered"), [{ Key: "a", Value: "2" }, { Key: "z", Value: "1" }]);
  });

  it("tags one version by versionId and leaves the others alone", async () => {
    const v1 = await s3.send(new PutObjectCommand({ Bucket: VERSIONED, Key: "doc", Body: "1", Tagging: "gen=1" }));
    const v2 = await s3.send(new PutObjectCommand({ Bucket: VERSIONED, Key: "doc", Body: "2", Tagging: "gen=2" }));
    const put = await s3.send(new PutObjectTaggingCommand({ Bucket: VERSIONED, Key: "doc", VersionId: v1.VersionId, Tagging: { TagSet: [{ Key: "gen", Value: "old" }] } }));
    assert.equal(put.VersionId, v1.VersionId);
    assert.deepEqual(await tagSet(VERSIONED, "doc", v1.VersionId), [{ Key: "gen", Value: "old" }]);
    assert.deepEqual(await tagSet(VERSIONED, "doc"), [{ Key: "gen", Value: "2" }]);
    const got = await s3.send(new GetObjectTaggingCommand({ Bucket: VERSIONED, Key: "doc" }));
    assert.equal(got.VersionId, v2.VersionId);
  });

  it("copies tags by default and replaces them with x-amz-tagging-directive REPLACE", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "src", Body: "x", Tagging: "from=source" }));
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "copy-kept", CopySource: `${BUCKET}/src`, Tagging: "ignored=yes" }));
    assert.deepEqual(await tagSet(BUCKET, "copy-kept"), [{ Key: "from", Value: "source" }]);
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "copy-new", CopySource: `${BUCKET}/src`, TaggingDirective: "REPLACE", Tagging: "fresh=1" }));
    assert.deepEqual(await tagSet(BUCKET, "copy-new"), [{ Key: "fresh", Value: "1" }]);
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "copy-none", CopySource: `${BUCKET}/src`, TaggingDirective: "REPLACE" }));
    assert.deepEqual((await tagSet(BUCKET, "copy-none")) ?? [], []);
  });

  it("gives a multipart object the tags of its CreateMultipartUpload", async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "mpu", Tagging: "kind=multipart" }));
    const part = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "mpu", UploadId, PartNumber: 1, Body: "only part" }));
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: "mpu", UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
    assert.deepEqual(await tagSet(BUCKET, "mpu"), [{ Key: "kind", Value: "multipart" }]);
  });

  it("refuses bad tag sets with S3's codes", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "target", Body: "x" }));
    const eleven = Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: "v" }));
    await rejectsWith(s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: "target", Tagging: { TagSet: eleven } })), "BadRequest", 400);
    await rejectsWith(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "target", Body: "x", Tagging: eleven.map((t) => `${t.Key}=v`).join("&") })), "BadRequest", 400);
    await rejectsWith(s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: "target", Tagging: { TagSet: [{ Key: "a", Value: "1" }, { Key: "a", Value: "2" }] } })), "InvalidTag", 400);
    await rejectsWith(s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: "target", Tagging: { TagSet: [{ Key: "k".repeat(129), Value: "1" }] } })), "InvalidTag", 400);
    await rejectsWith(s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: "target", Tagging: { TagSet: [{ Key: "k", Value: "v".repeat(257) }] } })), "InvalidTag", 400);
    await rejectsWith(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "c", CopySource: `${BUCKET}/target`, TaggingDirective: "MERGE" as "COPY" })), "InvalidArgument", 400);
    await rejectsWith(s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: "missing" })), "NoSuchKey", 404);
    assert.deepEqual((await tagSet(BUCKET, "target")) ?? [], [], "a refused request changes nothing");
  });

  it("requires Content-MD5 or a checksum on PutObjectTagging and PutBucketTagging", async () => {
    const body = "<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>";
    const creds = { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY };
    const obj = await signedFetch(server.url, creds, "PUT", `/${BUCKET}/target`, { tagging: "" }, body);
    assert.equal(obj.status, 400);
    assert.match(obj.text, /<Code>InvalidRequest<\/Code>/);
    const bucket = await signedFetch(server.url, creds, "PUT", `/${BUCKET}`, { tagging: "" }, body);
    assert.equal(bucket.status, 400);
    assert.match(bucket.text, /<Code>InvalidRequest<\/Code>/);
  });

  it("stores, returns and deletes bucket tags; NoSuchTagSet when there are none", async () => {
    await rejectsWith(s3.send(new GetBucketTaggingCommand({ Bucket: BUCKET })), "NoSuchTagSet", 404);
    await s3.send(new PutBucketTaggingCommand({ Bucket: BUCKET, Tagging: { TagSet: [{ Key: "cost-center", Value: "42" }, { Key: "env", Value: "test" }] } }));
    assert.deepEqual((await s3.send(new GetBucketTaggingCommand({ Bucket: BUCKET }))).TagSet, [{ Key: "cost-center", Value: "42" }, { Key: "env", Value: "test" }]);
    await rejectsWith(s3.send(new PutBucketTaggingCommand({ Bucket: BUCKET, Tagging: { TagSet: [{ Key: "aws:x", Value: "1" }] } })), "InvalidTag", 400);
    await s3.send(new DeleteBucketTaggingCommand({ Bucket: BUCKET }));
    await rejectsWith(s3.send(new GetBucketTaggingCommand({ Bucket: BUCKET })), "NoSuchTagSet", 404);
  });

  it("works from boto3: object tagging on put, put/get_object_tagging, bucket tagging", async () => {
    const out = await python(
      `
import sys, json, boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3], config=Config(s3={"addressing_style": "path"}))
s3.put_object(Bucket="${BUCKET}", Key="boto", Body=b"x", Tagging="a=1&b=two%20words")
first = s3.get_object_tagging(Bucket="${BUCKET}", Key="boto")["TagSet"]
s3.put_object_tagging(Bucket="${BUCKET}", Key="boto", Tagging={"TagSet": [{"Key": "c", "Value": "3"}]})
second = s3.get_object_tagging(Bucket="${BUCKET}", Key="boto")["TagSet"]
count = s3.head_object(Bucket="${BUCKET}", Key="boto").get("TagCount")
s3.put_bucket_tagging(Bucket="${BUCKET}", Tagging={"TagSet": [{"Key": "owner", "Value": "boto"}]})
bucket = s3.get_bucket_tagging(Bucket="${BUCKET}")["TagSet"]
try:
    s3.put_object_tagging(Bucket="${BUCKET}", Key="boto", Tagging={"TagSet": [{"Key": "d", "Value": "1"}, {"Key": "d", "Value": "2"}]})
    err = None
except s3.exceptions.ClientError as e:
    err = [e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]]
print(json.dumps([first, second, count, bucket, err]))
`,
      server.url,
      TEST_ACCESS_KEY,
      TEST_SECRET_KEY,
    );
    assert.deepEqual(JSON.parse(out), [
      [{ Key: "a", Value: "1" }, { Key: "b", Value: "two words" }],
      [{ Key: "c", Value: "3" }],
      1,
      [{ Key: "owner", Value: "boto" }],
      ["InvalidTag", 400],
    ]);
  });
});
