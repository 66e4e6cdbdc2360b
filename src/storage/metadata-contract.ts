// The MetadataStore contract as tests, registered once per engine (sqlite-metadata.test.ts,
// postgres-metadata.test.ts): key order, listing bounds, version semantics, conditional writes and
// bucket identity decided inside the write, multipart completion, snapshot scans, bucket counts.
// What only one engine has (file modes, group-commit batching, reopening a file) stays in its file.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { BucketGoneError, CHANGE_LOG_KIND, type BucketRef, type MetadataStore, type ObjectVersionRecord, type VersionScan } from "./types.js";
import { changeOrigins } from "./change-log.js";

export interface ContractOptions {
  /** Opens an empty store; each suite opens its own. */
  open(): Promise<MetadataStore>;
  /** Why the engine cannot be tested here (the suites are then skipped with this message). */
  skip?: string;
}

export function version(bucket: string, key: string, versionId = "null", extra: Partial<ObjectVersionRecord> = {}): Omit<ObjectVersionRecord, "isLatest"> {
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

const bucketRecord = (name: string, id: string, versioning?: "Enabled") => ({
  name,
  id,
  ownerAccountId: "111122223333",
  region: "us-east-1",
  createdAt: new Date(),
  versioning,
});

export function metadataStoreContract(engine: string, options: ContractOptions): void {
  const skip = options.skip;

  describe(`${engine}: the MetadataStore contract`, { skip }, () => {
    let store: MetadataStore;
    const b: BucketRef = { name: "b", id: "b" };
    before(async () => {
      store = await options.open();
      await store.createBucket(bucketRecord("b", "b"));
    });
    after(async () => {
      await store?.close();
    });

    it("refuses a second bucket of the same name", async () => {
      assert.equal(await store.createBucket({ ...bucketRecord("b", "b"), ownerAccountId: "x" }), false);
    });

    it("lists keys in UTF-8 byte order, including characters beyond the BMP", async () => {
      const keys = ["a", "b/c", "\uFFFD", "\u{1F600}", "Z", "é", "a/b", "~"];
      await Promise.all(keys.map((k) => store.putVersion(b, version("b", k))));
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

    it("replaces the null version and hands back the replaced record", async () => {
      await store.putVersion(b, version("b", "replace-me", "null", { body: { kind: "blob", blobId: "0".repeat(32) } }));
      const { removed } = await store.putVersion(b, version("b", "replace-me"));
      assert.equal(removed.length, 1);
      assert.deepEqual(removed[0]!.body, { kind: "blob", blobId: "0".repeat(32) });
      assert.equal(await store.isBlobReferenced("0".repeat(32)), false);
      assert.equal((await store.getLatest("b", "replace-me"))!.body?.kind, "inline");
    });

    it("promotes the newest remaining version when the latest is deleted", async () => {
      await store.putVersion(b, version("b", "v", "v1"));
      await store.putVersion(b, version("b", "v", "v2"));
      assert.equal((await store.getLatest("b", "v"))!.versionId, "v2");
      await store.deleteVersion(b, "v", "v2");
      assert.equal((await store.getLatest("b", "v"))!.versionId, "v1");
      assert.equal((await store.getLatest("b", "v"))!.isLatest, true);
    });

    it("hides keys whose latest version is a delete marker from the current listing", async () => {
      await store.putVersion(b, version("b", "gone", "g1"));
      await store.putVersion(b, version("b", "gone", "g2", { isDeleteMarker: true, body: null }));
      assert.ok(!(await store.listCurrent({ bucket: "b", prefix: "gone", limit: 10 })).length);
      assert.equal((await store.getLatest("b", "gone"))!.isDeleteMarker, true);
    });

    it("lists versions newest first within a key and resumes inside a key", async () => {
      for (const v of ["h1", "h2", "h3"]) await store.putVersion(b, version("b", "hist", v));
      await store.putVersion(b, version("b", "hist2", "x1"));
      const all = await store.listVersions({ bucket: "b", prefix: "hist", limit: 10 });
      assert.deepEqual(all.map((r) => `${r.key}@${r.versionId}@${r.isLatest}`), ["hist@h3@true", "hist@h2@false", "hist@h1@false", "hist2@x1@true"]);
      const page = await store.listVersions({ bucket: "b", prefix: "hist", keyMarker: "hist", versionIdMarker: "h3", limit: 2 });
      assert.deepEqual(page.map((r) => r.versionId), ["h2", "h1"]);
      const rest = await store.listVersions({ bucket: "b", prefix: "hist", keyMarker: "hist", versionIdMarker: "h1", limit: 2 });
      assert.deepEqual(rest.map((r) => r.versionId), ["x1"]);
    });

    it("lets one failing write fail alone", async () => {
      const results = await Promise.allSettled([
        store.putVersion(b, version("b", "ok-1")),
        store.putVersion(b, version("b", "bad", "x", { etag: null as unknown as string })),
        store.putVersion(b, version("b", "ok-2")),
      ]);
      assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
      assert.ok((await store.getLatest("b", "ok-1")) && (await store.getLatest("b", "ok-2")));
      assert.equal(await store.getLatest("b", "bad"), undefined);
    });

    it("refuses to delete a bucket with objects and removes configurations with it", async () => {
      const c = { name: "c", id: "c" };
      await store.createBucket({ ...bucketRecord("c", "c"), ownerAccountId: "1" });
      await store.putBucketConfig("c", "inventory", "one", "{}");
      await store.putVersion(c, version("c", "k"));
      assert.equal((await store.deleteBucket(c)).deleted, false);
      await store.deleteVersion(c, "k", "null");
      assert.equal((await store.deleteBucket(c)).deleted, true);
      await store.createBucket({ ...bucketRecord("c", "c"), ownerAccountId: "1" });
      assert.equal(await store.countBucketConfigs("c", "inventory"), 0);
    });

    it("pages bucket configurations by id", async () => {
      for (const id of ["b", "a", "c"]) await store.putBucketConfig("b", "inventory", id, `{"id":"${id}"}`);
      assert.deepEqual((await store.listBucketConfigs("b", "inventory", undefined, 2)).map((c) => c.id), ["a", "b"]);
      assert.deepEqual((await store.listBucketConfigs("b", "inventory", "b", 2)).map((c) => c.id), ["c"]);
      assert.deepEqual((await store.listConfigsOfKind("inventory", { bucket: "b", id: "a" }, 10)).map((c) => `${c.bucket}/${c.id}`), ["b/b", "b/c"]);
      assert.deepEqual((await store.listBucketConfigsDescending("b", "inventory", undefined, 2)).map((c) => c.id), ["c", "b"]);
      assert.deepEqual((await store.listBucketConfigsDescending("b", "inventory", "b", 2)).map((c) => c.id), ["a"]);
      assert.equal(await store.deleteBucketConfig("b", "inventory", "b"), true);
      assert.equal(await store.deleteBucketConfig("b", "inventory", "b"), false);
    });

    it("adds a configuration only when its id is free: of concurrent adds of one id exactly one succeeds", async () => {
      const results = await Promise.all(["1", "2", "3", "4"].map((n) => store.addBucketConfig("b", "claim", "minute", `{"n":${n}}`)));
      assert.equal(results.filter(Boolean).length, 1);
      const winner = results.indexOf(true) + 1;
      assert.equal(await store.getBucketConfig("b", "claim", "minute"), `{"n":${winner}}`);
      assert.equal(await store.addBucketConfig("b", "claim", "other", "{}"), true);
    });

    it("refuses a new configuration beyond maxCount but still replaces an existing one", async () => {
      assert.equal(await store.putBucketConfig(b, "metrics", "m1", "{}", 2), true);
      assert.equal(await store.putBucketConfig(b, "metrics", "m2", "{}", 2), true);
      assert.equal(await store.putBucketConfig(b, "metrics", "m3", "{}", 2), false);
      assert.equal(await store.putBucketConfig(b, "metrics", "m2", '{"v":2}', 2), true);
      assert.equal(await store.getBucketConfig("b", "metrics", "m2"), '{"v":2}');
    });

    it("scans from one snapshot: writes after the scan opened are not in it", async () => {
      const scanBucket = { name: "scan", id: "scan" };
      await store.createBucket({ ...bucketRecord("scan", "scan", "Enabled"), ownerAccountId: "1" });
      for (let i = 0; i < 30; i++) await store.putVersion(scanBucket, version("scan", `k${String(i).padStart(2, "0")}`, `v${i}`));
      await store.putVersion(scanBucket, version("scan", "k05", "v5b"));
      await store.putVersion(scanBucket, version("scan", "k06", "m6", { isDeleteMarker: true, body: null }));
      const current = await store.scanVersions("scan", "", true);
      const all = await store.scanVersions("scan", "k0", false);
      await store.putVersion(scanBucket, version("scan", "k00-late", "late"));
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
      await store.putVersion(b, version("b", "upd", "null", { extra: { tags: { a: "1" } } }));
      const updated = await store.updateVersion(b, "upd", "null", (cur) => ({ extra: { ...cur.extra, legalHold: "ON" }, storageClass: "GLACIER" }));
      assert.deepEqual(updated?.extra, { tags: { a: "1" }, legalHold: "ON" });
      const read = (await store.getVersion("b", "upd", "null"))!;
      assert.equal(read.storageClass, "GLACIER");
      assert.equal(read.isLatest, true);
      assert.deepEqual(read.body, { kind: "inline", data: Buffer.from("upd") });
      assert.equal(await store.updateVersion(b, "missing", "null", () => ({ extra: {} })), undefined);
      await assert.rejects(
        store.updateVersion(b, "upd", "null", () => {
          throw new Error("refused");
        }),
        /refused/,
      );
      assert.deepEqual((await store.getVersion("b", "upd", "null"))!.extra, { tags: { a: "1" }, legalHold: "ON" }, "a refused update changes nothing");
    });

    it("lets a guard refuse a version's deletion inside the write", async () => {
      await store.putVersion(b, version("b", "guarded"));
      await assert.rejects(
        store.deleteVersion(b, "guarded", "null", () => {
          throw new Error("locked");
        }),
        /locked/,
      );
      assert.ok(await store.getVersion("b", "guarded", "null"), "still there");
      const { removed } = await store.deleteVersion(b, "guarded", "null", () => undefined);
      assert.equal(removed.length, 1);
    });

    it("refuses every write that names a deleted bucket, even after the name is taken again", async () => {
      const first = { name: "gen", id: "gen-1" };
      await store.createBucket({ ...bucketRecord("gen", "gen-1"), ownerAccountId: "1" });
      assert.equal((await store.deleteBucket(first)).deleted, true);
      const second = { name: "gen", id: "gen-2" };
      await store.createBucket({ ...bucketRecord("gen", "gen-2"), ownerAccountId: "2" });
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
      const record = { ...bucketRecord("born-locked", "bl-1", "Enabled"), ownerAccountId: "1" };
      assert.equal(await store.createBucket(record, [{ kind: "object-lock", id: "", json: '{"enabled":true}' }]), true);
      assert.equal(await store.getBucketConfig("born-locked", "object-lock", ""), '{"enabled":true}');
      // The name is taken: neither the bucket nor its configurations change.
      assert.equal(await store.createBucket({ ...record, id: "bl-2", ownerAccountId: "2" }, [{ kind: "ownership", id: "", json: "{}" }]), false);
      assert.equal((await store.getBucket("born-locked"))?.id, "bl-1");
      assert.equal(await store.getBucketConfig("born-locked", "ownership", ""), undefined);
    });

    const createOnly = (latest: ObjectVersionRecord | undefined) => {
      if (latest && !latest.isDeleteMarker) throw new Error("exists");
    };

    it("decides a write condition inside the write: of two creates queued together, one commits", async () => {
      const outcomes = await Promise.allSettled([
        store.putVersion(b, version("b", "create-once", "null", { etag: '"one"' }), createOnly),
        store.putVersion(b, version("b", "create-once", "null", { etag: '"two"' }), createOnly),
      ]);
      assert.deepEqual(outcomes.map((o) => o.status).sort(), ["fulfilled", "rejected"]);
      const winner = outcomes.findIndex((o) => o.status === "fulfilled");
      assert.equal((await store.getLatest("b", "create-once"))?.etag, ['"one"', '"two"'][winner]);
    });

    it("lets exactly one of 16 concurrent creates of one key commit, on a new key and over a delete marker", async () => {
      await store.putVersion(b, version("b", "race-2", "m", { isDeleteMarker: true, body: null }));
      for (const key of ["race-1", "race-2"]) {
        const outcomes = await Promise.allSettled(
          Array.from({ length: 16 }, (_, i) => store.putVersion(b, version("b", key, `r${i}`, { etag: `"${i}"` }), createOnly)),
        );
        const won = outcomes.flatMap((o, i) => (o.status === "fulfilled" ? [i] : []));
        assert.equal(won.length, 1, `${key}: ${won.length} creates committed`);
        for (const o of outcomes) if (o.status === "rejected") assert.match(String(o.reason), /exists/);
        assert.equal((await store.getLatest("b", key))?.etag, `"${won[0]}"`);
      }
    });

    it("completes a multipart upload atomically: the version with its parts, the upload gone", async () => {
      const upload = { uploadId: "mpu-1", bucket: "b", key: "big", initiated: new Date(1_700_000_000_000), ownerAccountId: "1", storageClass: "STANDARD", contentHeaders: {}, userMetadata: {}, extra: {} };
      await store.createUpload(b, upload);
      assert.equal((await store.getUpload("b", "big", "mpu-1"))?.initiated.getTime(), 1_700_000_000_000);
      const part = (n: number, blobId: string) => ({ uploadId: "mpu-1", partNumber: n, size: 5, etag: `"p${n}"`, lastModified: new Date(), blobId });
      assert.equal((await store.putPart(b, part(1, "blob-1a"))).replaced, undefined);
      assert.equal((await store.putPart(b, part(1, "blob-1b"))).replaced?.blobId, "blob-1a");
      await store.putPart(b, part(2, "blob-2"));
      assert.deepEqual((await store.listParts("mpu-1", 0, 10)).map((p) => p.blobId), ["blob-1b", "blob-2"]);
      assert.deepEqual((await store.listUploads({ bucket: "b", limit: 10 })).map((u) => u.uploadId), ["mpu-1"]);
      const parts = [
        { partNumber: 1, blobId: "blob-1b", size: 5 },
        { partNumber: 2, blobId: "blob-2", size: 5, checksum: "AAAA" },
      ];
      const done = await store.completeUpload(b, "mpu-1", version("b", "big", "null", { size: 10, partsCount: 2, body: { kind: "parts", parts } }));
      assert.deepEqual(done.parts.map((p) => p.partNumber), [1, 2]);
      assert.deepEqual((await store.getLatest("b", "big"))?.body, { kind: "parts", parts });
      assert.equal(await store.getUpload("b", "big", "mpu-1"), undefined);
      assert.equal(await store.isBlobReferenced("blob-2"), true, "the version's body references its part blobs");
      await assert.rejects(store.completeUpload(b, "mpu-1", version("b", "big")), /NoSuchUpload/);
      await assert.rejects(store.putPart(b, part(3, "blob-3")), /NoSuchUpload/);
      assert.equal(await store.deleteUpload("mpu-1"), undefined);
    });

    it("keeps accounts, access keys (listed by account, deleted) and settings", async () => {
      await store.putAccount({ accountId: "444455556666", canonicalId: "c".repeat(64), displayName: "d", createdAt: new Date(5) });
      assert.equal((await store.getAccount("444455556666"))?.createdAt.getTime(), 5);
      assert.ok((await store.listAccounts()).some((a) => a.accountId === "444455556666"));
      await store.putAccessKey({ accessKeyId: "AK", secretAccessKey: "s1", accountId: "444455556666", createdAt: new Date(6) });
      await store.putAccessKey({ accessKeyId: "AK", secretAccessKey: "s2", accountId: "444455556666", createdAt: new Date(6) });
      assert.equal((await store.getAccessKey("AK"))?.secretAccessKey, "s2");
      await store.putAccessKey({ accessKeyId: "AK0", secretAccessKey: "s0", accountId: "444455556666", createdAt: new Date(4) });
      await store.putAccessKey({ accessKeyId: "AKOTHER", secretAccessKey: "s", accountId: "777788889999", createdAt: new Date(4) });
      assert.deepEqual((await store.listAccessKeys("444455556666")).map((k) => k.accessKeyId), ["AK0", "AK"]);
      assert.equal(await store.deleteAccessKey("AK0"), true);
      assert.equal(await store.deleteAccessKey("AK0"), false);
      assert.equal(await store.getAccessKey("AK0"), undefined);
      assert.deepEqual((await store.listAccessKeys("444455556666")).map((k) => k.accessKeyId), ["AK"]);
      assert.equal(await store.getSetting("nothing"), undefined);
      await store.putSetting("root", "one");
      await store.putSetting("root", "two");
      assert.equal(await store.getSetting("root"), "two");
    });
  });

  describe(`${engine}: bucketCounts`, { skip }, () => {
    // Kept as versions are written, replaced, deleted and promoted, so they must always equal a
    // count over the versions.
    let store: MetadataStore;
    const a: BucketRef = { name: "a", id: "a1" };
    const b: BucketRef = { name: "b", id: "b1" };
    const marker = (bucket: string, key: string, versionId: string) => version(bucket, key, versionId, { isDeleteMarker: true, body: null });
    before(async () => {
      store = await options.open();
      for (const ref of [a, b]) await store.createBucket(bucketRecord(ref.name, ref.id));
    });
    after(async () => {
      await store?.close();
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
      await store.putVersion(a, marker("a", "k2", "m1"));
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

    it("stays exact under concurrent writes to one bucket", async () => {
      await Promise.all(Array.from({ length: 40 }, (_, i) => store.putVersion(a, version("a", `many/${i % 10}`, `v${i}`))));
      assert.deepEqual(await counts(), { a: [12, 42] });
    });

    it("reports the database's size", async () => {
      assert.ok((await store.sizeBytes()) > 0);
    });
  });

  describe(`${engine}: the change log`, { skip }, () => {
    let store: MetadataStore;
    const c: BucketRef = { name: "logged", id: "logged-1" };
    const quiet: BucketRef = { name: "quiet", id: "quiet-1" };
    before(async () => {
      store = await options.open();
      await store.createBucket(bucketRecord("logged", "logged-1", "Enabled"));
      await store.createBucket(bucketRecord("quiet", "quiet-1"));
    });
    after(async () => {
      await store?.close();
    });
    // What is logged, in order; the numbers increase but may skip (PostgreSQL numbers every bucket's from one sequence).
    const kinds = async (bucket: BucketRef) => {
      const changes = await store.listChanges(bucket, 0, 1000);
      changes.forEach((x, i) => assert.ok(i === 0 || x.seq > changes[i - 1]!.seq, `numbers increase: ${changes.map((y) => y.seq).join(",")}`));
      return changes.map((x) => `${x.kind}:${x.key}:${x.versionId}`);
    };

    it("logs nothing for a bucket without a configuration of the change-log kind", async () => {
      await store.putVersion(c, version("logged", "before", "v0"));
      await store.putVersion(quiet, version("quiet", "k"));
      assert.deepEqual(await kinds(c), []);
      assert.equal(await store.lastChangeSeq("logged"), 0);
    });

    it("logs every put, delete marker, update and permanent delete in order, with the caller", async () => {
      assert.equal(await store.putBucketConfig(c, CHANGE_LOG_KIND, "cfg", "{}"), true);
      const at = new Date(1_800_000_000_000);
      await changeOrigins.run({ requester: "111122223333", sourceIp: "192.0.2.1", requestId: "REQ1", at }, () =>
        store.putVersion(c, version("logged", "a", "v1", { userMetadata: { m: "1" }, extra: { tags: [["t", "1"]] } })),
      );
      await store.putVersion(c, version("logged", "a", "dm", { isDeleteMarker: true, body: null, size: 0 }));
      await store.updateVersion(c, "a", "v1", (v) => ({ storageClass: "GLACIER", extra: v.extra }));
      // An update that changes nothing is not a change.
      await store.updateVersion(c, "a", "v1", () => ({}));
      await store.deleteVersion(c, "a", "dm");
      await store.deleteVersion(c, "a", "no-such-version");
      assert.deepEqual(await kinds(c), ["put:a:v1", "put:a:dm", "update:a:v1", "delete:a:dm"]);
      const [put, marker, update, gone] = await store.listChanges(c, 0, 10);
      assert.deepEqual(put!.origin, { requester: "111122223333", sourceIp: "192.0.2.1", requestId: "REQ1" });
      assert.equal(put!.at, at.getTime());
      assert.deepEqual(put!.version?.userMetadata, { m: "1" });
      assert.deepEqual(put!.version?.extra, { tags: [["t", "1"]] });
      assert.equal(marker!.version?.isDeleteMarker, true);
      assert.equal(marker!.origin, undefined);
      assert.equal(update!.version?.storageClass, "GLACIER");
      assert.equal(update!.before?.storageClass, "STANDARD");
      assert.equal(gone!.version, undefined);
      assert.equal(await store.lastChangeSeq("logged"), gone!.seq);
      assert.deepEqual((await store.listChanges(c, marker!.seq, 1)).map((x) => x.seq), [update!.seq]);
    });

    it("logs a multipart completion and each of several versions stored together", async () => {
      await store.createUpload(c, {
        uploadId: "u1", bucket: "logged", key: "mp", initiated: new Date(), ownerAccountId: "111122223333", storageClass: "STANDARD",
        contentHeaders: {}, userMetadata: {}, extra: {},
      });
      await store.completeUpload(c, "u1", version("logged", "mp", "v1", { partsCount: 2 }));
      await store.putVersions(c, [version("logged", "p1", "v1"), version("logged", "p2", "v1")]);
      assert.deepEqual((await kinds(c)).slice(4), ["put:mp:v1", "put:p1:v1", "put:p2:v1"]);
      assert.equal((await store.listChanges(c, 0, 100))[4]!.version?.partsCount, 2);
    });

    it("numbers concurrent writes each once, above the mark taken before them", async () => {
      const from = await store.lastChangeSeq("logged");
      await Promise.all(Array.from({ length: 30 }, (_, i) => store.putVersion(c, version("logged", `many/${i % 5}`, `m${i}`))));
      const changes = await store.listChanges(c, from, 100);
      assert.deepEqual(changes.map((x) => x.versionId).sort(), Array.from({ length: 30 }, (_, i) => `m${i}`).sort());
      assert.ok(changes.every((x, i) => x.seq > (i === 0 ? from : changes[i - 1]!.seq)));
      assert.equal(await store.lastChangeSeq("logged"), changes[29]!.seq);
    });

    it("drops what was taken, empties when the configuration goes (keeping the numbering), and goes with the bucket", async () => {
      const last = await store.lastChangeSeq("logged");
      const seqs = (await store.listChanges(c, 0, 100)).map((x) => x.seq);
      await store.dropChanges(c, seqs[seqs.length - 3]!);
      assert.deepEqual((await store.listChanges(c, 0, 100)).map((x) => x.seq), seqs.slice(-2));
      assert.equal(await store.deleteBucketConfig(c, CHANGE_LOG_KIND, "cfg"), true);
      assert.deepEqual(await kinds(c), []);
      await store.putVersion(c, version("logged", "after", "v1"));
      assert.deepEqual(await kinds(c), []);
      await store.putBucketConfig(c, CHANGE_LOG_KIND, "cfg2", "{}");
      await store.putVersion(c, version("logged", "again", "v1"));
      const again = await store.listChanges(c, 0, 100);
      assert.deepEqual(again.map((x) => `${x.kind}:${x.key}`), ["put:again"]);
      assert.ok(again[0]!.seq > last, "numbered on from before");

      const gone: BucketRef = { name: "gone", id: "gone-1" };
      await store.createBucket(bucketRecord("gone", "gone-1"));
      await store.putBucketConfig(gone, CHANGE_LOG_KIND, "cfg", "{}");
      await store.putVersion(gone, version("gone", "k", "v1"));
      await store.deleteVersion(gone, "k", "v1");
      assert.equal((await store.deleteBucket(gone)).deleted, true);
      const remade: BucketRef = { name: "gone", id: "gone-2" };
      await store.createBucket(bucketRecord("gone", "gone-2"));
      assert.deepEqual(await kinds(remade), []);
    });

    it("reads and drops nothing of a bucket made again under the name through the old bucket's reference", async () => {
      const first: BucketRef = { name: "renamed", id: "renamed-1" };
      await store.createBucket(bucketRecord("renamed", "renamed-1"));
      await store.putBucketConfig(first, CHANGE_LOG_KIND, "cfg", "{}");
      await store.putVersion(first, version("renamed", "k", "v1"));
      await store.deleteVersion(first, "k", "v1");
      assert.equal((await store.deleteBucket(first)).deleted, true);
      // Another owner's bucket of the same name, with a log of its own.
      const second: BucketRef = { name: "renamed", id: "renamed-2" };
      await store.createBucket(bucketRecord("renamed", "renamed-2"));
      await store.putBucketConfig(second, CHANGE_LOG_KIND, "cfg", "{}");
      await store.putVersion(second, version("renamed", "theirs", "v1"));
      assert.deepEqual(await store.listChanges(first, 0, 100), []);
      await store.dropChanges(first, Number.MAX_SAFE_INTEGER);
      assert.deepEqual(await kinds(second), ["put:theirs:v1"]);
    });

    it("reads and drops a log longer than the SQLite store's page (5,000 entries) whole and in order", async () => {
      const paged: BucketRef = { name: "paged", id: "paged-1" };
      await store.createBucket(bucketRecord("paged", "paged-1", "Enabled"));
      await store.putBucketConfig(paged, CHANGE_LOG_KIND, "cfg", "{}");
      await store.putVersions(paged, Array.from({ length: 12_001 }, (_, i) => version("paged", `k/${String(i).padStart(5, "0")}`, "v1")));
      const all = await store.listChanges(paged, 0, 20_000);
      assert.equal(all.length, 12_001);
      assert.ok(all.every((x, i) => x.key === `k/${String(i).padStart(5, "0")}` && (i === 0 || x.seq > all[i - 1]!.seq)));
      assert.deepEqual((await store.listChanges(paged, 0, 7_000)).map((x) => x.seq), all.slice(0, 7_000).map((x) => x.seq));
      assert.deepEqual((await store.listChanges(paged, all[4_999]!.seq, 5_001)).map((x) => x.seq), all.slice(5_000, 10_001).map((x) => x.seq));
      await store.dropChanges(paged, all[10_999]!.seq);
      assert.deepEqual((await store.listChanges(paged, 0, 20_000)).map((x) => x.seq), all.slice(11_000).map((x) => x.seq));
      await store.dropChanges(paged, all[12_000]!.seq);
      assert.deepEqual(await store.listChanges(paged, 0, 20_000), []);
      assert.equal(await store.lastChangeSeq("paged"), all[12_000]!.seq, "the numbering is kept");
    });

    it("replaces a configuration only while it is as expected (compare-and-set)", async () => {
      await store.putBucketConfig(c, "cas", "one", '{"n":1}');
      assert.equal(await store.replaceBucketConfig(c, "cas", "one", '{"n":0}', '{"n":2}'), false);
      assert.equal(await store.replaceBucketConfig("logged", "cas", "one", '{"n":1}', '{"n":2}'), true);
      assert.equal(await store.getBucketConfig("logged", "cas", "one"), '{"n":2}');
      await store.deleteBucketConfig(c, "cas", "one");
      // A deleted configuration is not brought back.
      assert.equal(await store.replaceBucketConfig(c, "cas", "one", '{"n":2}', '{"n":3}'), false);
      assert.equal(await store.getBucketConfig("logged", "cas", "one"), undefined);
    });

    it("rolls a refused write back with its change", async () => {
      const from = await store.lastChangeSeq("logged");
      await assert.rejects(store.putVersion(c, version("logged", "again", "v2"), () => {
        throw new Error("refused");
      }));
      await assert.rejects(store.putVersion({ name: "logged", id: "stale" }, version("logged", "x", "v1")), BucketGoneError);
      assert.equal(await store.lastChangeSeq("logged"), from);
    });
  });
}
