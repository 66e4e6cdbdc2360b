// Seeks to every row group through the row index, as readers that skip row groups do (Apache ORC's
// seekToRow; Athena, Trino, Hive, Spark): for every stream of every column the recorded position is
// opened (decompressing from the recorded chunk), decoded from there, and must give the group's rows.
// The decoders are written here from the specification, independent of the writer's encoders.
// https://orc.apache.org/specification/ORCv1/#row-group-index
import { test } from "node:test";
import assert from "node:assert/strict";
import { inflateRawSync } from "node:zlib";
import { INVENTORY_FIELDS, type InventoryField } from "../../fields.js";
import type { InventoryValue } from "../types.js";
import { createOrcWriterWith, type OrcWriterOptions } from "./index.js";

const STRIDE = 10_000;
const ORC_EPOCH_SECONDS = 1_420_070_400;
const Stream = { PRESENT: 0, DATA: 1, LENGTH: 2, DICTIONARY_DATA: 3, SECONDARY: 5, ROW_INDEX: 6 } as const;
const DICTIONARY_V2 = 3;

// ---- protobuf and the file's layout --------------------------------------------------------------

type Fields = Map<number, (number | Buffer)[]>;

function varint(buf: Buffer, at: { i: number }): number {
  let v = 0;
  let mul = 1;
  for (;;) {
    const b = buf[at.i++]!;
    v += (b & 0x7f) * mul;
    if (b < 0x80) return v;
    mul *= 128;
  }
}

function parseProto(buf: Buffer): Fields {
  const fields: Fields = new Map();
  const at = { i: 0 };
  while (at.i < buf.length) {
    const tag = varint(buf, at);
    let value: number | Buffer;
    if ((tag & 7) === 0) value = varint(buf, at);
    else if ((tag & 7) === 2) {
      const len = varint(buf, at);
      value = buf.subarray(at.i, at.i + len);
      at.i += len;
    } else throw new Error(`unexpected wire type ${tag & 7}`);
    const field = Math.floor(tag / 8);
    if (!fields.has(field)) fields.set(field, []);
    fields.get(field)!.push(value);
  }
  return fields;
}

const num = (f: Fields, n: number): number => (f.get(n)?.[0] as number | undefined) ?? 0;
const msgs = (f: Fields, n: number): Fields[] => (f.get(n) ?? []).map((b) => parseProto(b as Buffer));
function packed(f: Fields, n: number): number[] {
  const out: number[] = [];
  for (const b of f.get(n) ?? []) {
    const buf = b as Buffer;
    const at = { i: 0 };
    while (at.i < buf.length) out.push(varint(buf, at));
  }
  return out;
}

/** Chunks from the start of `bytes` on; a position whose chunk offset is not a chunk header fails here. */
function decompress(bytes: Buffer, compressed: boolean): Buffer {
  if (!compressed) return bytes;
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const h = bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16);
    const body = bytes.subarray(at + 3, at + 3 + (h >>> 1));
    parts.push(h & 1 ? body : inflateRawSync(body));
    at += 3 + (h >>> 1);
  }
  return Buffer.concat(parts);
}

// ---- decoders --------------------------------------------------------------------------------------

class Bytes {
  constructor(
    readonly buf: Buffer,
    public at = 0,
  ) {}

  next(): number {
    if (this.at >= this.buf.length) throw new Error("read past the end of the stream");
    return this.buf[this.at++]!;
  }

  varint(): number {
    const at = { i: this.at };
    const v = varint(this.buf, at);
    if (at.i > this.buf.length) throw new Error("read past the end of the stream");
    this.at = at.i;
    return v;
  }
}

class ByteRleReader {
  private remaining = 0;
  private literal = false;
  private value = 0;

  constructor(private readonly src: Bytes) {}

  next(): number {
    if (this.remaining === 0) {
      const c = this.src.next();
      this.literal = c >= 128;
      this.remaining = this.literal ? 256 - c : c + 3;
      if (!this.literal) this.value = this.src.next();
    }
    this.remaining--;
    return this.literal ? this.src.next() : this.value;
  }
}

/** A boolean stream at a position [..., values consumed in the byte RLE run, bits consumed in the byte]. */
class BooleanReader {
  private readonly bytes: ByteRleReader;
  private current = 0;
  private bit = 8;

  constructor(src: Bytes, consumed: number, bits: number) {
    this.bytes = new ByteRleReader(src);
    for (let i = 0; i < consumed; i++) this.bytes.next();
    if (bits > 0) {
      this.current = this.bytes.next();
      this.bit = bits;
    }
  }

