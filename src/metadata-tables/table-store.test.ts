// The table store against a real server: tables created, appended to, rewritten, expired and
// committed as objects of a Stocktake bucket, then read back by readers nobody here wrote: icebird
// (npm) over HTTP through GetObject, pyarrow and DuckDB on the Parquet data files, fastavro on the
// manifest list and manifests. The Python readers skip when python3 cannot import them.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ensureManagedTableBucket } from "./config.js";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { icebergRead } from "icebird";
import { startTestServer, TEST_ACCESS_KEY, TEST_ACCOUNT_ID, TEST_SECRET_KEY, type TestServer } from "../../test/helpers/server.js";
import { withServerFetch as withFetchTo } from "../../test/helpers/icebird.js";
import { readAvroContainer } from "./avro.js";
import { JOURNAL_SCHEMA } from "./schemas.js";
import { ManualClock } from "../clock.js";
import { expireOldSnapshots, ORPHAN_MIN_AGE_MS, ORPHAN_SWEEP_EVERY_MS, type Maintenance } from "./maintenance.js";
import type { IcebergRow } from "./parquet-table.js";
import { currentSnapshot, ENTRY_STATUS, type DataFileRecord, type ManifestEntryRecord, type TableMetadata } from "./iceberg-metadata.js";
import {
  appendRows,
  commit,
  createTable,
  deleteOrphanFiles,
  expireTable,
  keyOfUri,
  liveFiles,
  loadTable,
  manifestsOf,
  readTableFile,
  rewriteFiles,
  TABLE_FILE_MARK,
  writeDataFile,
  type Appended,
  type TableLocation,
} from "./table-store.js";

const BUCKET = `aws-s3-${TEST_ACCOUNT_ID}`;
const JOURNAL: TableLocation = { bucket: BUCKET, prefix: "b_photos/journal/" };

function importable(module: string): boolean {
  return spawnSync("python3", ["-c", `import ${module}`]).status === 0;
}
const noPyarrow = importable("pyarrow") ? false : "python3 cannot import pyarrow (python3 -m pip install pyarrow)";
const noDuckdb = importable("duckdb") ? false : "python3 cannot import duckdb (python3 -m pip install duckdb)";
const noFastavro = importable("fastavro") ? false : "python3 cannot import fastavro (python3 -m pip install fastavro)";

