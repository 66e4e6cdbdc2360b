// The S3 Metadata tables engine end to end: a bucket configured through the JS SDK, a random
// workload of puts, copies, overwrites, delete markers, version deletes, tag changes and multipart
// uploads, then the journal and live inventory tables read by icebird (found through the REST
// catalog with iceberg-js): one journal row per change, and the inventory equal to
// ListObjectVersions row for row, also as DuckDB and pyarrow read its data files alone. Then
// freshness on the real timers, restarts, expiration and compaction, and a table left by an
// earlier configuration. docs/metadata-tables.md.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateBucketMetadataConfigurationCommand,
  CreateBucketMetadataTableConfigurationCommand,
  DeleteBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketMetadataConfigurationCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetBucketMetadataConfigurationCommand,
  GetBucketMetadataTableConfigurationCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { IcebergRestCatalog } from "iceberg-js";
import { Client as MinioClient } from "minio";
import { startTestServer, TEST_ACCESS_KEY, TEST_ACCOUNT_ID, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import { readTable, sigv4Fetch, type SigningTarget } from "../helpers/icebird.js";
import { liveFiles, loadTable } from "../../src/metadata-tables/table-store.js";
import { MetadataTablesEngine } from "../../src/metadata-tables/engine.js";
import { createAccount, loadSealingKey } from "../../src/auth/accounts.js";

const TABLES = `aws-s3-${TEST_ACCOUNT_ID}`;

function importable(module: string): boolean {
  return spawnSync("python3", ["-c", `import ${module}`]).status === 0;
}
const noPyarrow = importable("pyarrow") ? false : "python3 cannot import pyarrow (python3 -m pip install pyarrow)";
const noDuckdb = importable("duckdb") ? false : "python3 cannot import duckdb (python3 -m pip install duckdb)";
/** Engine timers far away: the tests run its passes themselves, except where timing is the point. */
const MANUAL = { metadataJournalIntervalMs: 3_600_000, metadataInventoryIntervalMs: 3_600_000 };

async function configure(s3: S3Client, Bucket: string, inventory = true): Promise<void> {
  await s3.send(
    new CreateBucketMetadataConfigurationCommand({
      Bucket,
      MetadataConfiguration: {
        JournalTableConfiguration: { RecordExpiration: { Expiration: "ENABLED", Days: 7 } },
        ...(inventory ? { InventoryTableConfiguration: { ConfigurationState: "ENABLED" } } : {}),
      },
    }),
  );
}

async function statuses(s3: S3Client, Bucket: string): Promise<{ journal?: string; inventory?: string; error?: string }> {
  const r = (await s3.send(new GetBucketMetadataConfigurationCommand({ Bucket }))).GetBucketMetadataConfigurationResult?.MetadataConfigurationResult;
  return {
    journal: r?.JournalTableConfigurationResult?.TableStatus,
    inventory: r?.InventoryTableConfigurationResult?.TableStatus,
    error: r?.JournalTableConfigurationResult?.Error?.ErrorCode,
  };
}

/** A small deterministic generator, so a failing workload can be replayed from its seed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Expected {
  type: "CREATE" | "DELETE" | "UPDATE_METADATA";
  key: string;
  requestId: string | undefined;
}

/** Runs `n` random operations on the bucket; returns the journal records they must make, in order. */
async function workload(s3: S3Client, Bucket: string, n: number, seed: number): Promise<Expected[]> {
  const next = random(seed);
  const keys = ["a.txt", "b.txt", "dir/c.bin", "dir/d.bin", "ü/e", "f g"];
  const pick = () => keys[Math.floor(next() * keys.length)]!;
  const expected: Expected[] = [];
  const live = async (Key: string) =>
    ((await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix: Key }))).Versions ?? []).filter((v) => v.Key === Key);
  for (let i = 0; i < n; i++) {
    const roll = next();
    const Key = pick();
    if (roll < 0.35) {
      const r = await s3.send(new PutObjectCommand({ Bucket, Key, Body: `body ${i} `.repeat(1 + Math.floor(next() * 50)), Metadata: { n: String(i) } }));
      expected.push({ type: "CREATE", key: Key, requestId: r.$metadata.requestId });
    } else if (roll < 0.5) {
      const source = pick();
      const versions = await live(source);
      if (versions.length === 0) continue;
      const r = await s3.send(new CopyObjectCommand({ Bucket, Key, CopySource: `${Bucket}/${encodeURIComponent(source)}?versionId=${versions[0]!.VersionId}` }));
      expected.push({ type: "CREATE", key: Key, requestId: r.$metadata.requestId });
    } else if (roll < 0.62) {
      const r = await s3.send(new DeleteObjectCommand({ Bucket, Key }));
      expected.push({ type: "DELETE", key: Key, requestId: r.$metadata.requestId });
    } else if (roll < 0.75) {
      const versions = await live(Key);
      if (versions.length === 0) continue;
      const victim = versions[Math.floor(next() * versions.length)]!;
      const r = await s3.send(new DeleteObjectCommand({ Bucket, Key, VersionId: victim.VersionId }));
      expected.push({ type: "DELETE", key: Key, requestId: r.$metadata.requestId });
    } else if (roll < 0.87) {
      const versions = await live(Key);
      if (versions.length === 0) continue;
      const r = await s3.send(new PutObjectTaggingCommand({ Bucket, Key, VersionId: versions[0]!.VersionId, Tagging: { TagSet: [{ Key: "round", Value: String(i) }] } }));
      expected.push({ type: "UPDATE_METADATA", key: Key, requestId: r.$metadata.requestId });
    } else {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
      const part1 = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: Buffer.alloc(5 * 1024 * 1024, i % 251) }));
      const part2 = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 2, Body: `tail ${i}` }));
      const r = await s3.send(
        new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part1.ETag }, { PartNumber: 2, ETag: part2.ETag }] } }),
      );
      expected.push({ type: "CREATE", key: Key, requestId: r.$metadata.requestId });
    }
  }
  return expected;
}

