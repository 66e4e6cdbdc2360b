// Apache Avro 1.11 binary encoding and object container files, as Iceberg's manifest lists and
// manifests use them (https://avro.apache.org/docs/1.11.1/specification/). Only the "null" and
// "deflate" codecs: they are the two every Avro reader must support, so any Iceberg reader opens
// what we write. Schemas are kept as the caller wrote them and embedded with JSON.stringify, so
// Iceberg's extra attributes ("field-id", "element-id", "key-id", "value-id", logicalType "map")
// reach readers unchanged.
import { randomBytes } from "node:crypto";
import { deflateRawSync, inflateRawSync } from "node:zlib";

export type AvroPrimitive = "null" | "boolean" | "int" | "long" | "float" | "double" | "bytes" | "string";
/** Extra attributes (Iceberg's ids, logicalType, doc...) are allowed anywhere and kept as written. */
interface Attributes {
  [attribute: string]: unknown;
}
export interface AvroField extends Attributes { name: string; type: AvroSchema; default?: unknown; doc?: string; "field-id"?: number }
export interface AvroRecord extends Attributes { type: "record"; name: string; namespace?: string; fields: AvroField[] }
export interface AvroArray extends Attributes { type: "array"; items: AvroSchema; "element-id"?: number; logicalType?: string }
export interface AvroMap extends Attributes { type: "map"; values: AvroSchema; "key-id"?: number; "value-id"?: number }
export interface AvroFixed extends Attributes { type: "fixed"; name: string; namespace?: string; size: number }
export interface AvroEnum extends Attributes { type: "enum"; name: string; namespace?: string; symbols: string[] }
/** A primitive in object form, e.g. {type: "int", logicalType: "date"}. */
export interface AvroAnnotatedPrimitive extends Attributes { type: AvroPrimitive; logicalType?: string }
type AvroNamed = AvroRecord | AvroFixed | AvroEnum;
/** A primitive name, the name of a type defined earlier in the schema, a union (array) or a complex type. */
export type AvroSchema = AvroPrimitive | (string & {}) | AvroSchema[] | AvroRecord | AvroArray | AvroMap | AvroFixed | AvroEnum | AvroAnnotatedPrimitive;
export type AvroCodec = "null" | "deflate";

const PRIMITIVES = new Set<string>(["null", "boolean", "int", "long", "float", "double", "bytes", "string"]);
const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]); // "Obj" 1
const SYNC_SIZE = 16;
// Java Avro's default sync interval (DataFileConstants.DefaultSyncInterval, 4000 × 16 bytes):
// blocks of about this size keep memory bounded for readers that decode a block at a time.
const BLOCK_BYTES = 64_000;
const INT_RANGE = [-(2n ** 31n), 2n ** 31n - 1n] as const;
const LONG_RANGE = [-(2n ** 63n), 2n ** 63n - 1n] as const;
const COMPLEX = new Set<unknown>(["record", "enum", "fixed", "array", "map"]);

type Names = Map<string, AvroNamed>;

/** Registers named types (by full and short name) and rejects malformed or unknown types up front. */
function collectNames(schema: AvroSchema, names: Names = new Map(), namespace = ""): Names {
  if (typeof schema === "string") {
    if (!PRIMITIVES.has(schema) && !names.has(schema)) throw new TypeError(`Avro schema: unknown type ${JSON.stringify(schema)}`);
    return names;
  }
  if (Array.isArray(schema)) {
    for (const branch of schema) collectNames(branch, names, namespace);
    return names;
  }
  if (schema === null || typeof schema !== "object") throw new TypeError(`Avro schema: not a schema: ${JSON.stringify(schema)}`);
  switch (schema.type) {
    case "record":
    case "enum":
    case "fixed": {
      const named = schema as AvroNamed;
      const ns = named.name.includes(".") ? named.name.slice(0, named.name.lastIndexOf(".")) : (named.namespace ?? namespace);
      const short = named.name.slice(named.name.lastIndexOf(".") + 1);
      for (const key of new Set([ns ? `${ns}.${short}` : short, short])) if (!names.has(key)) names.set(key, named);
      if (named.type === "record") {
        if (!Array.isArray(named.fields)) throw new TypeError(`Avro schema: record ${named.name} has no fields array`);
        for (const field of named.fields) collectNames(field.type, names, ns);
      } else if (named.type === "fixed" && !(Number.isInteger(named.size) && named.size >= 0)) {
        throw new TypeError(`Avro schema: fixed ${named.name} needs a non-negative integer size`);
      } else if (named.type === "enum" && !Array.isArray(named.symbols)) {
        throw new TypeError(`Avro schema: enum ${named.name} has no symbols`);
      }
      return names;
    }
    case "array":
      return collectNames((schema as AvroArray).items, names, namespace);
    case "map":
      return collectNames((schema as AvroMap).values, names, namespace);
    default:
      return collectNames(schema.type as AvroSchema, names, namespace);
  }
}

