// Round trips of the ORC writer through pyarrow.orc (Apache ORC's C++ reader): schema, every value
// including nulls, unicode and 1024-byte keys, 0 and 1 rows, many stripes, NONE and ZLIB. The tail
// (PostScript, Footer, Metadata) and the row indexes are decoded here with a small protobuf reader
// to check statistics against the data, since pyarrow does not expose them.
// ORC_TEST_ROWS=10000000 runs the large test (default 200,000 rows).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { INVENTORY_FIELDS, orcFileSchema, reportColumns, type InventoryField } from "../../fields.js";
import type { InventoryValue } from "../types.js";
import { compareUtf8 } from "../../../utf8.js";
import { createOrcWriter, createOrcWriterWith, type OrcWriterOptions } from "./index.js";

const dir = mkdtempSync(join(tmpdir(), "orc-test-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
let fileCounter = 0;

// ---- data ---------------------------------------------------------------------------------------

/** A deterministic pseudo-random generator (xorshift). */
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

const SPECIAL_TIMES = [
  0, // the Unix epoch
  -1500, // before 1970 with a fraction
  -86_400_000 * 365, // 1969, whole seconds
  1_136_073_600_123, // 2006, before the ORC epoch
  1_420_070_400_000, // the ORC epoch itself
  4_102_444_800_999, // 2100
];
const ACL = Buffer.from(JSON.stringify({ version: "2022-11-10", status: "AVAILABLE", grants: [{ canonicalId: "c".repeat(64), type: "CanonicalUser", permission: "FULL_CONTROL" }] })).toString("base64");

function keyFor(i: number): string {
  if (i % 97 === 5) return `données/ключ/🙂/${i}/ü€`;
  if (i % 501 === 7) {
    const prefix = `long/${i}/é`;
    return prefix + "x".repeat(1024 - Buffer.byteLength(prefix));
  }
  return `photos/2024/${String(i).padStart(9, "0")}.jpg`;
}

function valueFor(f: InventoryField, i: number, r: () => number): InventoryValue {
  const deleteMarker = i % 11 === 3;
  switch (f.name) {
    case "Bucket":
      return "example-bucket";
    case "Key":
      return keyFor(i);
    case "VersionId":
      return i % 5 === 0 ? null : Math.floor(r() * 2 ** 52).toString(36).padEnd(32, "v");
    case "IsLatest":
      return i % 3 !== 0;
    case "IsDeleteMarker":
      return deleteMarker;
    case "Size":
      return deleteMarker ? null : i % 13 === 0 ? 5 * 2 ** 40 : i % 17 === 0 ? 0 : Math.floor(r() * 10_000_000);
    case "LastModifiedDate":
      return i % 1000 === 1 ? SPECIAL_TIMES[(i / 1000) % SPECIAL_TIMES.length | 0]! : 1_700_000_000_000 + i * 1000 + Math.floor(r() * 1000);
    case "ETag":
      return deleteMarker ? null : Math.floor(r() * 2 ** 52).toString(16).padStart(32, "0");
    case "StorageClass":
      return deleteMarker ? null : ["STANDARD", "STANDARD_IA", "GLACIER", "INTELLIGENT_TIERING"][Math.floor(r() * 4)]!;
    case "ObjectAccessControlList":
      return deleteMarker ? null : ACL;
    case "ObjectOwner":
      return "c".repeat(64);
    case "ObjectLockRetainUntilDate":
      return i % 7 === 0 ? SPECIAL_TIMES[i % SPECIAL_TIMES.length]! : null;
    case "ObjectLockEventHoldDuration":
      return null; // a column of nulls only
  }
  switch (f.kind) {
    case "string":
      return deleteMarker || i % 4 === 0 ? null : ["ENABLED", "DISABLED", "COMPLETED"][i % 3]!;
    case "boolean":
      return deleteMarker ? null : r() < 0.5;
    case "int64":
      return Math.floor(r() * 1000);
    case "timestamp":
      return deleteMarker ? null : 1_600_000_000_000 + Math.floor(r() * 1e11);
  }
}

function* rowBatches(columns: readonly InventoryField[], rows: number, batch = 2000): Generator<InventoryValue[][]> {
  const r = rng(42);
  for (let at = 0; at < rows; at += batch) {
    const out: InventoryValue[][] = [];
    for (let i = at; i < Math.min(rows, at + batch); i++) out.push(columns.map((f) => valueFor(f, i, r)));
    yield out;
  }
}

// ---- writing and reading -----------------------------------------------------------------------

async function writeFile(options: Omit<OrcWriterOptions, "sink">, rows: number): Promise<{ path: string; bytes: number }> {
  const path = join(dir, `t${fileCounter++}.orc`);
  const fd = openSync(path, "w");
  let bytes = 0;
  const w = createOrcWriterWith({
    ...options,
    sink: async (chunk) => {
      writeSync(fd, chunk);
      bytes += chunk.length;
    },
  });
  for (const batch of rowBatches(options.columns, rows)) await w.writeRows(batch);
  await w.finish();
  closeSync(fd);
  assert.equal(w.bytesWritten, bytes);
  assert.equal(w.rowsWritten, rows);
  return { path, bytes };
}

/** pyarrow's view of a file: schema, stripes, and all values (timestamps as epoch ms) or aggregates. */
function pyarrowRead(path: string, mode: "values" | "aggregates"): any {
  const script = `
import json, sys
import pyarrow as pa, pyarrow.orc as orc, pyarrow.compute as pc
f = orc.ORCFile(sys.argv[1])
t = f.read()
out = {"nrows": f.nrows, "nstripes": f.nstripes, "compression": f.compression, "file_version": str(f.file_version),
       "writer_version": str(f.writer_version), "stride": f.row_index_stride,
       "schema": [[fl.name, str(fl.type)] for fl in t.schema],
       "stripe_rows": [f.read_stripe(i).num_rows for i in range(f.nstripes)]}
def col(c):
    if pa.types.is_timestamp(c.type):
        return [None if v is None else v // 1000000 for v in c.cast(pa.int64()).to_pylist()]
    return c.to_pylist()
if sys.argv[2] == "values":
    out["columns"] = {name: col(t.column(name)) for name in t.column_names}
else:
    agg = {}
    for name in t.column_names:
        c = t.column(name)
        a = {"nulls": c.null_count}
        if pa.types.is_timestamp(c.type): c = pc.divide(c.cast(pa.int64()), 1000000)
        if pa.types.is_integer(c.type): a["sum"] = str(pc.sum(c).as_py())
        if c.null_count < len(c) and not pa.types.is_boolean(c.type):
            mm = pc.min_max(c)
            a["min"] = mm["min"].as_py(); a["max"] = mm["max"].as_py()
            if pa.types.is_integer(c.type): a["min"] = str(a["min"]); a["max"] = str(a["max"])
        if pa.types.is_boolean(c.type): a["true"] = pc.sum(c).as_py()
        agg[name] = a
    out["aggregates"] = agg
    out["samples"] = {str(i): {k: (v if not hasattr(v, "timestamp") else None) for k, v in t.slice(i, 1).to_pylist()[0].items()} for i in [0, len(t) // 2, len(t) - 1] if len(t)}
print(json.dumps(out))
`;
  // A reader in another zone must still see UTC values: the writer's zone is UTC.
  const res = spawnSync("python3", ["-c", script, path, mode], { encoding: "utf8", maxBuffer: 1 << 30, env: { ...process.env, TZ: "America/New_York" } });
  assert.equal(res.status, 0, res.stderr);
  return JSON.parse(res.stdout);
}

// ---- a small protobuf reader for the tail --------------------------------------------------------

type Fields = Map<number, (bigint | Buffer)[]>;

function parseProto(buf: Buffer): Fields {
  const fields: Fields = new Map();
  let at = 0;
  const varint = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[at++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
      shift += 7n;
    }
  };
  while (at < buf.length) {
    const tag = Number(varint());
    const field = tag >>> 3;
    let value: bigint | Buffer;
    if ((tag & 7) === 0) value = varint();
    else if ((tag & 7) === 2) {
      const len = Number(varint());
      value = buf.subarray(at, at + len);
      at += len;
    } else throw new Error(`unexpected wire type ${tag & 7}`);
    if (!fields.has(field)) fields.set(field, []);
    fields.get(field)!.push(value);
  }
  return fields;
}

const num = (f: Fields, n: number): number | undefined => (f.has(n) ? Number(f.get(n)![0] as bigint) : undefined);
const sint = (f: Fields, n: number): bigint | undefined => {
  if (!f.has(n)) return undefined;
  const v = f.get(n)![0] as bigint;
  return v & 1n ? -(v >> 1n) - 1n : v >> 1n;
};
const msg = (f: Fields, n: number): Fields | undefined => (f.has(n) ? parseProto(f.get(n)![0] as Buffer) : undefined);
const msgs = (f: Fields, n: number): Fields[] => (f.get(n) ?? []).map((b) => parseProto(b as Buffer));
const str = (f: Fields, n: number): string | undefined => (f.has(n) ? (f.get(n)![0] as Buffer).toString("utf8") : undefined);
const packed = (f: Fields, n: number): number[] => {
  const out: number[] = [];
  for (const b of f.get(n) ?? []) {
    const buf = b as Buffer;
    let at = 0;
    while (at < buf.length) {
      let v = 0;
      let mul = 1;
      for (;;) {
        const x = buf[at++]!;
        v += (x & 0x7f) * mul;
        mul *= 128;
        if (x < 0x80) break;
      }
      out.push(v);
    }
  }
  return out;
};

function decompress(bytes: Buffer, compression: number): Buffer {
  if (compression === 0) return bytes;
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const h = bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16);
    const body = bytes.subarray(at + 3, at + 3 + (h >>> 1));
    parts.push(h & 1 ? body : inflateRawSync(body));
    at += 3 + (h >>> 1);
  }
  return Buffer.concat(parts);
}

