// The SQLite metadata store: key order, listing bounds, version semantics, group commit, persistence.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteMetadataStore, prefixUpperBound } from "./sqlite-metadata.js";
import { BucketGoneError, type ObjectVersionRecord, type VersionScan } from "./types.js";

function version(bucket: string, key: string, versionId = "null", extra: Partial<ObjectVersionRecord> = {}): Omit<ObjectVersionRecord, "isLatest"> {
  return {
    bucket,
    key,
    versionId,
    isDeleteMarker: false,
    size: key.length,
    etag: '"e"',
    lastModified: new Date(1_700_000_000_000),
    storageClass: "STANDARD",
    contentType: "text/plain",
    contentHeaders: {},
    userMetadata: {},
    ownerAccountId: "111122223333",
    partsCount: 0,
    extra: {},
    body: { kind: "inline", data: Buffer.from(key) },
    ...extra,
  };
}

describe("SqliteMetadataStore", () => {
  let dir: string;
  let store: SqliteMetadataStore;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "stocktake-meta-"));
    store = SqliteMetadataStore.open(dir);
    await store.createBucket({ name: "b", id: "b", ownerAccountId: "111122223333", region: "us-east-1", createdAt: new Date(), versioning: undefined });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps the database file private to its owner", () => {
    assert.equal(statSync(join(dir, "meta", "stocktake.db")).mode & 0o777, 0o600);
  });

  it("refuses a second bucket of the same name", async () => {
    assert.equal(await store.createBucket({ name: "b", id: "b", ownerAccountId: "x", region: "us-east-1", createdAt: new Date(), versioning: undefined }), false);
  });

  it("lists keys in UTF-8 byte order, including characters beyond the BMP", async () => {
    const keys = ["a", "b/c", "\uFFFD", "\u{1F600}", "Z", "é", "a/b", "~"];
    await Promise.all(keys.map((k) => store.putVersion({ name: "b", id: "b" }, version("b", k))));
    const listed = (await store.listCurrent({ bucket: "b", limit: 100 })).map((r) => r.key);
    const expected = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    assert.deepEqual(listed, expected);
    assert.ok(listed.indexOf("\uFFFD") < listed.indexOf("\u{1F600}"), "U+FFFD (EF BF BD) sorts before U+1F600 (F0 ...)");
  });

  it("bounds a listing by prefix and resumes after a key", async () => {
    assert.deepEqual((await store.listCurrent({ bucket: "b", prefix: "a", limit: 100 })).map((r) => r.key), ["a", "a/b"]);
    assert.deepEqual((await store.listCurrent({ bucket: "b", prefix: "a", after: "a", limit: 100 })).map((r) => r.key), ["a/b"]);
    assert.deepEqual((await store.listCurrent({ bucket: "b", limit: 2 })).map((r) => r.key), ["Z", "a"]);
    assert.deepEqual((await store.listCurrent({ bucket: "b", prefix: "\u{1F600}", limit: 100 })).map((r) => r.key), ["\u{1F600}"]);
  });

  it("computes the prefix upper bound in bytes", () => {
    assert.deepEqual(prefixUpperBound("ab"), Buffer.from("ac"));
    assert.deepEqual(prefixUpperBound("a\u{10FFFF}"), Buffer.from([0x61, 0xf4, 0x8f, 0xbf, 0xc0]));
  });

  it("replaces the null version and hands back the replaced record", async () => {
    await store.putVersion({ name: "b", id: "b" }, version("b", "replace-me", "null", { body: { kind: "blob", blobId: "0".repeat(32) } }));
    const { removed } = await store.putVersion({ name: "b", id: "b" }, version("b", "replace-me"));
    assert.equal(removed.length, 1);
    assert.deepEqual(removed[0]!.body, { kind: "blob", blobId: "0".repeat(32) });
    assert.equal(await store.isBlobReferenced("0".repeat(32)), false);
    assert.equal((await store.getLatest("b", "replace-me"))!.body?.kind, "inline");
  });

  it("promotes the newest remaining version when the latest is deleted", async () => {
    await store.putVersion({ name: "b", id: "b" }, version("b", "v", "v1"));
    await store.putVersion({ name: "b", id: "b" }, version("b", "v", "v2"));
    assert.equal((await store.getLatest("b", "v"))!.versionId, "v2");
    await store.deleteVersion({ name: "b", id: "b" }, "v", "v2");
    assert.equal((await store.getLatest("b", "v"))!.versionId, "v1");
    assert.equal((await store.getLatest("b", "v"))!.isLatest, true);
  });

  it("hides keys whose latest version is a delete marker from the current listing", async () => {
    await store.putVersion({ name: "b", id: "b" }, version("b", "gone", "g1"));
    await store.putVersion({ name: "b", id: "b" }, version("b", "gone", "g2", { isDeleteMarker: true, body: null }));
    assert.ok(!(await store.listCurrent({ bucket: "b", prefix: "gone", limit: 10 })).length);
    assert.equal((await store.getLatest("b", "gone"))!.isDeleteMarker, true);
  });

  it("commits concurrent writes together in few transactions", async () => {
    const before = store.committedBatches;
    await Promise.all(Array.from({ length: 200 }, (_, i) => store.putVersion({ name: "b", id: "b" }, version("b", `group/${i}`))));
    const batches = store.committedBatches - before;
    assert.ok(batches >= 1 && batches < 10, `200 writes took ${batches} transactions`);
    assert.equal((await store.listCurrent({ bucket: "b", prefix: "group/", limit: 1000 })).length, 200);
  });

  it("lets one failing write in a batch fail alone", async () => {
    const results = await Promise.allSettled([
      store.putVersion({ name: "b", id: "b" }, version("b", "ok-1")),
      store.putVersion({ name: "b", id: "b" }, version("b", "bad", "x", { etag: null as unknown as string })),
      store.putVersion({ name: "b", id: "b" }, version("b", "ok-2")),
    ]);
    assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
    assert.ok((await store.getLatest("b", "ok-1")) && (await store.getLatest("b", "ok-2")));
    assert.equal(await store.getLatest("b", "bad"), undefined);
  });

  it("refuses to delete a bucket with objects and removes configurations with it", async () => {
    await store.createBucket({ name: "c", id: "c", ownerAccountId: "1", region: "us-east-1", createdAt: new Date(), versioning: undefined });
    await store.putBucketConfig("c", "inventory", "one", "{}");
    await store.putVersion({ name: "c", id: "c" }, version("c", "k"));
    assert.equal((await store.deleteBucket({ name: "c", id: "c" })).deleted, false);
    await store.deleteVersion({ name: "c", id: "c" }, "k", "null");
    assert.equal((await store.deleteBucket({ name: "c", id: "c" })).deleted, true);
    await store.createBucket({ name: "c", id: "c", ownerAccountId: "1", region: "us-east-1", createdAt: new Date(), versioning: undefined });
    assert.equal(await store.countBucketConfigs("c", "inventory"), 0);
  });

  it("pages bucket configurations by id", async () => {
    for (const id of ["b", "a", "c"]) await store.putBucketConfig("b", "inventory", id, `{"id":"${id}"}`);
    assert.deepEqual((await store.listBucketConfigs("b", "inventory", undefined, 2)).map((c) => c.id), ["a", "b"]);
    assert.deepEqual((await store.listBucketConfigs("b", "inventory", "b", 2)).map((c) => c.id), ["c"]);
    assert.equal(await store.deleteBucketConfig("b", "inventory", "b"), true);
    assert.equal(await store.deleteBucketConfig("b", "inventory", "b"), false);
  });

  it("scans from one snapshot: writes after the scan opened are not in it", async () => {
    await store.createBucket({ name: "scan", id: "scan", ownerAccountId: "1", region: "us-east-1", createdAt: new Date(), versioning: "Enabled" });
    for (let i = 0; i < 30; i++) await store.putVersion({ name: "scan", id: "scan" }, version("scan", `k${String(i).padStart(2, "0")}`, `v${i}`));
    await store.putVersion({ name: "scan", id: "scan" }, version("scan", "k05", "v5b"));
    await store.putVersion({ name: "scan", id: "scan" }, version("scan", "k06", "m6", { isDeleteMarker: true, body: null }));
    const current = await store.scanVersions("scan", "", true);
    const all = await store.scanVersions("scan", "k0", false);
    await store.putVersion({ name: "scan", id: "scan" }, version("scan", "k00-late", "late"));
    const drain = async (scan: VersionScan) => {
      const out: string[] = [];
      for (let batch = await scan.next(7); batch.length > 0; batch = await scan.next(7)) out.push(...batch.map((v) => `${v.key}@${v.versionId}`));
      await scan.close();
      return out;
    };
    const cur = await drain(current);
    assert.equal(cur.length, 29, "30 keys less the one whose latest is a delete marker");
    assert.ok(!cur.some((k) => k.startsWith("k00-late")));
    assert.ok(cur.includes("k05@v5b") && !cur.includes("k05@v5"));
    const versions = await drain(all);
    assert.deepEqual(versions.slice(5, 9), ["k05@v5b", "k05@v5", "k06@m6", "k06@v6"], "newest first within a key");
    assert.equal(versions.length, 12, "k00..k09 plus the extra version and the marker");
  });

  it("updates a version's facts and storage class in place, without changing which version is latest", async () => {
    await store.putVersion({ name: "b", id: "b" }, version("b", "upd", "null", { extra: { tags: { a: "1" } } }));
    const updated = await store.updateVersion({ name: "b", id: "b" }, "upd", "null", (cur) => ({ extra: { ...cur.extra, legalHold: "ON" }, storageClass: "GLACIER" }));
    assert.deepEqual(updated?.extra, { tags: { a: "1" }, legalHold: "ON" });
    const read = (await store.getVersion("b", "upd", "null"))!;
    assert.equal(read.storageClass, "GLACIER");
    assert.equal(read.isLatest, true);
    assert.deepEqual(read.body, { kind: "inline", data: Buffer.from("upd") });
    assert.equal(await store.updateVersion({ name: "b", id: "b" }, "missing", "null", () => ({ extra: {} })), undefined);
    await assert.rejects(store.updateVersion({ name: "b", id: "b" }, "upd", "null", () => {
      throw new Error("refused");
    }), /refused/);
    assert.deepEqual((await store.getVersion("b", "upd", "null"))!.extra, { tags: { a: "1" }, legalHold: "ON" }, "a refused update changes nothing");
  });

  it("lets a guard refuse a version's deletion inside the write", async () => {
    await store.putVersion({ name: "b", id: "b" }, version("b", "guarded"));
    await assert.rejects(store.deleteVersion({ name: "b", id: "b" }, "guarded", "null", () => {
      throw new Error("locked");
    }), /locked/);
    assert.ok(await store.getVersion("b", "guarded", "null"), "still there");
    const { removed } = await store.deleteVersion({ name: "b", id: "b" }, "guarded", "null", () => undefined);
    assert.equal(removed.length, 1);
  });

  it("refuses every write that names a deleted bucket, even after the name is taken again", async () => {
    const first = { name: "gen", id: "gen-1" };
    await store.createBucket({ ...first, ownerAccountId: "1", region: "us-east-1", createdAt: new Date(), versioning: undefined });
    assert.equal((await store.deleteBucket(first)).deleted, true);
    const second = { name: "gen", id: "gen-2" };
    await store.createBucket({ ...second, ownerAccountId: "2", region: "us-east-1", createdAt: new Date(), versioning: undefined });
    const gone = (err: unknown) => err instanceof BucketGoneError && err.bucket === "gen";
    await assert.rejects(store.putVersion(first, version("gen", "k")), gone);
    await assert.rejects(store.putVersions(first, [version("gen", "k2")]), gone);
    await assert.rejects(store.putBucketConfig(first, "policy", "p", "{}"), gone);
    await assert.rejects(store.updateBucket(first, { versioning: "Enabled" }), gone);
    await assert.rejects(store.deleteBucket(first), gone);
    const upload = { uploadId: "u-gen", bucket: "gen", key: "k", initiated: new Date(), ownerAccountId: "1", storageClass: "STANDARD", contentHeaders: {}, userMetadata: {}, extra: {} };
    await assert.rejects(store.createUpload(first, upload), gone);
    assert.equal(await store.countVersions("gen"), 0);
    assert.equal(await store.countBucketConfigs("gen", "policy"), 0);
    assert.equal((await store.getBucket("gen"))?.versioning, undefined);
    assert.equal(await store.getUpload("gen", "k", "u-gen"), undefined);
    await store.putVersion(second, version("gen", "k"));
    assert.equal(await store.countVersions("gen"), 1);
  });

  it("creates a bucket with the configurations it starts with in one transaction, or not at all", async () => {
    const record = { name: "born-locked", id: "bl-1", ownerAccountId: "1", region: "us-east-1", createdAt: new Date(), versioning: "Enabled" as const };
    assert.equal(await store.createBucket(record, [{ kind: "object-lock", id: "", json: '{"enabled":true}' }]), true);
    assert.equal(await store.getBucketConfig("born-locked", "object-lock", ""), '{"enabled":true}');
    // The name is taken: neither the bucket nor its configurations change.
    assert.equal(await store.createBucket({ ...record, id: "bl-2", ownerAccountId: "2" }, [{ kind: "ownership", id: "", json: "{}" }]), false);
    assert.equal((await store.getBucket("born-locked"))?.id, "bl-1");
    assert.equal(await store.getBucketConfig("born-locked", "ownership", ""), undefined);
  });

  it("decides a write condition inside the write: of two creates queued together, one commits", async () => {
    const createOnly = (latest: ObjectVersionRecord | undefined) => {
      if (latest && !latest.isDeleteMarker) throw new Error("exists");
    };
    const b = { name: "b", id: "b" };
    const outcomes = await Promise.allSettled([
      store.putVersion(b, version("b", "create-once", "null", { etag: '"one"' }), createOnly),
      store.putVersion(b, version("b", "create-once", "null", { etag: '"two"' }), createOnly),
    ]);
    assert.deepEqual(outcomes.map((o) => o.status), ["fulfilled", "rejected"]);
    assert.equal((await store.getLatest("b", "create-once"))?.etag, '"one"');
  });

  it("keeps everything across close and reopen", async () => {
    await store.close();
    store = SqliteMetadataStore.open(dir);
    assert.equal((await store.getBucket("b"))?.ownerAccountId, "111122223333");
    assert.ok((await store.listCurrent({ bucket: "b", prefix: "group/", limit: 1000 })).length === 200);
  });
});