/** Follows named references and object-form primitives to the schema that decides the encoding. */
function resolve(schema: AvroSchema, names: Names): AvroSchema {
  while (typeof schema === "string" && !PRIMITIVES.has(schema)) schema = names.get(schema)!;
  while (typeof schema === "object" && !Array.isArray(schema) && !COMPLEX.has(schema.type)) schema = resolve(schema.type as AvroSchema, names);
  return schema;
}

class Out {
  buf = Buffer.allocUnsafe(4096);
  len = 0;
  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(bigger, 0, 0, this.len);
    this.buf = bigger;
  }
  byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }
  raw(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  /** Zigzag varint; numbers under 2^30 in magnitude take the 32-bit path, the rest go through bigint. */
  long(v: number | bigint): void {
    if (typeof v === "number" && v >= -0x40000000 && v < 0x40000000) {
      let z = ((v << 1) ^ (v >> 31)) >>> 0;
      while (z > 0x7f) {
        this.byte((z & 0x7f) | 0x80);
        z >>>= 7;
      }
      return this.byte(z);
    }
    const b = BigInt(v);
    let z = BigInt.asUintN(64, (b << 1n) ^ (b >> 63n));
    while (z > 0x7fn) {
      this.byte(Number(z & 0x7fn) | 0x80);
      z >>= 7n;
    }
    this.byte(Number(z));
  }
  bytes(b: Uint8Array): void {
    this.long(b.length);
    this.raw(b);
  }
  string(s: string): void {
    const n = Buffer.byteLength(s, "utf8");
    this.long(n);
    this.reserve(n);
    this.len += this.buf.write(s, this.len, "utf8");
  }
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.len));
    this.len = 0;
    return out;
  }
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === "string") return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return `${typeof value} ${value}`;
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  return Array.isArray(value) ? "array" : value instanceof Map ? "Map" : typeof value;
}

function fail(path: string, expected: string, value: unknown): never {
  throw new TypeError(`Avro value at ${path}: expected ${expected}, got ${describe(value)}`);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Map);

function integer(value: unknown, [min, max]: readonly [bigint, bigint]): number | bigint | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= Number(min) && value <= Number(max) ? value : undefined;
  if (typeof value === "bigint") return value >= min && value <= max ? value : undefined;
  return undefined;
}

const fieldNames = new WeakMap<AvroRecord, Set<string>>();
function unknownField(record: AvroRecord, value: Record<string, unknown>): string | undefined {
  let known = fieldNames.get(record);
  if (!known) fieldNames.set(record, (known = new Set(record.fields.map((f) => f.name))));
  return Object.keys(value).find((key) => !known.has(key) && value[key] !== undefined);
}

/** Whether a value is of the schema's kind, shallowly: enough to pick a union's branch. */
function fits(schema: AvroSchema, value: unknown, names: Names): boolean {
  const s = resolve(schema, names);
  if (Array.isArray(s)) return false; // unions may not contain unions directly
  switch (typeof s === "string" ? s : s.type) {
    case "null": return value === null || value === undefined;
    case "boolean": return typeof value === "boolean";
    case "int": return integer(value, INT_RANGE) !== undefined;
    case "long": return integer(value, LONG_RANGE) !== undefined;
    case "float": case "double": return typeof value === "number";
    case "bytes": return value instanceof Uint8Array;
    case "string": return typeof value === "string";
    case "record": return isPlainObject(value);
    case "map": return isPlainObject(value) || value instanceof Map;
    case "array": return Array.isArray(value);
    case "fixed": return value instanceof Uint8Array && value.length === (s as AvroFixed).size;
    case "enum": return typeof value === "string" && (s as AvroEnum).symbols.includes(value);
    default: return false;
  }
}

