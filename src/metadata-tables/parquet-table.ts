// Parquet data files for the Iceberg tables (the journal and the live inventory): the table's
// Iceberg schema mapped as the Iceberg spec's Appendix A asks (every SchemaElement carries its
// field id; STRING, TIMESTAMP(MICROS) and the three-level MAP and LIST groups), rows shredded into
// repetition and definition levels (Dremel), Snappy pages, row groups flushed to the sink at a
// bound. finish() returns what the table's manifest entry says of the file (the data_file
// metrics), so nothing has to read the file back. Pages, Snappy, the hybrid encoding and Thrift
// come from the inventory's Parquet writer.
// https://iceberg.apache.org/spec/#parquet
// https://iceberg.apache.org/spec/#manifests
// https://iceberg.apache.org/spec/#appendix-d-single-value-serialization
// https://github.com/apache/parquet-format/blob/master/LogicalTypes.md#nested-types
import { setImmediate as yieldToRequests } from "node:timers/promises";
import { compareUtf8 } from "../utf8.js";
import { ChunkBuilder, DEFAULT_PARQUET_LIMITS, encodeHybrid, writeRowGroups, type ChunkPlacement, type RowGroupPlacement } from "../inventory/writers/parquet.js";
import { ByteBuilder, CompactWriter } from "../inventory/writers/thrift-compact.js";
import type { ByteSink } from "../inventory/writers/types.js";

// ---- Iceberg's schema, as its JSON serialization spells it (spec Appendix C) ----

/** The primitive types this writer stores. */
export type IcebergPrimitiveType = "boolean" | "int" | "long" | "string" | "timestamp" | "timestamptz" | "binary";

export interface IcebergStructType {
  type: "struct";
  fields: IcebergField[];
}

export interface IcebergMapType {
  type: "map";
  "key-id": number;
  key: IcebergType;
  "value-id": number;
  value: IcebergType;
  "value-required": boolean;
}

export interface IcebergListType {
  type: "list";
  "element-id": number;
  element: IcebergType;
  "element-required": boolean;
}

export type IcebergType = IcebergPrimitiveType | IcebergStructType | IcebergMapType | IcebergListType;

export interface IcebergField {
  id: number;
  name: string;
  required: boolean;
  type: IcebergType;
  doc?: string;
}

export interface IcebergSchema extends IcebergStructType {
  "schema-id": number;
  "identifier-field-ids"?: number[];
}

/**
 * A row: values by field name. boolean → boolean; int → number; long → number (a safe integer)
 * or bigint; timestamp/timestamptz → epoch microseconds (number or bigint) or a Date (for
 * timestamp, without zone, the Date's UTC wall clock); string →
 * string; binary → Uint8Array; struct → an object by field name; map → a Map, or a plain object
 * when keys are strings; list → an array. null or a missing key is null.
 */
export type IcebergRow = Readonly<Record<string, unknown>>;

// ---- what a manifest entry needs ----

/** The data_file fields that describe the file's content, keyed by Iceberg field id (leaf columns). */
export interface DataFileMetrics {
  recordCount: number;
  fileSizeInBytes: number;
  /** Compressed bytes of every column chunk of the column, page headers included. */
  columnSizes: Map<number, number>;
  /** Values including nulls: one per row for a top-level column, one per entry (or per empty/null map) inside a map or list. */
  valueCounts: Map<number, number>;
  nullValueCounts: Map<number, number>;
  /** Appendix D single-value serialization; only for primitives reached through structs alone, as Iceberg does. */
  lowerBounds: Map<number, Buffer>;
  upperBounds: Map<number, Buffer>;
  /** Row group offsets, ascending. */
  splitOffsets: number[];
}

export interface IcebergParquetLimits {
  /** A row group is flushed once it holds this many rows… */
  rowGroupRows: number;
  /** …or about this many bytes of values. */
  rowGroupBytes: number;
  /** A data page is closed (at a row boundary) past this many bytes of values… */
  pageBytes: number;
  /** …or this many rows. */
  pageRows: number;
}

export const DEFAULT_ICEBERG_PARQUET_LIMITS: IcebergParquetLimits = {
  // A quarter of a report's: hyparquet decodes a row group in one call, which held the server's
  // thread ~150 ms at 16,384 rows when the upkeep read there (it reads in the shard thread now);
  // the files grow 1.4%.
  rowGroupRows: 4_096,
  rowGroupBytes: DEFAULT_PARQUET_LIMITS.rowGroupChars,
  pageBytes: DEFAULT_PARQUET_LIMITS.pageBytes,
  pageRows: DEFAULT_PARQUET_LIMITS.pageRows,
};

