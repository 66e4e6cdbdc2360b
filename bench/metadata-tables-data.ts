// Pure helpers of bench/metadata-tables.ts: the request bodies, which keys the upkeep changes,
// reading a ListObjectsV2 page, and the arithmetic and layout of the summary.
import { seededRandom } from "./inventory-data.js";

const S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/";

/**
 * A V2 CreateBucketMetadataConfiguration body: a journal whose records never expire, and an
 * inventory table enabled or not.
 */
export function metadataConfigurationXml(inventory: boolean): string {
  return (
    `<MetadataConfiguration xmlns="${S3_NS}">` +
    `<JournalTableConfiguration><RecordExpiration><Expiration>DISABLED</Expiration></RecordExpiration></JournalTableConfiguration>` +
    `<InventoryTableConfiguration><ConfigurationState>${inventory ? "ENABLED" : "DISABLED"}</ConfigurationState></InventoryTableConfiguration>` +
    `</MetadataConfiguration>`
  );
}

export function versioningXml(): string {
  return `<VersioningConfiguration xmlns="${S3_NS}"><Status>Enabled</Status></VersioningConfiguration>`;
}

export interface PlannedChange {
  /** The seeded object's number: its key is benchKey(object). */
  object: number;
  op: "PUT" | "DELETE";
}

/**
 * `count` changes to seeded objects `0 .. objects-1`: three in four PUT a new version, one in four
 * DELETEs (a delete marker, the bucket being versioned).
 *  - "spread": objects drawn at random (seeded) over the whole bucket, so they fall in every shard;
 *  - "clustered": consecutive objects from the middle of the bucket. benchKey keeps a block of 1,000
 *    consecutive objects under one directory, so these keys are neighbours in key order and fall in
 *    one shard (two when a shard boundary runs through them).
 * Each object is changed at most once.
 */
export function planChanges(objects: number, count: number, mode: "spread" | "clustered", seed: number): PlannedChange[] {
  const n = Math.min(count, objects);
  const op = (i: number): PlannedChange["op"] => (i % 4 === 3 ? "DELETE" : "PUT");
  if (mode === "clustered") {
    const first = Math.max(0, Math.min(objects - n, Math.floor(objects / 2000) * 1000));
    return Array.from({ length: n }, (_, i) => ({ object: first + i, op: op(i) }));
  }
  const r = seededRandom(seed);
  const chosen = new Set<number>();
  const out: PlannedChange[] = [];
  while (out.length < n) {
    const object = Math.floor(r() * objects);
    if (chosen.has(object)) continue;
    chosen.add(object);
    out.push({ object, op: op(out.length) });
  }
  return out;
}

export interface ListedObject {
  key: string;
  size: number;
}

/** The objects of one ListObjectsV2 page and where the next page starts. */
export function parseListing(xml: string): { objects: ListedObject[]; next?: string } {
  const objects: ListedObject[] = [];
  for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
    const key = /<Key>([^<]*)<\/Key>/.exec(m[1]!)?.[1];
    const size = /<Size>(\d+)<\/Size>/.exec(m[1]!)?.[1];
    if (key !== undefined) objects.push({ key: unescapeXml(key), size: Number(size ?? 0) });
  }
  const truncated = /<IsTruncated>\s*true\s*<\/IsTruncated>/.test(xml);
  const next = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml)?.[1];
  return { objects, next: truncated && next !== undefined ? unescapeXml(next) : undefined };
}

function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&#x([0-9a-fA-F]+);/g, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&amp;/g, "&");
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The journal's cost on PUT, as percentages (positive: the journaled bucket is worse), each the
 * median over the rounds of that round's own comparison, so a round that was slow for both buckets
 * (another process on the cores) does not count against either:
 *  - throughput: 1 - journaled PUT/s / plain PUT/s;
 *  - cpu: journaled server CPU per PUT / plain - 1;
 *  - withCommit: the throughput figure once the engine's commit of the journal rows is counted in,
 *    its seconds spread over the PUTs that made the rows: per PUT, 1 / (journaled PUT/s) + commit
 *    seconds per row, against 1 / (plain PUT/s). With the engine on its timer the commit runs on
 *    the same thread as the requests, so this is what a steady PUT load would see.
 */
export function journalOverhead(
  plain: readonly number[],
  journaled: readonly number[],
  plainCpu: readonly number[],
  journaledCpu: readonly number[],
  commitSecondsPerRow: number,
): { throughput: number; cpu: number; withCommit: number; throughputRange: [number, number] } {
  const losses = plain.map((p, r) => (1 - journaled[r]! / p) * 100);
  const withCommit = plain.map((p, r) => ((1 / journaled[r]! + commitSecondsPerRow) * p - 1) * 100);
  const cpu = plainCpu.map((p, r) => (journaledCpu[r]! / p - 1) * 100).filter(Number.isFinite);
  return {
    throughput: median(losses),
    cpu: median(cpu),
    withCommit: median(withCommit),
    throughputRange: [Math.min(...losses), Math.max(...losses)],
  };
}

/** Rows as an aligned text table (the first row is the header), as bench/inventory.ts prints them. */
export function textTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  const lines = rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join(" | ").trimEnd());
  lines.splice(1, 0, widths.map((w) => "-".repeat(w)).join("-|-"));
  return lines.join("\n");
}

export const int = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? "-" : Math.round(n).toLocaleString("en-US"));
export const fixed = (n: number | undefined, digits: number): string =>
  n === undefined || !Number.isFinite(n) ? "-" : n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
export const mib = (bytes: number | undefined): string => (bytes === undefined || !Number.isFinite(bytes) ? "-" : `${(bytes / 1048576).toFixed(0)} MiB`);
