// The preview's ORC reader against (1) reports written by Stocktake's own ORC writer and (2) files
// written by pyarrow (Apache ORC's C++ writer), whose values pyarrow itself reads back as the
// expected answer. The pyarrow tests skip when pyarrow cannot be imported.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { INVENTORY_FIELDS } from "../../../src/inventory/fields.js";
import type { InventoryValue } from "../../../src/inventory/writers/types.js";
import { createOrcWriterWith, type OrcWriterOptions } from "../../../src/inventory/writers/orc/index.js";
import { decodeIntegerRle, readOrcPreview, readOrcPreviewFrom } from "./orc.js";

const dir = mkdtempSync(join(tmpdir(), "orc-preview-test-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

// ---- Stocktake's writer ------------------------------------------------------------------------

const COLUMNS = [...INVENTORY_FIELDS];
// Before 1970 with and without fractions, before and at the ORC epoch. Not within the last second
// before 1970: the writer's encoding of those (seconds toward zero, fraction forward) is read by
// every reader, pyarrow included, as the first second after 1970.
const SPECIAL_TIMES = [0, -1500, -1000, -1001, -86_400_000 * 365, 1_136_073_600_123, 1_420_070_400_000, 4_102_444_800_999];

function valueFor(kind: (typeof COLUMNS)[number]["kind"], name: string, i: number): InventoryValue {
  if (name === "ObjectLockEventHoldDuration") return null; // a column of nulls only
  if ((i + name.length) % 7 === 0) return null;
  switch (kind) {
    case "string":
      if (name === "Key") return i % 500 === 3 ? `long/${i}/${"é".repeat(3000)}` : i % 97 === 5 ? `données/ключ/🙂/${i}` : `photos/${String(i).padStart(9, "0")}.jpg`;
      if (name === "StorageClass") return ["STANDARD", "GLACIER", "STANDARD_IA"][i % 3]!; // stays a dictionary
      return `${name}-${(i * 7919) % 100_003}`;
    case "boolean":
      return (i * 31) % 5 < 2;
    case "int64":
      return i % 11 === 0 ? Number.MAX_SAFE_INTEGER - i : i % 13 === 0 ? -i : (i * 104_729) % 10_000_000;
    case "timestamp":
      return i < SPECIAL_TIMES.length ? SPECIAL_TIMES[i]! : 1_700_000_000_000 + i * 1001;
  }
}

const rowsOf = (n: number): InventoryValue[][] => Array.from({ length: n }, (_, i) => COLUMNS.map((c) => valueFor(c.kind, c.name, i)));
/** What the preview shows for a value the writer was given. */
const shown = (row: InventoryValue[]) => row.map((v, j) => (v !== null && COLUMNS[j]!.kind === "timestamp" ? new Date(v as number).toISOString() : v));

async function writeReport(rows: InventoryValue[][], options: Omit<OrcWriterOptions, "sink" | "columns">): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  const w = createOrcWriterWith({ ...options, columns: COLUMNS, sink: async (chunk) => void parts.push(Buffer.from(chunk)) });
  for (let at = 0; at < rows.length; at += 1000) await w.writeRows(rows.slice(at, at + 1000));
  await w.finish();
  return new Uint8Array(Buffer.concat(parts));
}

/** The Footer's stripe count, read independently of the reader under test (node:zlib, ad hoc protobuf). */
function stripeCount(file: Uint8Array): number {
  const psLength = file[file.length - 1]!;
  const ps = file.subarray(file.length - 1 - psLength, file.length - 1);
  const fields = (b: Uint8Array) => {
    const out: [number, number | Uint8Array][] = [];
    let at = 0;
    const varint = () => {
      let v = 0;
      for (let mul = 1; ; mul *= 128) {
        const x = b[at++]!;
        v += (x & 0x7f) * mul;
        if (x < 0x80) return v;
      }
    };
    while (at < b.length) {
      const tag = varint();
      if (tag % 8 === 0) out.push([tag >>> 3, varint()]);
      else {
        const n = varint();
        out.push([tag >>> 3, b.subarray(at, (at += n))]);
      }
    }
    return out;
  };
  const psFields = new Map(fields(ps));
  const footerLength = psFields.get(1) as number;
  let footer = file.subarray(file.length - 1 - psLength - footerLength, file.length - 1 - psLength);
  if (psFields.get(2) === 1) {
    const parts: Buffer[] = [];
    for (let at = 0; at < footer.length; ) {
      const h = footer[at]! | (footer[at + 1]! << 8) | (footer[at + 2]! << 16);
      const body = footer.subarray(at + 3, at + 3 + (h >>> 1));
      parts.push(h & 1 ? Buffer.from(body) : inflateRawSync(body));
      at += 3 + (h >>> 1);
    }
    footer = Buffer.concat(parts);
  }
  return fields(footer).filter(([f]) => f === 3).length;
}

test("decodes the specification's integer RLE examples: v1 runs and literals, v2 short repeat, direct, patched base and delta", () => {
  const hex = (s: string) => Uint8Array.from(s.split(" "), (x) => parseInt(x, 16));
  const range = (from: number, to: number, step = 1) => Array.from({ length: Math.abs(to - from) / Math.abs(step) + 1 }, (_, i) => BigInt(from + i * step));
  assert.deepEqual(decodeIntegerRle(hex("61 00 07"), false, 1, 100), Array(100).fill(7n));
  assert.deepEqual(decodeIntegerRle(hex("61 ff 64"), false, 1, 100), range(100, 1, -1));
  assert.deepEqual(decodeIntegerRle(hex("fb 02 03 06 07 0b"), false, 1, 5), [2n, 3n, 6n, 7n, 11n]);
  assert.deepEqual(decodeIntegerRle(hex("0a 27 10"), false, 2, 5), Array(5).fill(10000n));
  assert.deepEqual(decodeIntegerRle(hex("5e 03 5c a1 ab 1e de ad be ef"), false, 2, 4), [23713n, 43806n, 57005n, 48879n]);
  const patched = "8e 13 2b 21 07 d0 1e 00 14 70 28 32 3c 46 50 5a 64 6e 78 82 8c 96 a0 aa b4 be fc e8";
  assert.deepEqual(decodeIntegerRle(hex(patched), false, 2, 20), [2030n, 2000n, 2020n, 1000000n, ...range(2040, 2190, 10)]);
  assert.deepEqual(decodeIntegerRle(hex("c6 09 02 02 22 42 42 46"), false, 2, 10), [2n, 3n, 5n, 7n, 11n, 13n, 17n, 19n, 23n, 29n]);
  // Signed streams zigzag: SHORT_REPEAT of -1 (zigzag 1).
  assert.deepEqual(decodeIntegerRle(hex("02 01"), true, 2, 5), Array(5).fill(-1n));
});

for (const compression of ["NONE", "ZLIB"] as const) {
  test(`reads every value of a Stocktake report across many stripes: nulls, a null-only column, long and unicode strings, pre-1970 times (${compression})`, async () => {
    const rows = rowsOf(20_000);
    // Small stripes and compression chunks: many of each, and strings longer than a chunk.
    const file = await writeReport(rows, { compression, stripeBytes: 128 * 1024, compressionBlockSize: 4096 });
    assert.ok(stripeCount(file) >= 5, `several stripes (${stripeCount(file)})`);
    const preview = await readOrcPreview(file, 1_000_000);
    assert.deepEqual(
      preview.columns,
      COLUMNS.map((c) => ({ name: c.column, type: { string: "string", boolean: "boolean", int64: "bigint", timestamp: "timestamp" }[c.kind] })),
    );
    assert.equal(preview.totalRows, rows.length);
    assert.equal(preview.rows.length, rows.length);
    for (let i = 0; i < rows.length; i++) assert.deepEqual(preview.rows[i], shown(rows[i]!), `row ${i}`);
    assert.equal(preview.rows[1]![COLUMNS.findIndex((c) => c.name === "LastModifiedDate")], "1969-12-31T23:59:58.500Z");
  });
}

test("a short preview reads only the start of a multi-stripe file, and a longer one continues into later stripes", async () => {
  const rows = rowsOf(20_000);
  const file = await writeReport(rows, { compression: "ZLIB", stripeBytes: 128 * 1024, compressionBlockSize: 4096 });
  let bytesRead = 0;
  const read = async (offset: number, length: number) => {
    bytesRead += length;
    return file.subarray(offset, offset + length);
  };
  const first = await readOrcPreviewFrom(read, file.length, 10);
  assert.deepEqual(first.rows, rows.slice(0, 10).map(shown));
  assert.equal(first.totalRows, 20_000);
  assert.ok(bytesRead < file.length / 5, `read ${bytesRead} of ${file.length} bytes`);

  const more = await readOrcPreview(file, 7_777);
  assert.deepEqual(more.rows, rows.slice(0, 7_777).map(shown));
});

test("an empty report has its columns and no rows; a limit of 0 reads no rows", async () => {
  const empty = await readOrcPreview(await writeReport([], { compression: "ZLIB" }), 100);
  assert.equal(empty.columns.length, COLUMNS.length);
  assert.deepEqual(empty.rows, []);
  assert.equal(empty.totalRows, 0);
  const none = await readOrcPreview(await writeReport(rowsOf(5), { compression: "NONE" }), 0);
  assert.deepEqual([none.rows, none.totalRows], [[], 5]);
});

test("refuses compressions it cannot decode, and files that are not ORC, with clear errors", async () => {
  const file = await writeReport(rowsOf(5), { compression: "ZLIB" });
  // PostScript: field 1 (footer length, a varint), then field 2 = compression kind.
  const psStart = file.length - 1 - file[file.length - 1]!;
  let at = psStart + 1;
  while (file[at]! >= 0x80) at++;
  assert.deepEqual([file[psStart], file[at + 1], file[at + 2]], [0x08, 0x10, 1]);
  for (const [kind, name] of [[2, "SNAPPY"], [4, "LZ4"], [5, "ZSTD"]] as const) {
    const copy = file.slice();
    copy[at + 2] = kind;
    await assert.rejects(readOrcPreview(copy, 10), { message: `unsupported ORC compression ${name}` });
  }
  await assert.rejects(readOrcPreview(new TextEncoder().encode("Bucket,Key\nb,k\n"), 10), /not an ORC file/);
  await assert.rejects(readOrcPreview(new Uint8Array(0), 10), /not an ORC file/);
  await assert.rejects(readOrcPreview(file.subarray(0, file.length - 40), 10), /ORC file is corrupt or truncated/);
});

// ---- pyarrow ----------------------------------------------------------------------------------

const LIMIT = 1500;

/**
 * Writes the test files with pyarrow and prints, per file, pyarrow's own reading of its first
 * LIMIT rows as JSON: integers past 2^53 as {"big"}, bytes as {"hex"}, decimals as fixed-point
 * text at the type's scale, dates as ISO dates, timestamps as ISO UTC with 3, 6 or 9 fraction
 * digits (from their integer value, so nanoseconds survive), maps as [key, value] pairs.
 */
const PYTHON = String.raw`
import json, sys, os, random, datetime, decimal
import pyarrow as pa, pyarrow.orc as orc
out, limit = sys.argv[1], int(sys.argv[2])
rnd = random.Random(7)
E9 = 10**9
N = 3000
def nulls(vals, every):
    return [None if i % every == every - 1 else v for i, v in enumerate(vals)]
# Before 1970 with fractions of every size, the ORC epoch, nanosecond and millisecond precision.
special = [0, -1_500_000_000, -1, -999_999, -1_000_000, -2_207_520_000 * E9 + 123_456_789, 1_420_070_400 * E9,
           1_700_000_000_123_456_000, 9_000_000_000_123_000_000, -5_000_000_001, 1_000_000, 7]
ts = [special[i] if i < len(special) else 1_600_000_000 * E9 + (rnd.randrange(10**11) * 10**6 if i % 2 else rnd.randrange(10**17)) for i in range(N)]
strings = ["", "a", "données/ключ/🙂", "x" * 3000] + [f"key/{i:06d}/{'z' * (i % 40)}" for i in range(N - 4)]
types = pa.table({
    "bool": pa.array(nulls([i % 3 == 0 for i in range(N)], 7)),
    "i8": pa.array(nulls([(i * 37) % 256 - 128 for i in range(N)], 5), pa.int8()),
    "i16": pa.array(nulls([(i * 7919) % 65536 - 32768 for i in range(N)], 6), pa.int16()),
    "i32": pa.array(nulls([rnd.randrange(-2**31, 2**31) for i in range(N)], 9), pa.int32()),
    "i64": pa.array(nulls([[-2**63, 2**63 - 1, 2**53, -2**53 - 1, 0][i] if i < 5 else rnd.randrange(-2**62, 2**62) for i in range(N)], 11), pa.int64()),
    "f32": pa.array(nulls([rnd.uniform(-1e6, 1e6) for i in range(N)], 4), pa.float32()),
    "f64": pa.array(nulls([rnd.uniform(-1e300, 1e300) if i % 3 else i / 7 for i in range(N)], 4), pa.float64()),
    "str": pa.array(nulls(strings, 10)),
    "dict_str": pa.array(nulls([["STANDARD", "GLACIER", "ONEZONE_IA"][i % 3] for i in range(N)], 8)),
    "bin": pa.array(nulls([bytes([i % 256, 0, 255]) * (i % 5) for i in range(N)], 7), pa.binary()),
    "ts": pa.array(nulls(ts, 13), pa.timestamp("ns")),
    "ts_utc": pa.array(nulls([t // 1000 for t in ts], 13), pa.timestamp("us", tz="UTC")),
    "date": pa.array(nulls([datetime.date(1970, 1, 1) + datetime.timedelta(days=(i * 97) % 60000 - 30000) for i in range(N)], 12), pa.date32()),
    "dec": pa.array(nulls([decimal.Decimal(rnd.randrange(-10**10 + 1, 10**10)).scaleb(-2) for i in range(N)], 5), pa.decimal128(10, 2)),
    "dec38": pa.array(nulls([decimal.Decimal(rnd.randrange(-10**38 + 1, 10**38)).scaleb(-10) if i % 4 else decimal.Decimal(i).scaleb(-10) for i in range(N)], 5), pa.decimal128(38, 10)),
    "list": pa.array(nulls([list(range(i % 5)) for i in range(N)], 6), pa.list_(pa.int64())),
    "list_str": pa.array(nulls([[None if j == 1 else f"s{j}" for j in range(i % 4)] for i in range(N)], 7), pa.list_(pa.string())),
    "struct": pa.array(nulls([{"a": None if i % 4 == 1 else i, "b": f"b{i}"} for i in range(N)], 5), pa.struct([("a", pa.int32()), ("b", pa.string())])),
    "map": pa.array(nulls([[(f"k{j}", j * i) for j in range(i % 3)] for i in range(N)], 8), pa.map_(pa.string(), pa.int32())),
    "list_struct": pa.array(nulls([[{"x": j} for j in range(i % 3)] for i in range(N)], 9), pa.list_(pa.struct([("x", pa.int16())]))),
    "union": pa.UnionArray.from_dense(pa.array([i % 2 for i in range(N)], pa.int8()), pa.array([i // 2 for i in range(N)], pa.int32()),
                                      [pa.array(list(range((N + 1) // 2)), pa.int32()), pa.array([f"u{i}" for i in range(N // 2)])]),
})
M = 20000
def outlier(): return rnd.randrange(10**12, 10**15) if rnd.random() < 0.02 else rnd.randrange(0, 100)
ints = pa.table({
    "outliers": pa.array([outlier() for i in range(M)], pa.int64()),
    "neg_outliers": pa.array([-outlier() for i in range(M)], pa.int64()),
    "outliers32": pa.array([rnd.randrange(2**30, 2**31) if rnd.random() < 0.03 else rnd.randrange(0, 50) for i in range(M)], pa.int32()),
    "sequence": pa.array([i * 3 - 1000 for i in range(M)], pa.int64()),
    "descending": pa.array([10**12 - i * rnd.randrange(1, 1000) for i in range(M)], pa.int64()),
    "constant": pa.array([42] * M, pa.int64()),
    "runs": pa.array([(i // 5) % 7 for i in range(M)], pa.int64()),
    "random": pa.array([rnd.randrange(-2**63, 2**63) for i in range(M)], pa.int64()),
    "wide": pa.array([rnd.randrange(0, 2**40) for i in range(M)], pa.int64()),
})
def iso(v, per_sec):
    secs, frac = divmod(v, per_sec)
    nanos = frac * (E9 // per_sec)
    d = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=secs)
    digits = f"{nanos:09d}"
    f = digits[:3] if nanos % 10**6 == 0 else digits[:6] if nanos % 1000 == 0 else digits
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:{d.second:02d}.{f}Z"
def enc(v):
    if v is None or isinstance(v, (bool, float, str)): return v
    if isinstance(v, int): return v if abs(v) <= 2**53 - 1 else {"big": str(v)}
    if isinstance(v, bytes): return {"hex": v.hex()}
    if isinstance(v, decimal.Decimal): return format(v, "f")
    if isinstance(v, datetime.date): return v.isoformat()
    if isinstance(v, dict): return {k: enc(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)): return [enc(x) for x in v]
    raise TypeError(type(v))
def column(c):
    if pa.types.is_timestamp(c.type):
        per = {"s": 1, "ms": 10**3, "us": 10**6, "ns": E9}[c.type.unit]
        return [None if v is None else iso(v, per) for v in c.cast(pa.int64()).to_pylist()]
    return [enc(v) for v in c.to_pylist()]
result = {}
for name, table in [("types", types), ("ints", ints)]:
    for version in ["0.12", "0.11"]:
        for compression in ["zlib", "uncompressed"]:
            path = os.path.join(out, f"{name}-{version}-{compression}.orc")
            # Small stripes and batches: several stripes; a dictionary whenever it pays.
            orc.write_table(table, path, file_version=version, compression=compression, stripe_size=64 * 1024,
                            dictionary_key_size_threshold=1.0, batch_size=500)
            f = orc.ORCFile(path)
            head = f.read().slice(0, limit)
            cols = [column(head.column(i)) for i in range(head.num_columns)]
            result[os.path.basename(path)] = {"path": path, "nrows": f.nrows, "nstripes": f.nstripes,
                                              "rows": [list(r) for r in zip(*cols)]}
for compression in ["snappy", "zstd"]:
    path = os.path.join(out, f"{compression}.orc")
    orc.write_table(ints.slice(0, 10), path, compression=compression)
    result[os.path.basename(path)] = {"path": path}
print(json.dumps(result))
`;

interface PyFile {
  path: string;
  nrows: number;
  nstripes: number;
  rows: unknown[][];
}

let pyarrow: { files: Record<string, PyFile> } | { skip: string } | undefined;

function pyarrowFiles(): { files: Record<string, PyFile> } | { skip: string } {
  if (pyarrow) return pyarrow;
  const probe = spawnSync("python3", ["-c", "import pyarrow.orc"], { encoding: "utf8" });
  if (probe.status !== 0) {
    const why = probe.error ? probe.error.message : probe.stderr.trim().split("\n").pop();
    return (pyarrow = { skip: `pyarrow is not importable (${why}); python3 -m pip install pyarrow to run this test` });
  }
  const res = spawnSync("python3", ["-c", PYTHON, dir, String(LIMIT)], { encoding: "utf8", maxBuffer: 1 << 30 });
  assert.equal(res.status, 0, res.stderr);
  return (pyarrow = { files: JSON.parse(res.stdout) as Record<string, PyFile> });
}

function withPyarrow(t: TestContext): Record<string, PyFile> | undefined {
  const p = pyarrowFiles();
  if ("skip" in p) {
    t.skip(p.skip);
    return undefined;
  }
  return p.files;
}

/** The preview's values in the shape the Python side prints. */
function asPrinted(v: unknown): unknown {
  if (typeof v === "bigint") return { big: v.toString() };
  if (v instanceof Uint8Array) return { hex: Buffer.from(v).toString("hex") };
  if (Array.isArray(v)) return v.map(asPrinted);
  if (v !== null && typeof v === "object") {
    // pyarrow shows a union's value without its tag.
    if ("tag" in v && "value" in v) return asPrinted(v.value);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, asPrinted(x)]));
  }
  return v;
}