function python(script: string, ...args: string[]): string {
  const res = spawnSync("python3", ["-c", script, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (res.status !== 0) throw new Error(`python3 failed: ${res.stderr}`);
  return res.stdout;
}

/** A journal row; `commit` and `i` make keys, sizes and times unique and predictable. */
function journalRow(commitNo: number, i: number): IcebergRow {
  const micros = BigInt(Date.UTC(2025, 5, 2, 1, commitNo, i)) * 1000n + 123n;
  return {
    bucket: "photos",
    key: `img/${commitNo}/${i}.jpg`,
    sequence_number: `${String(commitNo).padStart(4, "0")}${String(i).padStart(6, "0")}`,
    record_type: i % 3 === 2 ? "DELETE" : "CREATE",
    record_timestamp: micros,
    version_id: i % 2 === 0 ? null : `v${commitNo}-${i}`,
    is_delete_marker: i % 3 === 2 ? true : false,
    size: i % 3 === 2 ? 0 : 1000 * commitNo + i,
    last_modified_date: micros,
    e_tag: `etag-${commitNo}-${i}`,
    storage_class: "STANDARD",
    is_multipart: false,
    encryption_status: "SSE-S3",
    is_bucket_key_enabled: false,
    kms_key_arn: null,
    checksum_algorithm: "CRC64NVME",
    object_tags: i % 2 === 0 ? {} : { team: `t${i}` },
    user_metadata: {},
    requester: TEST_ACCOUNT_ID,
    source_ip_address: "127.0.0.1",
    request_id: `REQ${commitNo}${i}`,
  };
}

const COMMITS = [5, 1, 7].map((n, c) => Array.from({ length: n }, (_, i) => journalRow(c + 1, i)));

let server: TestServer;

before(async () => {
  server = await startTestServer();
  // Made as S3 Metadata makes it: CreateBucket refuses the managed name.
  assert.equal(await ensureManagedTableBucket(server.context, TEST_ACCOUNT_ID), undefined);
});

after(async () => {
  await server?.stop();
});

async function getObject(key: string): Promise<Buffer> {
  const res = await server.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

/** Runs `fn` with icebird's fetches sent to the test server (test/helpers/icebird.ts). */
function withServerFetch<T>(fn: (requested: string[]) => Promise<T>): Promise<T> {
  return withFetchTo({ url: server.url, accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY }, fn);
}

/** The rows as icebird's reader hands them back: timestamps as Dates (milliseconds), maps as objects. */
function asRead(row: IcebergRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = typeof v === "bigint" ? new Date(Number(v / 1000n)) : v;
  return out;
}

/** Comparable form: Dates to ISO strings, bigints to numbers, undefined to null, keys sorted. */
function normal(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(row).sort()) {
    const v = row[k];
    out[k] = v instanceof Date ? v.toISOString() : typeof v === "bigint" ? Number(v) : v === undefined ? null : v;
  }
  return out;
}

describe("an Iceberg table kept in a Stocktake bucket", () => {
  let created: TableMetadata;

  it("creates v1.metadata.json and version-hint.text as objects of the bucket, owned by its owner", async () => {
    const table = await createTable(server.context, JOURNAL, JOURNAL_SCHEMA);
    created = table.metadata;
    assert.equal(table.version, 1);
    assert.equal(table.uri, `s3://${BUCKET}/b_photos/journal`);
    assert.equal(table.metadataUri, `s3://${BUCKET}/b_photos/journal/metadata/v1.metadata.json`);
    const served = JSON.parse((await getObject("b_photos/journal/metadata/v1.metadata.json")).toString("utf8")) as TableMetadata;
    assert.deepEqual(served, table.metadata);
    assert.equal(served["format-version"], 2);
    assert.equal(served.location, table.uri);
    assert.equal(served["current-snapshot-id"], -1);
    assert.equal((await getObject("b_photos/journal/metadata/version-hint.text")).toString("utf8"), "1");
    const stored = await server.context.metadata.getLatest(BUCKET, "b_photos/journal/metadata/v1.metadata.json");
    assert.equal(stored?.ownerAccountId, TEST_ACCOUNT_ID);
    assert.equal(stored?.contentType, "application/json");
    assert.equal(stored?.extra[TABLE_FILE_MARK], true, "the journal must be able to tell the engine's own writes");
    // The server's default encryption applies, as it does to any PUT without SSE headers.
    assert.deepEqual(stored?.extra.encryption, { kind: "SSE-S3" });
  });

  it("is created once: createTable on an existing table returns that table", async () => {
    const again = await createTable(server.context, JOURNAL, JOURNAL_SCHEMA);
    assert.equal(again.version, 1);
    assert.equal(again.metadata["table-uuid"], created["table-uuid"]);
  });

  it("appends rows in three commits: a snapshot chain, and a manifest list carrying every manifest", async () => {
    const results = [];
    for (const rows of COMMITS) results.push((await appendRows(server.context, JOURNAL, rows))!);
    assert.deepEqual(results.map((r) => r.version), [2, 3, 4]);
    assert.deepEqual(results.map((r) => r.attempts), [1, 1, 1]);

    const table = (await loadTable(server.context, JOURNAL))!;
    assert.equal(table.version, 4);
    assert.equal((await getObject("b_photos/journal/metadata/version-hint.text")).toString("utf8"), "4");
    const m = table.metadata;
    assert.equal(m["last-sequence-number"], 3);
    assert.deepEqual(m.snapshots.map((s) => s["snapshot-id"]), results.map((r) => r.snapshotId));
    assert.deepEqual(m.snapshots.map((s) => s["sequence-number"]), [1, 2, 3]);
    assert.deepEqual(m.snapshots.map((s) => s["parent-snapshot-id"]), [undefined, results[0]!.snapshotId, results[1]!.snapshotId]);
    assert.equal(m["current-snapshot-id"], results[2]!.snapshotId);
    assert.deepEqual(m.refs.main, { "snapshot-id": results[2]!.snapshotId, type: "branch" });
    assert.deepEqual(m["metadata-log"].map((e) => e["metadata-file"]), [1, 2, 3].map((v) => `${table.uri}/metadata/v${v}.metadata.json`));
    const summary = currentSnapshot(m)!.summary;
    assert.equal(summary.operation, "append");
    assert.equal(summary["total-records"], "13");
    assert.equal(summary["total-data-files"], "3");
    assert.equal(summary["added-records"], "7");

    const manifests = await manifestsOf(server.context, JOURNAL, m);
    assert.equal(manifests.length, 3);
    // Newest first; each manifest keeps the sequence number and snapshot of the commit that added it.
    assert.deepEqual(manifests.map((r) => r.sequence_number), [3, 2, 1]);
    assert.deepEqual(manifests.map((r) => r.added_snapshot_id), results.map((r) => r.snapshotId).reverse());
    assert.deepEqual(manifests.map((r) => r.added_rows_count), [7, 1, 5]);
    // The list GetObject serves is the same file, with Avro codec null.
    const list = readAvroContainer(await getObject(keyOfUri(JOURNAL, currentSnapshot(m)!["manifest-list"])));
    assert.equal(list.metadata["avro.codec"], "null");
    assert.equal(list.metadata["sequence-number"], "3");
    assert.deepEqual(list.records, manifests);
    for (const [i, r] of manifests.entries()) {
      const manifest = readAvroContainer((await readTableFile(server.context, JOURNAL, r.manifest_path))!);
      const entries = manifest.records as ManifestEntryRecord[];
      assert.equal(entries.length, 1);
      assert.equal(entries[0]!.status, 1);
      assert.equal(entries[0]!.sequence_number, null, "an added file inherits its sequence number");
      assert.equal(entries[0]!.data_file.file_path, results[2 - i]!.dataFile);
      assert.equal(r.manifest_length, (await readTableFile(server.context, JOURNAL, r.manifest_path))!.length);
    }
  });

  it("reads back through icebird over HTTP (GetObject) with the rows that were appended", async () => {
    const rows = await withServerFetch(async (requested) => {
      const read = await icebergRead({ tableUrl: `s3://${BUCKET}/b_photos/journal` });
      assert.ok(requested.includes(`/${BUCKET}/b_photos/journal/metadata/version-hint.text`));
      assert.ok(requested.includes(`/${BUCKET}/b_photos/journal/metadata/v4.metadata.json`));
      return read;
    });
    const expected = COMMITS.flat().map((r) => normal(asRead(r)));
    const key = (r: Record<string, unknown>) => String(r.sequence_number);
    const got = rows.map((r) => normal(r)).sort((a, b) => key(a).localeCompare(key(b)));
    assert.equal(got.length, 13);
    assert.deepEqual(got, expected.sort((a, b) => key(a).localeCompare(key(b))));
  });

  describe("the Parquet data files, read by pyarrow and DuckDB", () => {
    let dir: string;
    let files: string[];
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), "table-store-"));
      const table = (await loadTable(server.context, JOURNAL))!;
      files = [];
      for (const s of table.metadata.snapshots) {
        const path = join(dir, `${s["sequence-number"]}.parquet`);
        const m = await manifestsOf(server.context, JOURNAL, { ...table.metadata, "current-snapshot-id": s["snapshot-id"] });
        const manifest = readAvroContainer((await readTableFile(server.context, JOURNAL, m[0]!.manifest_path))!);
        const entry = (manifest.records as ManifestEntryRecord[])[0]!;
        writeFileSync(path, await getObject(keyOfUri(JOURNAL, entry.data_file.file_path)));
        files.push(path);
      }
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("pyarrow reads every row and the Iceberg field ids", { skip: noPyarrow }, () => {
      const script = `
import json, sys, pyarrow.parquet as pq
out = []
for p in json.loads(sys.argv[1]):
    t = pq.read_table(p)
    out.append({"rows": t.num_rows, "keys": t.column("key").to_pylist(),
                "ids": [f.metadata[b"PARQUET:field_id"].decode() for f in t.schema][:3]})
print(json.dumps(out))`;
      const view = JSON.parse(python(script, JSON.stringify(files))) as { rows: number; keys: string[]; ids: string[] }[];
      assert.deepEqual(view.map((v) => v.rows), [5, 1, 7]);
      assert.deepEqual(view.map((v) => v.keys), COMMITS.map((rows) => rows.map((r) => r.key)));
      assert.deepEqual(view[0]!.ids, ["1", "2", "3"]);
    });

    it("DuckDB reads the files as one table", { skip: noDuckdb }, () => {
      const script = `
import json, sys, duckdb
r = duckdb.sql("select count(*), sum(size), count(distinct key) from read_parquet(" + json.dumps(json.loads(sys.argv[1])).replace('"', "'") + ")").fetchone()
print(json.dumps([int(x) for x in r]))`;
      const [count, size, keys] = JSON.parse(python(script, JSON.stringify(files))) as number[];
      const rows = COMMITS.flat();
      assert.equal(count, rows.length);
      assert.equal(keys, rows.length);
      assert.equal(size, rows.reduce((s, r) => s + Number(r.size), 0));
    });
  });

  it("fastavro reads the manifest list and the manifests it names", { skip: noFastavro }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "table-store-avro-"));
    try {
      const table = (await loadTable(server.context, JOURNAL))!;
      const listUri = currentSnapshot(table.metadata)!["manifest-list"];
      const files: Record<string, string> = {};
      const save = async (uri: string) => {
        const path = join(dir, uri.slice(uri.lastIndexOf("/") + 1));
        writeFileSync(path, await getObject(keyOfUri(JOURNAL, uri)));
        files[uri] = path;
      };
      await save(listUri);
      for (const m of await manifestsOf(server.context, JOURNAL, table.metadata)) await save(m.manifest_path);
      const script = `
import json, sys, fastavro
files = json.loads(sys.argv[2])
with open(files[sys.argv[1]], "rb") as f:
    r = fastavro.reader(f)
    lst = list(r)
    codec = r.codec
out = {"codec": codec, "manifests": []}
for m in lst:
    with open(files[m["manifest_path"]], "rb") as f:
        rr = fastavro.reader(f)
        entries = [{"status": e["status"], "path": e["data_file"]["file_path"], "records": e["data_file"]["record_count"]} for e in rr]
        out["manifests"].append({"seq": m["sequence_number"], "added": m["added_files_count"], "entries": entries, "content": rr.metadata["content"]})
print(json.dumps(out))`;
      const view = JSON.parse(python(script, listUri, JSON.stringify(files))) as {
        codec: string;
        manifests: { seq: number; added: number; content: string; entries: { status: number; path: string; records: number }[] }[];
      };
      assert.equal(view.codec, "null");
      assert.deepEqual(view.manifests.map((m) => m.seq), [3, 2, 1]);
      assert.deepEqual(view.manifests.map((m) => m.entries.map((e) => e.records)), [[7], [1], [5]]);
      assert.ok(view.manifests.every((m) => m.added === 1 && m.content === "data" && m.entries[0]!.status === 1));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("loads past a version hint that lags behind the newest metadata", async () => {
    const location: TableLocation = { bucket: BUCKET, prefix: "b_lagging/journal/" };
    await createTable(server.context, location, JOURNAL_SCHEMA);
    await appendRows(server.context, location, [journalRow(1, 0)]);
    await appendRows(server.context, location, [journalRow(2, 0)]);
    // As if the writer of v3 had stopped before moving the hint.
    await server.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "b_lagging/journal/metadata/version-hint.text", Body: "1" }));
    const table = (await loadTable(server.context, location))!;
    assert.equal(table.version, 3);
    const next = (await appendRows(server.context, location, [journalRow(3, 0)]))!;
    assert.equal(next.version, 4);
    assert.equal((await getObject("b_lagging/journal/metadata/version-hint.text")).toString("utf8"), "4");
  });

  it("commits nothing for an empty append, and finds no table where none was created", async () => {
    assert.equal(await appendRows(server.context, JOURNAL, []), undefined);
    assert.equal((await loadTable(server.context, JOURNAL))!.version, 4);
    assert.equal(await loadTable(server.context, { bucket: BUCKET, prefix: "b_nothing/journal/" }), undefined);
    await assert.rejects(appendRows(server.context, { bucket: BUCKET, prefix: "b_nothing/journal/" }, [journalRow(1, 0)]), /no Iceberg table/);
  });
});