/** Iceberg's default metrics mode, truncate(16): string and binary bounds are cut to 16 characters or bytes. */
export const DEFAULT_BOUND_LENGTH = 16;

export interface IcebergParquetWriterOptions {
  schema: IcebergSchema;
  sink: ByteSink;
  limits?: Partial<IcebergParquetLimits>;
  /** Characters (string) or bytes (binary) kept in lower/upper bounds; Infinity keeps whole values. */
  boundLength?: number;
  /** boundLength for single columns, by field id: a table's per-column metrics modes. */
  columnBoundLengths?: ReadonlyMap<number, number>;
}

export interface IcebergParquetWriter {
  writeRows(rows: Iterable<IcebergRow>): Promise<void>;
  /** Writes what is buffered and the footer; returns the manifest entry's metrics. */
  finish(): Promise<DataFileMetrics>;
  readonly bytesWritten: number;
  readonly rowsWritten: number;
}

// ---- Parquet's Thrift enums, as far as they are used here (parquet.thrift) ----

const PhysicalType = { BOOLEAN: 0, INT32: 1, INT64: 2, BYTE_ARRAY: 6 } as const;
const ConvertedType = { UTF8: 0, MAP: 1, LIST: 3, TIMESTAMP_MICROS: 10 } as const;
const Repetition = { REQUIRED: 0, OPTIONAL: 1, REPEATED: 2 } as const;
const Encoding = { PLAIN: 0, RLE: 3, RLE_DICTIONARY: 8 } as const;
/** LogicalType union members (field ids). */
const Logical = { STRING: 1, MAP: 2, LIST: 3, TIMESTAMP: 8 } as const;

const MAGIC = Buffer.from("PAR1");
const CREATED_BY = "stocktake (S3 Metadata table writer)";
/** The message type's name, as Iceberg's own writer calls it. */
const ROOT_NAME = "table";

const DICT_MAX_ENTRIES = 40_000;
const DICT_MAX_BYTES = 1024 * 1024;

// ---- the schema, compiled into columns ----

type LeafValue = boolean | number | bigint | string | Uint8Array;

/** One Parquet column (a leaf of the schema): its levels and values for the row group being built. */
class LeafColumn {
  rep: number[] = [];
  def: number[] = [];
  values: LeafValue[] = [];
  levels = 0;
  // Over the whole file, for the manifest entry.
  fileCompressed = 0;
  fileLevels = 0;
  fileNulls = 0;
  fileMin: LeafValue | undefined;
  fileMax: LeafValue | undefined;

  constructor(
    readonly path: string[],
    readonly fieldId: number,
    readonly type: IcebergPrimitiveType,
    readonly maxRep: number,
    readonly maxDef: number,
    /** Iceberg keeps bounds only for primitives outside maps and lists. */
    readonly keepsBounds: boolean,
  ) {}

  add(r: number, d: number, v?: LeafValue): void {
    if (this.maxRep > 0) this.rep.push(r);
    if (this.maxDef > 0) this.def.push(d);
    this.levels++;
    if (d === this.maxDef) this.values.push(v!);
  }

  resetRowGroup(): void {
    this.rep = [];
    this.def = [];
    this.values = [];
    this.levels = 0;
  }
}

interface NodeBase {
  name: string;
  /** Dotted, for error messages. */
  label: string;
  fieldId?: number;
  required: boolean;
  leaves: LeafColumn[];
}
interface PrimitiveNode extends NodeBase {
  kind: "primitive";
  type: IcebergPrimitiveType;
  leaf: LeafColumn;
}
interface StructNode extends NodeBase {
  kind: "struct";
  children: Node[];
  names: Set<string>;
}
interface RepeatedNode extends NodeBase {
  kind: "map" | "list";
  /** The repetition level of a second and later entry. */
  repLevel: number;
  /** The map's key, or the list's element. */
  first: Node;
  /** The map's value. */
  second?: Node;
}
type Node = PrimitiveNode | StructNode | RepeatedNode;

const PRIMITIVES = new Set<string>(["boolean", "int", "long", "string", "timestamp", "timestamptz", "binary"]);