  next(): boolean {
    if (this.bit === 8) {
      this.current = this.bytes.next();
      this.bit = 0;
    }
    return ((this.current >> (7 - this.bit++)) & 1) === 1;
  }
}

const WIDTHS = [...Array.from({ length: 24 }, (_, i) => i + 1), 26, 28, 30, 32, 40, 48, 56, 64];
const unzigzag = (u: number): number => (u % 2 === 0 ? u / 2 : -(u + 1) / 2);

/** Integer RLE v2 at a position [..., values consumed in the run]; PATCHED_BASE is not written by us. */
class RleV2Reader {
  private values: number[] = [];
  private i = 0;

  constructor(
    private readonly src: Bytes,
    private readonly signed: boolean,
    consumed: number,
  ) {
    for (let k = 0; k < consumed; k++) this.next();
  }

  next(): number {
    if (this.i === this.values.length) this.readGroup();
    return this.values[this.i++]!;
  }

  private decode(u: number): number {
    return this.signed ? unzigzag(u) : u;
  }

  private unpack(n: number, width: number): number[] {
    const out: number[] = [];
    let current = 0;
    let left = 0;
    for (let k = 0; k < n; k++) {
      let v = 0;
      for (let b = 0; b < width; b++) {
        if (left === 0) {
          current = this.src.next();
          left = 8;
        }
        v = v * 2 + ((current >> --left) & 1);
      }
      out.push(v);
    }
    return out;
  }

  private readGroup(): void {
    const first = this.src.next();
    const kind = first >> 6;
    this.i = 0;
    if (kind === 0) {
      const width = ((first >> 3) & 7) + 1;
      let u = 0;
      for (let b = 0; b < width; b++) u = u * 256 + this.src.next();
      this.values = new Array<number>((first & 7) + 3).fill(this.decode(u));
      return;
    }
    const code = (first >> 1) & 31;
    const n = (((first & 1) << 8) | this.src.next()) + 1;
    if (kind === 1) {
      this.values = this.unpack(n, WIDTHS[code]!).map((u) => this.decode(u));
      return;
    }
    if (kind !== 3) throw new Error("PATCHED_BASE in a stream our writer encodes");
    const base = this.decode(this.src.varint());
    const deltaBase = unzigzag(this.src.varint());
    this.values = [base];
    if (n > 1) this.values.push(base + deltaBase);
    const deltas = code === 0 ? new Array<number>(Math.max(0, n - 2)).fill(Math.abs(deltaBase)) : this.unpack(n - 2, WIDTHS[code]!);
    for (const d of deltas) this.values.push(this.values[this.values.length - 1]! + Math.sign(deltaBase) * d);
  }
}

/** Epoch milliseconds from ORC seconds (since 2015) and the SECONDARY value. */
function timestamp(seconds: number, secondary: number): number {
  const zeros = secondary & 7;
  const nanos = zeros === 0 ? Math.floor(secondary / 8) : Math.floor(secondary / 8) * 10 ** (zeros + 1);
  let unix = seconds + ORC_EPOCH_SECONDS;
  if (unix < 0 && nanos > 999_999) unix--;
  return unix * 1000 + nanos / 1e6;
}

// ---- the report ----------------------------------------------------------------------------------

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/**
 * Rows as the inventory writes them, with nulls scattered and in runs: delete markers (no size,
 * ETag, storage class...), a column null for a whole row group, one null everywhere, strings that
 * stay dictionary, go direct after the first group, or stop paying for a dictionary at the stripe's
 * end, runs and literals in every integer stream, timestamps before 1970 and with fractions.
 */