function readTail(file: Buffer) {
  const psLen = file[file.length - 1]!;
  const ps = parseProto(file.subarray(file.length - 1 - psLen, file.length - 1));
  const compression = num(ps, 2) ?? 0;
  const footerLen = num(ps, 1)!;
  const metaLen = num(ps, 5)!;
  const footerEnd = file.length - 1 - psLen;
  const footer = parseProto(decompress(file.subarray(footerEnd - footerLen, footerEnd), compression));
  const metadata = parseProto(decompress(file.subarray(footerEnd - footerLen - metaLen, footerEnd - footerLen), compression));
  return { ps, compression, footer, metadata };
}

interface Stats {
  count: number;
  hasNull: boolean;
  min?: string | number;
  max?: string | number;
  sum?: string;
  trueCount?: number;
}

function decodeStats(s: Fields): Stats {
  const out: Stats = { count: num(s, 1) ?? 0, hasNull: (num(s, 10) ?? 0) === 1 };
  const ints = msg(s, 2);
  if (ints) Object.assign(out, { min: Number(sint(ints, 1)), max: Number(sint(ints, 2)), sum: sint(ints, 3)?.toString() });
  const strs = msg(s, 4);
  if (strs) Object.assign(out, { min: str(strs, 1), max: str(strs, 2), sum: sint(strs, 3)?.toString() });
  const bools = msg(s, 5);
  if (bools) out.trueCount = packed(bools, 1)[0];
  const ts = msg(s, 9);
  if (ts) {
    assert.equal(sint(ts, 3), sint(ts, 1));
    Object.assign(out, { min: Number(sint(ts, 3)), max: Number(sint(ts, 4)) });
  }
  return out;
}