function compileField(
  field: { id: number; name: string; required: boolean; type: IcebergType },
  parentPath: readonly string[],
  parentLabel: string,
  rep: number,
  def: number,
  structsOnly: boolean,
  ids: Set<number>,
): Node {
  const { id, name, required, type } = field;
  if (!Number.isInteger(id) || id < 0 || ids.has(id)) throw new Error(`Iceberg field ${name}: id ${id} is not a unique non-negative integer`);
  if (typeof name !== "string" || name === "") throw new Error(`Iceberg field ${id} has no name`);
  ids.add(id);
  const path = [...parentPath, name];
  const label = parentLabel ? `${parentLabel}.${name}` : name;
  const d = required ? def : def + 1;
  if (typeof type === "string") {
    if (!PRIMITIVES.has(type)) throw new Error(`Iceberg field ${label}: type ${type} is not supported by this writer`);
    const leaf = new LeafColumn(path, id, type, rep, d, structsOnly);
    return { kind: "primitive", name, label, fieldId: id, required, type, leaf, leaves: [leaf] };
  }
  switch (type.type) {
    case "struct": {
      const children = type.fields.map((f) => compileField(f, path, label, rep, d, structsOnly, ids));
      return { kind: "struct", name, label, fieldId: id, required, children, names: new Set(children.map((c) => c.name)), leaves: children.flatMap((c) => c.leaves) };
    }
    case "map": {
      const kv = [...path, "key_value"];
      const first = compileField({ id: type["key-id"], name: "key", required: true, type: type.key }, kv, label, rep + 1, d + 1, false, ids);
      const second = compileField({ id: type["value-id"], name: "value", required: type["value-required"], type: type.value }, kv, label, rep + 1, d + 1, false, ids);
      return { kind: "map", name, label, fieldId: id, required, repLevel: rep + 1, first, second, leaves: [...first.leaves, ...second.leaves] };
    }
    case "list": {
      const first = compileField({ id: type["element-id"], name: "element", required: type["element-required"], type: type.element }, [...path, "list"], label, rep + 1, d + 1, false, ids);
      return { kind: "list", name, label, fieldId: id, required, repLevel: rep + 1, first, leaves: first.leaves };
    }
    default:
      throw new Error(`Iceberg field ${label}: type ${JSON.stringify(type)} is not supported by this writer`);
  }
}

function compileSchema(schema: IcebergSchema): { fields: Node[]; names: Set<string>; leaves: LeafColumn[] } {
  if (schema?.type !== "struct" || !Array.isArray(schema.fields)) throw new Error("an Iceberg schema is a struct with fields");
  const ids = new Set<number>();
  const fields = schema.fields.map((f) => compileField(f, [], "", 0, 0, true, ids));
  return { fields, names: new Set(fields.map((f) => f.name)), leaves: fields.flatMap((f) => f.leaves) };
}

// ---- shredding rows into levels (Dremel) ----

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function typeError(label: string, expected: string, v: unknown): Error {
  const shown = typeof v === "bigint" ? `${v}n` : typeof v === "object" ? Object.prototype.toString.call(v) : JSON.stringify(v);
  return new TypeError(`Iceberg field ${label}: expected ${expected}, got ${shown}`);
}

function int64(label: string, v: unknown, expected: string): number | bigint {
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) throw typeError(label, `${expected} (a safe integer, or a bigint past 2^53)`, v);
    return v;
  }
  if (typeof v === "bigint") {
    if (v < INT64_MIN || v > INT64_MAX) throw typeError(label, `${expected} within 64 bits`, v);
    return v;
  }
  throw typeError(label, expected, v);
}

/** A primitive value checked against its Iceberg type, as the column stores it. */
function primitiveValue(node: PrimitiveNode, v: unknown): LeafValue {
  switch (node.type) {
    case "string":
      if (typeof v !== "string") throw typeError(node.label, "a string", v);
      return v;
    case "long":
      return int64(node.label, v, "a long");
    case "timestamp":
    case "timestamptz": {
      if (v instanceof Date) {
        const ms = v.getTime();
        if (Number.isNaN(ms)) throw typeError(node.label, "a valid Date", v);
        const micros = ms * 1000;
        return Number.isSafeInteger(micros) ? micros : BigInt(ms) * 1000n;
      }
      return int64(node.label, v, "epoch microseconds or a Date");
    }
    case "boolean":
      if (typeof v !== "boolean") throw typeError(node.label, "a boolean", v);
      return v;
    case "int": {
      const n = typeof v === "bigint" ? Number(v) : v;
      if (typeof n !== "number" || !Number.isInteger(n) || n < INT32_MIN || n > INT32_MAX) throw typeError(node.label, "an int (32 bits)", v);
      return n;
    }
    case "binary":
      if (!(v instanceof Uint8Array)) throw typeError(node.label, "a Uint8Array", v);
      return v;
  }
}

