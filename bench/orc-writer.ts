// The ORC report writer alone on inventory-like rows: rows/s (writeRows and finish only, row
// generation excluded), bytes/row, peak RSS, and the size of the same rows as the gzip CSV report.
// Targets from issue 7: >= 150,000 rows/s, peak RSS < 300 MB, smaller than the gzip CSV.
//   node --import tsx bench/orc-writer.ts [rows=1000000] [all|typical] [--no-csv]
//   ORC_VARIANT='{"compressionLevel":1}' overrides writer options (OrcWriterOptions) to compare settings.
import { INVENTORY_FIELDS, reportColumns, type InventoryField } from "../src/inventory/fields.js";
import { createCsvWriter } from "../src/inventory/writers/csv.js";
import { createOrcWriter, createOrcWriterWith } from "../src/inventory/writers/orc/index.js";
import type { InventoryValue, ReportWriterFactory } from "../src/inventory/writers/types.js";

const rows = Number(process.argv[2] ?? 1_000_000);
const which = process.argv[3] ?? "all";
const columns: InventoryField[] =
  which === "all"
    ? [...INVENTORY_FIELDS]
    : reportColumns("All", ["Size", "LastModifiedDate", "ETag", "StorageClass", "IsMultipartUploaded", "ReplicationStatus", "EncryptionStatus", "ChecksumAlgorithm"]);
const BATCH = 2000;

let seed = 12345;
const rand = () => {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 4294967296;
};
const ACL = Buffer.from(
  JSON.stringify({ version: "2022-11-10", status: "AVAILABLE", grants: [{ canonicalId: "9a".repeat(32), type: "CanonicalUser", permission: "FULL_CONTROL" }] }),
).toString("base64");
const OWNER = "9a".repeat(32);
const CLASSES = ["STANDARD", "STANDARD", "STANDARD", "STANDARD_IA", "GLACIER", "INTELLIGENT_TIERING"];

/** A listing-ordered bucket: keys in folders, a few versions per key, some delete markers. */
function row(i: number): InventoryValue[] {
  const deleteMarker = i % 20 === 19;
  const key = `data/year=${2020 + (i >> 18)}/part-${String(i >> 6).padStart(7, "0")}/object-${i % 64}.parquet`;
  const lastModified = 1_600_000_000_000 + Math.floor(rand() * 1.5e11);
  return columns.map((f): InventoryValue => {
    switch (f.name) {
      case "Bucket":
        return "analytics-raw-data";
      case "Key":
        return key;
      case "VersionId":
        return i % 3 === 0 ? null : Math.floor(rand() * 2 ** 52).toString(36).padStart(11, "0") + "Xk_lqGzH2w9Rv.PqT3sYoB";
      case "IsLatest":
        return i % 3 !== 2;
      case "IsDeleteMarker":
        return deleteMarker;
      case "Size":
        return deleteMarker ? null : Math.floor(rand() ** 3 * 2e9);
      case "LastModifiedDate":
        return lastModified;
      case "ETag":
        return deleteMarker ? null : Math.floor(rand() * 2 ** 52).toString(16).padStart(16, "0") + Math.floor(rand() * 2 ** 52).toString(16).padStart(16, "0");
      case "StorageClass":
        return deleteMarker ? null : CLASSES[Math.floor(rand() * CLASSES.length)]!;
      case "IsMultipartUploaded":
        return deleteMarker ? null : rand() < 0.2;
      case "ReplicationStatus":
        return deleteMarker ? null : rand() < 0.5 ? "COMPLETED" : null;
      case "EncryptionStatus":
        return deleteMarker ? null : "SSE-S3";
      case "ObjectLockRetainUntilDate":
        return deleteMarker || rand() < 0.9 ? null : lastModified + 86_400_000 * 365;
      case "ObjectLockMode":
        return deleteMarker || rand() < 0.9 ? null : "GOVERNANCE";
      case "ObjectLockLegalHoldStatus":
        return deleteMarker ? null : "OFF";
      case "BucketKeyStatus":
        return null;
      case "ChecksumAlgorithm":
        return deleteMarker ? null : "CRC64NVME";
      case "ObjectAccessControlList":
        return deleteMarker ? null : ACL;
      case "ObjectOwner":
        return OWNER;
      default:
        return null;
    }
  });
}

async function run(name: string, factory: ReportWriterFactory) {
  seed = 12345;
  let bytes = 0;
  let writing = 0;
  let peak = 0;
  const w = factory({ columns, sink: async (c) => void (bytes += c.length) });
  for (let at = 0; at < rows; at += BATCH) {
    const batch: InventoryValue[][] = [];
    for (let i = at; i < Math.min(rows, at + BATCH); i++) batch.push(row(i));
    const t = performance.now();
    await w.writeRows(batch);
    writing += performance.now() - t;
    if ((at / BATCH) % 25 === 0) peak = Math.max(peak, process.memoryUsage().rss);
  }
  const t = performance.now();
  await w.finish();
  writing += performance.now() - t;
  peak = Math.max(peak, process.memoryUsage().rss);
  const result = { writer: name, columns: columns.length, rows, seconds: +(writing / 1000).toFixed(2), rowsPerSecond: Math.round(rows / (writing / 1000)), bytes, bytesPerRow: +(bytes / rows).toFixed(1), peakRssMiB: Math.round(peak / 2 ** 20) };
  console.log(JSON.stringify(result));
  return result;
}

const variant = process.env.ORC_VARIANT;
const orc = await run("ORC (ZLIB)", variant ? (o) => createOrcWriterWith({ ...o, ...JSON.parse(variant) }) : createOrcWriter);
if (!process.argv.includes("--no-csv")) {
  const csv = await run("CSV (gzip)", createCsvWriter);
  console.log(`ORC is ${((orc.bytes / csv.bytes) * 100).toFixed(1)}% of the gzip CSV's size`);
}
