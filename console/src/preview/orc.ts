// A small ORC v1 reader for the report browser's preview: the first rows of a file and its schema.
// Written from the specification (https://orc.apache.org/specification/ORCv1/) with nothing but
// web-platform APIs, so the same module runs in the browser and under Node 20's test runner.
//
// Only what the preview needs is read: the tail (PostScript, Footer; the Metadata section with
// stripe statistics is never touched), then the stripes holding the first `limit` rows, and of
// those only as many compression chunks of each stream as the rows need. Decoders are synchronous
// over bytes already decompressed; when one runs past them it throws NeedMore, that stream is
// grown (decompression is async), and that top-level column is decoded again from the stripe's
// start. Re-decoding a few hundred values is cheaper than decompressing a 64 MiB stripe to show them.

export interface OrcPreview {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  totalRows: number;
}

/** Reads `length` bytes at `offset` of the file (a Range request, a slice of a Blob, ...). */
export type ReadRange = (offset: number, length: number) => Promise<Uint8Array>;

/** Reads the first `limit` rows of an ORC file given its bytes. */
export async function readOrcPreview(bytes: Uint8Array, limit: number): Promise<OrcPreview> {
  return readOrcPreviewFrom(async (offset, length) => bytes.subarray(offset, offset + length), bytes.length, limit);
}

// ---- protobuf ------------------------------------------------------------------------------------
// ORC's tail messages need varints and length-delimited fields only; fixed-width fields (double
// statistics) are skipped. Varints become numbers: every field read here (lengths, offsets,
// counts, enums) fits in 53 bits.

type Proto = Map<number, (number | Uint8Array)[]>;

function decodeProto(buf: Uint8Array): Proto {
  const out: Proto = new Map();
  let at = 0;
  const varint = () => {
    let v = 0;
    for (let mul = 1; ; mul *= 128) {
      if (at >= buf.length) throw corrupt("protobuf message");
      const b = buf[at++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
    }
  };
  while (at < buf.length) {
    const tag = varint();
    const wire = tag % 8;
    let value: number | Uint8Array;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const n = varint();
      if (at + n > buf.length) throw corrupt("protobuf message");
      value = buf.subarray(at, (at += n));
    } else if (wire === 1 || wire === 5) {
      at += wire === 1 ? 8 : 4;
      continue;
    } else throw corrupt(`protobuf wire type ${wire}`);
    const field = Math.floor(tag / 8);
    const list = out.get(field);
    if (list) list.push(value);
    else out.set(field, [value]);
  }
  return out;
}

const num = (p: Proto, f: number): number => {
  const v = p.get(f)?.[0];
  return typeof v === "number" ? v : 0;
};
const messages = (p: Proto, f: number): Proto[] => (p.get(f) ?? []).filter((v) => v instanceof Uint8Array).map((v) => decodeProto(v as Uint8Array));
const text = (p: Proto, f: number): string | undefined => {
  const v = p.get(f)?.[0];
  return v instanceof Uint8Array ? utf8.decode(v) : undefined;
};
/** A repeated uint field, which writers may send packed or one value per tag. */
function uints(p: Proto, f: number): number[] {
  const out: number[] = [];
  for (const v of p.get(f) ?? []) {
    if (typeof v === "number") {
      out.push(v);
      continue;
    }
    let x = 0;
    let mul = 1;
    for (const b of v) {
      x += (b & 0x7f) * mul;
      mul *= 128;
      if (b >= 0x80) continue;
      out.push(x);
      x = 0;
      mul = 1;
    }
  }
  return out;
}

const utf8 = new TextDecoder();
const corrupt = (what: string) => new Error(`ORC file is corrupt or truncated: bad ${what}`);

// ---- compression ---------------------------------------------------------------------------------

const COMPRESSION = ["NONE", "ZLIB", "SNAPPY", "LZO", "LZ4", "ZSTD", "BROTLI"];

async function inflateRaw(data: Uint8Array): Promise<Uint8Array> {
  const ds = new DecompressionStream("deflate-raw");
  const writer = ds.writable.getWriter();
  // Failures surface through the readable side; these promises would only repeat them.
  writer.write(data as Uint8Array<ArrayBuffer>).catch(() => {});
  writer.close().catch(() => {});
  try {
    return new Uint8Array(await new Response(ds.readable).arrayBuffer());
  } catch {
    throw corrupt("ZLIB chunk");
  }
}