/** Statistics computed from values, as the file must record them. */
function expectedStats(f: InventoryField, values: readonly InventoryValue[]): Stats {
  const present = values.filter((v) => v !== null);
  const s: Stats = { count: present.length, hasNull: present.length < values.length };
  if (f.kind === "boolean") s.trueCount = present.filter((v) => v === true).length;
  if (present.length === 0) return s;
  if (f.kind === "string") {
    const strs = present as string[];
    s.min = strs.reduce((a, b) => (compareUtf8(a, b) <= 0 ? a : b));
    s.max = strs.reduce((a, b) => (compareUtf8(a, b) >= 0 ? a : b));
    s.sum = String(strs.reduce((n, v) => n + Buffer.byteLength(v), 0));
  } else if (f.kind === "int64" || f.kind === "timestamp") {
    const nums = present as number[];
    s.min = Math.min(...nums);
    s.max = Math.max(...nums);
    if (f.kind === "int64") s.sum = String(nums.reduce((a, b) => a + BigInt(b), 0n));
  }
  return s;
}

// ---- the checks ------------------------------------------------------------------------------------

const ALL_COLUMNS = [...INVENTORY_FIELDS];
const ORC_TYPES: Record<string, string> = { string: "string", boolean: "bool", int64: "int64", timestamp: "timestamp[ns]" };