function makeRows(columns: readonly InventoryField[], n: number): InventoryValue[][] {
  const r = rng(7);
  const rows: InventoryValue[][] = [];
  for (let i = 0; i < n; i++) {
    const deleteMarker = r() < 0.09;
    const group = Math.floor(i / STRIDE);
    rows.push(
      columns.map((f): InventoryValue => {
        switch (f.name) {
          case "Bucket":
            return "bucket";
          case "Key":
            return `photos/${String(i).padStart(7, "0")}${i % 89 === 0 ? "/ключ/🙂" : ".jpg"}`;
          case "VersionId":
            return i % 5 === 0 ? null : Math.floor(r() * 2 ** 52).toString(36);
          case "IsLatest":
            return i % 3 !== 0;
          case "IsDeleteMarker":
            return deleteMarker;
          case "Size":
            return deleteMarker ? null : i % 40 < 12 ? 1024 : i % 97 === 0 ? 5 * 2 ** 40 : Math.floor(r() * 1e7);
          case "LastModifiedDate":
            return i % 500 === 0 ? -1500 - i : 1_700_000_000_000 + i * 1000 + (i % 3 === 0 ? 0 : Math.floor(r() * 1000));
          case "ETag":
            // Repeats in the first group, so the dictionary pays there and not at the stripe's end.
            return deleteMarker ? null : `etag-${group === 0 ? Math.floor(i * 0.75) : i}`;
          case "StorageClass":
            return deleteMarker ? null : ["STANDARD", "GLACIER", "INTELLIGENT_TIERING"][Math.floor(r() * 3)]!;
          case "ReplicationStatus":
            return i % 7 === 0 ? "COMPLETED" : null;
          case "EncryptionStatus":
            return "SSE-S3";
          case "ObjectLockRetainUntilDate":
            return group === 2 || i % 3 !== 0 ? null : 1_800_000_000_000 + i;
          case "ObjectLockEventHoldDuration":
            return null;
        }
        if (deleteMarker && f.kind !== "boolean") return null;
        switch (f.kind) {
          case "string":
            return r() < 0.3 ? null : ["ENABLED", "DISABLED", "OFF"][Math.floor(r() * 3)]!;
          case "boolean":
            return deleteMarker ? null : r() < 0.5;
          case "int64":
            return Math.floor(r() * 1000);
          case "timestamp":
            return r() < 0.4 ? null : 1_600_000_000_000 + Math.floor(r() * 1e11);
        }
      }),
    );
  }
  return rows;
}

async function write(options: Omit<OrcWriterOptions, "sink">, rows: InventoryValue[][]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const w = createOrcWriterWith({ ...options, sink: async (c) => void chunks.push(c) });
  for (let at = 0; at < rows.length; at += 1000) await w.writeRows(rows.slice(at, at + 1000));
  await w.finish();
  return Buffer.concat(chunks);
}

// ---- seeking -----------------------------------------------------------------------------------------

interface StripeStream {
  kind: number;
  column: number;
  bytes: Buffer;
}

/** Reads `n` rows of a column from one row group's positions; every position must be used. */
function readGroup(
  field: InventoryField,
  streams: StripeStream[],
  encoding: Fields,
  positions: number[],
  compressed: boolean,
  n: number,
): InventoryValue[] {
  let p = 0;
  const take = () => {
    assert.ok(p < positions.length, "fewer positions than streams");
    return positions[p++]!;
  };
  const find = (kind: number) => streams.find((s) => s.kind === kind);
  const open = (kind: number) => {
    const s = find(kind)!;
    if (!compressed) return new Bytes(s.bytes, take());
    const chunk = take();
    return new Bytes(decompress(s.bytes.subarray(chunk), true), take());
  };
  const whole = (kind: number) => new Bytes(decompress(find(kind)!.bytes, compressed));

  let present = new Array<boolean>(n).fill(true);
  if (find(Stream.PRESENT)) {
    const reader = new BooleanReader(open(Stream.PRESENT), take(), take());
    present = present.map(() => reader.next());
  }
  const count = present.filter(Boolean).length;
  const values: InventoryValue[] = [];
  switch (field.kind) {
    case "boolean": {
      const reader = new BooleanReader(open(Stream.DATA), take(), take());
      for (let k = 0; k < count; k++) values.push(reader.next());
      break;
    }
    case "int64": {
      const reader = new RleV2Reader(open(Stream.DATA), true, take());
      for (let k = 0; k < count; k++) values.push(reader.next());
      break;
    }
    case "timestamp": {
      const seconds = new RleV2Reader(open(Stream.DATA), true, take());
      const nanos = new RleV2Reader(open(Stream.SECONDARY), false, take());
      for (let k = 0; k < count; k++) values.push(timestamp(seconds.next(), nanos.next()));
      break;
    }
    case "string": {
      if (num(encoding, 1) === DICTIONARY_V2) {
        // The dictionary is read whole: it has no positions.
        const lengths = new RleV2Reader(whole(Stream.LENGTH), false, 0);
        const text = whole(Stream.DICTIONARY_DATA);
        const dictionary: string[] = [];
        for (let d = 0; d < num(encoding, 2); d++) {
          const len = lengths.next();
          dictionary.push(text.buf.toString("utf8", text.at, (text.at += len)));
        }
        const ids = new RleV2Reader(open(Stream.DATA), false, take());
        for (let k = 0; k < count; k++) values.push(dictionary[ids.next()]!);
      } else {
        const text = open(Stream.DATA);
        const lengths = new RleV2Reader(open(Stream.LENGTH), false, take());
        for (let k = 0; k < count; k++) {
          const len = lengths.next();
          assert.ok(text.at + len <= text.buf.length, "string past the end of DATA");
          values.push(text.buf.toString("utf8", text.at, (text.at += len)));
        }
      }
      break;
    }
  }
  assert.equal(p, positions.length, "more positions than streams");
  let v = 0;
  return present.map((has) => (has ? values[v++]! : null));
}