describe("commits racing on one table", () => {
  it("a commit prepared on a stale base loses the create-once write, reloads and commits on the winner", async () => {
    const location: TableLocation = { bucket: BUCKET, prefix: "b_race/journal/" };
    await createTable(server.context, location, JOURNAL_SCHEMA);
    // Both prepare on v1 before either writes v2.
    let arrived = 0;
    let release!: () => void;
    const bothPrepared = new Promise<void>((r) => (release = r));
    const bases: number[][] = [[], []];
    const racer = (n: number) =>
      commit(server.context, location, async (base, attempt) => {
        bases[n]!.push(base.version);
        if (attempt === 1 && ++arrived === 2) release();
        if (attempt === 1) await bothPrepared;
        return { metadata: { ...base.metadata, properties: { ...base.metadata.properties, [`racer-${n}`]: String(attempt) } } };
      });
    const [a, b] = await Promise.all([racer(0), racer(1)]);
    assert.deepEqual([a.attempts, b.attempts].sort(), [1, 2]);
    assert.deepEqual([a.version, b.version].sort(), [2, 3]);
    const loser = a.attempts === 2 ? 0 : 1;
    assert.deepEqual(bases[loser], [1, 2], "the loser prepared again on the winner's version");
    const final = (await loadTable(server.context, location))!;
    assert.equal(final.version, 3);
    assert.equal(final.metadata.properties["racer-0"] !== undefined && final.metadata.properties["racer-1"] !== undefined, true, "neither commit was lost");
  });

  it("takes a store error after which the new metadata file exists for a lost race, and commits again", async () => {
    const location: TableLocation = { bucket: BUCKET, prefix: "b_store_error/journal/" };
    await createTable(server.context, location, JOURNAL_SCHEMA);
    const real = server.context.metadata;
    let injected = false;
    // As PostgreSQL reports two creates of a key that has no version yet: the other writer's
    // v2 commits, this one's write fails with a unique violation instead of the condition.
    const metadata = new Proxy(real, {
      get(target, name) {
        if (name === "putVersion") {
          return async (...args: Parameters<typeof real.putVersion>) => {
            if (!injected && args[1].key.endsWith("/metadata/v2.metadata.json")) {
              injected = true;
              await commit(server.context, location, async (base) => ({ metadata: { ...base.metadata, properties: { ...base.metadata.properties, other: "1" } } }));
              throw Object.assign(new Error('duplicate key value violates unique constraint "versions_bucket_key_version_id_key"'), { code: "23505" });
            }
            return target.putVersion(...args);
          };
        }
        const value = Reflect.get(target, name) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const mine = await commit({ ...server.context, metadata }, location, async (base) => ({
      metadata: { ...base.metadata, properties: { ...base.metadata.properties, mine: String(base.version) } },
    }));
    assert.equal(mine.attempts, 2);
    assert.equal(mine.version, 3);
    const final = (await loadTable(server.context, location))!;
    assert.deepEqual([final.metadata.properties.other, final.metadata.properties.mine], ["1", "2"]);
  });

  it("appends racing on one table all land: sequence numbers 1..N and every row", async () => {
    const location: TableLocation = { bucket: BUCKET, prefix: "b_busy/journal/" };
    await createTable(server.context, location, JOURNAL_SCHEMA);
    const writers = 5;
    const batches = Array.from({ length: writers }, (_, w) => Array.from({ length: w + 2 }, (_, i) => journalRow(w + 10, i)));
    const results = await Promise.all(batches.map((rows) => appendRows(server.context, location, rows)));
    assert.ok(results.some((r) => r!.attempts > 1), "the appends raced (some had to retry)");
    const table = (await loadTable(server.context, location))!;
    assert.equal(table.version, writers + 1);
    assert.deepEqual(table.metadata.snapshots.map((s) => s["sequence-number"]), [1, 2, 3, 4, 5]);
    assert.deepEqual(new Set(table.metadata.snapshots.map((s) => s["snapshot-id"])), new Set(results.map((r) => r!.snapshotId)));
    const manifests = await manifestsOf(server.context, location, table.metadata);
    assert.deepEqual(manifests.map((m) => m.sequence_number), [5, 4, 3, 2, 1]);
    // The losing attempts' manifest lists were removed: one list per snapshot is left.
    const listed = await server.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "b_busy/journal/metadata/snap-" }));
    assert.equal(listed.KeyCount, writers);
    const rows = await withServerFetch(() => icebergRead({ tableUrl: `s3://${BUCKET}/b_busy/journal` }));
    const expected = batches.flat().map((r) => String(r.sequence_number)).sort();
    assert.deepEqual(rows.map((r) => String(r.sequence_number)).sort(), expected);
  });
});