function allRows(columns: readonly InventoryField[], rows: number): InventoryValue[][] {
  return [...rowBatches(columns, rows)].flat();
}

/** Reads a file back with pyarrow and checks values, schema, tail, statistics and row indexes. */
function verify(path: string, columns: readonly InventoryField[], rows: number, compression: "NONE" | "ZLIB") {
  const expected = allRows(columns, rows);
  const got = pyarrowRead(path, "values");
  assert.equal(got.nrows, rows);
  assert.equal(got.compression, compression === "NONE" ? "UNCOMPRESSED" : compression);
  assert.equal(got.file_version, "0.12");
  assert.equal(got.writer_version, "ORC_135");
  assert.deepEqual(
    got.schema,
    columns.map((c) => [c.column, ORC_TYPES[c.kind]]),
  );
  columns.forEach((c, j) => {
    const values = got.columns[c.column] as unknown[];
    assert.equal(values.length, rows);
    for (let i = 0; i < rows; i++) if (values[i] !== expected[i]![j]) assert.fail(`${c.column}[${i}]: ${String(values[i])} !== ${String(expected[i]![j])}`);
  });

  const file = readFileSync(path);
  assert.equal(file.subarray(0, 3).toString(), "ORC");
  const { ps, compression: kind, footer, metadata } = readTail(file);
  assert.equal(kind, compression === "ZLIB" ? 1 : 0);
  assert.deepEqual(packed(ps, 4), [0, 12]);
  assert.equal(str(ps, 8000), "ORC");
  assert.equal(num(footer, 6), rows);
  assert.equal(num(footer, 8), 10_000);
  const types = msgs(footer, 4);
  assert.equal(num(types[0]!, 1), 12);
  assert.deepEqual((types[0]!.get(3) ?? []).map((b) => b.toString()), columns.map((c) => c.column));

  // File statistics, then each stripe's (Metadata) against its rows.
  const fileStats = msgs(footer, 7).map(decodeStats);
  assert.equal(fileStats[0]!.count, rows);
  columns.forEach((c, j) => assert.deepEqual(fileStats[j + 1], expectedStats(c, expected.map((r) => r[j]!)), `file stats of ${c.column}`));
  const stripes = msgs(footer, 3);
  assert.equal(stripes.length, got.nstripes);
  const stripeStats = msgs(metadata, 1);
  assert.equal(stripeStats.length, stripes.length);
  let first = 0;
  stripes.forEach((stripe, k) => {
    const n = num(stripe, 5)!;
    assert.equal(n, got.stripe_rows[k]);
    const slice = expected.slice(first, first + n);
    const stats = msgs(stripeStats[k]!, 1).map(decodeStats);
    columns.forEach((c, j) => assert.deepEqual(stats[j + 1], expectedStats(c, slice.map((r) => r[j]!)), `stripe ${k} stats of ${c.column}`));
    checkRowIndex(file, stripe, kind, columns, slice);
    first += n;
  });
  assert.equal(first, rows);
}