/** AWS's version_id column: null for the null version. */
const versionIdColumn = (id: string | undefined) => (id === "null" ? null : id);

/** Every version and delete marker, as the inventory table's rows should show them. */
async function listedVersions(s3: S3Client, Bucket: string): Promise<string[]> {
  const rows: string[] = [];
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket, KeyMarker, VersionIdMarker }));
    for (const v of page.Versions ?? []) {
      rows.push(JSON.stringify([v.Key, versionIdColumn(v.VersionId), false, v.Size, v.ETag?.replace(/"/g, ""), v.StorageClass, v.LastModified?.toISOString()]));
    }
    for (const m of page.DeleteMarkers ?? []) rows.push(JSON.stringify([m.Key, versionIdColumn(m.VersionId), true, 0, null, null, m.LastModified?.toISOString()]));
    if (!page.IsTruncated) break;
    KeyMarker = page.NextKeyMarker;
    VersionIdMarker = page.NextVersionIdMarker;
  }
  return rows.sort();
}

function inventoryRows(rows: Record<string, unknown>[]): string[] {
  return rows
    .map((r) =>
      JSON.stringify([r.key, r.version_id, r.is_delete_marker, Number(r.size), r.e_tag, r.storage_class, (r.last_modified_date as Date).toISOString()]),
    )
    .sort();
}

describe("S3 Metadata tables, fed by the engine", () => {
  let server: TestServer;
  let target: SigningTarget;
  const Bucket = "metadata-photos";
  let expected: Expected[] = [];
  /** The server's clock, which a test moves days ahead. */
  const clock = { offsetMs: 0, now: () => new Date(Date.now() + clock.offsetMs) };

  before(async () => {
    server = await startTestServer({ ...MANUAL, clock });
    target = { url: server.url, accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY };
    await server.client.send(new CreateBucketCommand({ Bucket }));
    await server.client.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: "Enabled" } }));
    // Objects from before the configuration: the inventory's backfill finds them, the journal never sees them.
    await server.client.send(new PutObjectCommand({ Bucket, Key: "old/1", Body: "before" }));
    await server.client.send(new PutObjectCommand({ Bucket, Key: "old/2", Body: "before too" }));
  });

  after(async () => {
    await server?.stop();
  });

  it("makes both tables on its first pass: the journal ACTIVE, the inventory backfilled and ACTIVE", async () => {
    await configure(server.client, Bucket);
    assert.deepEqual(await statuses(server.client, Bucket), { journal: "CREATING", inventory: "CREATING", error: undefined });
    await server.metadataTables.runOnce();
    // The backfill runs beside the passes, so a large bucket holds back no other bucket's journal.
    await server.metadataTables.backfillsDone();
    assert.deepEqual(await statuses(server.client, Bucket), { journal: "ACTIVE", inventory: "ACTIVE", error: undefined });
    const inventory = await readTable(target, TABLES, `b_${Bucket}/inventory`);
    assert.deepEqual(inventoryRows(inventory), await listedVersions(server.client, Bucket));
  });

  it("records one journal row per change of a random workload, in order, with the request's caller, address and id", async () => {
    expected = await workload(server.client, Bucket, 60, 20261204);
    await server.metadataTables.runOnce();
    const rows = await readTable(target, TABLES, `b_${Bucket}/journal`);
    rows.sort((a, b) => ((a.sequence_number as string) < (b.sequence_number as string) ? -1 : 1));
    assert.deepEqual(
      rows.map((r) => [r.record_type, r.key, r.request_id]),
      expected.map((e) => [e.type, e.key, e.requestId]),
    );
    for (const r of rows) {
      assert.equal(r.bucket, Bucket);
      assert.equal(r.requester, TEST_ACCOUNT_ID);
      assert.equal(r.source_ip_address, "127.0.0.1");
      assert.match(r.sequence_number as string, /^\d{20}$/);
    }
    const tagged = rows.filter((r) => r.record_type === "UPDATE_METADATA");
    assert.ok(tagged.length > 0, "the workload changed some tags");
    for (const r of tagged) assert.deepEqual(Object.keys(r.object_tags as object), ["round"]);
    const created = rows.find((r) => r.record_type === "CREATE" && r.is_multipart === false);
    assert.equal(created?.encryption_status, "SSE-S3");
    assert.ok(rows.some((r) => r.record_type === "CREATE" && r.is_multipart === true), "the workload completed a multipart upload");
  });

  it("keeps the live inventory equal to ListObjectVersions, row for row", async () => {
    const pass = await server.metadataTables.runOnce({ inventory: true });
    assert.equal(pass.inventoryChanges, expected.length);
    const inventory = await readTable(target, TABLES, `b_${Bucket}/inventory`);
    assert.deepEqual(inventoryRows(inventory), await listedVersions(server.client, Bucket));
    // Tags and user metadata as the objects have them now.
    for (const r of inventory.filter((x) => x.is_delete_marker === false && (x.key as string).startsWith("old/") === false)) {
      assert.ok(r.user_metadata !== null && typeof r.user_metadata === "object");
    }
  });

  it("DuckDB and pyarrow, reading the inventory's data files alone, see the same rows", { skip: noDuckdb || noPyarrow }, async () => {
    const location = { bucket: TABLES, prefix: `b_${Bucket}/inventory/` };
    const table = await loadTable(server.context, location);
    const dir = mkdtempSync(join(tmpdir(), "stocktake-inventory-files-"));
    const files: string[] = [];
    for (const [i, f] of (await liveFiles(server.context, location, table!.metadata)).entries()) {
      const key = f.dataFile.file_path.slice(`s3://${TABLES}/`.length);
      const body = await server.client.send(new GetObjectCommand({ Bucket: TABLES, Key: key }));
      const path = join(dir, `${i}.parquet`);
      writeFileSync(path, await body.Body!.transformToByteArray());
      files.push(path);
    }
    const script = `
import sys, json, duckdb, pyarrow.parquet as pq
files = sys.argv[1:]
rows = duckdb.sql("select key, version_id, is_delete_marker, size, e_tag, storage_class, strftime(last_modified_date, '%Y-%m-%dT%H:%M:%S.%g') from read_parquet(" + repr(files) + ")").fetchall()
print(json.dumps({"duckdb": [list(r) for r in rows], "pyarrow": sum(pq.read_table(f).num_rows for f in files)}))`;
    const res = spawnSync("python3", ["-c", script, ...files], { encoding: "utf8" });
    rmSync(dir, { recursive: true, force: true });
    assert.equal(res.status, 0, res.stderr);
    const out = JSON.parse(res.stdout) as { duckdb: unknown[][]; pyarrow: number };
    const listed = await listedVersions(server.client, Bucket);
    const fromDuckdb = out.duckdb.map(([key, versionId, marker, size, etag, storageClass, modified]) =>
      JSON.stringify([key, versionId, marker, Number(size), etag, storageClass, `${String(modified)}Z`]),
    );
    assert.deepEqual(fromDuckdb.sort(), listed);
    assert.equal(out.pyarrow, listed.length);
  });

  it("prunes the change log once every table has taken it, and counts what it wrote in the metrics", async () => {
    assert.deepEqual(await server.context.metadata.listChanges((await server.context.metadata.getBucket(Bucket))!, 0, 10), []);
    const metrics = await (await fetch(`${server.url}/_stocktake/metrics`)).text();
    const journal = /^stocktake_metadata_tables_rows_total\{table="journal"\} (\d+)$/m.exec(metrics);
    assert.equal(Number(journal?.[1]), expected.length);
    assert.match(metrics, /^stocktake_metadata_tables_rows_total\{table="inventory_backfill"\} 2$/m);
  });

  it("is found by name through the REST catalog, with iceberg-js", async () => {
    const catalog = new IcebergRestCatalog({
      baseUrl: `${server.url}/_stocktake/iceberg`,
      catalogName: TABLES,
      fetch: sigv4Fetch({ accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY }),
    });
    const tables = await catalog.listTables({ namespace: [`b_${Bucket}`] });
    assert.deepEqual(tables.map((t) => t.name).sort(), ["inventory", "journal"]);
    const journal = await catalog.loadTable({ namespace: [`b_${Bucket}`], name: "journal" });
    assert.equal(journal.location, `s3://${TABLES}/b_${Bucket}/journal`);
  });

  it("adds nothing twice across a restart, and picks up what changed while it was down", async () => {
    server = await server.restart();
    target = { ...target, url: server.url };
    const r = await server.client.send(new PutObjectCommand({ Bucket, Key: "after-restart", Body: "x" }));
    expected.push({ type: "CREATE", key: "after-restart", requestId: r.$metadata.requestId });
    await server.metadataTables.runOnce({ inventory: true });
    await server.metadataTables.runOnce({ inventory: true });
    const journal = await readTable(target, TABLES, `b_${Bucket}/journal`);
    assert.equal(journal.length, expected.length);
    const inventory = await readTable(target, TABLES, `b_${Bucket}/inventory`);
    assert.deepEqual(inventoryRows(inventory), await listedVersions(server.client, Bucket));
  });

  it("expires journal records older than the configuration's days, and compacts small files", async () => {
    const before = await readTable(target, TABLES, `b_${Bucket}/journal`);
    assert.ok(before.length > 1);
    // Seven days after `cutoff`, by the server's clock: every record before it has expired, the
    // record of "fresh" (written a second after it) has not. Requests are signed with the real
    // time, so the clock moves only for the engine's pass.
    const cutoff = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const r = await server.client.send(new PutObjectCommand({ Bucket, Key: "fresh", Body: "x" }));
    clock.offsetMs = 7 * 24 * 3600 * 1000 - (Date.now() - cutoff);
    let pass;
    try {
      pass = await server.metadataTables.runOnce({ maintenance: true });
    } finally {
      clock.offsetMs = 0;
    }
    assert.equal(pass.expiredRecords, before.length);
    const rows = await readTable(target, TABLES, `b_${Bucket}/journal`);
    assert.deepEqual(rows.map((x) => [x.key, x.request_id]), [["fresh", r.$metadata.requestId]]);

    // A commit per change leaves small files; maintenance merges them into one, rows unchanged.
    for (let i = 0; i < 9; i++) {
      await server.client.send(new PutObjectCommand({ Bucket, Key: `small/${i}`, Body: "x" }));
      await server.metadataTables.runOnce();
    }
    const uncompacted = await readTable(target, TABLES, `b_${Bucket}/journal`);
    const compaction = await server.metadataTables.runOnce({ maintenance: true });
    assert.ok(compaction.compacted >= 8, `compacted ${compaction.compacted} files`);
    const journal = await loadTable(server.context, { bucket: TABLES, prefix: `b_${Bucket}/journal/` });
    assert.equal((await liveFiles(server.context, { bucket: TABLES, prefix: `b_${Bucket}/journal/` }, journal!.metadata)).length, 1);
    // Old metadata files go too: the current one and the 10 its metadata-log names stay, and the
    // table still loads without its version hint (from the newest file listed).
    const metadataFiles = await server.client.send(new ListObjectsV2Command({ Bucket: TABLES, Prefix: `b_${Bucket}/journal/metadata/v` }));
    const kept = (metadataFiles.Contents ?? []).filter((o) => o.Key!.endsWith(".metadata.json")).length;
    assert.ok(kept <= 11, `${kept} metadata files kept`);
    assert.ok(!(metadataFiles.Contents ?? []).some((o) => o.Key!.endsWith("/v1.metadata.json")), "v1 has left the metadata-log and is deleted");
    const compacted = await readTable(target, TABLES, `b_${Bucket}/journal`);
    const bySeq = (rows: Record<string, unknown>[]) => rows.map((x) => JSON.stringify(x, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))).sort();
    assert.deepEqual(bySeq(compacted), bySeq(uncompacted));
    await server.client.send(new DeleteObjectCommand({ Bucket: TABLES, Key: `b_${Bucket}/journal/metadata/version-hint.text` }));
    assert.equal((await loadTable(server.context, { bucket: TABLES, prefix: `b_${Bucket}/journal/` }))?.version, journal!.version);
  });

  it("fails a new configuration's table where an earlier configuration's table still is, as AWS does", async () => {
    await server.client.send(new DeleteBucketMetadataConfigurationCommand({ Bucket }));
    await configure(server.client, Bucket, false);
    await server.metadataTables.runOnce();
    const s = await statuses(server.client, Bucket);
    assert.equal(s.journal, "FAILED");
    assert.equal(s.error, "TableAlreadyExists");
  });
});