/** Every row of the table's current snapshot as icebird reads it over HTTP, in comparable form, by sequence_number. */
async function readThroughIcebird(location: TableLocation): Promise<Record<string, unknown>[]> {
  const rows = await withServerFetch(() => icebergRead({ tableUrl: `s3://${location.bucket}/${location.prefix.replace(/\/$/, "")}` }));
  return sortedBySequence(rows.map((r) => normal(r)));
}

function sortedBySequence(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.sort((a, b) => String(a.sequence_number).localeCompare(String(b.sequence_number)));
}

function expectedRows(rows: IcebergRow[]): Record<string, unknown>[] {
  return sortedBySequence(rows.map((r) => normal(asRead(r))));
}

async function exists(location: TableLocation, uri: string): Promise<boolean> {
  const v = await server.context.metadata.getLatest(location.bucket, keyOfUri(location, uri));
  return v !== undefined && !v.isDeleteMarker;
}

async function keysUnder(prefix: string): Promise<string[]> {
  const listed = await server.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key!);
}

const batch = (commitNo: number, n: number) => Array.from({ length: n }, (_, i) => journalRow(commitNo, i));
const CHANGE_SEQ = "stocktake.change-seq";

describe("rewriting a table's data files", () => {
  const location: TableLocation = { bucket: BUCKET, prefix: "b_rewrite/journal/" };
  const [a, b, c, d, e] = [batch(31, 3), batch(32, 2), batch(33, 4), batch(34, 2), batch(35, 3)];
  const appended: { snapshotId: number; dataFile: string }[] = [];

  before(async () => {
    await createTable(server.context, location, JOURNAL_SCHEMA);
  });

  it("lists the live files of appends, each with its commit's sequence number inherited from the manifest list", async () => {
    for (const rows of [a, b, c]) {
      const r = (await appendRows(server.context, location, rows))!;
      appended.push({ snapshotId: r.snapshotId, dataFile: r.dataFile! });
    }
    const table = (await loadTable(server.context, location))!;
    const live = await liveFiles(server.context, location, table.metadata);
    // Newest manifest first; its entry leaves the numbers null, to be taken from the list.
    assert.deepEqual(
      live.map((f) => [f.dataFile.file_path, f.snapshotId, f.sequenceNumber, f.fileSequenceNumber, f.dataFile.record_count]),
      [
        [appended[2]!.dataFile, appended[2]!.snapshotId, 3, 3, 4],
        [appended[1]!.dataFile, appended[1]!.snapshotId, 2, 2, 2],
        [appended[0]!.dataFile, appended[0]!.snapshotId, 1, 1, 3],
      ],
    );
    assert.deepEqual(await liveFiles(server.context, location, { ...table.metadata, "current-snapshot-id": -1 }), []);
  });

  it("writeDataFile + rewriteFiles: one of three files removed, two added; icebird reads exactly the new snapshot's rows", async () => {
    const written = [await writeDataFile(server.context, location, d), await writeDataFile(server.context, location, e)];
    assert.equal(written[0]!.record_count, 2);
    assert.match(written[0]!.file_path, new RegExp(`^s3://${BUCKET}/b_rewrite/journal/data/[0-9a-f-]{36}-00000\\.parquet$`));
    assert.ok(await exists(location, written[1]!.file_path), "the data file is stored at once");
    const before = (await loadTable(server.context, location))!;
    const liveBefore = await liveFiles(server.context, location, before.metadata);
    assert.equal(liveBefore.length, 3, "but no snapshot names it yet");
    const sizeOf = (path: string) => liveBefore.find((f) => f.dataFile.file_path === path)!.dataFile.file_size_in_bytes;
    const addedSize = written[0]!.file_size_in_bytes + written[1]!.file_size_in_bytes;
    await assert.rejects(writeDataFile(server.context, location, []), /at least one row/);

    const result = (await rewriteFiles(server.context, location, { add: written, remove: () => [appended[1]!.dataFile] }))!;
    assert.equal(result.version, before.version + 1);
    assert.deepEqual(result.removed, [appended[1]!.dataFile]);
    const snapshot = currentSnapshot(result.metadata)!;
    assert.equal(snapshot["snapshot-id"], result.snapshotId);
    assert.equal(snapshot["sequence-number"], 4);
    assert.equal(snapshot["parent-snapshot-id"], appended[2]!.snapshotId);
    assert.deepEqual(snapshot.summary, {
      operation: "overwrite",
      "added-data-files": "2",
      "deleted-data-files": "1",
      "added-records": "5",
      "deleted-records": "2",
      "added-files-size": String(addedSize),
      "removed-files-size": String(sizeOf(appended[1]!.dataFile)),
      "total-data-files": "4",
      "total-records": "12",
      "total-files-size": String(sizeOf(appended[0]!.dataFile) + sizeOf(appended[2]!.dataFile) + addedSize),
      "total-delete-files": "0",
      "total-position-deletes": "0",
      "total-equality-deletes": "0",
    });

    // One manifest: the new files ADDED, the others EXISTING with their own numbers, the removed one DELETED.
    const manifests = await manifestsOf(server.context, location, result.metadata);
    assert.equal(manifests.length, 1);
    const m = manifests[0]!;
    assert.deepEqual(
      [m.sequence_number, m.min_sequence_number, m.added_snapshot_id, m.added_files_count, m.existing_files_count, m.deleted_files_count, m.added_rows_count, m.existing_rows_count, m.deleted_rows_count],
      [4, 1, result.snapshotId, 2, 2, 1, 5, 7, 2],
    );
    const entries = readAvroContainer((await readTableFile(server.context, location, m.manifest_path))!).records as ManifestEntryRecord[];
    assert.deepEqual(
      entries.map((x) => [x.status, x.snapshot_id, x.sequence_number, x.file_sequence_number, x.data_file.file_path]),
      [
        [ENTRY_STATUS.added, result.snapshotId, null, null, written[0]!.file_path],
        [ENTRY_STATUS.added, result.snapshotId, null, null, written[1]!.file_path],
        [ENTRY_STATUS.existing, appended[2]!.snapshotId, 3, 3, appended[2]!.dataFile],
        [ENTRY_STATUS.existing, appended[0]!.snapshotId, 1, 1, appended[0]!.dataFile],
        [ENTRY_STATUS.deleted, result.snapshotId, 2, 2, appended[1]!.dataFile],
      ],
    );

    const live = await liveFiles(server.context, location, result.metadata);
    assert.deepEqual(
      live.map((f) => [f.dataFile.file_path, f.snapshotId, f.sequenceNumber, f.fileSequenceNumber]),
      [
        [written[0]!.file_path, result.snapshotId, 4, 4],
        [written[1]!.file_path, result.snapshotId, 4, 4],
        [appended[2]!.dataFile, appended[2]!.snapshotId, 3, 3],
        [appended[0]!.dataFile, appended[0]!.snapshotId, 1, 1],
      ],
    );
    assert.deepEqual(await readThroughIcebird(location), expectedRows([...a, ...c, ...d, ...e]));
  });

  it("rewriteFiles refused by its caller's check deletes the data files it was to add, and commits nothing", async () => {
    const before = (await loadTable(server.context, location))!;
    const written = await writeDataFile(server.context, location, d);
    assert.ok(await exists(location, written.file_path));
    await assert.rejects(
      rewriteFiles(server.context, location, {
        add: [written],
        remove: () => {
          throw new Error("the table moved on");
        },
      }),
      /the table moved on/,
    );
    assert.equal(await exists(location, written.file_path), false, "no metadata names it: it is not left behind");
    assert.equal((await loadTable(server.context, location))!.version, before.version);
  });

  it("an empty rewrite commits only with allowEmpty, and then records just its summary", async () => {
    const before = (await loadTable(server.context, location))!;
    const liveBefore = await liveFiles(server.context, location, before.metadata);
    assert.equal(await rewriteFiles(server.context, location, { add: [], remove: () => [] }), undefined);
    assert.equal((await loadTable(server.context, location))!.version, before.version, "nothing to change: no commit");

    const result = await rewriteFiles(server.context, location, { add: [], remove: () => [], summary: { [CHANGE_SEQ]: "42" }, allowEmpty: true });
    assert.equal(result.version, before.version + 1);
    const summary = currentSnapshot(result.metadata)!.summary;
    const totals = ["total-data-files", "total-records", "total-files-size"];
    assert.deepEqual(summary, { operation: "append", [CHANGE_SEQ]: "42", ...Object.fromEntries(totals.map((k) => [k, currentSnapshot(before.metadata)!.summary[k]])), "total-delete-files": "0", "total-position-deletes": "0", "total-equality-deletes": "0" });
    // The same files, now all EXISTING in the new manifest, keep their sequence numbers.
    assert.deepEqual(await liveFiles(server.context, location, result.metadata), liveBefore);
    assert.deepEqual(await readThroughIcebird(location), expectedRows([...a, ...c, ...d, ...e]));
  });

  it("appendRows records summary properties, and with allowEmpty commits a summary without rows", async () => {
    const before = (await loadTable(server.context, location))!;
    const empty = (await appendRows(server.context, location, [], { summary: { [CHANGE_SEQ]: "43" }, allowEmpty: true }))!;
    assert.equal(empty.version, before.version + 1);
    assert.equal(empty.dataFile, undefined);
    const emptySummary = currentSnapshot(empty.metadata)!.summary;
    assert.equal(emptySummary.operation, "append");
    assert.equal(emptySummary[CHANGE_SEQ], "43");
    assert.equal(emptySummary["added-data-files"], undefined);
    assert.deepEqual(await manifestsOf(server.context, location, empty.metadata), await manifestsOf(server.context, location, before.metadata));

    const rows = batch(36, 2);
    const full = (await appendRows(server.context, location, rows, { summary: { [CHANGE_SEQ]: "44" } }))!;
    const summary = currentSnapshot(full.metadata)!.summary;
    assert.deepEqual([summary[CHANGE_SEQ], summary["added-records"], summary["total-records"]], ["44", "2", "14"]);
    assert.deepEqual(await readThroughIcebird(location), expectedRows([...a, ...c, ...d, ...e, ...rows]));
  });

  it("refuses to remove a file that is not live in the base", async () => {
    const version = (await loadTable(server.context, location))!.version;
    await assert.rejects(rewriteFiles(server.context, location, { add: [], remove: () => [appended[1]!.dataFile] }), /is not a data file of the snapshot being rewritten/);
    assert.equal((await loadTable(server.context, location))!.version, version);
  });

  it("a rewrite racing another commit decides again on the new base, and its lost attempt's files are removed", async () => {
    const race: TableLocation = { bucket: BUCKET, prefix: "b_rewrite_race/journal/" };
    await createTable(server.context, race, JOURNAL_SCHEMA);
    const first = (await appendRows(server.context, race, batch(41, 2)))!;
    const compacted = batch(43, 5);
    const into = await writeDataFile(server.context, race, compacted);
    let racing: Promise<unknown> | undefined;
    const seen: number[][] = [];
    const result = await rewriteFiles(server.context, race, {
      add: [into],
      remove: async (base, live) => {
        seen.push([base.version, live.length]);
        // Another writer commits while the first attempt is being prepared on v2.
        if (!racing) await (racing = appendRows(server.context, race, batch(42, 3)));
        return live.map((f) => f.dataFile.file_path);
      },
      summary: (base) => ({ [CHANGE_SEQ]: `decided-on-v${base.version}` }),
      operation: "replace",
      allowEmpty: true,
    });
    assert.deepEqual(seen, [[2, 1], [3, 2]], "the second attempt saw the other writer's file");
    assert.equal(result.attempts, 2);
    assert.equal(result.version, 4);
    const second = currentSnapshot((await loadTable(server.context, race))!.metadata)!;
    assert.equal(second["snapshot-id"], result.snapshotId);
    assert.equal(second.summary.operation, "replace");
    assert.equal(second.summary[CHANGE_SEQ], "decided-on-v3");
    assert.equal(second.summary["deleted-data-files"], "2");
    assert.equal(second.summary["total-records"], "5");
    assert.equal(result.removed.length, 2);
    assert.ok(result.removed.includes(first.dataFile!));
    assert.deepEqual((await liveFiles(server.context, race, result.metadata)).map((f) => f.dataFile.file_path), [into.file_path]);
    // One manifest list per snapshot, and the manifests of the two appends and of the winning attempt.
    assert.equal((await keysUnder("b_rewrite_race/journal/metadata/snap-")).length, 3);
    assert.equal((await keysUnder("b_rewrite_race/journal/metadata/")).filter((k) => k.endsWith("-m0.avro")).length, 3);
    assert.deepEqual(await readThroughIcebird(race), expectedRows(compacted));
  });
});