/** Row group statistics, and for the key column (never null) the DATA positions of a direct encoding. */
function checkRowIndex(file: Buffer, stripe: Fields, kind: number, columns: readonly InventoryField[], rows: InventoryValue[][]) {
  const offset = num(stripe, 1)!;
  const indexLength = num(stripe, 2)!;
  const dataLength = num(stripe, 3)!;
  const footer = parseProto(decompress(file.subarray(offset + indexLength + dataLength, offset + indexLength + dataLength + num(stripe, 4)!), kind));
  assert.equal(str(footer, 3), "UTC");
  let at = offset;
  const streams = msgs(footer, 1).map((s) => {
    const st = { kind: num(s, 1) ?? 0, column: num(s, 2) ?? 0, start: at, length: num(s, 3) ?? 0 };
    at += st.length;
    return st;
  });
  assert.equal(at, offset + indexLength + dataLength);
  const encodings = msgs(footer, 2);
  const groups = Math.ceil(rows.length / 10_000);
  columns.forEach((c, j) => {
    const index = streams.find((s) => s.kind === 6 && s.column === j + 1)!;
    const entries = msgs(parseProto(decompress(file.subarray(index.start, index.start + index.length), kind)), 1);
    assert.equal(entries.length, groups);
    entries.forEach((e, g) => {
      const slice = rows.slice(g * 10_000, (g + 1) * 10_000).map((r) => r[j]!);
      assert.deepEqual(decodeStats(msg(e, 2)!), expectedStats(c, slice), `row group ${g} of ${c.column}`);
    });
    if (c.name === "Key" && num(encodings[j + 1]!, 1) === 2) {
      const data = streams.find((s) => s.kind === 1 && s.column === j + 1)!;
      const raw = file.subarray(data.start, data.start + data.length);
      entries.forEach((e, g) => {
        const pos = packed(e, 1);
        // no PRESENT stream: DATA's position first, then LENGTH's
        const text = kind === 0 ? raw.subarray(pos[0]!) : decompress(raw.subarray(pos[0]!), kind).subarray(pos[1]!);
        const key = rows[g * 10_000]![j] as string;
        assert.equal(text.subarray(0, Buffer.byteLength(key)).toString(), key, `row group ${g} key position`);
      });
    }
  });
}

test("fileSchema and the file's schema come from the one catalogue", () => {
  const columns = reportColumns("All", ["Size", "LastModifiedDate", "IsMultipartUploaded"]);
  assert.equal(orcFileSchema(columns), "struct<bucket:string,key:string,version_id:string,is_latest:boolean,is_delete_marker:boolean,size:bigint,last_modified_date:timestamp,is_multipart_uploaded:boolean>");
});

for (const compression of ["ZLIB", "NONE"] as const) {
  test(`every column, nulls, unicode and 1024-byte keys, several stripes (${compression})`, async () => {
    const rows = 25_000;
    // A small stripe bound and block size: several stripes, chunks and row groups.
    const { path } = await writeFile({ columns: ALL_COLUMNS, compression, stripeBytes: 1 << 20, compressionBlockSize: 16 * 1024 }, rows);
    verify(path, ALL_COLUMNS, rows, compression);
    const { footer } = readTail(readFileSync(path));
    assert.ok(msgs(footer, 3).length >= 3, "several stripes");
  });
}

for (const compression of ["ZLIB", "NONE"] as const) {
  test(`inline compression (a report split across threads) writes the same bytes (${compression})`, async () => {
    const rows = 25_000;
    const options = { columns: ALL_COLUMNS, compression, stripeBytes: 1 << 20, compressionBlockSize: 16 * 1024 };
    const pooled = await writeFile(options, rows);
    const inline = await writeFile({ ...options, inline: true }, rows);
    assert.ok(readFileSync(inline.path).equals(readFileSync(pooled.path)), "identical files");
    verify(inline.path, ALL_COLUMNS, rows, compression);
  });
}

test("0 rows and 1 row", async () => {
  for (const rows of [0, 1]) {
    const { path } = await writeFile({ columns: ALL_COLUMNS }, rows);
    verify(path, ALL_COLUMNS, rows, "ZLIB");
  }
});