describe("S3 Metadata freshness on the engine's own timers", () => {
  let server: TestServer;
  const Bucket = "metadata-fresh";

  before(async () => {
    server = await startTestServer({ metadataJournalIntervalMs: 500, metadataInventoryIntervalMs: 1000 }, mkdtempSync(join(tmpdir(), "stocktake-fresh-")));
    await server.client.send(new CreateBucketCommand({ Bucket }));
    await configure(server.client, Bucket);
  });

  after(async () => {
    await server?.stop();
  });

  it("shows a write in the journal and the inventory within the intervals", async () => {
    const target = { url: server.url, accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY };
    const started = Date.now();
    await server.client.send(new PutObjectCommand({ Bucket, Key: "now", Body: "x" }));
    const seen = async (table: string) => {
      for (;;) {
        try {
          const rows = await readTable(target, TABLES, `b_${Bucket}/${table}`);
          if (rows.some((r) => r.key === "now")) return Date.now() - started;
        } catch {
          // No data file yet: icebird throws on a table without one.
        }
        if (Date.now() - started > 20_000) throw new Error(`the ${table} table did not show the write in 20 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const journalMs = await seen("journal");
    const inventoryMs = await seen("inventory");
    assert.ok(journalMs < 5_000, `journal after ${journalMs} ms`);
    assert.ok(inventoryMs < 10_000, `inventory after ${inventoryMs} ms`);
  });
});

describe("the live inventory's shards, small enough to watch", () => {
  let server: TestServer;
  let target: SigningTarget;
  const Bucket = "metadata-shards";
  const location = { bucket: TABLES, prefix: `b_${Bucket}/inventory/` };

  before(async () => {
    server = await startTestServer({ ...MANUAL });
    target = { url: server.url, accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY };
    await server.client.send(new CreateBucketCommand({ Bucket }));
    for (let i = 0; i < 40; i++) await server.client.send(new PutObjectCommand({ Bucket, Key: `k/${String(i).padStart(2, "0")}`, Body: "x" }));
    await configure(server.client, Bucket);
  });

  after(async () => {
    await server?.stop();
  });

  const files = async () => {
    const table = await loadTable(server.context, location);
    return (await liveFiles(server.context, location, table!.metadata)).map((f) => f.dataFile.record_count);
  };

  it("backfills in shards, rewrites only the shard a change falls in, splits a grown one and merges emptied ones", async () => {
    const engine = new MetadataTablesEngine(server.context, { shardRows: 10 });
    await engine.runOnce();
    await engine.backfillsDone();
    assert.deepEqual(await files(), [10, 10, 10, 10]);

    // One change: one shard rewritten, the other three kept as they were.
    await server.client.send(new PutObjectCommand({ Bucket, Key: "k/15", Body: "again" }));
    const one = await engine.runOnce({ inventory: true });
    assert.equal(one.inventoryChanges, 1);
    assert.deepEqual((await files()).sort(), [10, 10, 10, 10]);

    // Eleven new keys inside one shard's range: it grows past twice the target and splits.
    for (let i = 0; i < 11; i++) await server.client.send(new PutObjectCommand({ Bucket, Key: `k/15-${i}`, Body: "x" }));
    await engine.runOnce({ inventory: true });
    assert.equal((await files()).reduce((a, b) => a + b, 0), 51);
    assert.ok((await files()).length > 4, "the grown shard was split");

    // Most keys deleted (the bucket is unversioned: the versions go): emptied shards go, and small
    // neighbours merge at maintenance.
    for (let i = 0; i < 36; i++) await server.client.send(new DeleteObjectCommand({ Bucket, Key: `k/${String(i).padStart(2, "0")}` }));
    await engine.runOnce({ inventory: true });
    const thinned = await files();
    assert.equal(thinned.reduce((a, b) => a + b, 0), 15);
    assert.ok(thinned.some((n) => n < 5), `small shards left: ${thinned.join(", ")}`);
    // With a target of 20, every shard left is under half of it, and all fit in one.
    const maintained = await new MetadataTablesEngine(server.context, { shardRows: 20 }).runOnce({ maintenance: true });
    assert.ok(maintained.compacted >= 2, `compacted ${maintained.compacted} of ${thinned.join(", ")}`);
    const merged = await files();
    assert.equal(merged.reduce((a, b) => a + b, 0), 15);
    assert.deepEqual(merged, [15], `${thinned.join(", ")} became ${merged.join(", ")}`);
    const inventory = await readTable(target, TABLES, `b_${Bucket}/inventory`);
    assert.deepEqual(inventoryRows(inventory), await listedVersions(server.client, Bucket));
  });
});

describe("a V1 configuration's journal in a table bucket of one's own", () => {
  let server: TestServer;
  let target: SigningTarget;
  const Bucket = "metadata-v1-source";
  const TableBucket = "my-tables";

  before(async () => {
    server = await startTestServer({ ...MANUAL });
    target = { url: server.url, accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY };
    for (const b of [Bucket, TableBucket]) await server.client.send(new CreateBucketCommand({ Bucket: b }));
    await server.client.send(
      new CreateBucketMetadataTableConfigurationCommand({
        Bucket,
        MetadataTableConfiguration: { S3TablesDestination: { TableBucketArn: `arn:aws:s3tables:us-east-1:${TEST_ACCOUNT_ID}:bucket/${TableBucket}`, TableName: "photos_journal" } },
      }),
    );
  });

  after(async () => {
    await server?.stop();
  });

  const status = async () => (await server.client.send(new GetBucketMetadataTableConfigurationCommand({ Bucket }))).GetBucketMetadataTableConfigurationResult;

  it("is written under aws_s3_metadata/<table name>/ and goes ACTIVE", async () => {
    await server.client.send(new PutObjectCommand({ Bucket, Key: "one", Body: "1" }));
    await server.metadataTables.runOnce();
    assert.equal((await status())?.Status, "ACTIVE");
    const rows = await readTable(target, TableBucket, "aws_s3_metadata/photos_journal");
    assert.deepEqual(rows.map((r) => [r.record_type, r.key]), [["CREATE", "one"]]);
  });

  it("fails with TableBucketNotFound once its table bucket is gone, and keeps no change log for it", async () => {
    let listed = await server.client.send(new ListObjectsV2Command({ Bucket: TableBucket }));
    while ((listed.Contents ?? []).length > 0) {
      for (const o of listed.Contents ?? []) await server.client.send(new DeleteObjectCommand({ Bucket: TableBucket, Key: o.Key }));
      listed = await server.client.send(new ListObjectsV2Command({ Bucket: TableBucket }));
    }
    await server.client.send(new DeleteBucketCommand({ Bucket: TableBucket }));
    await server.client.send(new PutObjectCommand({ Bucket, Key: "two", Body: "2" }));
    const pass = await server.metadataTables.runOnce();
    assert.equal(pass.failed, 1);
    const s = await status();
    assert.equal(s?.Status, "FAILED");
    assert.equal(s?.Error?.ErrorCode, "TableBucketNotFound");
    assert.deepEqual(await server.context.metadata.listChanges((await server.context.metadata.getBucket(Bucket))!, 0, 10), []);
    assert.equal((await server.metadataTables.runOnce()).failed, 0, "a table already FAILED is not failed again");
  });
});

describe("who the journal names for a change", () => {
  let server: TestServer;
  let target: SigningTarget;
  const Bucket = "metadata-shared";

  before(async () => {
    server = await startTestServer({ ...MANUAL });
    target = { url: server.url, accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY };
    await server.client.send(new CreateBucketCommand({ Bucket }));
    await configure(server.client, Bucket, false);
  });

  after(async () => {
    await server?.stop();
  });

  it("names the account that signed, another account a policy lets write and a signed browser form included, and no one for a refused write", async () => {
    const other = await createAccount(server.context.metadata, loadSealingKey(server.dataDir), {}, new Date());
    await server.client.send(
      new PutBucketPolicyCommand({
        Bucket,
        Policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${other.accountId}:root` }, Action: "s3:PutObject", Resource: `arn:aws:s3:::${Bucket}/shared/*` }],
        }),
      }),
    );
    const otherClient = server.clientFor(other.accessKeyId, other.secretAccessKey);
    await server.client.send(new PutObjectCommand({ Bucket, Key: "mine", Body: "1" }));
    await otherClient.send(new PutObjectCommand({ Bucket, Key: "shared/theirs", Body: "2" }));
    await assert.rejects(otherClient.send(new PutObjectCommand({ Bucket, Key: "not-shared", Body: "3" })), { name: "AccessDenied" });
    // A browser form upload: unsigned as a request, signed in its fields by the bucket owner's key.
    const minio = new MinioClient({ endPoint: "127.0.0.1", port: Number(new URL(server.url).port), useSSL: false, accessKey: TEST_ACCESS_KEY, secretKey: TEST_SECRET_KEY, region: "us-east-1" });
    const postPolicy = minio.newPostPolicy();
    postPolicy.setBucket(Bucket);
    postPolicy.setKey("posted");
    postPolicy.setExpires(new Date(Date.now() + 600_000));
    const { postURL, formData } = await minio.presignedPostPolicy(postPolicy);
    const form = new FormData();
    for (const [name, value] of Object.entries(formData)) form.append(name, value);
    form.append("file", new Blob(["4"]), "posted.txt");
    const posted = await fetch(postURL, { method: "POST", body: form });
    assert.equal(posted.status, 204, await posted.text());
    await server.metadataTables.runOnce();
    const rows = await readTable(target, TABLES, `b_${Bucket}/journal`);
    assert.deepEqual(
      rows.map((r) => [r.key, r.requester]).sort(),
      [
        ["mine", TEST_ACCOUNT_ID],
        ["posted", TEST_ACCOUNT_ID],
        ["shared/theirs", other.accountId],
      ],
    );
  });
});