function encode(out: Out, schema: AvroSchema, value: unknown, names: Names, path: string): void {
  const s = resolve(schema, names);
  if (Array.isArray(s)) {
    const start = out.len;
    let firstError: unknown;
    for (let i = 0; i < s.length; i++) {
      if (!fits(s[i], value, names)) continue;
      try {
        out.long(i);
        return encode(out, s[i], value, names, path);
      } catch (err) {
        out.len = start; // several branches may fit shallowly (records); try the next one
        firstError ??= err;
      }
    }
    if (firstError) throw firstError;
    return fail(path, `one of ${JSON.stringify(s.map((b) => (typeof b === "object" && !Array.isArray(b) ? (b.name ?? b.type) : b)))}`, value);
  }
  switch (typeof s === "string" ? s : s.type) {
    case "null":
      if (value !== null && value !== undefined) fail(path, "null", value);
      return;
    case "boolean":
      if (typeof value !== "boolean") fail(path, "boolean", value);
      return out.byte(value ? 1 : 0);
    case "int": {
      const v = integer(value, INT_RANGE);
      return v === undefined ? fail(path, "int (a 32-bit integer)", value) : out.long(v);
    }
    case "long": {
      const v = integer(value, LONG_RANGE);
      if (v === undefined) fail(path, "long (a safe integer number, or a bigint beyond 2^53)", value);
      return out.long(v);
    }
    case "float":
      if (typeof value !== "number") fail(path, "float", value);
      out.reserve(4);
      out.len = out.buf.writeFloatLE(value, out.len);
      return;
    case "double":
      if (typeof value !== "number") fail(path, "double", value);
      out.reserve(8);
      out.len = out.buf.writeDoubleLE(value, out.len);
      return;
    case "bytes":
      if (!(value instanceof Uint8Array)) fail(path, "bytes (a Buffer or Uint8Array)", value);
      return out.bytes(value);
    case "string":
      if (typeof value !== "string") fail(path, "string", value);
      return out.string(value);
    case "record": {
      const record = s as AvroRecord;
      if (!isPlainObject(value)) fail(path, `record ${record.name}`, value);
      const extra = unknownField(record, value);
      if (extra !== undefined) throw new TypeError(`Avro value at ${path}: record ${record.name} has no field ${JSON.stringify(extra)}`);
      for (const field of record.fields) {
        const v = value[field.name] === undefined && "default" in field ? field.default : value[field.name];
        encode(out, field.type, v, names, `${path}.${field.name}`);
      }
      return;
    }
    case "array": {
      if (!Array.isArray(value)) fail(path, "array", value);
      if (value.length) out.long(value.length);
      for (let i = 0; i < value.length; i++) encode(out, (s as AvroArray).items, value[i], names, `${path}[${i}]`);
      return out.byte(0);
    }
    case "map": {
      if (!isPlainObject(value) && !(value instanceof Map)) fail(path, "map (an object or Map with string keys)", value);
      const entries = value instanceof Map ? [...value] : Object.entries(value);
      if (entries.length) out.long(entries.length);
      for (const [key, v] of entries) {
        if (typeof key !== "string") fail(`${path} key`, "string", key);
        out.string(key);
        encode(out, (s as AvroMap).values, v, names, `${path}[${JSON.stringify(key)}]`);
      }
      return out.byte(0);
    }
    case "fixed": {
      const size = (s as AvroFixed).size;
      if (!(value instanceof Uint8Array) || value.length !== size) fail(path, `fixed ${(s as AvroFixed).name} of ${size} bytes`, value);
      return out.raw(value);
    }
    case "enum": {
      const index = typeof value === "string" ? (s as AvroEnum).symbols.indexOf(value) : -1;
      if (index < 0) fail(path, `one of the symbols ${JSON.stringify((s as AvroEnum).symbols)}`, value);
      return out.long(index);
    }
  }
}

const rootPath = (schema: AvroSchema): string =>
  typeof schema === "object" && !Array.isArray(schema) && schema.type === "record" ? (schema as AvroRecord).name : "value";

