// The ORC file writer: "ORC", then stripes (row index streams, data streams, stripe footer) as a
// size bound fills, then the tail: Metadata (stripe statistics), Footer, PostScript and its length.
// The schema is a struct of the report's columns in catalogue order.
// https://orc.apache.org/specification/ORCv1/
import type { InventoryField } from "../../fields.js";
import type { InventoryValue, ReportWriter, ReportWriterOptions } from "../types.js";
import { columnWriter, type ColumnWriter, EncodingKind, ORC_TYPE_KIND, ROW_INDEX_STRIDE, StreamKind, STRUCT_KIND } from "./columns.js";
import { COMPRESSION_KIND, type CompressedStream, createCodec, type OrcCompression } from "./compression.js";
import { ProtoWriter } from "./protobuf.js";
import { ColumnStats } from "./statistics.js";

const MAGIC = "ORC";
/** File format version 0.12 (Hive 0.12: RLE v2). */
const FILE_VERSION = [0, 12];
/** PostScript.writerVersion: 6 is where every writer other than ORC Java starts (and means ORC-135: UTC timestamp statistics). */
const WRITER_VERSION = 6;

export interface OrcWriterOptions extends ReportWriterOptions {
  /** ZLIB as S3 writes its reports, or NONE. */
  compression?: OrcCompression;
  /** Uncompressed bytes per compression chunk (default 256 KiB). */
  compressionBlockSize?: number;
  /** zlib level 1..9 (default DEFAULT_ZLIB_LEVEL, 1). */
  compressionLevel?: number;
  /** A stripe is written once its buffered values pass about this many bytes (default DEFAULT_STRIPE_BYTES). */
  stripeBytes?: number;
  /**
   * Compress on the calling thread, straight from the column writers' buffers, before the next
   * stripe fills: no copy of the stripe and no stripe in flight. For a report split across
   * threads, which keeps the cores busy itself; otherwise compression runs on the thread pool
   * while the next stripe fills.
   */
  inline?: boolean;
}

/** A stream of a stripe: its bytes copied out of the column writer, then (once compressed) as stored. */
interface StripeStream {
  kind: number;
  /** The uncompressed bytes, dropped as soon as they are compressed. */
  bytes: Buffer | undefined;
  stored?: CompressedStream;
}

/** A stripe's encoded columns, copied out of the column writers. */
interface StripeColumn {
  encoding: { kind: number; dictionarySize?: number };
  streams: StripeStream[];
  groups: { stats: ColumnStats; positions: { stream: StripeStream; offset: number; rest: readonly number[] }[] }[];
}

/** Stripe bytes are handed to the sink in pieces of about this size, not as one copy of the stripe. */
const EMIT_BYTES = 1024 * 1024;
const EMPTY = Buffer.alloc(0);

interface StripeInfo {
  offset: number;
  indexLength: number;
  dataLength: number;
  footerLength: number;
  rows: number;
}

/** The Footer's type list: the root struct, then one type per column. */
function typesMessages(columns: readonly InventoryField[]): ProtoWriter[] {
  const root = new ProtoWriter()
    .uint(1, STRUCT_KIND)
    .packedUints(
      2,
      columns.map((_, i) => i + 1),
    );
  for (const c of columns) root.string(3, c.column);
  return [root, ...columns.map((c) => new ProtoWriter().uint(1, ORC_TYPE_KIND[c.kind]))];
}

/**
 * Buffered values per stripe. Memory is about three stripes' worth (the one filling, its
 * encoded copy, the compressed one being written), per thread writing a report; 8 MiB is
 * ~40,000 inventory rows, four row groups, and costs well under 1% of file size against 32 MiB
 * (dictionaries and stripe footers repeat per stripe; direct streams compress the same).
 */
export const DEFAULT_STRIPE_BYTES = 8 * 1024 * 1024;