/** Chunk header: 3 bytes little-endian, length * 2 + 1 when the chunk is stored uncompressed. */
function chunkHeader(b: Uint8Array, at: number): { length: number; original: boolean } {
  if (at + 3 > b.length) throw corrupt("compression chunk header");
  const v = b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16);
  return { length: v >>> 1, original: (v & 1) === 1 };
}

/** A whole small section (Footer, stripe footer). */
async function decompressAll(b: Uint8Array, compression: number): Promise<Uint8Array> {
  if (compression === 0) return b;
  const parts: Uint8Array[] = [];
  for (let at = 0; at < b.length; ) {
    const h = chunkHeader(b, at);
    const body = b.subarray(at + 3, at + 3 + h.length);
    if (body.length < h.length) throw corrupt("compression chunk");
    parts.push(h.original ? body : await inflateRaw(body));
    at += 3 + h.length;
  }
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

/** A column stream of a stripe, decompressed chunk by chunk as decoders ask for more. */
class Stream {
  data: Uint8Array = new Uint8Array(0);
  private taken = 0;
  constructor(
    private readonly read: ReadRange,
    private readonly compression: number,
    private readonly start: number,
    private readonly length: number,
  ) {}

  get complete(): boolean {
    return this.taken >= this.length;
  }

  /** At least doubles what is decoded, so a stream that needs much costs few re-decodes. */
  async grow(): Promise<void> {
    const parts = [this.data];
    let size = this.data.length;
    const target = Math.max(size * 2, 64 * 1024);
    while (size < target && !this.complete) {
      let part: Uint8Array;
      if (this.compression === 0) {
        const n = Math.min(this.length - this.taken, target - size);
        part = await this.read(this.start + this.taken, n);
        this.taken += n;
      } else {
        const h = chunkHeader(await this.read(this.start + this.taken, 3), 0);
        if (this.taken + 3 + h.length > this.length) throw corrupt("compression chunk");
        const body = await this.read(this.start + this.taken + 3, h.length);
        part = h.original ? body : await inflateRaw(body);
        this.taken += 3 + h.length;
      }
      parts.push(part);
      size += part.length;
    }
    const nonEmpty = parts.filter((p) => p.length > 0);
    if (nonEmpty.length > 0) this.data = concat(nonEmpty);
  }
}

class NeedMore {
  constructor(readonly stream: Stream) {}
}

class Cursor {
  private pos = 0;
  constructor(private readonly s: Stream) {}

  byte(): number {
    if (this.pos < this.s.data.length) return this.s.data[this.pos++]!;
    throw this.end();
  }

  take(n: number): Uint8Array {
    if (n < 0 || !Number.isSafeInteger(n)) throw corrupt("length");
    if (this.pos + n > this.s.data.length) throw this.end();
    return this.s.data.subarray(this.pos, (this.pos += n));
  }

  private end(): NeedMore | Error {
    return this.s.complete ? corrupt("stream (it ends too early)") : new NeedMore(this.s);
  }
}

// ---- run-length encodings ------------------------------------------------------------------------
// Integers are bigint while decoding: ORC longs are 64-bit and RLE v2 packs up to 64-bit widths.

const unzigzag = (u: bigint): bigint => (u >> 1n) ^ -(u & 1n);

function varint(c: Cursor): bigint {
  let v = 0n;
  for (let shift = 0n; ; shift += 7n) {
    const b = c.byte();
    v |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return v;
  }
}

function byteRle(c: Cursor): () => number {
  let left = 0;
  let literal = false;
  let value = 0;
  return () => {
    if (left === 0) {
      const h = c.byte();
      literal = h >= 128;
      left = literal ? 256 - h : h + 3;
      if (!literal) value = c.byte();
    }
    left--;
    return literal ? c.byte() : value;
  };
}

/** Booleans: bytes through byte RLE, most significant bit first. */
function booleanRle(c: Cursor): () => boolean {
  const bytes = byteRle(c);
  let current = 0;
  let bit = 8;
  return () => {
    if (bit === 8) [current, bit] = [bytes(), 0];
    return ((current >>> (7 - bit++)) & 1) === 1;
  };
}

function intRleV1(c: Cursor, signed: boolean): () => bigint {
  let left = 0;
  let literal = false;
  let value = 0n;
  let delta = 0n;
  const read = () => (signed ? unzigzag(varint(c)) : varint(c));
  return () => {
    if (left === 0) {
      const h = c.byte();
      literal = h >= 128;
      left = literal ? 256 - h : h + 3;
      if (!literal) {
        delta = BigInt((c.byte() << 24) >> 24);
        value = read();
      }
    }
    left--;
    if (literal) return read();
    return (value += delta) - delta;
  };
}

/** RLE v2 widths by their 5-bit code; codes 0-23 are widths 1-24. */
const WIDTHS = [...Array.from({ length: 24 }, (_, i) => i + 1), 26, 28, 30, 32, 40, 48, 56, 64];

/** Fixed-width big-endian bit packing; every packed run starts on a byte boundary. */
function unpack(c: Cursor, n: number, width: number): bigint[] {
  const bytes = c.take(Math.ceil((n * width) / 8));
  const out = new Array<bigint>(n);
  let bit = 0;
  for (let i = 0; i < n; i++) {
    let small = 0;
    let big = 0n;
    for (let left = width; left > 0; ) {
      const off = bit & 7;
      const take = Math.min(8 - off, left);
      const bits = (bytes[bit >>> 3]! >>> (8 - off - take)) & ((1 << take) - 1);
      // Numbers are exact up to 53 bits, and far faster than bigint.
      if (width <= 48) small = small * (1 << take) + bits;
      else big = (big << BigInt(take)) | BigInt(bits);
      bit += take;
      left -= take;
    }
    out[i] = width <= 48 ? BigInt(small) : big;
  }
  return out;
}

function bigEndian(c: Cursor, bytes: number): bigint {
  let v = 0n;
  for (let i = 0; i < bytes; i++) v = (v << 8n) | BigInt(c.byte());
  return v;
}

function rleV2Run(c: Cursor, signed: boolean): bigint[] {
  const h = c.byte();
  const sub = h >>> 6;
  const fix = (u: bigint) => (signed ? unzigzag(u) : u);
  if (sub === 0) {
    // SHORT_REPEAT: 3-10 copies of one value of 1-8 bytes.
    const v = fix(bigEndian(c, ((h >>> 3) & 7) + 1));
    return new Array<bigint>((h & 7) + 3).fill(v);
  }
  const length = (((h & 1) << 8) | c.byte()) + 1;
  const code = (h >>> 1) & 31;
  if (sub === 1) return unpack(c, length, WIDTHS[code]!).map(fix);
  if (sub === 3) {
    // DELTA: a base, a signed first delta, then magnitudes taking its sign (width code 0: all deltas equal).
    const out = [fix(varint(c))];
    const first = unzigzag(varint(c));
    if (length > 1) out.push(out[0]! + first);
    const deltas = code === 0 ? new Array<bigint>(Math.max(0, length - 2)).fill(first < 0n ? -first : first) : unpack(c, length - 2, WIDTHS[code]!);
    for (const d of deltas) out.push(out[out.length - 1]! + (first < 0n ? -d : d));
    return out;
  }
  // PATCHED_BASE: offsets from a sign-magnitude base, with the high bits of the few outliers
  // patched in from a list of (gap, patch) pairs.
  const width = WIDTHS[code]!;
  const b3 = c.byte();
  const b4 = c.byte();
  const baseBytes = (b3 >>> 5) + 1;
  const patchWidth = WIDTHS[b3 & 31]!;
  const gapWidth = (b4 >>> 5) + 1;
  let base = bigEndian(c, baseBytes);
  const sign = 1n << BigInt(baseBytes * 8 - 1);
  if (base & sign) base = -(base ^ sign);
  const values = unpack(c, length, width);
  const entryWidth = WIDTHS.find((w) => w >= gapWidth + patchWidth);
  if (entryWidth === undefined) throw corrupt("RLE v2 patch width");
  const mask = (1n << BigInt(patchWidth)) - 1n;
  let at = 0;
  // Gaps are relative to the previous patch; a gap over 255 is written as (255, 0) pairs first.
  for (const entry of unpack(c, b4 & 31, entryWidth)) {
    at += Number(entry >> BigInt(patchWidth));
    const patch = entry & mask;
    if (patch === 0n) continue;
    if (at >= length) throw corrupt("RLE v2 patch list");
    values[at] = values[at]! | (patch << BigInt(width));
  }
  return values.map((v) => base + v);
}

function intRleV2(c: Cursor, signed: boolean): () => bigint {
  let run: bigint[] = [];
  let i = 0;
  return () => {
    while (i === run.length) [run, i] = [rleV2Run(c, signed), 0];
    return run[i++]!;
  };
}

/** Decodes `count` integers of an RLE v1 or v2 stream (exposed for tests against the specification's examples). */
export function decodeIntegerRle(bytes: Uint8Array, signed: boolean, version: 1 | 2, count: number): bigint[] {
  const s = new Stream(async () => bytes, 0, 0, 0);
  s.data = bytes;
  const next = (version === 1 ? intRleV1 : intRleV2)(new Cursor(s), signed);
  return Array.from({ length: count }, next);
}

// ---- schema --------------------------------------------------------------------------------------

// prettier-ignore
const Kind = { BOOLEAN: 0, BYTE: 1, SHORT: 2, INT: 3, LONG: 4, FLOAT: 5, DOUBLE: 6, STRING: 7, BINARY: 8, TIMESTAMP: 9, LIST: 10, MAP: 11,
  STRUCT: 12, UNION: 13, DECIMAL: 14, DATE: 15, VARCHAR: 16, CHAR: 17, TIMESTAMP_INSTANT: 18 } as const;
/** The stream kinds holding values; the others (row indexes, bloom filters) are never read. */
const StreamKind = { PRESENT: 0, DATA: 1, LENGTH: 2, DICTIONARY_DATA: 3, SECONDARY: 5 } as const;
const VALUE_STREAMS: readonly number[] = Object.values(StreamKind);

interface OrcType {
  kind: number;
  children: number[];
  names: string[];
  maxLength: number;
  precision: number;
  scale: number;
}

/** Types are listed in pre-order, so a child's id is past its parent's (which also rules out cycles). */
function childId(t: OrcType, id: number, i: number): number {
  const child = t.children[i];
  if (child === undefined || child <= id) throw corrupt("type tree");
  return child;
}

const SIMPLE_NAMES = ["boolean", "tinyint", "smallint", "int", "bigint", "float", "double", "string", "binary", "timestamp"];

/** Hive's spelling of a type, as manifests and ORC tools print schemas. */
function typeName(types: OrcType[], id: number): string {
  const t = types[id];
  if (!t) throw corrupt("type list");
  const sub = (i: number) => typeName(types, childId(t, id, i));
  // prettier-ignore
  switch (t.kind) {
    case Kind.LIST: return `array<${sub(0)}>`;
    case Kind.MAP: return `map<${sub(0)},${sub(1)}>`;
    case Kind.STRUCT: return `struct<${t.children.map((_, i) => `${t.names[i]}:${sub(i)}`).join(",")}>`;
    case Kind.UNION: return `uniontype<${t.children.map((_, i) => sub(i)).join(",")}>`;
    case Kind.DECIMAL: return t.precision ? `decimal(${t.precision},${t.scale})` : "decimal";
    case Kind.DATE: return "date";
    case Kind.VARCHAR: return `varchar(${t.maxLength})`;
    case Kind.CHAR: return `char(${t.maxLength})`;
    case Kind.TIMESTAMP_INSTANT: return "timestamp with local time zone";
  }
  const simple = SIMPLE_NAMES[t.kind];
  if (!simple) throw new Error(`unsupported ORC type kind ${t.kind}`);
  return simple;
}

// ---- values --------------------------------------------------------------------------------------

/** 2015-01-01T00:00:00Z in Unix seconds: ORC timestamps count seconds from there. */
const ORC_EPOCH = 1_420_070_400;

const safe = (v: bigint): number | bigint => (v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v);

/** ISO 8601 with milli-, micro- or nanosecond digits as the value needs. */
function formatTimestamp(unixSeconds: number, nanos: number, utc: boolean): string {
  if (Math.abs(unixSeconds) > 8.64e12) return `${unixSeconds}s${nanos ? `+${nanos}ns` : ""}`; // beyond JS Date
  const digits = String(nanos).padStart(9, "0");
  const fraction = nanos % 1e6 === 0 ? digits.slice(0, 3) : nanos % 1e3 === 0 ? digits.slice(0, 6) : digits;
  return `${new Date(unixSeconds * 1000).toISOString().slice(0, -4)}${fraction}${utc ? "Z" : ""}`;
}

function formatDate(days: bigint): string {
  if (days > 100_000_000n || days < -100_000_000n) return `${days} days`; // beyond JS Date
  return new Date(Number(days) * 86_400_000).toISOString().split("T")[0]!;
}

function formatDecimal(unscaled: bigint, scale: number): string {
  const digits = (unscaled < 0n ? -unscaled : unscaled).toString().padStart(scale + 1, "0");
  const body = scale > 0 ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return unscaled < 0n ? `-${body}` : body;
}

const times = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

// ---- stripes -------------------------------------------------------------------------------------

/** Reads n values of a column (rows of its parent that are not null). */
type ColumnReader = (n: number) => unknown[];

interface StripeContext {
  types: OrcType[];
  encodings: { kind: number; dictionarySize: number }[];
  stream(column: number, kind: number): Stream | undefined;
  /** UTC unless the stripe says otherwise; TIMESTAMP values are wall-clock times in this zone. */
  writerTimezone: string;
}

const EMPTY_STREAM = new Stream(async () => new Uint8Array(0), 0, 0, 0);

function columnReader(ctx: StripeContext, id: number): ColumnReader {
  const t = ctx.types[id];
  if (!t) throw corrupt("type list");
  const encoding = ctx.encodings[id] ?? { kind: 0, dictionarySize: 0 };
  // A writer may leave out a stream that would be empty (a column of nulls only).
  const cursor = (kind: number) => new Cursor(ctx.stream(id, kind) ?? EMPTY_STREAM);
  // DIRECT and DICTIONARY use RLE v1; their _V2 variants (2, 3) use RLE v2.
  const ints = (kind: number, signed: boolean) => (encoding.kind >= 2 ? intRleV2 : intRleV1)(cursor(kind), signed);
  const child = (i: number) => columnReader(ctx, childId(t, id, i));
  let values: ColumnReader;

  switch (t.kind) {
    case Kind.BOOLEAN: {
      const next = booleanRle(cursor(StreamKind.DATA));
      values = (n) => times(n, next);
      break;
    }
    case Kind.BYTE: {
      const next = byteRle(cursor(StreamKind.DATA));
      values = (n) => times(n, () => (next() << 24) >> 24);
      break;
    }
    case Kind.SHORT:
    case Kind.INT:
    case Kind.LONG:
    case Kind.DATE: {
      const next = ints(StreamKind.DATA, true);
      values = (n) => times<unknown>(n, t.kind === Kind.DATE ? () => formatDate(next()) : () => safe(next()));
      break;
    }
    case Kind.FLOAT:
    case Kind.DOUBLE: {
      const c = cursor(StreamKind.DATA);
      const size = t.kind === Kind.FLOAT ? 4 : 8;
      values = (n) =>
        times(n, () => {
          const b = c.take(size);
          const view = new DataView(b.buffer, b.byteOffset, size);
          return size === 4 ? view.getFloat32(0, true) : view.getFloat64(0, true);
        });
      break;
    }
    case Kind.STRING:
    case Kind.VARCHAR:
    case Kind.CHAR:
    case Kind.BINARY: {
      const decode = (b: Uint8Array) => (t.kind === Kind.BINARY ? b.slice() : utf8.decode(b));
      if (encoding.kind === 1 || encoding.kind === 3) {
        const ids = ints(StreamKind.DATA, false);
        let dictionary: unknown[] | undefined;
        values = (n) => {
          if (!dictionary) {
            const lengths = ints(StreamKind.LENGTH, false);
            const data = cursor(StreamKind.DICTIONARY_DATA);
            dictionary = times(encoding.dictionarySize, () => decode(data.take(Number(lengths()))));
          }
          const d = dictionary;
          return times(n, () => {
            const id = Number(ids());
            if (id >= d.length) throw corrupt("dictionary id");
            return d[id];
          });
        };
      } else {
        const lengths = ints(StreamKind.LENGTH, false);
        const data = cursor(StreamKind.DATA);
        values = (n) => times(n, () => decode(data.take(Number(lengths()))));
      }
      break;
    }
    case Kind.TIMESTAMP:
    case Kind.TIMESTAMP_INSTANT: {
      const seconds = ints(StreamKind.DATA, true);
      const nanos = ints(StreamKind.SECONDARY, false);
      // TIMESTAMP has no zone: it is the writer's wall clock, shown with Z only when that is UTC.
      // (Outside UTC it is off by any DST difference from 2015-01-01, as readers without a zone database are.)
      const utc = t.kind === Kind.TIMESTAMP_INSTANT || /^(Etc\/)?(UTC|GMT|UCT|Zulu|Universal)([+-]?0)?$/i.test(ctx.writerTimezone);
      values = (n) =>
        times(n, () => {
          let unix = Number(seconds()) + ORC_EPOCH;
          // The low 3 bits say how many decimal zeros were cut off the nanoseconds (none, or 2-8).
          // The C++ writer (pyarrow) truncates before 1970 and stores a negative fraction, as a
          // 64-bit two's complement in this unsigned stream: read it as signed, as its reader does.
          const v = BigInt.asIntN(64, nanos());
          const zeros = Number(v & 7n);
          let ns = Number(v >> 3n) * (zeros ? 10 ** (zeros + 1) : 1);
          // The Java writer (and ours) instead rounds negative seconds toward zero while the
          // fraction counts forward from the second below; the reference readers take the second
          // back when a pre-1970 value has a fraction of at least a millisecond, and so must we.
          if (unix < 0 && ns > 999_999) unix -= 1;
          if (ns < 0) [unix, ns] = [unix - 1, ns + 1e9];
          return formatTimestamp(unix, ns, utc);
        });
      break;
    }
    case Kind.DECIMAL: {
      // Unbounded zigzag varints, each with its own scale in SECONDARY; shown at the type's scale.
      const data = cursor(StreamKind.DATA);
      const scales = ints(StreamKind.SECONDARY, true);
      values = (n) =>
        times(n, () => {
          let unscaled = unzigzag(varint(data));
          let scale = Number(scales());
          if (t.precision && scale < t.scale) [unscaled, scale] = [unscaled * 10n ** BigInt(t.scale - scale), t.scale];
          return formatDecimal(unscaled, scale);
        });
      break;
    }
    case Kind.STRUCT: {
      const children = t.children.map((_, i) => child(i));
      const names = t.children.map((_, i) => t.names[i] ?? `_col${i}`);
      values = (n) => {
        const cols = children.map((c) => c(n));
        return times(n, (r) => Object.fromEntries(names.map((name, i) => [name, cols[i]![r]])));
      };
      break;
    }
    case Kind.LIST:
    case Kind.MAP: {
      const lengths = ints(StreamKind.LENGTH, false);
      const keys = child(0);
      const items = t.kind === Kind.MAP ? child(1) : undefined;
      values = (n) => {
        const counts = times(n, () => Number(lengths()));
        const total = counts.reduce((a, b) => a + b, 0);
        const k = keys(total);
        const v = items?.(total);
        let at = 0;
        return counts.map((count) => {
          const row = times(count, (i) => (v ? [k[at + i], v[at + i]] : k[at + i]));
          at += count;
          return row;
        });
      };
      break;
    }
    case Kind.UNION: {
      const tags = byteRle(cursor(StreamKind.DATA));
      const children = t.children.map((_, i) => child(i));
      values = (n) => {
        const tagOf = times(n, tags);
        const perTag = children.map((c, i) => c(tagOf.filter((x) => x === i).length));
        const used = children.map(() => 0);
        return tagOf.map((tag) => {
          if (!perTag[tag]) throw corrupt("union tag");
          return { tag, value: perTag[tag]![used[tag]!++] };
        });
      };
      break;
    }
    default:
      throw new Error(`unsupported ORC type kind ${t.kind}`);
  }

  if (!ctx.stream(id, StreamKind.PRESENT)) return values;
  const present = booleanRle(cursor(StreamKind.PRESENT));
  return (n) => {
    const isSet = times(n, present);
    const set = values(isSet.filter(Boolean).length);
    let at = 0;
    return isSet.map((p) => (p ? set[at++] : null));
  };
}

/** Runs a decode until it no longer runs out of decompressed bytes. */
async function retrying<T>(decode: () => T): Promise<T> {
  for (;;) {
    try {
      return decode();
    } catch (err) {
      if (!(err instanceof NeedMore)) throw err;
      await err.stream.grow();
    }
  }
}

/**
 * The same from a file that is not in memory: its tail first, then only the byte ranges of the
 * stripes (and compression chunks) the first `limit` rows are in. `size` is the file's length.
 */
export async function readOrcPreviewFrom(read: ReadRange, size: number, limit: number): Promise<OrcPreview> {
  limit = Math.max(0, Math.floor(limit));
  // The PostScript (at most 255 bytes) and usually the Footer are in the last 16 KiB.
  const tailLength = Math.min(size, 16 * 1024);
  const tail = await read(size - tailLength, tailLength);
  const psLength = tail[tail.length - 1] ?? 0;
  if (size < 4 || psLength + 1 > tail.length) throw new Error("not an ORC file: too short");
  let ps: Proto | undefined;
  try {
    ps = decodeProto(tail.subarray(tail.length - 1 - psLength, tail.length - 1));
  } catch {}
  // Files before Hive 0.12 have the magic only at the start.
  if (!ps || text(ps, 8000) !== "ORC") {
    const header = utf8.decode(await read(0, 3));
    if (header !== "ORC") throw new Error("not an ORC file: no ORC magic");
    if (!ps) throw corrupt("PostScript (is the file complete?)");
  }
  const compression = num(ps, 2);
  if (compression > 1) throw new Error(`unsupported ORC compression ${COMPRESSION[compression] ?? compression}`);

  const footerLength = num(ps, 1);
  const footerEnd = size - 1 - psLength;
  if (footerLength > footerEnd) throw corrupt("PostScript");
  const inTail = footerLength <= tailLength - 1 - psLength;
  const footerBytes = inTail ? tail.subarray(tail.length - 1 - psLength - footerLength, tail.length - 1 - psLength) : await read(footerEnd - footerLength, footerLength);
  const footer = decodeProto(await decompressAll(footerBytes, compression));

  const types: OrcType[] = messages(footer, 4).map((m) => ({
    kind: num(m, 1),
    children: uints(m, 2),
    names: (m.get(3) ?? []).map((v) => utf8.decode(v as Uint8Array)),
    maxLength: num(m, 4),
    precision: num(m, 5),
    scale: num(m, 6),
  }));
  if (types.length === 0) throw corrupt("Footer (no types)");
  const root = types[0]!;
  const topLevel = root.kind === Kind.STRUCT;
  const columns = topLevel ? root.children.map((id, i) => ({ name: root.names[i] ?? `_col${i}`, type: typeName(types, id) })) : [{ name: "_col0", type: typeName(types, 0) }];
  const totalRows = num(footer, 6);

  const rows: unknown[][] = [];
  for (const stripe of messages(footer, 3)) {
    if (rows.length >= limit) break;
    const [offset, indexLength, dataLength, stripeFooterLength, stripeRows] = [1, 2, 3, 4, 5].map((f) => num(stripe, f)) as [number, number, number, number, number];
    const sf = decodeProto(await decompressAll(await read(offset + indexLength + dataLength, stripeFooterLength), compression));
    // Streams lie in the stripe in the order the stripe footer lists them (row indexes first).
    const streams = new Map<string, Stream>();
    const valueStreams: Stream[] = [];
    let at = offset;
    for (const s of messages(sf, 1)) {
      const length = num(s, 3);
      const stream = new Stream(read, compression, at, length);
      streams.set(`${num(s, 2)}:${num(s, 1)}`, stream);
      if (VALUE_STREAMS.includes(num(s, 1))) valueStreams.push(stream);
      at += length;
    }
    const ctx: StripeContext = {
      types,
      encodings: messages(sf, 2).map((e) => ({ kind: num(e, 1), dictionarySize: num(e, 2) })),
      stream: (column, kind) => streams.get(`${column}:${kind}`),
      writerTimezone: text(sf, 3) ?? "UTC",
    };
    // A first piece of every stream at once; most previews need no more than that.
    await Promise.all(valueStreams.map((s) => s.grow()));
    const wanted = Math.min(limit - rows.length, stripeRows);
    if (!topLevel) {
      for (const v of await retrying(() => columnReader(ctx, 0)(wanted))) rows.push([v]);
      continue;
    }
    // Top-level columns share no streams, so each is decoded (and re-decoded) on its own.
    const rootPresent = ctx.stream(0, StreamKind.PRESENT);
    const isSet = rootPresent ? await retrying(() => times(wanted, booleanRle(new Cursor(rootPresent)))) : undefined;
    const n = isSet ? isSet.filter(Boolean).length : wanted;
    const cols: unknown[][] = [];
    for (const id of root.children) cols.push(await retrying(() => columnReader(ctx, id)(n)));
    let value = 0;
    for (let r = 0; r < wanted; r++) {
      if (isSet && !isSet[r]) rows.push(columns.map(() => null));
      else rows.push(cols.map((c) => c[value])), value++;
    }
  }
  return { columns, rows, totalRows };
}
