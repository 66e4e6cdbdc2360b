// The write stage's worker thread on a PostgreSQL metadata database (job.metadataUrl): the report
// SQLite writes for the same versions; split across two threads (the helper importing the
// leader's exported snapshot) exactly the report of one, even with writes committing between the
// export and the import; and one thread when the snapshot cannot be shared.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { gunzipSync } from "node:zlib";
import pg from "pg";
import { FileBlobStore } from "../storage/file-blobs.js";
import { PostgresMetadataStore } from "../storage/postgres-metadata.js";
import { SqliteMetadataStore } from "../storage/sqlite-metadata.js";
import type { MetadataStore, ObjectVersionRecord } from "../storage/types.js";
import type { WorkerMessage, WriteJob } from "./write-worker.js";
import { postgresUnavailable, startPostgres, type TestPostgres } from "../../test/helpers/postgres.js";

const skip = postgresUnavailable();
let server: Promise<TestPostgres> | undefined;
after(async () => {
  if (server) await (await server).stop();
});

function entry(): URL {
  const source = new URL("./write-worker.ts", import.meta.url).href;
  const tsx = import.meta.resolve("tsx/esm/api");
  return new URL("data:text/javascript," + encodeURIComponent(`import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(source)});`));
}

function runWorker(job: WriteJob): Promise<Extract<WorkerMessage, { type: "done" }>["files"]> {
  const worker = new Worker(entry(), { workerData: job });
  return new Promise((resolve, reject) => {
    worker.on("message", (m: WorkerMessage) => {
      if (m.type === "done") resolve(m.files);
      else if (m.type === "failed") reject(new Error(m.message));
    });
    worker.on("error", reject);
  });
}

function record(bucket: string, key: string, versionId: string, i: number, isDeleteMarker = false): Omit<ObjectVersionRecord, "isLatest"> {
  return {
    bucket, key, versionId, isDeleteMarker, size: i, etag: `"e${i}"`, lastModified: new Date(1_700_000_000_000 + i),
    storageClass: "STANDARD", contentHeaders: {}, userMetadata: {}, ownerAccountId: "111122223333", partsCount: 0, extra: {}, body: null,
  };
}

/** 3,000 keys over three prefixes, some with three versions, some under a delete marker. */
async function fill(store: MetadataStore, bucket: string): Promise<void> {
  await store.createBucket({ name: bucket, id: bucket, ownerAccountId: "111122223333", region: "us-east-1", createdAt: new Date(), versioning: "Enabled" });
  const records: Omit<ObjectVersionRecord, "isLatest">[] = [];
  for (let i = 0; i < 3000; i++) {
    const key = `${["a", "b", "c"][i % 3]}/${String((i * 7919) % 3000).padStart(5, "0")} x`;
    for (let v = 0; v < 1 + (i % 4 === 0 ? 2 : 0); v++) records.push(record(bucket, key, `v${i}-${v}`, i));
    if (i % 11 === 0) records.push(record(bucket, key, `v${i}-dm`, i, true));
  }
  await store.putVersions({ name: bucket, id: bucket }, records);
}