describe("expiring a table's snapshots", () => {
  const location: TableLocation = { bucket: BUCKET, prefix: "b_expire/journal/" };

  it("deletes the manifest lists, manifests and data files only expired snapshots used; icebird still reads the table", async () => {
    await createTable(server.context, location, JOURNAL_SCHEMA);
    const [a, b, c, d, e] = [batch(51, 2), batch(52, 3), batch(53, 1), batch(54, 5), batch(55, 2)];
    const appends: Appended[] = [];
    for (const rows of [a, b, c]) appends.push((await appendRows(server.context, location, rows))!);
    const dFile = await writeDataFile(server.context, location, d);
    await rewriteFiles(server.context, location, { add: [dFile], remove: () => [appends[0]!.dataFile!, appends[1]!.dataFile!], operation: "replace" });
    appends.push((await appendRows(server.context, location, e))!);
    // Written for a commit still to come: no snapshot reaches it, and it must survive.
    const pending = await writeDataFile(server.context, location, batch(56, 1));

    const before = (await loadTable(server.context, location))!;
    const snapshots = before.metadata.snapshots;
    assert.equal(snapshots.length, 5);
    const manifestPaths = async (i: number) => (await manifestsOf(server.context, location, { ...before.metadata, "current-snapshot-id": snapshots[i]!["snapshot-id"] })).map((m) => m.manifest_path);
    const expiredManifests = [...(await manifestPaths(0)), ...(await manifestPaths(1)), ...(await manifestPaths(2))];
    const retainedManifests = [...(await manifestPaths(3)), ...(await manifestPaths(4))];
    const doomed = [
      ...snapshots.slice(0, 3).map((s) => s["manifest-list"]),
      ...new Set(expiredManifests),
      appends[0]!.dataFile!,
      appends[1]!.dataFile!,
    ];
    assert.equal(doomed.length, 8);
    const kept = [...snapshots.slice(3).map((s) => s["manifest-list"]), ...retainedManifests, appends[2]!.dataFile!, dFile.file_path, appends[3]!.dataFile!, pending.file_path];
    assert.ok(expiredManifests.every((m) => !retainedManifests.includes(m)));

    const result = await expireTable(server.context, location, { olderThanMs: server.context.clock.now().getTime() + 1000, retainLast: 2 });
    assert.deepEqual(result, { expiredSnapshots: 3, deletedFiles: 8 });
    for (const uri of doomed) assert.equal(await exists(location, uri), false, `${uri} is deleted`);
    for (const uri of kept) assert.equal(await exists(location, uri), true, `${uri} stays`);

    const after = (await loadTable(server.context, location))!;
    assert.equal(after.version, before.version + 1);
    assert.deepEqual(after.metadata.snapshots.map((s) => s["snapshot-id"]), snapshots.slice(3).map((s) => s["snapshot-id"]));
    assert.deepEqual(after.metadata["current-snapshot-id"], before.metadata["current-snapshot-id"]);
    assert.deepEqual(await readThroughIcebird(location), expectedRows([...c, ...d, ...e]));

    assert.deepEqual(await expireTable(server.context, location, { olderThanMs: server.context.clock.now().getTime() + 1000, retainLast: 2 }), { expiredSnapshots: 0, deletedFiles: 0 });
    assert.equal((await loadTable(server.context, location))!.version, after.version, "nothing to expire: no commit");
  });
});

