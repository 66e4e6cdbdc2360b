// The PostgreSQL scans of a report's worker threads (postgres-scan.ts) against a throwaway server:
// the same rows, in the same order, as the SQLite scans over the same versions, whatever the
// prefix, key range, current-only filter or batch size; the same cut keys; and two connections
// reading one exported snapshot while writes commit, or refusing to, with the connection usable after.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { PostgresMetadataStore } from "./postgres-metadata.js";
import { PostgresScanConnection } from "./postgres-scan.js";
import { openVersionScan, splitKeyRange, SqliteMetadataStore } from "./sqlite-metadata.js";
import type { KeyRange } from "./types.js";
import type { MetadataStore, ObjectVersionRecord, VersionScan, VersionTuple } from "./types.js";
import { postgresUnavailable, startPostgres, type TestPostgres } from "../../test/helpers/postgres.js";

const skip = postgresUnavailable();
let server: Promise<TestPostgres> | undefined;
const database = async (): Promise<string> => (await (server ??= startPostgres())).newDatabase();
after(async () => {
  if (server) await (await server).stop();
});

function version(bucket: string, key: string, versionId: string, extra: Partial<ObjectVersionRecord> = {}): Omit<ObjectVersionRecord, "isLatest"> {
  return {
    bucket,
    key,
    versionId,
    isDeleteMarker: false,
    size: 7,
    etag: '"e"',
    lastModified: new Date(1_700_000_000_000),
    storageClass: "STANDARD",
    contentHeaders: {},
    userMetadata: {},
    ownerAccountId: "111122223333",
    partsCount: 0,
    extra: {},
    body: null,
    ...extra,
  };
}

const bucketRecord = (name: string) => ({ name, id: name, ownerAccountId: "111122223333", region: "us-east-1", createdAt: new Date(), versioning: "Enabled" as const });

/** Keys whose UTF-16 order differs from UTF-8 byte order, code points at the edges, a prefix of another key. */
const ODD_KEYS = ["u/e", "u/é", "u/\uFF5E", "u/\u{1F600}", "u/\u007F", "u/ ", "u", "u/e/", "\u{10FFFF}x", "\u{10FFFF}", "\uD7FFz", "\uE000z"];

/** The same versions, written the same way, into either engine. */
async function fill(store: MetadataStore): Promise<void> {
  for (const b of ["s", "t"]) await store.createBucket(bucketRecord(b));
  const records: Omit<ObjectVersionRecord, "isLatest">[] = [];
  // Keys with 1 to 9 versions, interleaved, so insertion order is not key order; delete markers
  // as the latest version of some keys and as an older version of others.
  for (let round = 0; round < 9; round++) {
    for (let k = 0; k < 60; k++) {
      if (round >= 1 + (k % 9)) continue;
      const key = `p${k % 3}/k${String((k * 17) % 60).padStart(2, "0")}`;
      records.push(
        version("s", key, `v${round}`, {
          isDeleteMarker: (round === 8 && k % 2 === 0) || (round === 2 && k % 5 === 0),
          size: round === 3 ? 5 * 2 ** 40 + k : k * 10 + round,
          lastModified: new Date(1_700_000_000_000 + k * 1000 + round),
          storageClass: round % 2 === 0 ? "STANDARD" : "GLACIER",
          partsCount: round === 4 ? 3 : 0,
          extra: round === 1 ? { checksum: { algorithm: "CRC32" } } : {},
        }),
      );
    }
  }
  for (const key of ODD_KEYS) records.push(version("s", key, "v0"), version("s", key, "v1", { isDeleteMarker: key.endsWith("z") }));
  await store.putVersions({ name: "s", id: "s" }, records);
  // Unversioned writes: each replaces the key's "null" version.
  for (const n of [1, 2]) await store.putVersions({ name: "s", id: "s" }, [version("s", "q/null", "null", { size: n })]);
  await store.putVersions({ name: "t", id: "t" }, [version("t", "p0/k00", "other-bucket")]);
}

async function drain(scan: VersionScan, limit: number): Promise<VersionTuple[]> {
  const out: VersionTuple[] = [];
  for (let batch = await scan.nextTuples(limit); batch.length > 0; batch = await scan.nextTuples(limit)) {
    assert.ok(batch.length <= limit);
    out.push(...batch);
  }
  await scan.close();
  return out;
}

const keysOf = (tuples: VersionTuple[]) => tuples.map((t) => `${t[0]}@${t[1]}`);

