// A preview of the first rows of a report's data file, in any of the three formats, with the
// column names of the manifest's schema. Every format reads only what the rows need.
import { readCsvPreview } from "./csv";
import { readParquetPreview } from "./parquet";
import { readOrcPreviewFrom } from "./orc";
import type { ByteSource, TablePreview } from "./types";

export type { ByteSource, TablePreview } from "./types";

export type ReportFormat = "CSV" | "ORC" | "Parquet";

/** Compressed bytes a CSV preview asks for at a time: one or two of Stocktake's gzip members. */
const CSV_RANGE_BYTES = 256 * 1024;

/** The file's bytes from the start, a range at a time, asked for only as they are consumed. */
export async function* rangesOf(source: ByteSource, rangeBytes: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < source.size; offset += rangeBytes) {
    yield await source.read(offset, Math.min(rangeBytes, source.size - offset));
  }
}

/** Bytes the columnar formats read at a time: their readers ask for many small pieces (ORC's stream headers are a few bytes), which are served from blocks this size. */
const BLOCK_BYTES = 256 * 1024;

/** `source` read in aligned blocks, each asked for once: a reader's small neighbouring reads cost one request. */
export function blockCached(source: ByteSource, blockBytes: number): ByteSource {
  const blocks = new Map<number, Promise<Uint8Array>>();
  const block = (i: number) => {
    let b = blocks.get(i);
    if (b === undefined) {
      const start = i * blockBytes;
      b = source.read(start, Math.min(blockBytes, source.size - start));
      // A failed read is asked for again next time rather than remembered.
      b.catch(() => blocks.delete(i));
      blocks.set(i, b);
    }
    return b;
  };
  return {
    size: source.size,
    async read(offset, length) {
      const end = Math.min(offset + length, source.size);
      if (end <= offset) return new Uint8Array(0);
      const first = Math.floor(offset / blockBytes);
      const last = Math.floor((end - 1) / blockBytes);
      const parts = await Promise.all(Array.from({ length: last - first + 1 }, (_, i) => block(first + i)));
      if (parts.length === 1) return parts[0]!.subarray(offset - first * blockBytes, end - first * blockBytes);
      const out = new Uint8Array(end - offset);
      let at = 0;
      parts.forEach((part, i) => {
        const from = i === 0 ? offset - first * blockBytes : 0;
        const to = Math.min(part.length, end - (first + i) * blockBytes);
        out.set(part.subarray(from, to), at);
        at += to - from;
      });
      return out;
    },
  };
}

/** A CSV manifest's fileSchema is its column names: "Bucket, Key, Size, LastModifiedDate". */
export function csvColumnNames(fileSchema: string): string[] {
  return fileSchema.split(",").map((name) => name.trim()).filter((name) => name !== "");
}

export async function readPreview(format: ReportFormat, source: ByteSource, fileSchema: string, limit: number): Promise<TablePreview> {
  switch (format) {
    case "CSV": {
      // A file that comes in one read is parsed whole, so its row count can be shown too.
      const whole = source.size <= CSV_RANGE_BYTES;
      const read = await readCsvPreview(rangesOf(source, CSV_RANGE_BYTES), whole ? Infinity : limit);
      const rows = read.rows.slice(0, limit);
      const totalRows = read.totalRows;
      const names = csvColumnNames(fileSchema);
      // A row wider than the schema (a file from elsewhere) still shows all its fields.
      const width = Math.max(names.length, ...rows.map((r) => r.length));
      const columns = Array.from({ length: width }, (_, i) => ({ name: names[i] ?? `column ${i + 1}`, type: "string" }));
      return { columns, rows, totalRows };
    }
    case "Parquet":
      return readParquetPreview(blockCached(source, BLOCK_BYTES), limit);
    case "ORC": {
      const blocks = blockCached(source, BLOCK_BYTES);
      return readOrcPreviewFrom((offset, length) => blocks.read(offset, length), source.size, limit);
    }
    default:
      throw new Error(`no preview for the file format ${String(format)}`);
  }
}

const HEX_SHOWN_BYTES = 32;

/** A value as a cell shows it; null for a missing value (the caller marks it as such). */
export function cellText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "string") return v;
  if (typeof v === "bigint" || typeof v === "number" || typeof v === "boolean") return String(v);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? "Invalid Date" : v.toISOString();
  if (v instanceof Uint8Array) {
    const hex = Array.from(v.subarray(0, HEX_SHOWN_BYTES), (b) => b.toString(16).padStart(2, "0")).join("");
    return v.length > HEX_SHOWN_BYTES ? `0x${hex}… (${v.length} bytes)` : `0x${hex}`;
  }
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? String(x) : x instanceof Uint8Array ? cellText(x) : x));
}
