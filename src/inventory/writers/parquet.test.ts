// The Parquet writer, checked by real readers: files written here are read back with pyarrow and
// DuckDB (python3), which must see S3's schema (names, physical, logical and converted types, nullability)
// and every value, nulls included; plus the edges (no rows, one row, many row groups, long and
// non-ASCII keys) and the writer's own pieces (the hybrid encoding, Snappy, string order).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { INVENTORY_FIELDS, parquetFileSchema, reportColumns, type InventoryField } from "../fields.js";
import { compareUtf8 } from "../../utf8.js";
import { encodeHybrid, parquetWriterFactory, createParquetWriter } from "./parquet.js";
import { compress } from "./snappy.js";
import { ByteBuilder } from "./thrift-compact.js";
import type { InventoryValue, ReportWriterFactory } from "./types.js";

const work = mkdtempSync(join(tmpdir(), "stocktake-parquet-"));
after(() => rmSync(work, { recursive: true, force: true }));

function python(script: string, ...args: string[]): string {
  const res = spawnSync("python3", ["-c", script, ...args], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  assert.equal(res.status, 0, res.stderr);
  return res.stdout;
}

let fileCounter = 0;
async function writeFile(columns: readonly InventoryField[], rows: InventoryValue[][], factory: ReportWriterFactory = createParquetWriter, batch = 2000) {
  const chunks: Buffer[] = [];
  const writer = factory({ columns, sink: async (c) => void chunks.push(Buffer.from(c)) });
  let bytesBeforeFinish = 0;
  for (let i = 0; i < rows.length; i += batch) await writer.writeRows(rows.slice(i, i + batch));
  bytesBeforeFinish = writer.bytesWritten;
  await writer.finish();
  const data = Buffer.concat(chunks);
  assert.equal(writer.bytesWritten, data.length, "bytesWritten counts every byte handed to the sink");
  assert.equal(writer.rowsWritten, rows.length);
  const path = join(work, `f${fileCounter++}.parquet`);
  writeFileSync(path, data);
  return { path, data, bytesBeforeFinish };
}

/**
 * pyarrow's view of the file: S3's message type rebuilt from the column descriptors in
 * parquet-mr's text (logical types), each column's converted type, Arrow types, rows.
 */
const PYARROW_READ = `
import sys, json, re
import pyarrow as pa, pyarrow.parquet as pq
f = pq.ParquetFile(sys.argv[1])
root = re.match(r"\\S+ group (?:field_id=-?\\d+ )?(\\S+) \\{", str(f.schema).splitlines()[1]).group(1)
parts, converted = [], []
for i in range(len(f.schema)):
    c = f.schema.column(i)
    t = {"BYTE_ARRAY": "binary", "BOOLEAN": "boolean", "INT64": "int64"}[c.physical_type]
    lt = json.loads(c.logical_type.to_json())
    ann = {"None": "", "String": " (STRING)"}.get(lt["Type"])
    if lt["Type"] == "Timestamp":
        ann = " (TIMESTAMP(%s,%s))" % ({"milliseconds": "MILLIS"}[lt["timeUnit"]], "true" if lt["isAdjustedToUTC"] else "false")
    parts.append("  %s %s %s%s;" % ("optional" if c.max_definition_level else "required", t, c.name, ann))
    converted.append(c.converted_type)
t = f.read()
cols = []
for name in t.column_names:
    col = t.column(name)
    cols.append(col.cast(pa.int64()) if pa.types.is_timestamp(col.type) else col)
rows = [list(r.values()) for r in pa.table(cols, names=t.column_names).to_pylist()]
md = f.metadata
print(json.dumps({
  "schema": "message %s {%s}" % (root, "".join(parts)),
  "converted": converted,
  "arrow": [str(x.type) for x in t.schema],
  "rows": rows,
  "rowGroups": md.num_row_groups,
  "codecs": sorted({md.row_group(g).column(c).compression for g in range(md.num_row_groups) for c in range(md.num_columns)}),
  "stats": [[(lambda s: None if s is None else [s.null_count, str(s.min) if s.has_min_max else None, str(s.max) if s.has_min_max else None])(md.row_group(g).column(c).statistics) for c in range(md.num_columns)] for g in range(md.num_row_groups)],
  "encodings": [[list(md.row_group(g).column(c).encodings) for c in range(md.num_columns)] for g in range(md.num_row_groups)],
}))
`;

interface ArrowView {
  schema: string;
  converted: string[];
  arrow: string[];
  rows: (string | number | boolean | null)[][];
  rowGroups: number;
  codecs: string[];
  stats: ([number, string | null, string | null] | null)[][];
  encodings: string[][][];
}

const readPyarrow = (path: string) => JSON.parse(python(PYARROW_READ, path)) as ArrowView;

/** DuckDB's rows, timestamps as epoch milliseconds. */
function readDuckdb(path: string, columns: readonly InventoryField[]): (string | number | boolean | null)[][] {
  const select = columns.map((c) => (c.kind === "timestamp" ? `epoch_ms(${c.column})` : c.column)).join(", ");
  return JSON.parse(python(`import sys, json, duckdb; print(json.dumps([list(r) for r in duckdb.sql(f"select ${select} from read_parquet('{sys.argv[1]}')").fetchall()]))`, path));
}

const ALL_COLUMNS = reportColumns("All", INVENTORY_FIELDS.filter((f) => f.role === "optional").map((f) => f.name));
const LONG_KEY = "päth/" + "日本語-ключ-😀/".repeat(300) + "end";

/** A value for every column; each optional column is null on its own rhythm. */
function sampleRow(i: number, columns: readonly InventoryField[]): InventoryValue[] {
  return columns.map((c, ci) => {
    if (c.name === "Bucket") return "source-bucket";
    if (c.name === "Key") return i === 3 ? LONG_KEY : i % 5 === 1 ? `ünïcødé/ключ/${i} 😀+space` : `key/${String(i).padStart(6, "0")}`;
    if ((i + ci) % 4 === 0) return null; // (Bucket and Key, the required columns, returned above)
    switch (c.kind) {
      case "string":
        return c.name === "StorageClass" ? ["STANDARD", "GLACIER", "STANDARD_IA"][i % 3]! : `${c.column}-${i % 7 === 0 ? "日本" : "v"}-${i}`;
      case "boolean":
        return (i + ci) % 3 === 0;
      case "int64":
        return i === 2 ? 2 ** 53 - 1 : i * 1_000_003;
      case "timestamp":
        return i === 2 ? -86_400_000 : 1_735_689_600_123 + i * 61_001;
    }
  });
}

describe("Parquet report writer", () => {
  it("writes S3's schema, exactly the text of parquetFileSchema, with Arrow's matching types", async () => {
    const rows = Array.from({ length: 40 }, (_, i) => sampleRow(i, ALL_COLUMNS));
    const { path } = await writeFile(ALL_COLUMNS, rows);
    const view = readPyarrow(path);
    assert.equal(view.schema, parquetFileSchema(ALL_COLUMNS));
    const convertedType = { string: "UTF8", boolean: "NONE", int64: "NONE", timestamp: "TIMESTAMP_MILLIS" } as const;
    assert.deepEqual(view.converted, ALL_COLUMNS.map((c) => convertedType[c.kind]), "converted types kept for older readers");
    const arrowType = { string: "string", boolean: "bool", int64: "int64", timestamp: "timestamp[ms, tz=UTC]" } as const;
    assert.deepEqual(view.arrow, ALL_COLUMNS.map((c) => arrowType[c.kind]));
    assert.deepEqual(view.codecs, ["SNAPPY"]);
  });

  it("round-trips every value and null, unicode and a very long key, through pyarrow and DuckDB", async () => {
    const rows = Array.from({ length: 500 }, (_, i) => sampleRow(i, ALL_COLUMNS));
    const { path } = await writeFile(ALL_COLUMNS, rows, createParquetWriter, 37);
    assert.deepEqual(readPyarrow(path).rows, rows);
    assert.deepEqual(readDuckdb(path, ALL_COLUMNS), rows);
  });

  it("writes a readable file with no rows, and with one row", async () => {
    const columns = reportColumns("Current", ["Size", "LastModifiedDate", "ETag"]);
    const empty = await writeFile(columns, []);
    const view = readPyarrow(empty.path);
    assert.equal(view.schema, parquetFileSchema(columns));
    assert.deepEqual(view.rows, []);
    assert.equal(view.rowGroups, 0);
    assert.equal(python(`import sys, duckdb; print(duckdb.sql(f"select count(*) from read_parquet('{sys.argv[1]}')").fetchone()[0])`, empty.path).trim(), "0");

    const one = [["b", "only", 0, 0, null]];
    const single = await writeFile(columns, one);
    assert.deepEqual(readPyarrow(single.path).rows, one);
    assert.deepEqual(readDuckdb(single.path, columns), one);
  });

  it("flushes row groups to the sink as it goes, with statistics and dictionaries where values repeat", async () => {
    const columns = reportColumns("Current", ["Size", "StorageClass", "ETag", "LastModifiedDate", "IsMultipartUploaded", "ReplicationStatus"]);
    const rows = Array.from({ length: 10_500 }, (_, i) => {
      const r = sampleRow(i, columns);
      r[columns.findIndex((c) => c.name === "ReplicationStatus")] = null; // an all-null column
      return r;
    });
    const factory = parquetWriterFactory({ rowGroupRows: 1000, pageRows: 128, pageBytes: 4096 });
    const { path, bytesBeforeFinish } = await writeFile(columns, rows, factory);
    assert.ok(bytesBeforeFinish > 0, "row groups reached the sink before finish()");
    const view = readPyarrow(path);
    assert.equal(view.rowGroups, 11);
    assert.deepEqual(view.rows, rows);
    assert.deepEqual(readDuckdb(path, columns), rows);

    const keyCol = columns.findIndex((c) => c.name === "Key");
    const sizeCol = columns.findIndex((c) => c.name === "Size");
    const classCol = columns.findIndex((c) => c.name === "StorageClass");
    const replCol = columns.findIndex((c) => c.name === "ReplicationStatus");
    for (let g = 0; g < view.rowGroups; g++) {
      const group = rows.slice(g * 1000, (g + 1) * 1000);
      const keys = group.map((r) => r[keyCol] as string).sort(compareUtf8);
      assert.deepEqual(view.stats[g]![keyCol], [0, keys[0], keys[keys.length - 1]]);
      const sizes = group.map((r) => r[sizeCol]).filter((v): v is number => v !== null);
      assert.deepEqual(view.stats[g]![sizeCol], [group.length - sizes.length, String(Math.min(...sizes)), String(Math.max(...sizes))]);
      assert.deepEqual(view.stats[g]![replCol], [group.length, null, null]);
      assert.ok(view.encodings[g]![classCol]!.includes("RLE_DICTIONARY"), "a repeating column is dictionary-encoded");
      assert.ok(!view.encodings[g]![keyCol]!.includes("RLE_DICTIONARY"), "unique keys are PLAIN");
    }
  });

  it("refuses a row without a value in a required column", async () => {
    const columns = reportColumns("Current", []);
    const writer = createParquetWriter({ columns, sink: async () => {} });
    await writer.writeRows([["b", null]]);
    await assert.rejects(writer.finish(), /key is required/);
  });
});

describe("Parquet writer internals", () => {
  it("orders strings by UTF-8 bytes, as Parquet compares BYTE_ARRAY statistics", () => {
    const words = ["a", "", "ab", "b", "\uffff", "😀", "\ue000", "é", "Z"];
    const byBytes = [...words].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    assert.deepEqual([...words].sort(compareUtf8), byBytes);
  });

  it("encodes the RLE/bit-packed hybrid that pyarrow decodes as levels", () => {
    // Checked against the format: a run of 10 ones, then 3 bit-packed values padded to a group.
    const out = new ByteBuilder();
    encodeHybrid([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0], 0, 13, 1, out);
    assert.deepEqual([...out.view()], [20, 1, 3, 0b010]);
    const wide = new ByteBuilder();
    encodeHybrid([5, 5, 5, 5, 5, 5, 5, 5, 300], 0, 9, 9, wide);
    assert.deepEqual([...wide.view()], [16, 5, 0, 3, 300 & 0xff, 300 >> 8, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("compresses with Snappy as pyarrow decompresses it", () => {
    const inputs = [
      Buffer.alloc(0),
      Buffer.from("x"),
      Buffer.alloc(300_000, 7),
      Buffer.from(Array.from({ length: 20_000 }, (_, i) => `bucket,logs/2026/${String(i).padStart(8, "0")}.log,STANDARD,${i * 37}`).join("\n")),
      Buffer.from(Array.from({ length: 50_000 }, (_, i) => (Math.imul(i, 2654435761) >>> 24) & 0xff)),
    ];
    inputs.forEach((raw, i) => {
      writeFileSync(join(work, `raw${i}`), raw);
      writeFileSync(join(work, `snappy${i}`), compress(raw));
    });
    const out = python(
      `import sys, pyarrow as pa
for i in range(${inputs.length}):
    raw = open(f"{sys.argv[1]}/raw{i}", "rb").read(); z = open(f"{sys.argv[1]}/snappy{i}", "rb").read()
    print(pa.decompress(z, decompressed_size=len(raw), codec="snappy").to_pybytes() == raw, len(z))`,
      work,
    );
    const lines = out.trim().split("\n");
    assert.deepEqual(lines.map((l) => l.split(" ")[0]), inputs.map(() => "True"));
    assert.ok(Number(lines[2]!.split(" ")[1]) < 20_000, "repetitive input compresses");
  });
});
