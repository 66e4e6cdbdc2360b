// The Parquet report writer: the schema S3 writes (derived from the field catalogue, as
// parquetFileSchema() prints it), Snappy-compressed pages, row groups flushed to the sink at a
// bound (16,384 rows or 8 Mi string characters) so memory never grows with the bucket. Strings
// are dictionary-encoded where a column repeats (bucket, storage class…) and PLAIN where it does
// not (key, ETag); every column chunk carries min/max/null-count statistics. Why a writer of our
// own: docs/parquet-writer.md.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory.html#storage-inventory-contents
// https://parquet.apache.org/docs/file-format/
import { compareUtf8 } from "../../utf8.js";
import type { FieldKind, InventoryField } from "../fields.js";
import { compress } from "./snappy.js";
import { ByteBuilder, CompactWriter } from "./thrift-compact.js";
import type { InventoryValue, ReportWriter, ReportWriterFactory } from "./types.js";

// Parquet's Thrift enums, as far as they are used here (parquet.thrift).
const PhysicalType = { BOOLEAN: 0, INT64: 2, BYTE_ARRAY: 6 } as const;
const ConvertedType = { UTF8: 0, TIMESTAMP_MILLIS: 9 } as const;
const Repetition = { REQUIRED: 0, OPTIONAL: 1 } as const;
const Encoding = { PLAIN: 0, RLE: 3, RLE_DICTIONARY: 8 } as const;
const PageType = { DATA_PAGE: 0, DICTIONARY_PAGE: 2 } as const;
const SNAPPY = 1;

const MAGIC = Buffer.from("PAR1");
const CREATED_BY = "stocktake (inventory report writer)";
/** The root of the message type, as in S3's fileSchema. */
export const PARQUET_SCHEMA_NAME = "s3.inventory";

/** How a catalogue kind is stored: parquetFileSchema() prints the same mapping as text. */
const PHYSICAL: Record<FieldKind, { type: number; converted?: number }> = {
  string: { type: PhysicalType.BYTE_ARRAY, converted: ConvertedType.UTF8 },
  boolean: { type: PhysicalType.BOOLEAN },
  int64: { type: PhysicalType.INT64 },
  timestamp: { type: PhysicalType.INT64, converted: ConvertedType.TIMESTAMP_MILLIS },
};

export interface ParquetLimits {
  /** A row group is flushed once it holds this many rows… */
  rowGroupRows: number;
  /** …or this many characters of string values (a proxy for its size in memory). */
  rowGroupChars: number;
  /** A data page is closed past this many bytes of values… */
  pageBytes: number;
  /** …or this many rows. */
  pageRows: number;
}

export const DEFAULT_PARQUET_LIMITS: ParquetLimits = {
  // 16,384 rather than 32,768: rows kept for a row group outlive young-generation collections, and
  // half as many of them took ~25 MiB off a two-thread report's peak RSS (files 0.1% bigger).
  rowGroupRows: 16_384,
  rowGroupChars: 8 * 1024 * 1024,
  pageBytes: 1024 * 1024,
  pageRows: 20_000,
};

/** A dictionary is given up past this many entries or characters, or when most values are distinct (then for good: keys, ETags). */
const DICT_MAX_ENTRIES = 40_000;
const DICT_MAX_CHARS = 1024 * 1024;

interface ColumnSpec {
  name: string;
  kind: FieldKind;
  type: number;
  converted?: number;
  required: boolean;
}

/** Where a column chunk lies in the file and what its statistics say, as the footer records it. */
export interface ChunkPlacement {
  fileOffset: number;
  dictionaryPageOffset?: number;
  dataPageOffset: number;
  encodings: number[];
  numValues: number;
  uncompressed: number;
  compressed: number;
  nullCount: number;
  min?: Buffer;
  max?: Buffer;
}

export interface RowGroupPlacement<C extends ChunkPlacement> {
  chunks: C[];
  rows: number;
  fileOffset: number;
  uncompressed: number;
  compressed: number;
}

type ChunkMeta = ChunkPlacement & { spec: ColumnSpec };
type RowGroupMeta = RowGroupPlacement<ChunkMeta>;

// ---- encodings ----