describe("deleting files no metadata names", () => {
  const put = (key: string) => server.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "left by a crash" }));
  /** What a crash leaves: a data file written for a commit, and that commit's manifest and manifest list. */
  async function crashLeftovers(location: TableLocation, n: number): Promise<string[]> {
    const dataFile = await writeDataFile(server.context, location, batch(90 + n, 1));
    const uuid = `00000000-0000-4000-8000-00000000000${n}`;
    const manifest = `${location.prefix}metadata/${uuid}-m0.avro`;
    const list = `${location.prefix}metadata/snap-${n}-1-${uuid}.avro`;
    await put(manifest);
    await put(list);
    return [keyOfUri(location, dataFile.file_path), manifest, list];
  }
  const present = async (key: string) => (await server.context.metadata.getLatest(BUCKET, key)) !== undefined;

  it("deletes only what no snapshot names and is older than the age given; the table still reads", async () => {
    const location: TableLocation = { bucket: BUCKET, prefix: "b_orphans/journal/" };
    await createTable(server.context, location, JOURNAL_SCHEMA);
    const [a, b] = [batch(81, 2), batch(82, 3)];
    await appendRows(server.context, location, a);
    await appendRows(server.context, location, b);
    const leftovers = await crashLeftovers(location, 1);
    const before = (await keysUnder("b_orphans/journal/")).filter((k) => !leftovers.includes(k));
    assert.ok(before.includes("b_orphans/journal/metadata/version-hint.text") && before.includes("b_orphans/journal/metadata/v3.metadata.json"));

    const now = server.context.clock.now().getTime();
    assert.equal(await deleteOrphanFiles(server.context, location, { olderThanMs: now - ORPHAN_MIN_AGE_MS }), 0, "too young: maybe a commit under way");
    for (const key of leftovers) assert.ok(await present(key));

    assert.equal(await deleteOrphanFiles(server.context, location, { olderThanMs: now + 60_000 }), 3);
    for (const key of leftovers) assert.equal(await present(key), false, `${key} is deleted`);
    assert.deepEqual(await keysUnder("b_orphans/journal/"), before, "every file the snapshots name, each metadata file and the hint stay");
    assert.deepEqual(await readThroughIcebird(location), expectedRows([...a, ...b]));
  });

  it("deletes nothing when a manifest of a snapshot is missing: what the snapshots name is then not known", async () => {
    const location: TableLocation = { bucket: BUCKET, prefix: "b_orphans_unknown/journal/" };
    await createTable(server.context, location, JOURNAL_SCHEMA);
    const appended = (await appendRows(server.context, location, batch(83, 2)))!;
    const leftovers = await crashLeftovers(location, 2);
    const manifests = await manifestsOf(server.context, location, (await loadTable(server.context, location))!.metadata);
    await server.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: keyOfUri(location, manifests[0]!.manifest_path) }));
    assert.equal(await deleteOrphanFiles(server.context, location, { olderThanMs: server.context.clock.now().getTime() + 60_000 }), 0);
    for (const key of [...leftovers, keyOfUri(location, appended.dataFile!)]) assert.ok(await present(key), `${key} stays`);
  });

  it("is part of the maintenance pass, a table swept at most hourly by a process, a file once it is a day old", async () => {
    const location: TableLocation = { bucket: BUCKET, prefix: "b_orphans_maintained/journal/" };
    await createTable(server.context, location, JOURNAL_SCHEMA);
    await appendRows(server.context, location, batch(84, 2));
    const first = await crashLeftovers(location, 3);
    // A day and a minute on: the leftovers are old enough.
    const clock = new ManualClock(server.context.clock.now().getTime() + ORPHAN_MIN_AGE_MS + 60_000);
    const ctx = { ...server.context, clock };
    const out = (): Maintenance => ({ compacted: 0, expiredRecords: 0, expiredSnapshots: 0, deletedFiles: 0 });

    const pass = out();
    await expireOldSnapshots(ctx, location, pass);
    for (const key of first) assert.equal(await present(key), false, `${key} is deleted`);
    assert.ok(pass.deletedFiles >= 3);

    const second = await crashLeftovers(location, 4);
    clock.advance(ORPHAN_SWEEP_EVERY_MS / 2);
    await expireOldSnapshots(ctx, location, out());
    for (const key of second) assert.ok(await present(key), "within the hour of the last sweep: not swept");
    clock.advance(ORPHAN_SWEEP_EVERY_MS / 2);
    await expireOldSnapshots(ctx, location, out());
    for (const key of second) assert.equal(await present(key), false, `${key} is deleted an hour after the last sweep`);
    assert.equal((await readThroughIcebird(location)).length, 2);
  });
});

