// `npm run bench:console`: what the console's report browser costs to preview the first 20 rows of
// a large report file, per format: the bytes it reads (ranged GetObjects in the browser) and the
// time, against the file's size. The files are written by the report writers themselves, with
// the columns of an All-versions report with the usual optional fields, 1,000,000 rows by default
// (`--rows N`). The preview code is the console's own (console/src/preview), run in Node.
import { performance } from "node:perf_hooks";
import { csvFileSchema, reportColumns } from "../src/inventory/fields.js";
import { createCsvWriter } from "../src/inventory/writers/csv.js";
import { createOrcWriter } from "../src/inventory/writers/orc/index.js";
import { createParquetWriter } from "../src/inventory/writers/parquet.js";
import type { InventoryValue, ReportWriterFactory } from "../src/inventory/writers/types.js";
import { readPreview, type ReportFormat } from "../console/src/preview/index.js";
import { benchKey, seededRandom } from "./inventory-data.js";

const rowsArg = process.argv.indexOf("--rows");
const ROWS = rowsArg === -1 ? 1_000_000 : Number(process.argv[rowsArg + 1]);
const PREVIEW_ROWS = 20;
const columns = reportColumns("All", ["Size", "LastModifiedDate", "ETag", "StorageClass", "IsMultipartUploaded", "EncryptionStatus"]);
const CLASSES = ["STANDARD", "STANDARD", "STANDARD", "STANDARD_IA", "GLACIER"];

function* rows(): Generator<InventoryValue[][]> {
  const random = seededRandom(7);
  const base = Date.UTC(2026, 0, 1);
  let batch: InventoryValue[][] = [];
  for (let i = 0; i < ROWS; i++) {
    batch.push([
      "bench-bucket",
      benchKey(i),
      `v${i.toString(36).padStart(8, "0")}`,
      true,
      false,
      Math.floor(random() * 10_000_000),
      base + Math.floor(random() * 300 * 86_400_000),
      Math.floor(random() * 2 ** 48).toString(16).padStart(32, "0"),
      CLASSES[i % CLASSES.length]!,
      i % 17 === 0,
      "SSE-S3",
    ]);
    if (batch.length === 4096) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

async function writeFile(factory: ReportWriterFactory): Promise<Buffer> {
  const chunks: Buffer[] = [];
  // One file whatever its size: the preview's cost is measured against the whole file.
  const writer = factory({ columns, sink: async (c) => void chunks.push(c) });
  for (const batch of rows()) await writer.writeRows(batch);
  await writer.finish();
  return Buffer.concat(chunks);
}

const formats: [ReportFormat, ReportWriterFactory][] = [
  ["CSV", createCsvWriter],
  ["ORC", createOrcWriter],
  ["Parquet", createParquetWriter],
];

process.stdout.write(`console report preview: first ${PREVIEW_ROWS} rows of one ${ROWS.toLocaleString("en-US")}-row file\n`);
process.stdout.write("format    file MiB   read KiB   requests   ms (best of 5)\n");
for (const [format, factory] of formats) {
  const file = await writeFile(factory);
  let best = Infinity;
  let readBytes = 0;
  let requests = 0;
  for (let attempt = 0; attempt < 5; attempt++) {
    readBytes = 0;
    requests = 0;
    const source = {
      size: file.length,
      async read(offset: number, length: number) {
        readBytes += length;
        requests++;
        return new Uint8Array(file.buffer, file.byteOffset + offset, length);
      },
    };
    const started = performance.now();
    const preview = await readPreview(format, source, csvFileSchema(columns), PREVIEW_ROWS);
    best = Math.min(best, performance.now() - started);
    if (preview.rows.length !== PREVIEW_ROWS) throw new Error(`${format}: ${preview.rows.length} rows previewed`);
  }
  process.stdout.write(
    `${format.padEnd(8)} ${(file.length / 2 ** 20).toFixed(1).padStart(9)} ${(readBytes / 1024).toFixed(0).padStart(10)} ${String(requests).padStart(10)} ${best.toFixed(1).padStart(16)}\n`,
  );
}
