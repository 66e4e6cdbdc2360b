// Synthetic bucket contents for the inventory benchmark, written straight into the metadata store
// (SqliteMetadataStore.putVersions in big batches, or multi-row INSERTs into PostgreSQL): a million
// objects through S3 PUTs would take minutes, and the report only ever reads the metadata.
// Deterministic, so runs are comparable.
import pg from "pg";
import { SqliteMetadataStore } from "../src/storage/sqlite-metadata.js";
import type { ObjectVersionRecord } from "../src/storage/types.js";

/**
 * A small fast seeded PRNG (mulberry32): seeded per object here, so any slice of the bucket can be
 * regenerated; the reliability harness uses it so a failing run can be repeated with its seed.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HEX = "0123456789abcdef";
function hex(r: () => number, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += HEX[(r() * 16) | 0];
  return s;
}

const SERVICES = ["checkout", "search", "billing", "auth-gateway", "recommendations", "media-transcoder"];
const TABLES = ["events", "page_views", "orders", "sessions", "clicks"];
const CLASSES = ["STANDARD", "STANDARD", "STANDARD", "STANDARD", "STANDARD", "STANDARD_IA", "INTELLIGENT_TIERING", "GLACIER_IR"];

/**
 * Object `i`'s key: 60-100 bytes under a handful of realistic prefix shapes (logs by service, day
 * and host, table partitions, user uploads, backups), a few with characters the CSV key encoding
 * must escape. The index is in every key, so keys are unique. The directory part is chosen per
 * block of 1,000 objects, so a seeding batch inserts into a few places of the key index rather
 * than all over it (random-order inserts into a large index are what makes seeding slow).
 */
export function benchKey(i: number): string {
  const block = Math.floor(i / 1000);
  const d = seededRandom(block * 2654435761 + 7);
  const r = seededRandom(i * 2246822519 + 3);
  const n = String(i).padStart(9, "0");
  const day = `2026/${String(1 + ((d() * 12) | 0)).padStart(2, "0")}/${String(1 + ((d() * 28) | 0)).padStart(2, "0")}`;
  switch (block % 4) {
    case 0:
      return `logs/${SERVICES[(d() * SERVICES.length) | 0]}/${day}/ip-10-0-${(d() * 255) | 0}-${(d() * 255) | 0}/requests-${n}.json.gz`;
    case 1:
      return `warehouse/${TABLES[(d() * TABLES.length) | 0]}/dt=${day.replace(/\//g, "-")}/part-${n}-${hex(r, 12)}.snappy.parquet`;
    case 2:
      return `uploads/users/u${String(block).padStart(7, "0")}/albums/${day}/${i % 50 === 2 ? "Holiday photos/IMG " : "img-"}${n}-${hex(r, 8)}.jpg`;
    default:
      return `backups/postgres/cluster-db-${(d() * 8) | 0}/${day}/base-snapshot-${n}.${i % 100 === 3 ? "tar+gz (copy)" : "tar.gz"}`;
  }
}

export interface SeedStats {
  rows: number;
  objects: number;
  seconds: number;
}

const BATCH = 20_000;

type SeedRecord = Omit<ObjectVersionRecord, "isLatest">;

/**
 * Adds `count` version rows for objects numbered from `first`: about 90% of keys have one version,
 * the rest an older version too, and one in 50 of those a delete marker on top. The bucket must
 * exist (and be versioned for the extra versions to make sense to S3 clients).
 */
export async function seedBucket(dataDir: string, bucket: string, owner: string, first: number, count: number, onProgress?: (rows: number) => void): Promise<SeedStats> {
  const store = SqliteMetadataStore.open(dataDir);
  const ref = await store.getBucket(bucket);
  if (!ref) throw new Error(`seedBucket: bucket ${bucket} does not exist`);
  const start = performance.now();
  const gen = seedBatches(bucket, owner, first, count);
  try {
    for (const batch of gen.batches) {
      await store.putVersions(ref, batch);
      onProgress?.(gen.rows());
    }
  } finally {
    await store.close();
  }
  return { rows: gen.rows(), objects: gen.objects(), seconds: (performance.now() - start) / 1000 };
}

/**
 * The records of seedBucket, in batches of about BATCH rows; all versions of one key are in one
 * batch, oldest first, so the last of a key's records is its latest version.
 */
export function seedBatches(
  bucket: string,
  owner: string,
  first: number,
  count: number,
  batchRows = BATCH,
): { batches: Iterable<SeedRecord[]>; rows(): number; objects(): number } {
  const base = Date.UTC(2026, 0, 1);
  let rows = 0;
  let i = first;
  function* batches(): Generator<SeedRecord[]> {
    while (rows < count) {
      const batch: SeedRecord[] = [];
      while (batch.length < batchRows && rows + batch.length < count) {
        const r = seededRandom(i * 40503 + 17);
        const key = benchKey(i);
        const versions = r() < 0.1 ? Math.min(count - rows - batch.length, r() < 0.02 ? 3 : 2) : 1;
        for (let v = 0; v < versions; v++) {
          const marker = v === 2;
          const cls = CLASSES[(r() * CLASSES.length) | 0]!;
          const multipart = !marker && r() < 0.05;
          const extra: Record<string, unknown> = {};
          if (r() < 0.3) extra.encryption = { kind: r() < 0.8 ? "SSE-S3" : "SSE-KMS", bucketKeyEnabled: r() < 0.5 };
          if (r() < 0.2) extra.checksum = { algorithm: "CRC32", value: "AAAAAA==" };
          batch.push({
            bucket,
            key,
            versionId: `${hex(r, 16)}${String(i).padStart(12, "0")}${v}`,
            isDeleteMarker: marker,
            size: marker ? 0 : Math.floor(r() ** 3 * 64 * 1024 * 1024),
            etag: marker ? "" : `"${hex(r, 32)}${multipart ? `-${2 + ((r() * 20) | 0)}` : ""}"`,
            lastModified: new Date(base + i * 7 + v * 86_400_000),
            storageClass: cls,
            contentHeaders: {},
            userMetadata: {},
            ownerAccountId: owner,
            partsCount: multipart ? 2 : 0,
            extra: marker ? {} : extra,
            body: null,
          });
        }
        i++;
      }
      // Counted before the consumer writes it, so rows() during onProgress includes this batch.
      rows += batch.length;
      yield batch;
    }
  }
  return { batches: batches(), rows: () => rows, objects: () => i - first };
}