describe("a backfill stopped halfway", () => {
  let server: TestServer;
  let target: SigningTarget;
  const Bucket = "metadata-stopped";
  const dataPrefix = `b_${Bucket}/inventory/data/`;

  before(async () => {
    server = await startTestServer({ ...MANUAL });
    target = { url: server.url, accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY };
    await server.client.send(new CreateBucketCommand({ Bucket }));
    // More than one listing page (1,000), so that the stop comes after shards were written.
    const keys = Array.from({ length: 1050 }, (_, i) => `k/${String(i).padStart(4, "0")}`);
    for (let i = 0; i < keys.length; i += 25) {
      await Promise.all(keys.slice(i, i + 25).map((Key) => server.client.send(new PutObjectCommand({ Bucket, Key, Body: "x" }))));
    }
    await configure(server.client, Bucket);
  });

  after(async () => {
    await server?.stop();
  });

  const dataFiles = async () => (await server.client.send(new ListObjectsV2Command({ Bucket: TABLES, Prefix: dataPrefix }))).KeyCount ?? 0;

  it("removes the shards it wrote, and the next backfill fills the table whole", async () => {
    // Leader for the pass and the first page; the lease is gone before the second page.
    let asked = 0;
    const stopped = new MetadataTablesEngine(server.context, { shardRows: 100, isLeader: () => ++asked <= 2 });
    await stopped.runOnce();
    await stopped.backfillsDone();
    assert.ok(asked >= 3, "the backfill asked again before its second page");
    assert.equal(await dataFiles(), 0, "no shard of the stopped backfill is left behind");

    const engine = new MetadataTablesEngine(server.context, { shardRows: 100 });
    await engine.runOnce();
    await engine.backfillsDone();
    assert.equal(await dataFiles(), 11);
    const inventory = await readTable(target, TABLES, `b_${Bucket}/inventory`);
    assert.deepEqual(inventoryRows(inventory), await listedVersions(server.client, Bucket));
  });
});