/** Appends values[from, to) in the RLE/bit-packed hybrid encoding (no length prefix); bitWidth ≤ 16. */
export function encodeHybrid(values: ArrayLike<number>, from: number, to: number, bitWidth: number, out: ByteBuilder): void {
  const valueBytes = (bitWidth + 7) >> 3;
  const runOfEight = (at: number) => {
    if (at + 8 > to) return false;
    const v = values[at];
    for (let k = at + 1; k < at + 8; k++) if (values[k] !== v) return false;
    return true;
  };
  let i = from;
  while (i < to) {
    const v = values[i]!;
    let j = i + 1;
    while (j < to && values[j] === v) j++;
    if (j - i >= 8) {
      out.varint((j - i) * 2);
      out.ensure(valueBytes);
      for (let b = 0; b < valueBytes; b++) out.buf[out.length++] = (v >>> (8 * b)) & 0xff;
      i = j;
      continue;
    }
    // Bit-packed groups of eight, until a run of eight equal values starts at a group boundary.
    const start = i;
    let groups = 0;
    do {
      i += 8;
      groups++;
    } while (i < to && !runOfEight(i));
    out.varint(groups * 2 + 1);
    out.ensure(groups * bitWidth);
    let acc = 0;
    let bits = 0;
    const end = start + groups * 8;
    for (let k = start; k < end; k++) {
      acc |= (k < to ? values[k]! : 0) << bits;
      bits += bitWidth;
      while (bits >= 8) {
        out.buf[out.length++] = acc & 0xff;
        acc >>>= 8;
        bits -= 8;
      }
    }
    if (i > to) i = to;
  }
}

/** Writes s as UTF-8 at off (room for 3 bytes per UTF-16 unit must be ensured); returns the byte count. */
function writeUtf8(buf: Buffer, off: number, s: string): number {
  const n = s.length;
  if (n < 64) {
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[off + i] = c;
    }
    if (i === n) return n;
  }
  return buf.write(s, off, "utf8");
}

function writeUint32(buf: Buffer, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
  buf[off + 2] = (v >>> 16) & 0xff;
  buf[off + 3] = (v >>> 24) & 0xff;
}

/** A JS number (an integer, |v| < 2^53) as a little-endian int64. */
function writeInt64(buf: Buffer, off: number, v: number): void {
  const hi = Math.floor(v / 4294967296);
  writeUint32(buf, off, v - hi * 4294967296);
  writeUint32(buf, off + 4, hi | 0);
}

function appendPlainString(out: ByteBuilder, s: string): void {
  out.ensure(4 + s.length * 3);
  const n = writeUtf8(out.buf, out.length + 4, s);
  writeUint32(out.buf, out.length, n);
  out.length += 4 + n;
}

function int64Bytes(v: number): Buffer {
  const b = Buffer.alloc(8);
  writeInt64(b, 0, v);
  return b;
}

// ---- pages and column chunks ----

/** Collects one column chunk's pages: header + Snappy-compressed body each. */
export class ChunkBuilder {
  readonly parts: Buffer[] = [];
  uncompressed = 0;
  compressed = 0;
  dictionaryBytes = 0;

  dictionaryPage(body: Uint8Array, entries: number): void {
    const packed = compress(body);
    const header = new CompactWriter()
      .i32(1, PageType.DICTIONARY_PAGE)
      .i32(2, body.length)
      .i32(3, packed.length)
      .struct(7, (w) => w.i32(1, entries).i32(2, Encoding.PLAIN))
      .finish();
    this.parts.push(header, packed);
    this.uncompressed += header.length + body.length;
    this.compressed += header.length + packed.length;
    this.dictionaryBytes = header.length + packed.length;
  }
  dataPage(body: Uint8Array, numValues: number, encoding: number): void {
    const packed = compress(body);
    const header = new CompactWriter()
      .i32(1, PageType.DATA_PAGE)
      .i32(2, body.length)
      .i32(3, packed.length)
      .struct(5, (w) => w.i32(1, numValues).i32(2, encoding).i32(3, Encoding.RLE).i32(4, Encoding.RLE))
      .finish();
    this.parts.push(header, packed);
    this.uncompressed += header.length + body.length;
    this.compressed += header.length + packed.length;
  }
}

type Rows = readonly (readonly InventoryValue[])[];

/** Encodes one column of a row group's rows into pages (values are read in place: rows[i][col]). */
class ColumnEncoder {
  /** Set once a row group showed the column does not repeat enough for a dictionary. */
  private noDictionary = false;
  private readonly levels = new ByteBuilder(64 * 1024);
  private readonly values = new ByteBuilder(1024 * 1024 + 64 * 1024);
  private readonly body = new ByteBuilder(1024 * 1024 + 128 * 1024);

  constructor(
    readonly spec: ColumnSpec,
    private readonly col: number,
    private readonly limits: ParquetLimits,
  ) {}