/** Rows of bucket_counts per bucket in src/storage/postgres-metadata.ts (COUNT_SHARDS there). */
const PG_COUNT_SHARDS = 16;

/**
 * seedBucket for a PostgreSQL metadata database: the same records, stored as
 * PostgresMetadataStore.putVersions would store them (the same column values, each key's older
 * versions inserted first so seq follows version order, the last one is_latest, and the batch's
 * version and object counts added to one random bucket_counts shard in the batch's transaction),
 * but as one statement per batch (INSERT ... SELECT FROM unnest(), the counts in the same
 * statement) instead of five statements per row. Seeded keys are new (the object number is in
 * every key), so no earlier latest version needs demoting and no version "null" is replaced; the
 * records carry no body (no inline bytes, blob or parts), as in the SQLite path.
 */
export async function seedBucketPostgres(
  url: string,
  bucket: string,
  owner: string,
  first: number,
  count: number,
  onProgress?: (rows: number) => void,
  batchRows = BATCH,
): Promise<SeedStats> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const start = performance.now();
  const gen = seedBatches(bucket, owner, first, count, batchRows);
  try {
    if ((await c.query("SELECT 1 FROM buckets WHERE name = $1", [bucket])).rowCount !== 1) throw new Error(`seedBucketPostgres: bucket ${bucket} does not exist`);
    // A single statement is sent (its parameters serialized) as soon as it is issued, so the next
    // batch is generated while PostgreSQL inserts this one: the two use both cores.
    let inFlight: Promise<unknown> | undefined;
    let written = 0;
    for (const batch of gen.batches) {
      const next = insertBatchPostgres(c, bucket, batch);
      next.catch(() => undefined); // awaited below; a failure must not be reported unhandled first
      await inFlight;
      if (inFlight !== undefined) onProgress?.(written);
      written += batch.length;
      inFlight = next;
    }
    await inFlight;
    onProgress?.(written);
  } finally {
    await c.end();
  }
  return { rows: gen.rows(), objects: gen.objects(), seconds: (performance.now() - start) / 1000 };
}

function insertBatchPostgres(c: pg.Client, bucket: string, batch: SeedRecord[]): Promise<unknown> {
  const n = batch.length;
  const col = <T>(f: (r: SeedRecord, j: number) => T): T[] => {
    const out = new Array<T>(n);
    for (let j = 0; j < n; j++) out[j] = f(batch[j]!, j);
    return out;
  };
  for (const r of batch) {
    if (r.bucket !== bucket) throw new Error(`a version of ${r.bucket} seeded into ${bucket}`);
    if (r.body !== null || r.versionId === "null") throw new Error("seedBucketPostgres writes body-less versioned records only");
  }
  // WITH ORDINALITY + ORDER BY: seq (the identity) is assigned in array order, older versions first.
  return c.query(
    `WITH added AS (
       INSERT INTO versions (bucket, key, version_id, is_latest, is_delete_marker, size, etag, last_modified,
         storage_class, content_type, content_headers, user_metadata, owner, parts_count, extra, inline_body, blob_id)
       SELECT $1, k, v, l, d, s, e, m, sc, ct, ch, um, o, pc, x, NULL, NULL
       FROM unnest($3::text[], $4::text[], $5::boolean[], $6::boolean[], $7::bigint[], $8::text[], $9::bigint[],
                   $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::integer[], $16::text[])
         WITH ORDINALITY AS t(k, v, l, d, s, e, m, sc, ct, ch, um, o, pc, x, ord)
       ORDER BY ord
       RETURNING is_latest, is_delete_marker)
     INSERT INTO bucket_counts (bucket, shard, versions, objects)
       SELECT $1, $2, count(*), count(*) FILTER (WHERE is_latest AND NOT is_delete_marker) FROM added
     ON CONFLICT (bucket, shard) DO UPDATE SET versions = bucket_counts.versions + excluded.versions,
       objects = bucket_counts.objects + excluded.objects`,
    [
      bucket,
      Math.floor(Math.random() * PG_COUNT_SHARDS),
      col((r) => r.key),
      col((r) => r.versionId),
      // Each key's versions are together, oldest first: the last of them is the latest.
      col((r, j) => j === n - 1 || batch[j + 1]!.key !== r.key),
      col((r) => r.isDeleteMarker),
      col((r) => r.size),
      col((r) => r.etag),
      col((r) => r.lastModified.getTime()),
      col((r) => r.storageClass),
      col((r) => r.contentType ?? null),
      col((r) => JSON.stringify(r.contentHeaders)),
      col((r) => JSON.stringify(r.userMetadata)),
      col((r) => r.ownerAccountId),
      col((r) => r.partsCount),
      col((r) => JSON.stringify(r.extra)),
    ],
  );
}
