// The inventory scan (openVersionScan / scanVersions): one snapshot, key order, newest version
// first within a key, whatever the batch size; packed tuples and summaries agree.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openVersionScan, SqliteMetadataStore, watchCommits } from "./sqlite-metadata.js";
import type { ObjectVersionRecord, VersionScan } from "./types.js";

function version(key: string, versionId: string, extra: Partial<ObjectVersionRecord> = {}): Omit<ObjectVersionRecord, "isLatest"> {
  return {
    bucket: "s",
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

describe("version scans for inventory reports", () => {
  let dir: string;
  let store: SqliteMetadataStore;
  /** key -> version ids, oldest first, as written. */
  const written = new Map<string, string[]>();
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "stocktake-scan-"));
    store = SqliteMetadataStore.open(dir);
    await store.createBucket({ name: "s", id: "s", ownerAccountId: "111122223333", region: "us-east-1", createdAt: new Date(), versioning: "Enabled" });
    // Keys with 1 to 9 versions, interleaved writes, so seq order is not key order.
    const records: Omit<ObjectVersionRecord, "isLatest">[] = [];
    for (let round = 0; round < 9; round++) {
      for (let k = 0; k < 40; k++) {
        if (round >= 1 + (k % 9)) continue;
        const key = `p${k % 3}/k${String((k * 17) % 40).padStart(2, "0")}`;
        const id = `v${round}`;
        written.set(key, [...(written.get(key) ?? []), id]);
        records.push(version(key, id, { isDeleteMarker: round === 8 && k % 2 === 0, extra: round === 1 ? { checksum: { algorithm: "CRC32" } } : {} }));
      }
    }
    await store.putVersions({ name: "s", id: "s" }, records);
    await store.putVersions({ name: "s", id: "s" }, [version("q/other", "v0")]);
    written.set("q/other", ["v0"]);
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const expectedAll = (prefix: string) =>
    [...written.keys()]
      .filter((k) => k.startsWith(prefix))
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      .flatMap((k) => [...written.get(k)!].reverse().map((v) => `${k}@${v}`));

  const drain = async (scan: VersionScan, limit: number, packed: boolean): Promise<string[]> => {
    const out: string[] = [];
    for (;;) {
      const batch = packed ? (await scan.nextTuples(limit)).map((t) => `${t[0]}@${t[1]}`) : (await scan.next(limit)).map((v) => `${v.key}@${v.versionId}`);
      assert.ok(batch.length <= limit, `batch of ${batch.length} > ${limit}`);
      if (batch.length === 0) break;
      out.push(...batch);
    }
    await scan.close();
    return out;
  };

  it("returns every version, key order, newest first, for any batch size", async () => {
    const expected = expectedAll("");
    for (const limit of [1, 2, 3, 7, 8, 9, 10, 64, 10_000]) {
      assert.deepEqual(await drain(openVersionScan(dir, "s", "", false), limit, true), expected, `limit ${limit}`);
      assert.deepEqual(await drain(await store.scanVersions("s", "", false), limit, false), expected, `limit ${limit} (summaries)`);
    }
  });

  it("honours the prefix and the current-only filter", async () => {
    assert.deepEqual(await drain(openVersionScan(dir, "s", "p1/", false), 5, true), expectedAll("p1/"));
    const current = await drain(openVersionScan(dir, "s", "p1/", true), 4, true);
    const latest = (await store.listCurrent({ bucket: "s", prefix: "p1/", limit: 1000 })).map((r) => `${r.key}@${r.versionId}`);
    assert.deepEqual(current, latest);
  });

  it("packs the same facts as the summaries, extra as its JSON text", async () => {
    const a = openVersionScan(dir, "s", "", false);
    const b = openVersionScan(dir, "s", "", false);
    const tuples = await a.nextTuples(1000);
    const summaries = await b.next(1000);
    await a.close();
    await b.close();
    assert.equal(tuples.length, summaries.length);
    for (let i = 0; i < tuples.length; i++) {
      const [key, versionId, isLatest, isDeleteMarker, size, etag, lastModified, storageClass, owner, partsCount, extra] = tuples[i]!;
      const s = summaries[i]!;
      assert.deepEqual(
        { key, versionId, isLatest: isLatest === 1, isDeleteMarker: isDeleteMarker === 1, size, etag, lastModified, storageClass, ownerAccountId: owner, partsCount, extra: JSON.parse(extra as string) },
        s,
      );
    }
  });

  it("sees commits by other connections between two marks, and only then", async () => {
    const w = watchCommits(dir);
    const a = w.mark();
    assert.equal(w.mark(), a);
    const scan = openVersionScan(dir, "s", "", false);
    assert.equal(w.mark(), a, "opening a scan commits nothing");
    await store.putVersions({ name: "s", id: "s" }, [version("q/watched", "v0")]);
    const b = w.mark();
    assert.notEqual(b, a);
    assert.equal(w.mark(), b);
    await scan.close();
    w.close();
  });

  it("reads one snapshot, and closes early without finishing", async () => {
    const scan = openVersionScan(dir, "s", "", false);
    const first = await scan.nextTuples(3);
    await store.putVersions({ name: "s", id: "s" }, [version("a-new-first-key", "v0"), version("zz-new-last-key", "v0")]);
    const rest = [...first, ...(await (async () => { const out = []; for (let b = await scan.nextTuples(50); b.length > 0; b = await scan.nextTuples(50)) out.push(...b); return out; })())];
    await scan.close();
    assert.ok(!rest.some((t) => t[0].includes("-new-")));
    const early = openVersionScan(dir, "s", "", false);
    assert.equal((await early.nextTuples(2)).length, 2);
    await early.close();
    await early.close();
  });
});