async function matchesPyarrow(file: PyFile): Promise<void> {
  const preview = await readOrcPreview(new Uint8Array(readFileSync(file.path)), LIMIT);
  assert.equal(preview.totalRows, file.nrows);
  assert.equal(preview.rows.length, Math.min(LIMIT, file.nrows));
  preview.rows.forEach((row, i) => {
    // Numbers within 2^53 must come back as numbers, not bigints.
    assert.deepEqual(asPrinted(row), file.rows[i], `row ${i}`);
  });
}

const TYPE_NAMES = [
  ["bool", "boolean"], ["i8", "tinyint"], ["i16", "smallint"], ["i32", "int"], ["i64", "bigint"], ["f32", "float"], ["f64", "double"],
  ["str", "string"], ["dict_str", "string"], ["bin", "binary"], ["ts", "timestamp"], ["ts_utc", "timestamp with local time zone"],
  ["date", "date"], ["dec", "decimal(10,2)"], ["dec38", "decimal(38,10)"], ["list", "array<bigint>"], ["list_str", "array<string>"],
  ["struct", "struct<a:int,b:string>"], ["map", "map<string,int>"], ["list_struct", "array<struct<x:smallint>>"], ["union", "uniontype<int,string>"],
].map(([name, type]) => ({ name, type }));

