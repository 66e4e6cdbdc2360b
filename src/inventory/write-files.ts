// The write stage of a run: snapshot scan -> projection onto the report's columns -> the format's
// writer, rolling to a new data file past a size bound. Each data file is a durable blob that no
// record references yet; publishing them is the next stage's job (publish.ts).
import { createHash } from "node:crypto";
import { once } from "node:events";
import type { BlobStore, VersionScan } from "../storage/types.js";
import type { InventoryFormat } from "./config.js";
import type { InventoryField } from "./fields.js";
import { projector, type ProjectionContext } from "./values.js";
import { createCsvWriter } from "./writers/csv.js";
import { createOrcWriter } from "./writers/orc/index.js";
import { createParquetWriter } from "./writers/parquet.js";
import type { ReportWriterFactory } from "./writers/types.js";
import { BodySealer, type Wrapping } from "../crypto/sse.js";
import type { SummaryAccumulator } from "./summary.js";

export interface DataFile {
  blobId: string;
  size: number;
  md5: string;
  rows: number;
}

export interface WriteProgress {
  rows: number;
  bytes: number;
}

const SCAN_BATCH = 2000;

/** Writers by format; Parquet and ORC join as they are built. */
export const WRITERS: Partial<Record<InventoryFormat, ReportWriterFactory>> = {
  CSV: createCsvWriter,
  ORC: createOrcWriter,
  Parquet: createParquetWriter,
};

export async function writeDataFiles(opts: {
  scan: VersionScan;
  blobs: BlobStore;
  columns: readonly InventoryField[];
  format: InventoryFormat;
  projection: ProjectionContext;
  /** A data file is closed once it passes this many bytes. */
  maxFileBytes: number;
  onProgress?: (p: WriteProgress) => void;
  /** The writer to use instead of the format's registered one (WRITERS). */
  writerFactory?: ReportWriterFactory;
  /** Stops the write between batches (its files are removed, as on any failure). */
  signal?: AbortSignal;
  /** Encrypts each data file at rest (the report's SSE-S3 or SSE-KMS): a data key per file. */
  seal?: Wrapping;
  /** Sees every row written, after its projection (which may have parsed its `extra` already). */
  summary?: SummaryAccumulator;
}): Promise<DataFile[]> {
  const factory = opts.writerFactory ?? WRITERS[opts.format];
  if (!factory) throw new Error(`${opts.format} reports are not supported yet`);
  const project = projector(opts.columns, opts.projection);
  const files: DataFile[] = [];
  let totalRows = 0;
  let totalBytes = 0;

  let current: { blob: ReturnType<BlobStore["create"]>; md5: ReturnType<typeof createHash>; writer: ReturnType<ReportWriterFactory>; sealer?: BodySealer } | undefined;
  const open = () => {
    const blob = opts.blobs.create();
    const md5 = createHash("md5");
    const sealer = opts.seal ? new BodySealer(opts.seal) : undefined;
    const writer = factory({
      columns: opts.columns,
      maxFileBytes: opts.maxFileBytes,
      sink: async (chunk) => {
        md5.update(chunk);
        if (!sealer) {
          if (!blob.stream.write(chunk)) await once(blob.stream, "drain");
          return;
        }
        for (const b of sealer.update(chunk)) if (!blob.stream.write(b)) await once(blob.stream, "drain");
      },
    });
    return { blob, md5, writer, sealer };
  };
  const close = async () => {
    if (!current) return;
    await current.writer.finish();
    for (const b of current.sealer?.final() ?? []) if (!current.blob.stream.write(b)) await once(current.blob.stream, "drain");
    const blobId = await current.blob.commit();
    files.push({ blobId, size: current.writer.bytesWritten, md5: current.md5.digest("hex"), rows: current.writer.rowsWritten });
    totalBytes += current.writer.bytesWritten;
    current = undefined;
  };
  try {
    for (let batch = await opts.scan.nextTuples(SCAN_BATCH); batch.length > 0; batch = await opts.scan.nextTuples(SCAN_BATCH)) {
      opts.signal?.throwIfAborted();
      current ??= open();
      await current.writer.writeRows(batch.map(project));
      if (opts.summary) for (const v of batch) opts.summary.add(v);
      totalRows += batch.length;
      opts.onProgress?.({ rows: totalRows, bytes: totalBytes + current.writer.bytesWritten });
      if (current.writer.bytesWritten >= opts.maxFileBytes) await close();
    }
    // An empty bucket still gets one (empty) data file, as S3 delivers one; a report whose last
    // batch filled a file gets no empty file after it.
    if (files.length === 0) current ??= open();
    await close();
    return files;
  } catch (err) {
    await current?.blob.abort();
    await Promise.all(files.map((f) => opts.blobs.delete(f.blobId)));
    throw err;
  } finally {
    await opts.scan.close();
  }
}