describe("inventory write worker on PostgreSQL", { skip }, () => {
  let dir: string;
  let sqliteDir: string;
  let url: string;
  let blobs: FileBlobStore;
  const columns = ["Bucket", "Key", "VersionId", "IsLatest", "IsDeleteMarker", "Size", "ETag"];
  const jobOf = (bucket: string, currentOnly: boolean): WriteJob => ({ dataDir: dir, metadataUrl: url, bucket, prefix: "", currentOnly, columns, format: "CSV", maxFileBytes: 1 << 30, snapshotAt: Date.UTC(2026, 0, 1) });
  const ONE_THREAD = Number.MAX_SAFE_INTEGER;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "stocktake-write-worker-pg-"));
    sqliteDir = mkdtempSync(join(tmpdir(), "stocktake-write-worker-pg-sqlite-"));
    url = await (await (server ??= startPostgres())).newDatabase();
    const store = await PostgresMetadataStore.open(url);
    const sqlite = SqliteMetadataStore.open(sqliteDir);
    try {
      await Promise.all([fill(store, "w"), fill(store, "v"), fill(sqlite, "w")]);
    } finally {
      await Promise.all([store.close(), sqlite.close()]);
    }
    blobs = await FileBlobStore.open(dir);
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(sqliteDir, { recursive: true, force: true });
  });

  const read = async (files: { blobId: string }[], from = blobs): Promise<string> => {
    let text = "";
    for (const f of files) {
      const chunks: Buffer[] = [];
      for await (const c of from.read(f.blobId)) chunks.push(c as Buffer);
      text += gunzipSync(Buffer.concat(chunks)).toString();
    }
    return text;
  };

  for (const currentOnly of [false, true]) {
    it(`writes the SQLite report, and the same on two threads as on one (${currentOnly ? "current" : "all"} versions)`, async () => {
      const job = jobOf("w", currentOnly);
      const one = await runWorker({ ...job, parallelMinRows: ONE_THREAD });
      assert.equal(one.length, 1);
      const expected = await read(one);
      const sqlite = await runWorker({ ...job, dataDir: sqliteDir, metadataUrl: undefined, parallelMinRows: ONE_THREAD });
      assert.equal(await read(sqlite, await FileBlobStore.open(sqliteDir)), expected, "PostgreSQL and SQLite write the same report");
      // Keys are URL-encoded in CSV (a space is "+"); a/00000 x is under a delete marker.
      if (currentOnly) assert.ok(!expected.includes('"a/00000+x"') && !expected.includes('"true","true"') && expected.includes('"a/00003+x"'), expected.slice(0, 200));
      else assert.ok(expected.startsWith('"w","a/00000+x","v0-dm","true","true","",""\n"w","a/00000+x","v0-2","false","false"'), expected.slice(0, 200));

      const two = await runWorker({ ...job, parallelMinRows: 10 });
      assert.equal(two.length, 2, "one data file per thread");
      assert.equal(await read(two), expected);
      assert.equal(two.reduce((n, f) => n + f.rows, 0), expected.split("\n").length - 1);
      const prefixed = await runWorker({ ...job, prefix: "b/", parallelMinRows: 10 });
      assert.equal(prefixed.length, 2);
      assert.equal(await read(prefixed), expected.split("\n").filter((l) => l.includes('"b/')).map((l) => l + "\n").join(""));
    });
  }

  it("reads nothing from SQLite when the metadata is in PostgreSQL", () => {
    assert.ok(!existsSync(join(dir, "meta", "stocktake.db")));
  });

  for (const currentOnly of [false, true]) {
    it(`leaves out writes committed between the leader's export and the helper's import (${currentOnly ? "current" : "all"} versions)`, async () => {
      const job = jobOf("v", currentOnly);
      const expected = await read(await runWorker({ ...job, parallelMinRows: ONE_THREAD }));
      const tag = randomBytes(3).toString("hex");
      // The cut is about a third into b/: new keys in both halves, a new latest version and a
      // delete marker over keys of the helper's half.
      const versions = [
        record("v", `a/new-${tag}`, "new", 1),
        record("v", `c/new-${tag}`, "new", 2),
        record("v", "c/00001 x", `new-${tag}`, 3),
        record("v", "c/00002 x", `dm-${tag}`, 4, true),
      ];
      const two = await runWorker({ ...job, parallelMinRows: 10, commitBeforeImportForTests: { bucketId: "v", versions } });
      assert.equal(two.length, 2, "the report was split");
      assert.equal(await read(two), expected, "both halves read the snapshot exported before the commit");
      const after = await read(await runWorker({ ...job, parallelMinRows: ONE_THREAD }));
      assert.ok(after.includes(`c/new-${tag}`) && after.includes(`a/new-${tag}`), "the helper did commit");
      assert.notEqual(after, expected);
    });
  }

  it("falls back to one thread when the helper cannot import the leader's snapshot", async () => {
    const job = jobOf("w", false);
    const expected = await read(await runWorker({ ...job, parallelMinRows: ONE_THREAD }));
    const fallback = await runWorker({ ...job, parallelMinRows: 10, snapshotImportFailsForTests: true });
    assert.equal(fallback.length, 1, "one thread, one data file");
    assert.equal(await read(fallback), expected);
  });

  it("falls back to one thread when the server refuses to export a snapshot", async () => {
    // As on an engine without pg_export_snapshot: a role that may read the tables but not call it.
    const role = `reader_${randomBytes(4).toString("hex")}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN`);
      await admin.query(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}`);
      await admin.query("REVOKE EXECUTE ON FUNCTION pg_export_snapshot() FROM PUBLIC");
    } finally {
      await admin.end();
    }
    const restricted = new URL(url);
    restricted.username = role;
    const job = jobOf("w", true);
    const expected = await read(await runWorker({ ...job, parallelMinRows: ONE_THREAD }));
    const fallback = await runWorker({ ...job, metadataUrl: restricted.toString(), parallelMinRows: 10 });
    assert.equal(fallback.length, 1, "one thread, one data file");
    assert.equal(await read(fallback), expected);
  });

  it("fails the report when the database cannot be reached", async () => {
    const gone = new URL(url);
    gone.pathname = `/no_such_database_${randomBytes(4).toString("hex")}`;
    await assert.rejects(runWorker({ ...jobOf("w", false), metadataUrl: gone.toString() }), /does not exist/);
  });
});