/** One datum in Avro's binary encoding; throws a TypeError naming the path of a value that does not fit. */
export function encodeValue(schema: AvroSchema, value: unknown): Buffer {
  const out = new Out();
  encode(out, schema, value, collectNames(schema), rootPath(schema));
  return out.take();
}

export interface AvroContainerOptions {
  schema: AvroSchema;
  /** File metadata beside avro.schema and avro.codec (Iceberg keeps its schema, spec and ids here). */
  metadata?: Record<string, string | Buffer>;
  records: Iterable<unknown>;
  codec?: AvroCodec;
  /** A block ends after this many records (default 1000) or about 64 kB of encoded data. */
  recordsPerBlock?: number;
}

export function writeAvroContainer(options: AvroContainerOptions): Buffer {
  const { schema, metadata = {}, records, codec = "null", recordsPerBlock = 1000 } = options;
  if (codec !== "null" && codec !== "deflate") throw new TypeError(`Avro: unsupported codec ${JSON.stringify(codec)}`);
  if (!(recordsPerBlock >= 1)) throw new RangeError("Avro: recordsPerBlock must be at least 1");
  const names = collectNames(schema);
  const meta = new Map<string, Uint8Array>([
    ["avro.schema", Buffer.from(JSON.stringify(schema))],
    ["avro.codec", Buffer.from(codec)],
  ]);
  for (const [key, value] of Object.entries(metadata)) {
    if (key.startsWith("avro.")) throw new TypeError(`Avro: metadata key ${JSON.stringify(key)} is reserved by the Avro specification`);
    meta.set(key, typeof value === "string" ? Buffer.from(value) : value);
  }
  const sync = randomBytes(SYNC_SIZE);
  const file = new Out();
  file.raw(MAGIC);
  file.long(meta.size);
  for (const [key, value] of meta) {
    file.string(key);
    file.bytes(value);
  }
  file.byte(0);
  file.raw(sync);

  const block = new Out();
  let inBlock = 0;
  const flush = () => {
    if (!inBlock) return;
    const data = codec === "deflate" ? deflateRawSync(block.take()) : block.take();
    file.long(inBlock);
    file.bytes(data); // a block's size and bytes are laid out exactly as a bytes value
    file.raw(sync);
    inBlock = 0;
  };
  let index = 0;
  for (const record of records) {
    encode(block, schema, record, names, `records[${index++}]`);
    if (++inBlock >= recordsPerBlock || block.len >= BLOCK_BYTES) flush();
  }
  flush();
  return file.take();
}

