// Synthetic bucket contents for the inventory benchmark, written straight into the metadata store
// (SqliteMetadataStore.putVersions in big batches): a million objects through S3 PUTs would take
// minutes, and the report only ever reads the metadata. Deterministic, so runs are comparable.
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
  const base = Date.UTC(2026, 0, 1);
  let rows = 0;
  let i = first;
  try {
    while (rows < count) {
      const batch: Omit<ObjectVersionRecord, "isLatest">[] = [];
      while (batch.length < BATCH && rows + batch.length < count) {
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
      await store.putVersions(ref, batch);
      rows += batch.length;
      onProgress?.(rows);
    }
  } finally {
    await store.close();
  }
  return { rows, objects: i - first, seconds: (performance.now() - start) / 1000 };
}
