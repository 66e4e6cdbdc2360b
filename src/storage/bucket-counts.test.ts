// The per-bucket counts the metrics read: kept by triggers as versions are written, replaced,
// deleted and promoted, so they must always equal a count over the versions.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteMetadataStore } from "./sqlite-metadata.js";
import type { BucketRef, ObjectVersionRecord } from "./types.js";

function version(bucket: string, key: string, versionId: string, isDeleteMarker = false): Omit<ObjectVersionRecord, "isLatest"> {
  return {
    bucket,
    key,
    versionId,
    isDeleteMarker,
    size: 1,
    etag: '"e"',
    lastModified: new Date(1_700_000_000_000),
    storageClass: "STANDARD",
    contentHeaders: {},
    userMetadata: {},
    ownerAccountId: "111122223333",
    partsCount: 0,
    extra: {},
    body: isDeleteMarker ? null : { kind: "inline", data: Buffer.from("x") },
  };
}

describe("SqliteMetadataStore.bucketCounts", () => {
  let dir: string;
  let store: SqliteMetadataStore;
  const a: BucketRef = { name: "a", id: "a1" };
  const b: BucketRef = { name: "b", id: "b1" };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "stocktake-counts-"));
    store = SqliteMetadataStore.open(dir);
    for (const ref of [a, b]) {
      await store.createBucket({ name: ref.name, id: ref.id, ownerAccountId: "111122223333", region: "us-east-1", createdAt: new Date(), versioning: undefined });
    }
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const counts = async () => Object.fromEntries((await store.bucketCounts()).map((c) => [c.bucket, [c.objects, c.versions]]));

  it("follows writes, replaced null versions, delete markers, deletes and promotions", async () => {
    assert.deepEqual(await counts(), {});
    await store.putVersion(a, version("a", "k1", "null"));
    await store.putVersion(a, version("a", "k1", "null"));
    await store.putVersion(a, version("a", "k2", "v1"));
    await store.putVersion(a, version("a", "k2", "v2"));
    await store.putVersion(b, version("b", "k", "v1"));
    assert.deepEqual(await counts(), { a: [2, 3], b: [1, 1] });
    await store.putVersion(a, version("a", "k2", "m1", true));
    assert.deepEqual(await counts(), { a: [1, 4], b: [1, 1] });
    // Removing the marker promotes v2 back to a current object.
    await store.deleteVersion(a, "k2", "m1");
    assert.deepEqual(await counts(), { a: [2, 3], b: [1, 1] });
    await store.deleteVersion(a, "k2", "v1");
    assert.deepEqual(await counts(), { a: [2, 2], b: [1, 1] });
    await store.deleteVersion(b, "k", "v1");
    assert.equal((await store.deleteBucket(b)).deleted, true);
    assert.deepEqual(await counts(), { a: [2, 2] });
  });

  it("reports the database's size on disk", async () => {
    assert.ok((await store.sizeBytes()) > 0);
  });
});