test("the default factory writes ZLIB with the report's columns (Current versions, few fields)", async () => {
  const columns = reportColumns("Current", ["Size", "ETag"]);
  const chunks: Buffer[] = [];
  const w = createOrcWriter({ columns, sink: async (c) => void chunks.push(c) });
  for (const batch of rowBatches(columns, 3000)) await w.writeRows(batch);
  await w.finish();
  const path = join(dir, "factory.orc");
  writeSync(openSync(path, "w"), Buffer.concat(chunks));
  verify(path, columns, 3000, "ZLIB");
});

test("dictionary where it pays, direct where it does not", async () => {
  const columns = reportColumns("All", ["StorageClass", "ETag"]);
  const { path } = await writeFile({ columns }, 30_000);
  const file = readFileSync(path);
  const { footer, compression } = readTail(file);
  const stripe = msgs(footer, 3)[0]!;
  const start = num(stripe, 1)! + num(stripe, 2)! + num(stripe, 3)!;
  const sf = parseProto(decompress(file.subarray(start, start + num(stripe, 4)!), compression));
  const kinds = msgs(sf, 2).map((e) => [num(e, 1) ?? 0, num(e, 2)]);
  const byName = Object.fromEntries(columns.map((c, j) => [c.column, kinds[j + 1]]));
  assert.deepEqual(byName.bucket, [3, 1]); // DICTIONARY_V2 of 1 value
  assert.deepEqual(byName.storage_class, [3, 4]);
  assert.equal(byName.key![0], 2); // DIRECT_V2: all distinct
  assert.equal(byName.e_tag![0], 2);
});

test("a large report streams in bounded memory (ORC_TEST_ROWS)", async () => {
  const rows = Number(process.env.ORC_TEST_ROWS ?? 200_000);
  const columns = ALL_COLUMNS;
  const started = performance.now();
  const { path, bytes } = await writeFile({ columns }, rows);
  const seconds = (performance.now() - started) / 1000;
  if (process.env.ORC_TEST_ROWS) console.log(`# ${rows} rows: ${seconds.toFixed(1)} s incl. row generation, ${(rows / seconds).toFixed(0)} rows/s, ${bytes} bytes, ${(bytes / rows).toFixed(1)} B/row, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);

  // Aggregates from the data as generated, against pyarrow's over the file.
  const agg: Record<string, { nulls: number; min?: unknown; max?: unknown; sum?: bigint; true?: number }> = {};
  for (const c of columns) agg[c.column] = { nulls: 0, sum: c.kind === "int64" || c.kind === "timestamp" ? 0n : undefined, true: c.kind === "boolean" ? 0 : undefined };
  for (const batch of rowBatches(columns, rows)) {
    for (const row of batch) {
      columns.forEach((c, j) => {
        const a = agg[c.column]!;
        const v = row[j]!;
        if (v === null) return void a.nulls++;
        if (c.kind === "boolean") a.true! += v ? 1 : 0;
        else if (c.kind === "string") {
          if (a.min === undefined || compareUtf8(v as string, a.min as string) < 0) a.min = v;
          if (a.max === undefined || compareUtf8(v as string, a.max as string) > 0) a.max = v;
        } else {
          a.sum! += BigInt(v as number);
          if (a.min === undefined || (v as number) < (a.min as number)) a.min = v;
          if (a.max === undefined || (v as number) > (a.max as number)) a.max = v;
        }
      });
    }
  }
  const got = pyarrowRead(path, "aggregates");
  assert.equal(got.nrows, rows);
  for (const c of columns) {
    const a = agg[c.column]!;
    const g = got.aggregates[c.column];
    assert.equal(g.nulls, a.nulls, c.column);
    if (a.true !== undefined) assert.equal(g.true, a.true, c.column);
    // pyarrow's int64 sum wraps (10 million timestamps in milliseconds pass 2^63).
    if (a.sum !== undefined && a.nulls < rows) assert.equal(g.sum, BigInt.asIntN(64, a.sum).toString(), c.column);
    if (a.min !== undefined) {
      assert.equal(String(g.min), String(a.min), c.column);
      assert.equal(String(g.max), String(a.max), c.column);
    }
  }
  const { footer } = readTail(readFileSync(path));
  assert.equal(msgs(footer, 3).reduce((n, s) => n + num(s, 5)!, 0), rows);
});