function valueSize(v: LeafValue): number {
  switch (typeof v) {
    case "string":
      return v.length + 4;
    case "boolean":
      return 1;
    case "number":
    case "bigint":
      return 8;
    default:
      return v.length + 4;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Map) && !(v instanceof Uint8Array) && !(v instanceof Date);
}

/** Shreds rows into the leaves' levels; returns the bytes of values added (the row group bound). */
class Shredder {
  bytes = 0;
  constructor(private readonly fields: readonly Node[], private readonly names: ReadonlySet<string>) {}

  row(row: IcebergRow): void {
    if (!isPlainObject(row)) throw new TypeError(`a row is an object keyed by field name, got ${Object.prototype.toString.call(row)}`);
    for (const k in row) if (!this.names.has(k)) throw new Error(`the row has a field the schema does not: ${k}`);
    for (const f of this.fields) this.node(f, row[f.name], 0, 0);
  }

  /** r: the repetition level for this value; d: the definition level its parent reached. */
  private node(node: Node, v: unknown, r: number, d: number): void {
    if (v === null || v === undefined) {
      if (node.required) throw new Error(`Iceberg field ${node.label} is required but the row has no value`);
      for (const leaf of node.leaves) leaf.add(r, d);
      return;
    }
    const dd = node.required ? d : d + 1;
    switch (node.kind) {
      case "primitive": {
        const value = primitiveValue(node, v);
        this.bytes += valueSize(value);
        node.leaf.add(r, dd, value);
        return;
      }
      case "struct": {
        if (!isPlainObject(v)) throw typeError(node.label, "an object (struct)", v);
        for (const k in v) if (!node.names.has(k)) throw new Error(`Iceberg field ${node.label} has no field ${k}`);
        for (const c of node.children) this.node(c, v[c.name], r, dd);
        return;
      }
      case "map": {
        const entries = v instanceof Map ? v : isPlainObject(v) ? Object.entries(v) : undefined;
        if (!entries) throw typeError(node.label, "a Map or an object (map)", v);
        let rr = r;
        for (const [key, value] of entries) {
          this.node(node.first, key, rr, dd + 1);
          this.node(node.second!, value, rr, dd + 1);
          rr = node.repLevel;
        }
        // An empty map is present (dd) but has no key_value entry: its leaves get a level and no value.
        if (rr === r) for (const leaf of node.leaves) leaf.add(r, dd);
        return;
      }
      case "list": {
        if (!Array.isArray(v)) throw typeError(node.label, "an array (list)", v);
        for (let i = 0; i < v.length; i++) this.node(node.first, v[i], i === 0 ? r : node.repLevel, dd + 1);
        if (v.length === 0) for (const leaf of node.leaves) leaf.add(r, dd);
        return;
      }
    }
  }
}

// ---- values: order, PLAIN encoding, bounds ----

function compareValues(type: IcebergPrimitiveType, a: LeafValue, b: LeafValue): number {
  switch (type) {
    case "string":
      return compareUtf8(a as string, b as string);
    case "binary":
      return Buffer.compare(a as Uint8Array, b as Uint8Array);
    case "boolean":
      return Number(a) - Number(b);
    default:
      // number and bigint compare with < across the two.
      return a < b ? -1 : a > b ? 1 : 0;
  }
}

function writeInt64(buf: Buffer, off: number, v: number | bigint): void {
  if (typeof v === "bigint") {
    buf.writeBigInt64LE(v, off);
    return;
  }
  const hi = Math.floor(v / 4294967296);
  buf.writeUInt32LE(v - hi * 4294967296, off);
  buf.writeInt32LE(hi, off + 4);
}