/** Checks every row group of every stripe; returns how many row groups and stripes there were. */
function seekEveryRowGroup(file: Buffer, columns: readonly InventoryField[], rows: InventoryValue[][]): { groups: number; stripes: number } {
  const psLength = file[file.length - 1]!;
  const ps = parseProto(file.subarray(file.length - 1 - psLength, file.length - 1));
  const compressed = num(ps, 2) !== 0;
  const footerEnd = file.length - 1 - psLength;
  const footer = parseProto(decompress(file.subarray(footerEnd - num(ps, 1), footerEnd), compressed));
  assert.equal(num(footer, 8), STRIDE);
  let first = 0;
  let groups = 0;
  const stripes = msgs(footer, 3);
  stripes.forEach((stripe, k) => {
    const [offset, indexLength, dataLength, footerLength, stripeRows] = [1, 2, 3, 4, 5].map((f) => num(stripe, f)) as [number, number, number, number, number];
    const stripeFooter = parseProto(decompress(file.subarray(offset + indexLength + dataLength, offset + indexLength + dataLength + footerLength), compressed));
    let at = offset;
    const streams: StripeStream[] = msgs(stripeFooter, 1).map((s) => {
      const st = { kind: num(s, 1), column: num(s, 2), bytes: file.subarray(at, at + num(s, 3)) };
      at += num(s, 3);
      return st;
    });
    const encodings = msgs(stripeFooter, 2);
    columns.forEach((field, j) => {
      const own = streams.filter((s) => s.column === j + 1);
      const index = own.find((s) => s.kind === Stream.ROW_INDEX)!;
      const entries = msgs(parseProto(decompress(index.bytes, compressed)), 1);
      assert.equal(entries.length, Math.ceil(stripeRows / STRIDE));
      entries.forEach((entry, g) => {
        const start = first + g * STRIDE;
        const expected = rows.slice(start, Math.min(start + STRIDE, first + stripeRows)).map((row) => row[j]!);
        const where = `${field.column}, stripe ${k}, row group ${g}`;
        let got: InventoryValue[];
        try {
          got = readGroup(field, own, encodings[j + 1]!, packed(entry, 1), compressed, expected.length);
        } catch (err) {
          assert.fail(`${where}: ${(err as Error).message}`);
        }
        const i = got.findIndex((v, r) => v !== expected[r]);
        if (i >= 0) assert.fail(`${where}, row ${start + i}: read ${String(got[i])}, wrote ${String(expected[i])}`);
      });
    });
    groups += Math.ceil(stripeRows / STRIDE);
    first += stripeRows;
  });
  assert.equal(first, rows.length);
  return { groups, stripes: stripes.length };
}

// ---- the checks --------------------------------------------------------------------------------------

const COLUMNS = [...INVENTORY_FIELDS];
const ROWS = makeRows(COLUMNS, 35_000);

test("the report exercises what the positions must cover", () => {
  const column = (name: string) => ROWS.map((row) => row[COLUMNS.findIndex((f) => f.name === name)]);
  assert.ok(column("IsMultipartUploaded").slice(0, STRIDE).filter((v) => v !== null).length % 8 !== 0, "a boolean DATA position within a byte");
  assert.ok(column("ObjectLockRetainUntilDate").slice(2 * STRIDE, 3 * STRIDE).every((v) => v === null), "a row group of nulls only");
});

for (const [name, options] of [
  ["NONE, one stripe of 3.5 row groups", { compression: "NONE" }],
  ["ZLIB, one stripe of 3.5 row groups", { compression: "ZLIB" }],
  // Positions in the middle of many chunks, and stripes of several row groups each.
  ["ZLIB, 1000-byte chunks, several stripes", { compression: "ZLIB", compressionBlockSize: 1000, stripeBytes: 3 << 20 }],
  ["NONE, several stripes", { compression: "NONE", stripeBytes: 3 << 20 }],
] as const) {
  test(`every stream of every column read from each row group's positions (${name})`, async () => {
    const file = await write({ columns: COLUMNS, ...options }, ROWS);
    const { groups, stripes } = seekEveryRowGroup(file, COLUMNS, ROWS);
    assert.ok(groups >= 4, "several row groups");
    if ("stripeBytes" in options) assert.ok(stripes >= 2 && groups > stripes, "several stripes, some of several row groups");
  });
}