class In {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  take(n: number): Buffer {
    if (n < 0 || this.pos + n > this.buf.length) throw new RangeError(`Avro: truncated data at byte ${this.pos}`);
    return this.buf.subarray(this.pos, (this.pos += n));
  }
  byte(): number {
    if (this.pos >= this.buf.length) throw new RangeError(`Avro: truncated data at byte ${this.pos}`);
    return this.buf[this.pos++];
  }
  /** A long as a number when it is a safe integer, else as a bigint. */
  long(): number | bigint {
    let acc = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) { // up to 49 bits stay exact in a double
      const b = this.byte();
      acc += (b & 0x7f) * scale;
      if (b < 0x80) return acc % 2 === 0 ? acc / 2 : -(acc + 1) / 2;
      scale *= 128;
    }
    let z = BigInt(acc);
    for (let shift = 49n; ; shift += 7n) {
      if (shift > 63n) throw new RangeError("Avro: varint longer than 10 bytes");
      const b = this.byte();
      z |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    z = BigInt.asUintN(64, z);
    const v = (z >> 1n) ^ -(z & 1n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  /** A count or length: must fit a number. */
  size(): number {
    const n = this.long();
    if (typeof n !== "number") throw new RangeError(`Avro: length ${n} is too large`);
    return n;
  }
}

/** Arrays and maps come in blocks: a count (negative when a byte size follows), items, until a zero count. */
function readBlocks(inp: In, item: () => void): void {
  for (let n = inp.size(); n !== 0; n = inp.size()) {
    if (n < 0) {
      n = -n;
      inp.long();
    }
    for (let i = 0; i < n; i++) item();
  }
}

function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty, so a map key "__proto__" is data rather than a prototype change
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function decode(inp: In, schema: AvroSchema, names: Names): unknown {
  const s = resolve(schema, names);
  if (Array.isArray(s)) {
    const index = inp.size();
    if (index < 0 || index >= s.length) throw new RangeError(`Avro: union branch ${index} out of range`);
    return decode(inp, s[index], names);
  }
  switch (typeof s === "string" ? s : s.type) {
    case "null": return null;
    case "boolean": return inp.byte() !== 0;
    case "int": {
      const v = inp.long();
      if (typeof v !== "number" || v < -(2 ** 31) || v >= 2 ** 31) throw new RangeError(`Avro: int ${v} out of range`);
      return v;
    }
    case "long": return inp.long();
    case "float": return inp.take(4).readFloatLE(0);
    case "double": return inp.take(8).readDoubleLE(0);
    case "bytes": return Buffer.from(inp.take(inp.size()));
    case "string": return inp.take(inp.size()).toString("utf8");
    case "fixed": return Buffer.from(inp.take((s as AvroFixed).size));
    case "enum": {
      const symbol = (s as AvroEnum).symbols[inp.size()];
      if (symbol === undefined) throw new RangeError(`Avro: enum index out of range for ${(s as AvroEnum).name}`);
      return symbol;
    }
    case "record": {
      const record: Record<string, unknown> = {};
      for (const field of (s as AvroRecord).fields) setKey(record, field.name, decode(inp, field.type, names));
      return record;
    }
    case "array": {
      const items: unknown[] = [];
      readBlocks(inp, () => items.push(decode(inp, (s as AvroArray).items, names)));
      return items;
    }
    case "map": {
      const map: Record<string, unknown> = {};
      readBlocks(inp, () => setKey(map, inp.take(inp.size()).toString("utf8"), decode(inp, (s as AvroMap).values, names)));
      return map;
    }
  }
  throw new TypeError(`Avro schema: cannot decode ${JSON.stringify(s)}`);
}

/** Reads one datum written by encodeValue (bytes and fixed as Buffers, longs as number or bigint). */
export function decodeValue(schema: AvroSchema, data: Buffer): unknown {
  const inp = new In(data);
  const value = decode(inp, schema, collectNames(schema));
  if (inp.pos !== data.length) throw new RangeError(`Avro: ${data.length - inp.pos} bytes left after the value`);
  return value;
}

export interface AvroContainer {
  schema: AvroSchema;
  /** Every metadata entry, avro.schema and avro.codec included, decoded as UTF-8. */
  metadata: Record<string, string>;
  metadataBytes: Record<string, Buffer>;
  records: unknown[];
  blocks: number;
}

export function readAvroContainer(buf: Buffer): AvroContainer {
  const inp = new In(buf);
  if (!inp.take(4).equals(MAGIC)) throw new TypeError("Avro: not an object container file (bad magic)");
  const metadataBytes: Record<string, Buffer> = {};
  readBlocks(inp, () => setKey(metadataBytes, inp.take(inp.size()).toString("utf8"), Buffer.from(inp.take(inp.size()))));
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadataBytes)) setKey(metadata, key, value.toString("utf8"));
  if (metadata["avro.schema"] === undefined) throw new TypeError("Avro: the header has no avro.schema");
  const schema = JSON.parse(metadata["avro.schema"]) as AvroSchema;
  const codec = metadata["avro.codec"] ?? "null";
  if (codec !== "null" && codec !== "deflate") throw new TypeError(`Avro: unsupported codec ${JSON.stringify(codec)}`);
  const names = collectNames(schema);
  const sync = inp.take(SYNC_SIZE);
  const records: unknown[] = [];
  let blocks = 0;
  while (inp.pos < buf.length) {
    const count = inp.size();
    const stored = inp.take(inp.size());
    if (!inp.take(SYNC_SIZE).equals(sync)) throw new TypeError(`Avro: block ${blocks} does not end with the file's sync marker`);
    const data = new In(codec === "deflate" ? inflateRawSync(stored) : stored);
    for (let i = 0; i < count; i++) records.push(decode(data, schema, names));
    if (data.pos !== data.buf.length) throw new RangeError(`Avro: block ${blocks} has ${data.buf.length - data.pos} bytes after its ${count} records`);
    blocks++;
  }
  return { schema, metadata, metadataBytes, records, blocks };
}