  encode(rows: Rows): { chunk: ChunkBuilder; meta: Omit<ChunkMeta, "fileOffset" | "dataPageOffset" | "dictionaryPageOffset"> } {
    const n = rows.length;
    const col = this.col;
    const chunk = new ChunkBuilder();
    // Definition levels (optional columns): 1 for a value, 0 for a null.
    let defLevels: Uint8Array | undefined;
    let nullCount = 0;
    if (!this.spec.required) {
      defLevels = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        if (rows[i]![col] == null) nullCount++;
        else defLevels[i] = 1;
      }
    } else {
      for (let i = 0; i < n; i++) if (rows[i]![col] == null) throw new Error(`Parquet column ${this.spec.name} is required but a row has no value`);
    }
    let stats: { min?: Buffer; max?: Buffer };
    let encodings: number[] = [Encoding.PLAIN, Encoding.RLE];
    switch (this.spec.kind) {
      case "string": {
        const dict = this.noDictionary ? undefined : this.tryDictionary(rows);
        if (dict) {
          stats = this.dictionaryPages(rows, dict.entries, dict.indices, defLevels, chunk);
          encodings = [Encoding.PLAIN, Encoding.RLE, Encoding.RLE_DICTIONARY];
        } else {
          stats = this.plainStringPages(rows, defLevels, chunk);
        }
        break;
      }
      case "int64":
      case "timestamp":
        stats = this.plainInt64Pages(rows, defLevels, chunk);
        break;
      case "boolean":
        stats = this.booleanPages(rows, defLevels, chunk);
        break;
    }
    return { chunk, meta: { spec: this.spec, encodings, numValues: n, uncompressed: chunk.uncompressed, compressed: chunk.compressed, nullCount, ...stats } };
  }

  /** A dictionary for the column when its values repeat, else undefined. */
  private tryDictionary(rows: Rows): { entries: string[]; indices: Uint32Array } | undefined {
    const col = this.col;
    const map = new Map<string, number>();
    const entries: string[] = [];
    const indices = new Uint32Array(rows.length);
    let chars = 0;
    let present = 0;
    for (let i = 0; i < rows.length; i++) {
      const v = rows[i]![col] as string | null | undefined;
      if (v == null) continue;
      let k = map.get(v);
      if (k === undefined) {
        k = entries.length;
        chars += v.length;
        if (k >= DICT_MAX_ENTRIES || chars > DICT_MAX_CHARS || (k >= 256 && k * 2 > i)) {
          this.noDictionary = true;
          return undefined;
        }
        map.set(v, k);
        entries.push(v);
      }
      indices[i] = k;
      present++;
    }
    if (entries.length === 0 || (entries.length > 16 && entries.length * 2 > present)) return undefined;
    return { entries, indices };
  }

  /** Starts a page's body with the definition levels of rows [from, to) and their 4-byte length. */
  private startPage(defLevels: Uint8Array | undefined, from: number, to: number): void {
    this.body.length = 0;
    if (!defLevels) return;
    this.levels.length = 0;
    encodeHybrid(defLevels, from, to, 1, this.levels);
    this.body.ensure(4 + this.levels.length);
    writeUint32(this.body.buf, this.body.length, this.levels.length);
    this.body.length += 4;
    this.body.bytes(this.levels.view());
  }

  private plainStringPages(rows: Rows, defLevels: Uint8Array | undefined, chunk: ChunkBuilder): { min?: Buffer; max?: Buffer } {
    const col = this.col;
    const { pageBytes, pageRows } = this.limits;
    const out = this.values;
    let min: string | undefined;
    let max: string | undefined;
    let from = 0;
    while (from < rows.length) {
      out.length = 0;
      let to = from;
      const last = Math.min(rows.length, from + pageRows);
      while (to < last && out.length < pageBytes) {
        const v = rows[to++]![col] as string | null | undefined;
        if (v == null) continue;
        appendPlainString(out, v);
        if (min === undefined) min = max = v;
        else if (compareUtf8(v, max!) > 0) max = v;
        else if (compareUtf8(v, min) < 0) min = v;
      }
      this.startPage(defLevels, from, to);
      this.body.bytes(out.view());
      chunk.dataPage(this.body.view(), to - from, Encoding.PLAIN);
      from = to;
    }
    return min === undefined ? {} : { min: Buffer.from(min, "utf8"), max: Buffer.from(max!, "utf8") };
  }

  private plainInt64Pages(rows: Rows, defLevels: Uint8Array | undefined, chunk: ChunkBuilder): { min?: Buffer; max?: Buffer } {
    const col = this.col;
    let min = Infinity;
    let max = -Infinity;
    for (let from = 0; from < rows.length; from += this.limits.pageRows) {
      const to = Math.min(from + this.limits.pageRows, rows.length);
      this.startPage(defLevels, from, to);
      const out = this.body;
      out.ensure((to - from) * 8);
      for (let i = from; i < to; i++) {
        const v = rows[i]![col] as number | null | undefined;
        if (v == null) continue;
        writeInt64(out.buf, out.length, v);
        out.length += 8;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      chunk.dataPage(out.view(), to - from, Encoding.PLAIN);
    }
    return min === Infinity ? {} : { min: int64Bytes(min), max: int64Bytes(max) };
  }

  private dictionaryPages(rows: Rows, entries: readonly string[], indices: Uint32Array, defLevels: Uint8Array | undefined, chunk: ChunkBuilder): { min?: Buffer; max?: Buffer } {
    const col = this.col;
    this.body.length = 0;
    let min: string | undefined;
    let max: string | undefined;
    for (const e of entries) {
      appendPlainString(this.body, e);
      if (min === undefined || compareUtf8(e, min) < 0) min = e;
      if (max === undefined || compareUtf8(e, max) > 0) max = e;
    }
    chunk.dictionaryPage(this.body.view(), entries.length);
    let bitWidth = 1;
    while (1 << bitWidth < entries.length) bitWidth++;
    const present = new Uint32Array(Math.min(rows.length, this.limits.pageRows));
    for (let from = 0; from < rows.length; from += this.limits.pageRows) {
      const to = Math.min(from + this.limits.pageRows, rows.length);
      let count = 0;
      for (let i = from; i < to; i++) if (rows[i]![col] != null) present[count++] = indices[i]!;
      this.startPage(defLevels, from, to);
      this.body.byte(bitWidth);
      encodeHybrid(present, 0, count, bitWidth, this.body);
      chunk.dataPage(this.body.view(), to - from, Encoding.RLE_DICTIONARY);
    }
    return min === undefined ? {} : { min: Buffer.from(min, "utf8"), max: Buffer.from(max!, "utf8") };
  }

  private booleanPages(rows: Rows, defLevels: Uint8Array | undefined, chunk: ChunkBuilder): { min?: Buffer; max?: Buffer } {
    const col = this.col;
    let sawTrue = false;
    let sawFalse = false;
    for (let from = 0; from < rows.length; from += this.limits.pageRows) {
      const to = Math.min(from + this.limits.pageRows, rows.length);
      this.startPage(defLevels, from, to);
      const out = this.body;
      out.ensure((to - from + 7) >> 3);
      let bit = 0;
      let acc = 0;
      for (let i = from; i < to; i++) {
        const v = rows[i]![col];
        if (v == null) continue;
        if (v) {
          acc |= 1 << bit;
          sawTrue = true;
        } else sawFalse = true;
        if (++bit === 8) {
          out.buf[out.length++] = acc;
          acc = 0;
          bit = 0;
        }
      }
      if (bit > 0) out.buf[out.length++] = acc;
      chunk.dataPage(out.view(), to - from, Encoding.PLAIN);
    }
    if (!sawTrue && !sawFalse) return {};
    return { min: Buffer.from([sawFalse ? 0 : 1]), max: Buffer.from([sawTrue ? 1 : 0]) };
  }
}