/** Appends values[from, to) in PLAIN encoding. */
function appendPlain(type: IcebergPrimitiveType, values: readonly LeafValue[], from: number, to: number, out: ByteBuilder): void {
  switch (type) {
    case "boolean": {
      out.ensure((to - from + 7) >> 3);
      let acc = 0;
      let bit = 0;
      for (let i = from; i < to; i++) {
        if (values[i]) acc |= 1 << bit;
        if (++bit === 8) {
          out.buf[out.length++] = acc;
          acc = 0;
          bit = 0;
        }
      }
      if (bit > 0) out.buf[out.length++] = acc;
      return;
    }
    case "int":
      out.ensure((to - from) * 4);
      for (let i = from; i < to; i++) {
        out.buf.writeInt32LE(values[i] as number, out.length);
        out.length += 4;
      }
      return;
    case "long":
    case "timestamp":
    case "timestamptz":
      out.ensure((to - from) * 8);
      for (let i = from; i < to; i++) {
        writeInt64(out.buf, out.length, values[i] as number | bigint);
        out.length += 8;
      }
      return;
    case "string":
      for (let i = from; i < to; i++) {
        const s = values[i] as string;
        out.ensure(4 + s.length * 3);
        const n = out.buf.write(s, out.length + 4, "utf8");
        out.buf.writeUInt32LE(n, out.length);
        out.length += 4 + n;
      }
      return;
    case "binary":
      for (let i = from; i < to; i++) {
        const b = values[i] as Uint8Array;
        out.ensure(4 + b.length);
        out.buf.writeUInt32LE(b.length, out.length);
        out.buf.set(b, out.length + 4);
        out.length += 4 + b.length;
      }
      return;
  }
}

/**
 * A value in Iceberg's binary single-value serialization (Appendix D), which for these types is
 * also Parquet's PLAIN encoding without a length prefix, as Parquet statistics store values.
 */
export function singleValueBytes(type: IcebergPrimitiveType, v: LeafValue): Buffer {
  switch (type) {
    case "boolean":
      return Buffer.from([v ? 1 : 0]);
    case "int": {
      const b = Buffer.alloc(4);
      b.writeInt32LE(v as number);
      return b;
    }
    case "long":
    case "timestamp":
    case "timestamptz": {
      const b = Buffer.alloc(8);
      writeInt64(b, 0, v as number | bigint);
      return b;
    }
    case "string":
      return Buffer.from(v as string, "utf8");
    case "binary":
      return Buffer.from(v as Uint8Array);
  }
}

/** The first n code points of s: a lower bound of every string that starts like s. */
export function truncateStringLower(s: string, n: number): string {
  const points = Array.from(s);
  return points.length <= n ? s : points.slice(0, n).join("");
}

/**
 * The shortest string of at most n code points above every string that starts like s: its prefix
 * with the last code point incremented (past the surrogates, dropping U+10FFFF); undefined when no
 * such string exists, and then the column has no upper bound.
 */
export function truncateStringUpper(s: string, n: number): string | undefined {
  const points = Array.from(s);
  if (points.length <= n) return s;
  const cps = points.slice(0, n).map((p) => p.codePointAt(0)!);
  while (cps.length > 0) {
    let next = cps.pop()! + 1;
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000;
    if (next <= 0x10ffff) return String.fromCodePoint(...cps, next);
  }
  return undefined;
}

export function truncateBinaryUpper(b: Uint8Array, n: number): Buffer | undefined {
  if (b.length <= n) return Buffer.from(b);
  const out = Buffer.from(b.subarray(0, n));
  for (let i = n - 1; i >= 0; i--) {
    if (out[i]! < 0xff) {
      out[i]!++;
      return out.subarray(0, i + 1);
    }
  }
  return undefined;
}

function lowerBound(type: IcebergPrimitiveType, v: LeafValue, n: number): Buffer {
  if (type === "string") return Buffer.from(truncateStringLower(v as string, n), "utf8");
  if (type === "binary") return Buffer.from((v as Uint8Array).subarray(0, n));
  return singleValueBytes(type, v);
}

function upperBound(type: IcebergPrimitiveType, v: LeafValue, n: number): Buffer | undefined {
  if (type === "string") {
    const s = truncateStringUpper(v as string, n);
    return s === undefined ? undefined : Buffer.from(s, "utf8");
  }
  if (type === "binary") return truncateBinaryUpper(v as Uint8Array, n);
  return singleValueBytes(type, v);
}

// ---- column chunks ----

const PHYSICAL: Record<IcebergPrimitiveType, number> = {
  boolean: PhysicalType.BOOLEAN,
  int: PhysicalType.INT32,
  long: PhysicalType.INT64,
  timestamp: PhysicalType.INT64,
  timestamptz: PhysicalType.INT64,
  string: PhysicalType.BYTE_ARRAY,
  binary: PhysicalType.BYTE_ARRAY,
};

type ChunkMeta = ChunkPlacement & { leaf: LeafColumn };
type RowGroupMeta = RowGroupPlacement<ChunkMeta>;

function bitWidth(max: number): number {
  let w = 0;
  while (max >> w) w++;
  return w;
}

