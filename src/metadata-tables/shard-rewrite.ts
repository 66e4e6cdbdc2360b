// The tables' data files rewritten: one shard of the live inventory table with a batch of changes
// (its rows read back, the changed versions taken out, their new states put in place, the result
// cut into files), the maintenance's merges of several files, and a new shard of the backfill
// written as its rows come (ShardWriter). Pure (bytes and rows in, encoded files out), so they run
// in the shard thread (shard-worker.ts), off the server's thread; the callers store what they return.
import { createIcebergParquetWriter, writeIcebergParquet, type DataFileMetrics, type IcebergParquetWriter, type IcebergRow, type IcebergSchema } from "./parquet-table.js";
import { readParquetRows } from "./data-files.js";
import { compareUtf8 } from "../utf8.js";

/** The rows in the order a shard keeps them: by key (UTF-8 bytes), then newest first. */
export function compareRows(a: IcebergRow, b: IcebergRow): number {
  return (
    compareUtf8(a.key as string, b.key as string) ||
    Number(b.last_modified_date ?? 0) - Number(a.last_modified_date ?? 0) ||
    compareUtf8(String(b.version_id ?? "null"), String(a.version_id ?? "null"))
  );
}

/**
 * `sorted` (a shard's rows, by key and then newest first) with `fresh` rows put in their places:
 * a binary search for each fresh row rather than a sort of the whole shard, whose 100,000 rows
 * would cost a million comparisons to place a few changes.
 */
export function insertSorted(sorted: readonly IcebergRow[], fresh: IcebergRow[]): IcebergRow[] {
  fresh.sort(compareRows);
  const out: IcebergRow[] = new Array(sorted.length + fresh.length);
  let from = 0;
  let o = 0;
  for (const row of fresh) {
    let lo = from;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareRows(sorted[mid]!, row) <= 0) lo = mid + 1;
      else hi = mid;
    }
    while (from < lo) out[o++] = sorted[from++]!;
    out[o++] = row;
  }
  while (from < sorted.length) out[o++] = sorted[from++]!;
  return out;
}

/**
 * A shard's rows as files: one while it holds up to twice the target, else cut near the target at
 * key boundaries (a key's versions never span two shards). An emptied shard writes no file.
 */
export function splitShard(rows: readonly IcebergRow[], shardRows: number): IcebergRow[][] {
  if (rows.length === 0) return [];
  if (rows.length <= 2 * shardRows) return [[...rows]];
  const parts: IcebergRow[][] = [];
  let part: IcebergRow[] = [];
  for (const row of rows) {
    if (part.length >= shardRows && row.key !== part[part.length - 1]!.key) {
      parts.push(part);
      part = [];
    }
    part.push(row);
  }
  parts.push(part);
  return parts;
}

export function versionIdOfRow(row: IcebergRow): string {
  return (row.version_id as string | null) ?? "null";
}

/** What a table's data files are encoded with (table-store's dataFileEncoding). */
export interface DataFileFormat {
  schema: IcebergSchema;
  columnBoundLengths: ReadonlyMap<number, number>;
}

export interface ShardRewrite extends DataFileFormat {
  /** The shard's data file, decrypted; absent for keys before every shard (a new one). */
  file?: { bytes: Uint8Array; uri: string; recordCount: number };
  /** Versions whose rows go, by key: every version the batch changed, whatever became of it. */
  changed: Record<string, string[]>;
  /** The rows of the versions the batch left in place (their new state). */
  fresh: IcebergRow[];
  shardRows: number;
}

export interface EncodedDataFile {
  bytes: Uint8Array;
  metrics: DataFileMetrics;
}

/** A data file's rows, all of them: they are written back, so a short read would drop rows from the table. */
async function readWhole(file: NonNullable<ShardRewrite["file"]>, schema: IcebergSchema): Promise<IcebergRow[]> {
  const rows = await readParquetRows(file.bytes, schema);
  if (rows.length !== file.recordCount) throw new Error(`Iceberg data file ${file.uri}: read ${rows.length} rows, but its manifest entry counts ${file.recordCount}`);
  return rows;
}