// ---- the footer ----

/**
 * FileMetaData's row_groups (field 4): every column chunk's place, Snappy codec and statistics.
 * The same for every Parquet file Stocktake writes; `column` names a chunk's type and path.
 */
export function writeRowGroups<C extends ChunkPlacement>(w: CompactWriter, rowGroups: readonly RowGroupPlacement<C>[], column: (c: C) => { type: number; path: readonly string[] }): void {
  w.listStruct(4, rowGroups, (w, rg) => {
    w.listStruct(1, rg.chunks, (w, c) => {
      const { type, path } = column(c);
      w.i64(2, c.fileOffset);
      w.struct(3, (w) => {
        w.i32(1, type)
          .listI32(2, c.encodings)
          .listString(3, path)
          .i32(4, SNAPPY)
          .i64(5, c.numValues)
          .i64(6, c.uncompressed)
          .i64(7, c.compressed)
          .i64(9, c.dataPageOffset);
        if (c.dictionaryPageOffset !== undefined) w.i64(11, c.dictionaryPageOffset);
        w.struct(12, (w) => {
          w.i64(3, c.nullCount);
          if (c.max) w.binary(5, c.max);
          if (c.min) w.binary(6, c.min);
        });
      });
    });
    w.i64(2, rg.uncompressed).i64(3, rg.rows).i64(5, rg.fileOffset).i64(6, rg.compressed);
  });
}