describe("data file metrics as the table's properties ask", () => {
  const KEY_FIELD = 2;
  const BUCKET_FIELD = 1;
  const keys = ["photos/2025/06/ünïcødé-ファイル-0009.jpg", "photos/2025/06/ünïcødé-ファイル-0001.jpg"];
  const rows = keys.map((key, i) => ({ ...journalRow(61, i), key }));
  const bound = (file: DataFileRecord, which: "lower_bounds" | "upper_bounds", id: number) => {
    const value = file[which]!.find((b) => b.key === id)?.value;
    return value === undefined ? undefined : Buffer.from(value).toString("utf8");
  };

  it("keeps key bounds at full length with write.metadata.metrics.column.key=full, and truncates to n with truncate(n)", async () => {
    const location: TableLocation = { bucket: BUCKET, prefix: "b_bounds/inventory/" };
    await createTable(server.context, location, JOURNAL_SCHEMA, { properties: { "write.metadata.metrics.column.key": "full", "write.metadata.metrics.column.bucket": "truncate(4)" } });
    const file = await writeDataFile(server.context, location, rows);
    assert.equal(bound(file, "lower_bounds", KEY_FIELD), keys[1]);
    assert.equal(bound(file, "upper_bounds", KEY_FIELD), keys[0]);
    assert.equal(bound(file, "lower_bounds", BUCKET_FIELD), "phot");
    assert.equal(bound(file, "upper_bounds", BUCKET_FIELD), "phou");
    // appendRows writes its data file the same way.
    const appended = (await appendRows(server.context, location, rows))!;
    const [live] = await liveFiles(server.context, location, appended.metadata);
    assert.equal(bound(live!.dataFile, "lower_bounds", KEY_FIELD), keys[1]);
    assert.equal(bound(live!.dataFile, "upper_bounds", KEY_FIELD), keys[0]);
  });

  it("truncates string bounds to 16 characters without the property", async () => {
    const location: TableLocation = { bucket: BUCKET, prefix: "b_bounds_default/inventory/" };
    await createTable(server.context, location, JOURNAL_SCHEMA);
    const file = await writeDataFile(server.context, location, rows);
    assert.equal(bound(file, "lower_bounds", KEY_FIELD), "photos/2025/06/ü");
    assert.equal(bound(file, "upper_bounds", KEY_FIELD), "photos/2025/06/ý");
    assert.equal(bound(file, "lower_bounds", BUCKET_FIELD), "photos");
  });
});