export async function rewriteShard(job: ShardRewrite): Promise<EncodedDataFile[]> {
  const rows = job.file ? await readWhole(job.file, job.schema) : [];
  const changed = new Map(Object.entries(job.changed).map(([key, ids]) => [key, new Set(ids)]));
  const unchanged = rows.filter((r) => !changed.get(r.key as string)?.has(versionIdOfRow(r)));
  const files: EncodedDataFile[] = [];
  for (const part of splitShard(insertSorted(unchanged, job.fresh), job.shardRows)) {
    const { bytes, metrics } = await writeIcebergParquet(job.schema, part, { columnBoundLengths: job.columnBoundLengths });
    files.push({ bytes, metrics });
  }
  return files;
}

export interface FilesMerge extends DataFileFormat {
  files: NonNullable<ShardRewrite["file"]>[];
  /** Keep only rows whose record_timestamp (microseconds) is at or after this: the journal's expiration. */
  keepFrom?: number;
  /** "sequence": the rows sorted by sequence_number (the journal's order); else the files' rows one after another. */
  order?: "sequence";
  /** Rows per file written. */
  chunkRows: number;
}

const bySequence = (a: IcebergRow, b: IcebergRow) => ((a.sequence_number as string) < (b.sequence_number as string) ? -1 : a.sequence_number === b.sequence_number ? 0 : 1);

/** Several data files' rows as new files (the maintenance's compactions and the journal's expiration), with the rows left out counted. */
export async function mergeFiles(job: FilesMerge): Promise<{ files: EncodedDataFile[]; dropped: number }> {
  const rows: IcebergRow[] = [];
  let dropped = 0;
  for (const file of job.files) {
    for (const row of await readWhole(file, job.schema)) {
      if (job.keepFrom !== undefined && Number(row.record_timestamp) < job.keepFrom) dropped++;
      else rows.push(row);
    }
  }
  if (job.order === "sequence") rows.sort(bySequence);
  const files: EncodedDataFile[] = [];
  for (let i = 0; i < rows.length; i += job.chunkRows) {
    files.push(await writeIcebergParquet(job.schema, rows.slice(i, i + job.chunkRows), { columnBoundLengths: job.columnBoundLengths }));
  }
  return { files, dropped };
}

/**
 * A new shard encoded as its rows come, in the listing's order: keys ascending (UTF-8 bytes), a
 * key's versions in any order. Each key's versions are put in a shard's order (compareRows) once
 * the next key starts, and written; so the shard is never held whole, only its encoded bytes and
 * the row group being filled.
 */
export class ShardWriter {
  private readonly parts: Buffer[] = [];
  private readonly writer: IcebergParquetWriter;
  private run: IcebergRow[] = [];

  constructor(format: DataFileFormat) {
    this.writer = createIcebergParquetWriter({ schema: format.schema, columnBoundLengths: format.columnBoundLengths, sink: async (chunk) => void this.parts.push(chunk) });
  }

  /** Rows taken so far, written or waiting for their key's end. */
  get rows(): number {
    return this.writer.rowsWritten + this.run.length;
  }

  async add(rows: readonly IcebergRow[]): Promise<void> {
    const ready: IcebergRow[] = [];
    for (const row of rows) {
      const key = this.run[0]?.key as string | undefined;
      if (key !== undefined && row.key !== key) {
        // Upkeep finds rows by binary search: a store listing in another order would break it.
        if (compareUtf8(row.key as string, key) < 0) throw new Error(`the backfill's rows came out of key order: ${JSON.stringify(row.key)} after ${JSON.stringify(key)}`);
        for (const r of this.run.sort(compareRows)) ready.push(r);
        this.run = [];
      }
      this.run.push(row);
    }
    if (ready.length > 0) await this.writer.writeRows(ready);
  }

  async finish(): Promise<EncodedDataFile> {
    await this.writer.writeRows(this.run.sort(compareRows));
    this.run = [];
    const metrics = await this.writer.finish();
    return { bytes: Buffer.concat(this.parts), metrics };
  }
}