export function createOrcWriterWith(options: OrcWriterOptions): ReportWriter {
  const { columns, sink } = options;
  const codec = createCodec(options.compression ?? "ZLIB", options.compressionBlockSize, options.compressionLevel);
  const stripeBytes = options.stripeBytes ?? DEFAULT_STRIPE_BYTES;
  const writers: ColumnWriter[] = columns.map((c, i) => columnWriter(c.kind, i + 1));
  const stripes: StripeInfo[] = [];
  /** Per stripe, per column (root first). */
  const stripeStats: ColumnStats[][] = [];
  const fileStats: ColumnStats[] = [new ColumnStats("struct"), ...columns.map((c) => new ColumnStats(statsKind(c)))];
  let offset = 0;
  let rowsInStripe = 0;
  let rowsWritten = 0;
  let finished = false;

  const emit = async (chunk: Buffer) => {
    offset += chunk.length;
    await sink(chunk);
  };

  const buffered = () => {
    let n = 0;
    for (const w of writers) n += w.estimatedBytes();
    return n;
  };

  /** The stripe being compressed and written while the next one fills; at most one. */
  let inFlight: Promise<void> = Promise.resolve();
  let failure: unknown;

  /**
   * Ends the stripe: its streams are encoded and copied out, the column writers are free for the
   * next stripe at once, and compression and the sink run behind it. Resolves once the previous
   * stripe is written, so at most one encoded stripe waits besides the one filling.
   */
  async function flushStripe(): Promise<void> {
    if (rowsInStripe === 0) return;
    const rows = rowsInStripe;
    const encoded = writers.map((w) => w.encode());
    if (options.inline) {
      // Compressed from the writers' buffers (the stored bytes share no memory with them).
      const columnsOut: StripeColumn[] = encoded.map((col) => {
        const streams = new Map<unknown, StripeStream>();
        for (const st of col.streams) streams.set(st.bytes, { kind: st.kind, bytes: undefined, stored: codec.compressStreamSync(st.bytes.view()) });
        return {
          encoding: col.encoding,
          streams: [...streams.values()],
          groups: col.groups.map((g) => ({ stats: g.stats, positions: g.positions.map((p) => ({ stream: streams.get(p.stream)!, offset: p.offset, rest: p.rest })) })),
        };
      });
      for (const w of writers) w.reset();
      rowsInStripe = 0;
      await writeStripe(rows, columnsOut);
      return;
    }
    // Copies of the streams (the writers' buffers are reused), and the positions pointing into them.
    const columnsOut: StripeColumn[] = encoded.map((col) => {
      const copies = new Map<unknown, StripeStream>();
      const streams = col.streams.map((st) => {
        const copy: StripeStream = { kind: st.kind, bytes: Buffer.from(st.bytes.view()) };
        copies.set(st.bytes, copy);
        return copy;
      });
      return {
        encoding: col.encoding,
        streams,
        groups: col.groups.map((g) => ({ stats: g.stats, positions: g.positions.map((p) => ({ stream: copies.get(p.stream)!, offset: p.offset, rest: p.rest })) })),
      };
    });
    for (const w of writers) w.reset();
    rowsInStripe = 0;
    await inFlight;
    if (failure) throw failure;
    inFlight = writeStripe(rows, columnsOut).catch((err: unknown) => {
      failure = err;
    });
  }

  async function writeStripe(rowsInStripe: number, encoded: StripeColumn[]): Promise<void> {
    const groups = Math.ceil(rowsInStripe / ROW_INDEX_STRIDE);

    // Compress every data stream; each one's raw copy is let go as soon as its stored form is there.
    await Promise.all(
      encoded.flatMap((col) =>
        col.streams.map(async (s) => {
          if (s.stored) return;
          s.stored = await codec.compress(s.bytes!);
          s.bytes = undefined;
        }),
      ),
    );

    // Row index per column: the root's entries carry only statistics.
    const rootStats: ColumnStats[] = [];
    const indexes: Uint8Array[] = [];
    {
      const index = new ProtoWriter();
      for (let g = 0; g < groups; g++) {
        const s = new ColumnStats("struct");
        s.count = Math.min(ROW_INDEX_STRIDE, rowsInStripe - g * ROW_INDEX_STRIDE);
        rootStats.push(s);
        index.message(1, new ProtoWriter().message(2, s.encode()));
      }
      indexes.push(index.finish());
    }
    for (const col of encoded) {
      const index = new ProtoWriter();
      for (const group of col.groups) {
        const positions: number[] = [];
        for (const p of group.positions) positions.push(...p.stream.stored!.position(p.offset), ...p.rest);
        index.message(1, new ProtoWriter().packedUints(1, positions).message(2, group.stats.encode()));
      }
      indexes.push(index.finish());
    }
    const storedIndexes = await Promise.all(indexes.map((b) => codec.compress(b)));

    // Layout: index streams, then data streams, in column order; the footer lists them in that order.
    const footer = new ProtoWriter();
    const parts: Buffer[] = [];
    let indexLength = 0;
    storedIndexes.forEach((s, column) => {
      footer.message(1, new ProtoWriter().uint(1, StreamKind.ROW_INDEX).uint(2, column).uint(3, s.length));
      parts.push(...s.parts);
      indexLength += s.length;
    });
    let dataLength = 0;
    encoded.forEach((col, i) => {
      for (const s of col.streams) {
        const st = s.stored!;
        footer.message(1, new ProtoWriter().uint(1, s.kind).uint(2, i + 1).uint(3, st.length));
        parts.push(...st.parts);
        dataLength += st.length;
      }
    });
    footer.message(2, new ProtoWriter().uint(1, EncodingKind.DIRECT));
    for (const col of encoded) {
      const e = new ProtoWriter().uint(1, col.encoding.kind);
      if (col.encoding.dictionarySize !== undefined) e.uint(2, col.encoding.dictionarySize);
      footer.message(2, e);
    }
    footer.string(3, "UTC");
    const footerBytes = codec.compressSync(footer.finish());
    parts.push(footerBytes);

    if (offset === 0) parts.unshift(Buffer.from(MAGIC));
    stripes.push({ offset: offset + (offset === 0 ? MAGIC.length : 0), indexLength, dataLength, footerLength: footerBytes.length, rows: rowsInStripe });

    // Statistics of the stripe: its row groups merged.
    const statsOfStripe = [mergeAll(new ColumnStats("struct"), rootStats)];
    encoded.forEach((col, i) => statsOfStripe.push(mergeAll(new ColumnStats(statsKind(columns[i]!)), col.groups.map((g) => g.stats))));
    stripeStats.push(statsOfStripe);
    statsOfStripe.forEach((s, i) => fileStats[i]!.merge(s));

    // Pieces of about EMIT_BYTES: no copy of the whole stripe, and few writes to the sink.
    let piece: Buffer[] = [];
    let pieceBytes = 0;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      parts[i] = EMPTY;
      piece.push(p);
      pieceBytes += p.length;
      if (pieceBytes >= EMIT_BYTES || i === parts.length - 1) {
        const chunk = piece.length === 1 ? piece[0]! : Buffer.concat(piece, pieceBytes);
        piece = [];
        pieceBytes = 0;
        await emit(chunk);
      }
    }
  }

  async function writeTail(): Promise<void> {
    if (offset === 0) await emit(Buffer.from(MAGIC));
    const metadata = new ProtoWriter();
    for (const stats of stripeStats) {
      const m = new ProtoWriter();
      for (const s of stats) m.message(1, s.encode());
      metadata.message(1, m);
    }
    const footer = new ProtoWriter().uint(1, MAGIC.length).uint(2, offset);
    for (const s of stripes) {
      footer.message(
        3,
        new ProtoWriter().uint(1, s.offset).uint(2, s.indexLength).uint(3, s.dataLength).uint(4, s.footerLength).uint(5, s.rows),
      );
    }
    for (const t of typesMessages(columns)) footer.message(4, t);
    footer.uint(6, rowsWritten);
    for (const s of fileStats) footer.message(7, s.encode());
    footer.uint(8, ROW_INDEX_STRIDE);

    const metadataBytes = codec.compressSync(metadata.finish());
    const footerBytes = codec.compressSync(footer.finish());
    const postscript = new ProtoWriter()
      .uint(1, footerBytes.length)
      .uint(2, COMPRESSION_KIND[codec.kind])
      .uint(3, codec.blockSize)
      .packedUints(4, FILE_VERSION)
      .uint(5, metadataBytes.length)
      .uint(6, WRITER_VERSION)
      .string(8000, MAGIC)
      .finish();
    if (postscript.length > 255) throw new Error("ORC PostScript longer than 255 bytes");
    await emit(Buffer.concat([metadataBytes, footerBytes, postscript, Buffer.from([postscript.length])]));
  }

  return {
    get bytesWritten() {
      return offset;
    },
    get rowsWritten() {
      return rowsWritten;
    },
    async writeRows(rows: readonly (readonly InventoryValue[])[]) {
      if (finished) throw new Error("ORC writer already finished");
      if (failure) throw failure;
      const n = writers.length;
      for (const row of rows) {
        for (let c = 0; c < n; c++) writers[c]!.add(row[c] ?? null);
        rowsInStripe++;
        rowsWritten++;
        if ((rowsInStripe & 1023) === 0 && buffered() >= stripeBytes) await flushStripe();
      }
      if (buffered() >= stripeBytes) await flushStripe();
    },
    async finish() {
      if (finished) return;
      finished = true;
      await flushStripe();
      await inFlight;
      if (failure) throw failure;
      await writeTail();
    },
  };
}

function statsKind(c: InventoryField): "string" | "boolean" | "long" | "timestamp" {
  return c.kind === "int64" ? "long" : c.kind;
}

function mergeAll(into: ColumnStats, all: readonly ColumnStats[]): ColumnStats {
  for (const s of all) into.merge(s);
  return into;
}

