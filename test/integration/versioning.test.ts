// Versioning through the AWS SDK v3: bucket state, version ids, delete markers, the null version,
// and ListObjectVersions in S3's order (key, then newest first).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3ServiceException,
  type S3Client,
} from "@aws-sdk/client-s3";
import { startTestServer, type TestServer } from "../helpers/server.js";

async function errorOf(p: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof S3ServiceException, String(e));
    return e;
  }
  assert.fail("expected an error");
}

async function body(client: S3Client, Bucket: string, Key: string, VersionId?: string): Promise<string> {
  const got = await client.send(new GetObjectCommand({ Bucket, Key, VersionId }));
  return got.Body!.transformToString();
}

describe("versioning", () => {
  let server: TestServer;
  let s3: S3Client;
  const Bucket = "versioned-bucket";

  before(async () => {
    server = await startTestServer();
    s3 = server.client;
    await s3.send(new CreateBucketCommand({ Bucket }));
  });
  after(async () => {
    await server.stop();
  });

  it("reports no status for a bucket that never had versioning", async () => {
    const v = await s3.send(new GetBucketVersioningCommand({ Bucket }));
    assert.equal(v.Status, undefined);
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: "before", Body: "null version" }));
    assert.equal(put.VersionId, undefined, "unversioned buckets send no version id");
  });

  it("gives each write a new version id once enabled, keeping the earlier null version", async () => {
    await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: "Enabled" } }));
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status, "Enabled");
    const v1 = await s3.send(new PutObjectCommand({ Bucket, Key: "before", Body: "first versioned" }));
    const v2 = await s3.send(new PutObjectCommand({ Bucket, Key: "before", Body: "second versioned" }));
    assert.ok(v1.VersionId && v2.VersionId && v1.VersionId !== v2.VersionId && v1.VersionId !== "null");
    assert.equal(await body(s3, Bucket, "before"), "second versioned");
    assert.equal(await body(s3, Bucket, "before", v1.VersionId), "first versioned");
    assert.equal(await body(s3, Bucket, "before", "null"), "null version");
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: "before" }));
    assert.equal(head.VersionId, v2.VersionId);
    const list = await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix: "before" }));
    assert.deepEqual(list.Versions?.map((v) => [v.VersionId, v.IsLatest]), [
      [v2.VersionId, true],
      [v1.VersionId, false],
      ["null", false],
    ]);
  });

  it("creates a delete marker for a delete without a version id, hiding the key", async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: "doomed", Body: "alive" }));
    const del = await s3.send(new DeleteObjectCommand({ Bucket, Key: "doomed" }));
    assert.equal(del.DeleteMarker, true);
    assert.ok(del.VersionId);
    const err = await errorOf(s3.send(new GetObjectCommand({ Bucket, Key: "doomed" })));
    assert.equal(err.name, "NoSuchKey");
    assert.equal(err.$response?.headers["x-amz-delete-marker"], "true");
    const onMarker = await errorOf(s3.send(new GetObjectCommand({ Bucket, Key: "doomed", VersionId: del.VersionId })));
    assert.equal(onMarker.$metadata.httpStatusCode, 405);
    assert.equal(onMarker.name, "MethodNotAllowed");
    const listed = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: "doomed" }));
    assert.equal(listed.KeyCount, 0);
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix: "doomed" }));
    assert.deepEqual(versions.DeleteMarkers?.map((m) => [m.VersionId, m.IsLatest]), [[del.VersionId, true]]);
    assert.equal(versions.Versions?.[0]?.IsLatest, false);

    const undo = await s3.send(new DeleteObjectCommand({ Bucket, Key: "doomed", VersionId: del.VersionId }));
    assert.equal(undo.DeleteMarker, true);
    assert.equal(await body(s3, Bucket, "doomed"), "alive", "removing the marker brings the object back");
  });

  it("removes one version for good when deleting by version id", async () => {
    const a = await s3.send(new PutObjectCommand({ Bucket, Key: "two", Body: "a" }));
    const b = await s3.send(new PutObjectCommand({ Bucket, Key: "two", Body: "b" }));
    await s3.send(new DeleteObjectCommand({ Bucket, Key: "two", VersionId: b.VersionId }));
    assert.equal(await body(s3, Bucket, "two"), "a");
    const err = await errorOf(s3.send(new GetObjectCommand({ Bucket, Key: "two", VersionId: b.VersionId })));
    assert.equal(err.name, "NoSuchVersion");
    const many = await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: [{ Key: "two", VersionId: a.VersionId }] } }));
    assert.deepEqual(many.Deleted?.map((d) => [d.Key, d.VersionId]), [["two", a.VersionId]]);
    assert.equal((await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix: "two" }))).Versions, undefined);
  });

  it("writes and replaces the null version while suspended, keeping older versions", async () => {
    const enabled = await s3.send(new PutObjectCommand({ Bucket, Key: "susp", Body: "enabled-era" }));
    await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: "Suspended" } }));
    assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status, "Suspended");
    const n1 = await s3.send(new PutObjectCommand({ Bucket, Key: "susp", Body: "null one" }));
    assert.equal(n1.VersionId, undefined, "S3 answers a suspended bucket's write without x-amz-version-id");
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: "susp" }))).VersionId, "null");
    await s3.send(new PutObjectCommand({ Bucket, Key: "susp", Body: "null two" }));
    const list = await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix: "susp" }));
    assert.deepEqual(list.Versions?.map((v) => v.VersionId), ["null", enabled.VersionId]);
    assert.equal(await body(s3, Bucket, "susp"), "null two");
    const del = await s3.send(new DeleteObjectCommand({ Bucket, Key: "susp" }));
    assert.equal(del.VersionId, "null", "a suspended bucket's delete marker is the null version");
    const after = await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix: "susp" }));
    assert.deepEqual(after.DeleteMarkers?.map((m) => m.VersionId), ["null"]);
    assert.deepEqual(after.Versions?.map((v) => v.VersionId), [enabled.VersionId]);
    await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: "Enabled" } }));
  });

  it("pages through versions with key and version-id markers in S3's order", async () => {
    const B = "paging-versions";
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: B, VersioningConfiguration: { Status: "Enabled" } }));
    const expected: [string, string][] = [];
    for (const key of ["b", "a", "c/x", "c/y"]) {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: `${key}${i}` }))).VersionId!);
      expected.push(...ids.reverse().map((id) => [key, id] as [string, string]));
    }
    expected.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    const seen: [string, string][] = [];
    let KeyMarker: string | undefined;
    let VersionIdMarker: string | undefined;
    for (;;) {
      const page = await s3.send(new ListObjectVersionsCommand({ Bucket: B, MaxKeys: 2, KeyMarker, VersionIdMarker }));
      for (const v of page.Versions ?? []) seen.push([v.Key!, v.VersionId!]);
      if (!page.IsTruncated) break;
      KeyMarker = page.NextKeyMarker;
      VersionIdMarker = page.NextVersionIdMarker;
    }
    assert.deepEqual(seen, expected);
    const folded = await s3.send(new ListObjectVersionsCommand({ Bucket: B, Delimiter: "/" }));
    assert.deepEqual(folded.CommonPrefixes?.map((p) => p.Prefix), ["c/"]);
    assert.equal(folded.Versions?.length, 6);
    const p1 = await s3.send(new ListObjectVersionsCommand({ Bucket: B, Delimiter: "/", MaxKeys: 6 }));
    assert.equal(p1.IsTruncated, true);
    const p2 = await s3.send(new ListObjectVersionsCommand({ Bucket: B, Delimiter: "/", KeyMarker: p1.NextKeyMarker, VersionIdMarker: p1.NextVersionIdMarker }));
    assert.deepEqual(p2.CommonPrefixes?.map((p) => p.Prefix), ["c/"]);
    assert.equal(p2.Versions, undefined);
  });

  it("refuses a versioning configuration with an unknown status", async () => {
    const err = await errorOf(s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: "On" as "Enabled" } })));
    assert.equal(err.name, "MalformedXML");
  });
});