/** A dictionary for a string column whose values repeat, else undefined. */
function stringDictionary(values: readonly LeafValue[]): { entries: string[]; indices: Uint32Array } | undefined {
  if (values.length < 2) return undefined;
  const map = new Map<string, number>();
  const entries: string[] = [];
  const indices = new Uint32Array(values.length);
  let bytes = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as string;
    let k = map.get(v);
    if (k === undefined) {
      k = entries.length;
      bytes += v.length;
      if (k >= DICT_MAX_ENTRIES || bytes > DICT_MAX_BYTES) return undefined;
      map.set(v, k);
      entries.push(v);
    }
    indices[i] = k;
  }
  if (entries.length > 16 && entries.length * 2 > values.length) return undefined;
  return { entries, indices };
}

/** Encodes a leaf's row group into pages; pages end at row boundaries (repetition level 0). */
class ChunkEncoder {
  private readonly levels = new ByteBuilder(64 * 1024);
  private readonly body = new ByteBuilder(1024 * 1024 + 128 * 1024);

  constructor(private readonly limits: IcebergParquetLimits) {}

  encode(leaf: LeafColumn): { chunk: ChunkBuilder; meta: Omit<ChunkMeta, "fileOffset" | "dataPageOffset" | "dictionaryPageOffset"> } {
    const { values, levels: n, maxRep, maxDef, type } = leaf;
    const rep = maxRep > 0 ? leaf.rep : undefined;
    const def = maxDef > 0 ? leaf.def : undefined;
    const chunk = new ChunkBuilder();
    const dict = type === "string" ? stringDictionary(values) : undefined;
    let encodings: number[] = [Encoding.PLAIN, Encoding.RLE];
    let indexWidth = 0;
    if (dict) {
      this.body.length = 0;
      appendPlain("string", dict.entries, 0, dict.entries.length, this.body);
      chunk.dictionaryPage(this.body.view(), dict.entries.length);
      indexWidth = Math.max(1, bitWidth(dict.entries.length - 1));
      encodings = [Encoding.PLAIN, Encoding.RLE, Encoding.RLE_DICTIONARY];
    }
    const { pageRows, pageBytes } = this.limits;
    let lv = 0;
    let vi = 0;
    while (lv < n) {
      const lv0 = lv;
      const vi0 = vi;
      let rows = 0;
      let bytes = 0;
      while (lv < n) {
        if (!rep || rep[lv] === 0) {
          if (rows >= pageRows || bytes >= pageBytes) break;
          rows++;
        }
        if (!def || def[lv] === maxDef) bytes += valueSize(values[vi++]!);
        lv++;
      }
      this.body.length = 0;
      if (rep) this.appendLevels(rep, lv0, lv, bitWidth(maxRep));
      if (def) this.appendLevels(def, lv0, lv, bitWidth(maxDef));
      if (dict) {
        this.body.byte(indexWidth);
        encodeHybrid(dict.indices, vi0, vi, indexWidth, this.body);
      } else {
        appendPlain(type, values, vi0, vi, this.body);
      }
      chunk.dataPage(this.body.view(), lv - lv0, dict ? Encoding.RLE_DICTIONARY : Encoding.PLAIN);
    }

    let min: LeafValue | undefined;
    let max: LeafValue | undefined;
    for (const v of dict ? dict.entries : values) {
      if (min === undefined || compareValues(type, v, min) < 0) min = v;
      if (max === undefined || compareValues(type, v, max) > 0) max = v;
    }
    const nullCount = n - values.length;
    leaf.fileCompressed += chunk.compressed;
    leaf.fileLevels += n;
    leaf.fileNulls += nullCount;
    if (min !== undefined && (leaf.fileMin === undefined || compareValues(type, min, leaf.fileMin) < 0)) leaf.fileMin = min;
    if (max !== undefined && (leaf.fileMax === undefined || compareValues(type, max, leaf.fileMax) > 0)) leaf.fileMax = max;
    return {
      chunk,
      meta: {
        leaf,
        encodings,
        numValues: n,
        uncompressed: chunk.uncompressed,
        compressed: chunk.compressed,
        nullCount,
        ...(min === undefined ? {} : { min: singleValueBytes(type, min), max: singleValueBytes(type, max!) }),
      },
    };
  }

  /** Levels of a v1 data page: their byte length (4 bytes) and the RLE/bit-packed hybrid. */
  private appendLevels(levels: readonly number[], from: number, to: number, width: number): void {
    this.levels.length = 0;
    encodeHybrid(levels, from, to, width, this.levels);
    this.body.ensure(4);
    this.body.buf.writeUInt32LE(this.levels.length, this.body.length);
    this.body.length += 4;
    this.body.bytes(this.levels.view());
  }
}