for (const version of ["0.12", "0.11"]) {
  for (const compression of ["zlib", "uncompressed"]) {
    const rle = version === "0.12" ? "RLE v2, dictionary v2" : "RLE v1, dictionary v1";
    test(`matches pyarrow on every type, nested lists/structs/maps/unions, nulls, decimals, dates and nanosecond timestamps (${version}: ${rle}, ${compression})`, async (t) => {
      const files = withPyarrow(t);
      if (!files) return;
      const file = files[`types-${version}-${compression}.orc`]!;
      const preview = await readOrcPreview(new Uint8Array(readFileSync(file.path)), 1);
      assert.deepEqual(preview.columns, TYPE_NAMES);
      await matchesPyarrow(file);
    });
    test(`matches pyarrow on integer runs: patched-base outliers, deltas, repeats, 64-bit direct values, across stripes (${version}: ${rle}, ${compression})`, async (t) => {
      const files = withPyarrow(t);
      if (!files) return;
      const file = files[`ints-${version}-${compression}.orc`]!;
      if (compression === "uncompressed") assert.ok(file.nstripes > LIMIT / 500, `the first ${LIMIT} rows span several stripes (${file.nstripes})`);
      await matchesPyarrow(file);
    });
  }
}

test("refuses pyarrow's SNAPPY and ZSTD files with an error naming the compression", async (t) => {
  const files = withPyarrow(t);
  if (!files) return;
  for (const name of ["snappy", "zstd"]) {
    await assert.rejects(readOrcPreview(new Uint8Array(readFileSync(files[`${name}.orc`]!.path)), 10), { message: `unsupported ORC compression ${name.toUpperCase()}` });
  }
});