function footer(specs: readonly ColumnSpec[], rowGroups: readonly RowGroupMeta[], numRows: number): Buffer {
  const w = new CompactWriter();
  w.i32(1, 1);
  w.listStruct(2, [undefined, ...specs], (w, spec) => {
    if (!spec) {
      w.string(4, PARQUET_SCHEMA_NAME).i32(5, specs.length);
      return;
    }
    w.i32(1, spec.type).i32(3, spec.required ? Repetition.REQUIRED : Repetition.OPTIONAL).string(4, spec.name);
    if (spec.converted !== undefined) w.i32(6, spec.converted);
    // The logical types S3's fileSchema names today (STRING, TIMESTAMP(MILLIS,true)); the
    // converted types above stay for readers that predate logical types.
    if (spec.kind === "string") w.struct(10, (w) => w.struct(1, () => {}));
    if (spec.kind === "timestamp") w.struct(10, (w) => w.struct(8, (w) => w.bool(1, true).struct(2, (w) => w.struct(1, () => {}))));
  });
  w.i64(3, numRows);
  writeRowGroups(w, rowGroups, (c) => ({ type: c.spec.type, path: [c.spec.name] }));
  w.string(6, CREATED_BY);
  // Type-defined (unsigned byte-wise for strings) order for every column: readers may use min/max.
  w.listStruct(7, specs, (w) => w.struct(1, () => {}));
  return w.finish();
}

/** The Parquet columns of a report, from the catalogue. */
export function parquetColumnSpecs(columns: readonly InventoryField[]): ColumnSpec[] {
  return columns.map((c) => ({ name: c.column, kind: c.kind, required: c.role === "always", ...PHYSICAL[c.kind] }));
}

/** A Parquet writer factory with other limits (tests use small row groups and pages). */
export function parquetWriterFactory(limits: Partial<ParquetLimits> = {}): ReportWriterFactory {
  const lim: ParquetLimits = { ...DEFAULT_PARQUET_LIMITS, ...limits };
  return ({ columns, sink, maxFileBytes }): ReportWriter => {
    const specs = parquetColumnSpecs(columns);
    // Under a small file bound, smaller row groups, so that a file ends near the bound (the run
    // rolls over only between row groups, when bytes reach the sink).
    const rowGroupChars = Math.max(1, Math.min(lim.rowGroupChars, maxFileBytes ?? Infinity));
    const encoders = specs.map((s, c) => new ColumnEncoder(s, c, lim));
    const stringCols = specs.flatMap((s, i) => (s.kind === "string" ? [i] : []));
    let buffered: (readonly InventoryValue[])[] = [];
    let bufferedChars = 0;
    const rowGroups: RowGroupMeta[] = [];
    let offset = 0;
    let rowsWritten = 0;
    let finished = false;

    const emit = async (chunk: Buffer) => {
      offset += chunk.length;
      await sink(chunk);
    };
    const flush = async () => {
      if (buffered.length === 0) return;
      if (offset === 0) await emit(MAGIC);
      const rows = buffered;
      buffered = [];
      bufferedChars = 0;
      const rg: RowGroupMeta = { chunks: [], rows: rows.length, fileOffset: offset, uncompressed: 0, compressed: 0 };
      for (const encoder of encoders) {
        const { chunk, meta } = encoder.encode(rows);
        const start = offset;
        const dictionary = chunk.dictionaryBytes > 0;
        rg.chunks.push({ ...meta, fileOffset: start, dictionaryPageOffset: dictionary ? start : undefined, dataPageOffset: start + chunk.dictionaryBytes });
        rg.uncompressed += chunk.uncompressed;
        rg.compressed += chunk.compressed;
        await emit(Buffer.concat(chunk.parts));
      }
      rowGroups.push(rg);
    };

    return {
      get bytesWritten() {
        return offset;
      },
      get rowsWritten() {
        return rowsWritten;
      },
      async writeRows(rows) {
        if (finished) throw new Error("rows after finish()");
        // Rows are kept as given (the run hands over fresh arrays) and read column by column at flush.
        for (const row of rows) {
          buffered.push(row);
          for (const c of stringCols) {
            const v = row[c];
            if (typeof v === "string") bufferedChars += v.length;
          }
          rowsWritten++;
          if (buffered.length >= lim.rowGroupRows || bufferedChars >= rowGroupChars) await flush();
        }
      },
      async finish() {
        if (finished) return;
        finished = true;
        await flush();
        if (offset === 0) await emit(MAGIC);
        const meta = footer(specs, rowGroups, rowsWritten);
        const tail = Buffer.alloc(8);
        writeUint32(tail, 0, meta.length);
        MAGIC.copy(tail, 4);
        await emit(Buffer.concat([meta, tail]));
      },
    };
  };
}

export const createParquetWriter: ReportWriterFactory = parquetWriterFactory();