// ---- the footer ----

interface SchemaElementSpec {
  name: string;
  fieldId?: number;
  type?: number;
  repetition?: number;
  children?: number;
  converted?: number;
  logical?: (w: CompactWriter) => void;
}

const stringLogical = (w: CompactWriter) => w.struct(Logical.STRING, () => {});
// TIMESTAMP(isAdjustedToUTC, MICROS): TimestampType { 1: bool, 2: TimeUnit { 2: MicroSeconds } }.
const timestampLogical = (utc: boolean) => (w: CompactWriter) => w.struct(Logical.TIMESTAMP, (w) => w.bool(1, utc).struct(2, (w) => w.struct(2, () => {})));

/** The node's SchemaElements, depth first, as the footer lists them. */
function schemaElements(node: Node, out: SchemaElementSpec[]): void {
  const repetition = node.required ? Repetition.REQUIRED : Repetition.OPTIONAL;
  const { name, fieldId } = node;
  switch (node.kind) {
    case "primitive": {
      const t = node.type;
      const timestamp = t === "timestamp" || t === "timestamptz";
      // Converted types too, for readers older than logical types (LogicalTypes.md asks for
      // TIMESTAMP_MICROS on local timestamps as well).
      out.push({
        name,
        fieldId,
        type: PHYSICAL[t],
        repetition,
        converted: t === "string" ? ConvertedType.UTF8 : timestamp ? ConvertedType.TIMESTAMP_MICROS : undefined,
        logical: t === "string" ? stringLogical : timestamp ? timestampLogical(t === "timestamptz") : undefined,
      });
      return;
    }
    case "struct":
      out.push({ name, fieldId, repetition, children: node.children.length });
      for (const c of node.children) schemaElements(c, out);
      return;
    case "map":
    case "list": {
      // <repetition> group <name> (MAP) { repeated group key_value { required key; value } }
      // <repetition> group <name> (LIST) { repeated group list { element } }
      const map = node.kind === "map";
      out.push({ name, fieldId, repetition, children: 1, converted: map ? ConvertedType.MAP : ConvertedType.LIST, logical: (w) => w.struct(map ? Logical.MAP : Logical.LIST, () => {}) });
      out.push({ name: map ? "key_value" : "list", repetition: Repetition.REPEATED, children: map ? 2 : 1 });
      schemaElements(node.first, out);
      if (node.second) schemaElements(node.second, out);
      return;
    }
  }
}

function footer(schema: IcebergSchema, fields: readonly Node[], leaves: readonly LeafColumn[], rowGroups: readonly RowGroupMeta[], numRows: number): Buffer {
  const elements: SchemaElementSpec[] = [{ name: ROOT_NAME, children: fields.length }];
  for (const f of fields) schemaElements(f, elements);
  const w = new CompactWriter();
  w.i32(1, 1);
  w.listStruct(2, elements, (w, e) => {
    if (e.type !== undefined) w.i32(1, e.type);
    if (e.repetition !== undefined) w.i32(3, e.repetition);
    w.string(4, e.name);
    if (e.children !== undefined) w.i32(5, e.children);
    if (e.converted !== undefined) w.i32(6, e.converted);
    if (e.fieldId !== undefined) w.i32(9, e.fieldId);
    if (e.logical) w.struct(10, e.logical);
  });
  w.i64(3, numRows);
  writeRowGroups(w, rowGroups, (c) => ({ type: PHYSICAL[c.leaf.type], path: c.leaf.path }));
  // Iceberg's own writer leaves the table schema here too; readers that map by field id need no more.
  w.listStruct(5, [["iceberg.schema", JSON.stringify(schema)]], (w, [k, v]) => w.string(1, k).string(2, v));
  w.string(6, CREATED_BY);
  // Type-defined order (signed integers, unsigned bytes for strings and binary) for every column.
  w.listStruct(7, leaves, (w) => w.struct(1, () => {}));
  return w.finish();
}

// ---- the writer ----