describe("PostgreSQL scans for report threads", { skip }, () => {
  let dir: string;
  let url: string;
  let pgStore: PostgresMetadataStore;
  let db: PostgresScanConnection;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "stocktake-pg-scan-"));
    url = await database();
    const sqlite = SqliteMetadataStore.open(dir);
    pgStore = await PostgresMetadataStore.open(url);
    await Promise.all([fill(sqlite), fill(pgStore)]);
    await sqlite.close();
    db = await PostgresScanConnection.connect(url);
  });
  after(async () => {
    await db?.close();
    await pgStore?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const PREFIXES = ["", "p1/", "p", "u/", "u/e", "\u{10FFFF}", "q/", "none/"];

  it("cuts the key range at the same keys as SQLite", async () => {
    let split = 0;
    for (const prefix of PREFIXES) {
      for (const currentOnly of [false, true]) {
        for (const [parts, minRows] of [[2, 1], [3, 1], [4, 10], [2, 1_000_000], [1, 1]] as const) {
          const expected = splitKeyRange(dir, "s", prefix, currentOnly, parts, minRows);
          assert.deepEqual(await db.splitKeyRange("s", prefix, currentOnly, parts, minRows), expected, `${JSON.stringify(prefix)} ${currentOnly} ${parts} ${minRows}`);
          if (expected.length > 0) split++;
        }
      }
    }
    assert.ok(split > 10, "most cases do split");
  });

  it("yields exactly the SQLite scan's tuples for every prefix, key range and filter", async () => {
    let rows = 0;
    for (const prefix of PREFIXES) {
      for (const currentOnly of [false, true]) {
        const cuts = splitKeyRange(dir, "s", prefix, currentOnly, 3, 1);
        const ranges: KeyRange[] = [{}, { to: cuts[0] }, { from: cuts[0] }, { from: cuts[0], to: cuts[1] }, { from: "p1/k30", to: "u/\uFF5E" }];
        for (const range of ranges) {
          const label = `${JSON.stringify(prefix)} ${currentOnly ? "current" : "all"} ${JSON.stringify(range)}`;
          const expected = await drain(openVersionScan(dir, "s", prefix, currentOnly, range), 10_000);
          for (const limit of [1, 7, 2000]) assert.deepEqual(await drain(await db.openScan("s", prefix, currentOnly, range), limit), expected, `${label}, batches of ${limit}`);
          rows += expected.length;
        }
      }
    }
    assert.ok(rows > 1000);
    const all = await drain(await db.openScan("s", "", false), 100);
    assert.ok(all.some((t) => t[3] === 1) && all.some((t) => t[4] > 2 ** 32) && all.some((t) => t[10] !== "{}"), "delete markers, large sizes and extra facts are compared");
    assert.ok(!all.some((t) => t[1] === "other-bucket"));
  });

  it("puts each key's versions newest first, and the halves of a split together make the whole", async () => {
    const all = keysOf(await drain(await db.openScan("s", "", false), 50));
    const p = all.filter((k) => k.startsWith("p0/k00@"));
    assert.deepEqual(p, ["p0/k00@v0"]);
    assert.deepEqual(all.filter((k) => k.startsWith("p0/k48@")), ["p0/k48@v6", "p0/k48@v5", "p0/k48@v4", "p0/k48@v3", "p0/k48@v2", "p0/k48@v1", "p0/k48@v0"]);
    const [cut] = await db.splitKeyRange("s", "", false, 2, 1);
    const halves = [...(await drain(await db.openScan("s", "", false, { to: cut }), 64)), ...(await drain(await db.openScan("s", "", false, { from: cut }), 64))];
    assert.deepEqual(keysOf(halves), all);
  });

  it("packs the same facts as the summaries", async () => {
    const tuples = await drain(await db.openScan("s", "p2/", false), 1000);
    const scan = await db.openScan("s", "p2/", false);
    const summaries = await scan.next(1000);
    await scan.close();
    assert.deepEqual(
      summaries,
      tuples.map(([key, versionId, isLatest, isDeleteMarker, size, etag, lastModified, storageClass, ownerAccountId, partsCount, extra]) => ({
        key, versionId, isLatest: isLatest === 1, isDeleteMarker: isDeleteMarker === 1, size, etag, lastModified, storageClass, ownerAccountId, partsCount, extra: JSON.parse(extra as string),
      })),
    );
  });

  it("holds one scan at a time on a connection, and closes early without finishing", async () => {
    const scan = await db.openScan("s", "", false);
    assert.equal((await scan.nextTuples(2)).length, 2);
    await assert.rejects(db.openScan("s", "", false), /already open/);
    await scan.close();
    await scan.close();
    assert.deepEqual(await scan.nextTuples(5), []);
    assert.ok((await drain(await db.openScan("s", "", true), 100)).length > 0, "the connection is free again");
  });

  describe("two connections on one snapshot", () => {
    let snapUrl: string;
    let leader: PostgresScanConnection;
    let helper: PostgresScanConnection;
    let store: PostgresMetadataStore;
    const b = { name: "snap", id: "snap" };
    before(async () => {
      snapUrl = await database();
      store = await PostgresMetadataStore.open(snapUrl);
      await store.createBucket(bucketRecord("snap"));
      await store.putVersions(b, Array.from({ length: 200 }, (_, i) => version("snap", `k${String(i).padStart(3, "0")}`, "v0")));
      [leader, helper] = await Promise.all([PostgresScanConnection.connect(snapUrl), PostgresScanConnection.connect(snapUrl)]);
    });
    after(async () => {
      await Promise.all([leader?.close(), helper?.close()]);
      await store?.close();
    });

    it("reads the exported snapshot through the importing connection, without the writes committed in between", async () => {
      for (const currentOnly of [false, true]) {
        const before = keysOf(await drain(await leader.openScan("snap", "", currentOnly), 1000));
        const [cut] = await leader.splitKeyRange("snap", "", currentOnly, 2, 1);
        assert.ok(cut !== undefined && cut > "k090" && cut < "k110", cut);
        const mine = await leader.openExportingScan("snap", "", currentOnly, { to: cut });
        assert.ok(mine !== undefined);
        assert.match(mine.snapshot, /^[0-9A-F]+-[0-9A-F]+-[0-9]+$/);
        // Between the export and the import, as a PUT landing while the helper thread starts: new
        // keys in both halves, a new version and a delete marker over keys of the second half.
        const tag = randomBytes(3).toString("hex");
        await store.putVersions(b, [
          version("snap", `k050-new-${tag}`, "v0"),
          version("snap", `k150-new-${tag}`, "v0"),
          version("snap", "k160", `v-${tag}`),
          version("snap", "k170", `dm-${tag}`, { isDeleteMarker: true }),
        ]);
        const theirs = await helper.openImportingScan("snap", "", currentOnly, { from: cut }, mine.snapshot);
        assert.ok(theirs !== undefined, "the snapshot was imported");
        const halves = [...keysOf(await drain(mine.scan, 64)), ...keysOf(await drain(theirs, 64))];
        assert.deepEqual(halves, before, "neither half sees the writes committed after the export");
        const now = keysOf(await drain(await helper.openScan("snap", "", currentOnly), 1000));
        assert.ok(now.includes(`k150-new-${tag}@v0`) && (currentOnly || now.includes(`k170@dm-${tag}`)), "the writes did commit");
        assert.equal(now.includes("k170@v0"), !currentOnly);
      }
    });

    it("refuses a snapshot that no open transaction exports, and the connection scans on after", async () => {
      const mine = await leader.openExportingScan("snap", "", false, {});
      assert.ok(mine !== undefined);
      await mine.scan.close();
      assert.equal(await helper.openImportingScan("snap", "", false, {}, mine.snapshot), undefined, "the exporting transaction has ended");
      assert.equal(await helper.openImportingScan("snap", "", false, {}, "0000FFFF-0000FFFF-1"), undefined);
      assert.equal(await helper.openImportingScan("snap", "", false, {}, "'; DROP TABLE versions; --"), undefined);
      assert.ok((await drain(await helper.openScan("snap", "", false), 1000)).length >= 200);
    });

    it("gives no exporting scan where the server refuses to export snapshots", async () => {
      // As on an engine without pg_export_snapshot: a role that may read the tables but not call it.
      const role = `reader_${randomBytes(4).toString("hex")}`;
      const admin = new pg.Client({ connectionString: snapUrl });
      await admin.connect();
      try {
        await admin.query(`CREATE ROLE ${role} LOGIN`);
        await admin.query(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}`);
        await admin.query("REVOKE EXECUTE ON FUNCTION pg_export_snapshot() FROM PUBLIC");
      } finally {
        await admin.end();
      }
      const restricted = new URL(snapUrl);
      restricted.username = role;
      const conn = await PostgresScanConnection.connect(restricted.toString());
      try {
        assert.equal(await conn.openExportingScan("snap", "", false, {}), undefined);
        assert.ok((await drain(await conn.openScan("snap", "", false), 1000)).length >= 200, "the connection scans on");
      } finally {
        await conn.close();
      }
    });
  });
});