export function createIcebergParquetWriter(options: IcebergParquetWriterOptions): IcebergParquetWriter {
  const { schema, sink } = options;
  const limits: IcebergParquetLimits = { ...DEFAULT_ICEBERG_PARQUET_LIMITS, ...options.limits };
  const boundLength = options.boundLength ?? DEFAULT_BOUND_LENGTH;
  const { fields, names, leaves } = compileSchema(schema);
  const shredder = new Shredder(fields, names);
  const encoder = new ChunkEncoder(limits);
  const rowGroups: RowGroupMeta[] = [];
  let groupRows = 0;
  let rowsWritten = 0;
  let offset = 0;
  let finished = false;
  let failed: unknown;

  const emit = async (chunk: Buffer) => {
    offset += chunk.length;
    await sink(chunk);
  };
  const flush = async () => {
    if (groupRows === 0) return;
    if (offset === 0) await emit(MAGIC);
    const rg: RowGroupMeta = { chunks: [], rows: groupRows, fileOffset: offset, uncompressed: 0, compressed: 0 };
    groupRows = 0;
    shredder.bytes = 0;
    for (const leaf of leaves) {
      // A row group's columns are encoded one by one, the server's requests served in between.
      await yieldToRequests();
      const { chunk, meta } = encoder.encode(leaf);
      leaf.resetRowGroup();
      const start = offset;
      const dictionary = chunk.dictionaryBytes > 0;
      rg.chunks.push({ ...meta, fileOffset: start, dictionaryPageOffset: dictionary ? start : undefined, dataPageOffset: start + chunk.dictionaryBytes });
      rg.uncompressed += chunk.uncompressed;
      rg.compressed += chunk.compressed;
      await emit(Buffer.concat(chunk.parts));
    }
    rowGroups.push(rg);
  };

  const metrics = (): DataFileMetrics => {
    const m: DataFileMetrics = {
      recordCount: rowsWritten,
      fileSizeInBytes: offset,
      columnSizes: new Map(),
      valueCounts: new Map(),
      nullValueCounts: new Map(),
      lowerBounds: new Map(),
      upperBounds: new Map(),
      splitOffsets: rowGroups.map((rg) => rg.fileOffset),
    };
    for (const leaf of leaves) {
      m.columnSizes.set(leaf.fieldId, leaf.fileCompressed);
      m.valueCounts.set(leaf.fieldId, leaf.fileLevels);
      m.nullValueCounts.set(leaf.fieldId, leaf.fileNulls);
      if (!leaf.keepsBounds || leaf.fileMin === undefined) continue;
      const length = options.columnBoundLengths?.get(leaf.fieldId) ?? boundLength;
      m.lowerBounds.set(leaf.fieldId, lowerBound(leaf.type, leaf.fileMin, length));
      const upper = upperBound(leaf.type, leaf.fileMax!, length);
      if (upper) m.upperBounds.set(leaf.fieldId, upper);
    }
    return m;
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
      if (failed) throw failed;
      for (const row of rows) {
        try {
          shredder.row(row);
        } catch (err) {
          // A row that failed halfway left levels in some columns: the file cannot be finished.
          failed = err;
          throw err;
        }
        groupRows++;
        rowsWritten++;
        if (groupRows >= limits.rowGroupRows || shredder.bytes >= limits.rowGroupBytes) await flush();
      }
    },
    async finish() {
      if (failed) throw failed;
      if (finished) return metrics();
      finished = true;
      await flush();
      if (offset === 0) await emit(MAGIC);
      const meta = footer(schema, fields, leaves, rowGroups, rowsWritten);
      const tail = Buffer.alloc(8);
      tail.writeUInt32LE(meta.length, 0);
      MAGIC.copy(tail, 4);
      await emit(Buffer.concat([meta, tail]));
      return metrics();
    },
  };
}

/** Rows shredded between two turns of the event loop, in files written or read whole in memory. */
export const ROWS_PER_SLICE = 2048;

/** A whole data file in memory (a journal commit's rows, a shard of the inventory), with its metrics. */
export async function writeIcebergParquet(
  schema: IcebergSchema,
  rows: Iterable<IcebergRow>,
  options: Omit<IcebergParquetWriterOptions, "schema" | "sink"> = {},
): Promise<{ bytes: Buffer; metrics: DataFileMetrics }> {
  const parts: Buffer[] = [];
  const writer = createIcebergParquetWriter({ ...options, schema, sink: async (c) => void parts.push(c) });
  // The backfill writes shards of 100,000 rows on the server's thread: in slices, with the
  // requests that arrived meanwhile served between them, not in one block of a second or more.
  let slice: IcebergRow[] = [];
  for (const row of rows) {
    slice.push(row);
    if (slice.length === ROWS_PER_SLICE) {
      await writer.writeRows(slice);
      slice = [];
      await yieldToRequests();
    }
  }
  await writer.writeRows(slice);
  const metrics = await writer.finish();
  return { bytes: Buffer.concat(parts), metrics };
}
