// The Iceberg data file writer, checked by readers nobody here wrote: pyarrow must see every field id,
// logical type, nullability and value (maps null, empty and full; unicode; UTC microseconds; longs
// past 2^53), DuckDB must read the same rows, and the manifest metrics the writer returns must
// agree with the footer pyarrow reads. Python-dependent tests skip when pyarrow or duckdb is not
// importable.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compareUtf8 } from "../utf8.js";
import {
  createIcebergParquetWriter,
  singleValueBytes,
  truncateBinaryUpper,
  truncateStringLower,
  truncateStringUpper,
  writeIcebergParquet,
  type DataFileMetrics,
  type IcebergParquetLimits,
  type IcebergRow,
  type IcebergSchema,
} from "./parquet-table.js";

const work = mkdtempSync(join(tmpdir(), "stocktake-iceberg-parquet-"));
after(() => rmSync(work, { recursive: true, force: true }));

function importable(module: string): boolean {
  return spawnSync("python3", ["-c", `import ${module}`]).status === 0;
}
const noPyarrow = importable("pyarrow") ? false : "python3 cannot import pyarrow (pip install pyarrow)";
const noDuckdb = importable("duckdb") ? false : "python3 cannot import duckdb (pip install duckdb)";

function python(script: string, ...args: string[]): string {
  const res = spawnSync("python3", ["-c", script, ...args], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  assert.equal(res.status, 0, res.stderr);
  return res.stdout;
}

/** A journal-like table: every type the writer stores, two maps, a struct and a list. */
const SCHEMA: IcebergSchema = {
  type: "struct",
  "schema-id": 0,
  fields: [
    { id: 1, name: "bucket", required: true, type: "string" },
    { id: 2, name: "key", required: true, type: "string" },
    { id: 3, name: "record_type", required: true, type: "string", doc: "CREATE, UPDATE_METADATA or DELETE" },
    { id: 4, name: "record_timestamp", required: true, type: "timestamptz" },
    { id: 5, name: "version_id", required: false, type: "string" },
    { id: 6, name: "is_delete_marker", required: false, type: "boolean" },
    { id: 7, name: "size", required: false, type: "long" },
    { id: 8, name: "last_modified_date", required: false, type: "timestamptz" },
    { id: 9, name: "object_tags", required: false, type: { type: "map", "key-id": 10, key: "string", "value-id": 11, value: "string", "value-required": false } },
    { id: 12, name: "user_metadata", required: false, type: { type: "map", "key-id": 13, key: "string", "value-id": 14, value: "string", "value-required": true } },
    { id: 15, name: "part_count", required: false, type: "int" },
    { id: 16, name: "checksum", required: false, type: "binary" },
    { id: 17, name: "local_time", required: false, type: "timestamp" },
    {
      id: 18,
      name: "owner",
      required: false,
      type: {
        type: "struct",
        fields: [
          { id: 19, name: "id", required: true, type: "string" },
          { id: 20, name: "display_name", required: false, type: "string" },
        ],
      },
    },
    { id: 21, name: "labels", required: false, type: { type: "list", "element-id": 22, element: "string", "element-required": false } },
  ],
};

/** Each Parquet leaf column: its path, field id and Dremel levels, as the MAP/LIST rules make them. */
const LEAVES = [
  { path: "bucket", id: 1, def: 0, rep: 0 },
  { path: "key", id: 2, def: 0, rep: 0 },
  { path: "record_type", id: 3, def: 0, rep: 0 },
  { path: "record_timestamp", id: 4, def: 0, rep: 0 },
  { path: "version_id", id: 5, def: 1, rep: 0 },
  { path: "is_delete_marker", id: 6, def: 1, rep: 0 },
  { path: "size", id: 7, def: 1, rep: 0 },
  { path: "last_modified_date", id: 8, def: 1, rep: 0 },
  { path: "object_tags.key_value.key", id: 10, def: 2, rep: 1 },
  { path: "object_tags.key_value.value", id: 11, def: 3, rep: 1 },
  { path: "user_metadata.key_value.key", id: 13, def: 2, rep: 1 },
  { path: "user_metadata.key_value.value", id: 14, def: 2, rep: 1 },
  { path: "part_count", id: 15, def: 1, rep: 0 },
  { path: "checksum", id: 16, def: 1, rep: 0 },
  { path: "local_time", id: 17, def: 1, rep: 0 },
  { path: "owner.id", id: 19, def: 1, rep: 0 },
  { path: "owner.display_name", id: 20, def: 2, rep: 0 },
  { path: "labels.list.element", id: 22, def: 3, rep: 1 },
];
const TIMESTAMP_COLUMNS = ["record_timestamp", "last_modified_date", "local_time"];
const MAP_COLUMNS = ["object_tags", "user_metadata"];

const BASE_MICROS = 1_767_225_600_123_456; // 2026-01-01T00:00:00.123456Z
const LONG_KEY = "päth/" + "日本語-ключ-😀/".repeat(80) + "end";

/** A row with each optional column null on its own rhythm, maps null, empty or full, values given in every accepted form. */
function sampleRow(i: number): IcebergRow {
  const tags = i % 5 === 0 ? null : i % 5 === 1 ? {} : i % 5 === 2 ? new Map([["env", "prod"], ["tëam", "стор😀"]]) : { [`k${i}`]: i % 2 ? null : `v${i}`, owner: "ops" };
  return {
    bucket: "source-bucket",
    key: i === 3 ? LONG_KEY : i % 7 === 1 ? `ünïcødé/ключ/${i} 😀` : `logs/${String(i).padStart(6, "0")}.log`,
    record_type: ["CREATE", "UPDATE_METADATA", "DELETE"][i % 3],
    record_timestamp: i % 4 === 0 ? BigInt(BASE_MICROS + i) : i % 4 === 1 ? new Date(Date.UTC(2026, 0, 1, 0, 0, i)) : BASE_MICROS + i * 1_000_001,
    version_id: i % 3 === 0 ? null : `v-${i}`,
    is_delete_marker: i % 6 === 0 ? null : i % 4 === 0,
    size: i % 8 === 0 ? null : i % 8 === 1 ? 2n ** 60n + BigInt(i) : i === 2 ? Number.MAX_SAFE_INTEGER : i * 1_000_003,
    last_modified_date: i % 9 === 0 ? undefined : i === 4 ? -1_000_000 : BASE_MICROS - i,
    object_tags: tags,
    user_metadata: i % 4 === 3 ? null : i % 4 === 2 ? {} : { "content-language": i % 2 ? "fr" : "日本語", n: String(i) },
    part_count: i % 10 === 0 ? null : i === 5 ? -(2 ** 31) : i === 6 ? 2 ** 31 - 1 : i,
    checksum: i % 7 === 0 ? null : Uint8Array.from([i & 0xff, 0, 0xff, (i * 31) & 0xff]),
    local_time: i % 11 === 0 ? null : new Date(Date.UTC(2025, 11, 31, 23, 59, 59, i % 1000)),
    owner: i % 6 === 5 ? null : { id: `owner-${i % 4}`, display_name: i % 3 === 0 ? null : "Ünïcode Öwner" },
    labels: i % 7 === 6 ? null : i % 7 === 5 ? [] : ["a", null, `label-${i}`].slice(0, 1 + (i % 3)),
  };
}

/** A value as the Python side prints it: integers as decimal strings (exact past 2^53), bytes as hex, maps as [key, value] pairs. */
function expected(row: IcebergRow): Record<string, unknown> {
  const norm = (v: unknown): unknown => {
    if (v === null || v === undefined) return null;
    if (typeof v === "number" || typeof v === "bigint") return String(v);
    if (v instanceof Date) return String(BigInt(v.getTime()) * 1000n);
    if (v instanceof Uint8Array) return "hex:" + Buffer.from(v).toString("hex");
    if (Array.isArray(v)) return v.map(norm);
    if (typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
    return v;
  };
  const out: Record<string, unknown> = {};
  for (const f of SCHEMA.fields) {
    const v = row[f.name];
    if (MAP_COLUMNS.includes(f.name) && v != null) out[f.name] = [...(v instanceof Map ? v : Object.entries(v as object))].map(([k, x]) => [k, norm(x)]);
    else out[f.name] = norm(v);
  }
  return out;
}

const NORMALIZE_PY = `
def norm(v):
    if v is None or isinstance(v, (bool, str)): return v
    if isinstance(v, int): return str(v)
    if isinstance(v, bytes): return "hex:" + v.hex()
    if isinstance(v, (list, tuple)): return [norm(x) for x in v]
    if isinstance(v, dict): return {k: norm(x) for k, x in v.items()}
    raise TypeError(repr(v))
`;

/** pyarrow's view: Arrow schema with field ids, Parquet columns, rows, and the footer's per-chunk figures. */
const PYARROW_READ = `
import sys, json
import pyarrow as pa, pyarrow.parquet as pq
${NORMALIZE_PY}
ts_cols = json.loads(sys.argv[2])
f = pq.ParquetFile(sys.argv[1])
def field(fl):
    d = {"name": fl.name, "type": str(fl.type), "nullable": fl.nullable, "id": (fl.metadata or {}).get(b"PARQUET:field_id", b"").decode() or None}
    t = fl.type
    if pa.types.is_map(t): d["children"] = [field(t.key_field), field(t.item_field)]
    elif pa.types.is_list(t): d["children"] = [field(t.value_field)]
    elif pa.types.is_struct(t): d["children"] = [field(t.field(i)) for i in range(t.num_fields)]
    return d
columns = []
for i in range(len(f.schema)):
    c = f.schema.column(i)
    columns.append({"path": c.path, "physical": c.physical_type, "logical": json.loads(c.logical_type.to_json()), "converted": c.converted_type, "def": c.max_definition_level, "rep": c.max_repetition_level})
t = f.read()
t = pa.table([t.column(n).cast(pa.int64()) if n in ts_cols else t.column(n) for n in t.column_names], names=t.column_names)
md = f.metadata
groups = []
for g in range(md.num_row_groups):
    rg = md.row_group(g)
    chunks = []
    for c in range(md.num_columns):
        cc = rg.column(c)
        s = cc.statistics
        chunks.append({"path": cc.path_in_schema, "numValues": cc.num_values, "compressed": cc.total_compressed_size, "nulls": s.null_count if s is not None else None,
                       "min": str(s.min) if s is not None and s.has_min_max else None, "max": str(s.max) if s is not None and s.has_min_max else None,
                       "offset": cc.dictionary_page_offset if cc.has_dictionary_page else cc.data_page_offset, "codec": cc.compression, "encodings": list(cc.encodings)})
    groups.append({"rows": rg.num_rows, "chunks": chunks})
print(json.dumps({
  "fields": [field(fl) for fl in f.schema_arrow],
  "columns": columns,
  "rows": [norm(r) for r in t.to_pylist()],
  "numRows": md.num_rows,
  "groups": groups,
  "icebergSchema": (md.metadata or {}).get(b"iceberg.schema", b"").decode(),
}))
`;

interface ArrowField {
  name: string;
  type: string;
  nullable: boolean;
  id: string | null;
  children?: ArrowField[];
}
interface PyarrowView {
  fields: ArrowField[];
  columns: { path: string; physical: string; logical: Record<string, unknown>; converted: string; def: number; rep: number }[];
  rows: Record<string, unknown>[];
  numRows: number;
  groups: { rows: number; chunks: { path: string; numValues: number; compressed: number; nulls: number | null; min: string | null; max: string | null; offset: number; codec: string; encodings: string[] }[] }[];
  icebergSchema: string;
}

const readPyarrow = (path: string) => JSON.parse(python(PYARROW_READ, path, JSON.stringify(TIMESTAMP_COLUMNS))) as PyarrowView;

/** DuckDB's rows: timestamps as epoch microseconds, maps as their entries. */
function readDuckdb(path: string): Record<string, unknown>[] {
  const select = SCHEMA.fields
    .map((f) => (TIMESTAMP_COLUMNS.includes(f.name) ? `epoch_us(${f.name}) as ${f.name}` : MAP_COLUMNS.includes(f.name) ? `map_entries(${f.name}) as ${f.name}` : f.name))
    .join(", ");
  const script = `
import sys, json, duckdb
${NORMALIZE_PY}
maps = json.loads(sys.argv[2])
rel = duckdb.sql(f"select ${select} from read_parquet('{sys.argv[1]}')")
out = []
for r in rel.fetchall():
    d = dict(zip(rel.columns, r))
    for m in maps:
        if d[m] is not None: d[m] = [[e["key"], e["value"]] for e in d[m]]
    out.append(norm(d))
print(json.dumps(out))
`;
  return JSON.parse(python(script, path, JSON.stringify(MAP_COLUMNS)));
}

let fileCounter = 0;
async function writeFile(rows: IcebergRow[], opts: { limits?: Partial<IcebergParquetLimits>; boundLength?: number; batch?: number; schema?: IcebergSchema } = {}) {
  const chunks: Buffer[] = [];
  const writer = createIcebergParquetWriter({ schema: opts.schema ?? SCHEMA, sink: async (c) => void chunks.push(Buffer.from(c)), limits: opts.limits, boundLength: opts.boundLength });
  const batch = opts.batch ?? 100;
  for (let i = 0; i < rows.length; i += batch) await writer.writeRows(rows.slice(i, i + batch));
  const bytesBeforeFinish = writer.bytesWritten;
  const metrics = await writer.finish();
  const data = Buffer.concat(chunks);
  assert.equal(writer.bytesWritten, data.length, "bytesWritten counts every byte handed to the sink");
  assert.equal(writer.rowsWritten, rows.length);
  const path = join(work, `f${fileCounter++}.parquet`);
  writeFileSync(path, data);
  return { path, data, metrics, bytesBeforeFinish };
}

const byId = (m: Map<number, unknown>) => Object.fromEntries([...m].map(([k, v]) => [k, v instanceof Buffer ? v.toString("hex") : v]));

describe("Iceberg Parquet data files, read by pyarrow", { skip: noPyarrow }, () => {
  it("carries every field id, Iceberg's Parquet types and nullability, map key/value and list element included", async () => {
    const { path } = await writeFile(Array.from({ length: 30 }, (_, i) => sampleRow(i)));
    const view = readPyarrow(path);
    const brief = (f: ArrowField): unknown => [f.name, f.id, f.nullable, ...(f.children ? [f.children.map(brief)] : [])];
    assert.deepEqual(view.fields.map(brief), [
      ["bucket", "1", false],
      ["key", "2", false],
      ["record_type", "3", false],
      ["record_timestamp", "4", false],
      ["version_id", "5", true],
      ["is_delete_marker", "6", true],
      ["size", "7", true],
      ["last_modified_date", "8", true],
      ["object_tags", "9", true, [["key", "10", false], ["value", "11", true]]],
      ["user_metadata", "12", true, [["key", "13", false], ["value", "14", false]]],
      ["part_count", "15", true],
      ["checksum", "16", true],
      ["local_time", "17", true],
      ["owner", "18", true, [["id", "19", false], ["display_name", "20", true]]],
      ["labels", "21", true, [["element", "22", true]]],
    ]);
    const arrowTypes = Object.fromEntries(view.fields.map((f) => [f.name, f.type]));
    assert.equal(arrowTypes.record_timestamp, "timestamp[us, tz=UTC]");
    assert.equal(arrowTypes.local_time, "timestamp[us]");
    assert.match(arrowTypes.object_tags!, /^map<string, string/);
    assert.equal(arrowTypes.part_count, "int32");
    assert.equal(arrowTypes.checksum, "binary");

    assert.deepEqual(view.columns.map((c) => [c.path, c.def, c.rep]), LEAVES.map((l) => [l.path, l.def, l.rep]), "Dremel levels of the MAP and LIST structures");
    const col = (p: string) => view.columns.find((c) => c.path === p)!;
    assert.deepEqual([col("bucket").physical, col("bucket").logical.Type, col("bucket").converted], ["BYTE_ARRAY", "String", "UTF8"]);
    assert.deepEqual(col("record_timestamp").logical, { Type: "Timestamp", isAdjustedToUTC: true, timeUnit: "microseconds", is_from_converted_type: false, force_set_converted_type: false });
    assert.equal(col("record_timestamp").converted, "TIMESTAMP_MICROS");
    assert.equal(col("local_time").logical.isAdjustedToUTC, false);
    assert.deepEqual([col("size").physical, col("part_count").physical, col("is_delete_marker").physical, col("checksum").physical], ["INT64", "INT32", "BOOLEAN", "BYTE_ARRAY"]);
    assert.equal(col("checksum").logical.Type, "None");
    assert.deepEqual(JSON.parse(view.icebergSchema), SCHEMA, "the table schema in the key/value metadata, as Iceberg's writer leaves it");
  });

  it("round-trips every value: nulls, empty and full maps, unicode, UTC microseconds, longs past 2^53", async () => {
    const rows = Array.from({ length: 400 }, (_, i) => sampleRow(i));
    const { path } = await writeFile(rows, { batch: 37 });
    const view = readPyarrow(path);
    assert.deepEqual(view.rows, rows.map(expected));
    const tsOf = (i: number) => view.rows[i]!.record_timestamp;
    assert.equal(tsOf(1), String(Date.UTC(2026, 0, 1, 0, 0, 1) * 1000), "a Date is stored as UTC microseconds");
    assert.equal(view.rows[1]!.size, String(2n ** 60n + 1n));
    assert.deepEqual(view.rows[1]!.object_tags, [], "an empty map is not null");
    assert.equal(view.rows[0]!.object_tags, null);
    assert.deepEqual(view.groups.flatMap((g) => g.chunks.map((c) => c.codec)).filter((c) => c !== "SNAPPY"), []);
  });

  it("flushes row groups to the sink at the row bound, pages split at row boundaries", async () => {
    const rows = Array.from({ length: 1000 }, (_, i) => sampleRow(i));
    const { path, metrics, bytesBeforeFinish } = await writeFile(rows, { limits: { rowGroupRows: 300, pageRows: 17, pageBytes: 512 } });
    assert.ok(bytesBeforeFinish > 0, "row groups reached the sink before finish()");
    const view = readPyarrow(path);
    assert.deepEqual(view.groups.map((g) => g.rows), [300, 300, 300, 100]);
    assert.deepEqual(view.rows, rows.map(expected));
    assert.deepEqual(metrics.splitOffsets, view.groups.map((g) => g.chunks[0]!.offset), "split offsets are the row groups' first pages");
    assert.equal(metrics.splitOffsets[0], 4);
    const recordType = view.groups[0]!.chunks.find((c) => c.path === "record_type")!;
    assert.ok(recordType.encodings.includes("RLE_DICTIONARY"), "a repeating string column is dictionary-encoded");
  });

  it("flushes at the byte bound too", async () => {
    const rows = Array.from({ length: 200 }, (_, i) => ({ ...sampleRow(i), key: `${i}/` + "x".repeat(1000) }));
    const { path } = await writeFile(rows, { limits: { rowGroupBytes: 20_000 }, batch: 200 });
    const view = readPyarrow(path);
    assert.ok(view.groups.length >= 10, `${view.groups.length} row groups`);
    assert.deepEqual(view.rows, rows.map(expected));
  });

  it("returns the manifest entry's metrics, matching the footer pyarrow reads", async () => {
    const rows = Array.from({ length: 700 }, (_, i) => sampleRow(i));
    const { path, metrics } = await writeFile(rows, { limits: { rowGroupRows: 256 } });
    const view = readPyarrow(path);
    assert.equal(metrics.recordCount, view.numRows);
    assert.equal(metrics.recordCount, 700);
    assert.equal(metrics.fileSizeInBytes, statSync(path).size);
    const sum = (p: string, k: "numValues" | "compressed" | "nulls") => view.groups.reduce((n, g) => n + (g.chunks.find((c) => c.path === p)![k] as number), 0);
    for (const leaf of LEAVES) {
      assert.equal(metrics.columnSizes.get(leaf.id), sum(leaf.path, "compressed"), `column size of ${leaf.path}`);
      assert.equal(metrics.valueCounts.get(leaf.id), sum(leaf.path, "numValues"), `value count of ${leaf.path}`);
      assert.equal(metrics.nullValueCounts.get(leaf.id), sum(leaf.path, "nulls"), `null count of ${leaf.path}`);
    }
    assert.deepEqual([...metrics.columnSizes.keys()], LEAVES.map((l) => l.id), "keyed by leaf field ids, in schema order");

    // The same counts from the rows themselves.
    const count = (f: (r: IcebergRow) => number) => rows.reduce((n, r) => n + f(r), 0);
    const entries = (v: unknown) => (v == null ? [] : v instanceof Map ? [...v.values()] : Object.values(v as object));
    assert.equal(metrics.valueCounts.get(7), 700);
    assert.equal(metrics.nullValueCounts.get(7), count((r) => (r.size == null ? 1 : 0)));
    assert.equal(metrics.valueCounts.get(10), count((r) => Math.max(1, entries(r.object_tags).length)), "one value per entry, one for a null or empty map");
    assert.equal(metrics.nullValueCounts.get(10), count((r) => (entries(r.object_tags).length === 0 ? 1 : 0)));
    assert.equal(metrics.nullValueCounts.get(11), count((r) => (entries(r.object_tags).length === 0 ? 1 : entries(r.object_tags).filter((v) => v === null).length)));
    assert.equal(metrics.nullValueCounts.get(20), count((r) => (r.owner == null || (r.owner as { display_name: unknown }).display_name == null ? 1 : 0)));

    // Bounds: Appendix D serialization, primitives outside maps and lists only.
    const le64 = (b: Buffer | undefined) => b?.readBigInt64LE(0);
    const sizes = rows.map((r) => r.size).filter((v) => v != null).map((v) => BigInt(v as number | bigint));
    assert.equal(le64(metrics.lowerBounds.get(7)), sizes.reduce((a, b) => (b < a ? b : a)));
    assert.equal(le64(metrics.upperBounds.get(7)), 2n ** 60n + 697n);
    assert.equal(le64(metrics.lowerBounds.get(8)), -1_000_000n, "timestamptz bounds are microseconds");
    assert.equal(metrics.lowerBounds.get(15)!.readInt32LE(0), -(2 ** 31));
    assert.equal(metrics.upperBounds.get(15)!.readInt32LE(0), 2 ** 31 - 1);
    assert.deepEqual([...metrics.lowerBounds.get(6)!, ...metrics.upperBounds.get(6)!], [0, 1]);
    assert.equal(metrics.lowerBounds.get(1)!.toString(), "source-bucket");
    assert.equal(metrics.lowerBounds.get(19)!.toString(), "owner-0", "struct children have bounds");
    for (const id of [10, 11, 13, 14, 22]) assert.ok(!metrics.lowerBounds.has(id) && !metrics.upperBounds.has(id), `no bounds inside a map or list (${id})`);
    // The Parquet statistics agree where nothing is truncated.
    const sizeStats = view.groups.map((g) => g.chunks.find((c) => c.path === "size")!);
    assert.equal(sizeStats.map((s) => BigInt(s.max!)).reduce((a, b) => (b > a ? b : a)), 2n ** 60n + 697n);
  });

  it("truncates string bounds to 16 characters as Iceberg's default metrics mode does, or keeps them whole", async () => {
    const keys = ["b/" + "日本語".repeat(10), "a/" + "z".repeat(40), "b/😀"];
    const rows = keys.map((key, i) => ({ ...sampleRow(i), key }));
    const truncated = (await writeFile(rows)).metrics;
    assert.equal(truncated.lowerBounds.get(2)!.toString(), "a/" + "z".repeat(14));
    assert.equal(truncated.upperBounds.get(2)!.toString(), "b/😀", "a maximum short enough is kept whole");
    const whole = (await writeFile(rows, { boundLength: Infinity })).metrics;
    assert.equal(whole.lowerBounds.get(2)!.toString(), keys[1]);
    const longMax = (await writeFile([{ ...sampleRow(0), key: "zz" + "日本語".repeat(10) }])).metrics;
    assert.equal(longMax.upperBounds.get(2)!.toString(), "zz" + "日本語".repeat(4) + "日札", "the 16th character incremented (本 U+672C to 札 U+672D)");
    assert.ok(compareUtf8(longMax.upperBounds.get(2)!.toString(), "zz" + "日本語".repeat(10)) > 0);
  });

  it("writes a readable file with no rows", async () => {
    const { path, metrics } = await writeFile([]);
    const view = readPyarrow(path);
    assert.deepEqual(view.rows, []);
    assert.equal(view.groups.length, 0);
    assert.equal(view.fields.length, SCHEMA.fields.length);
    assert.equal(metrics.recordCount, 0);
    assert.deepEqual(metrics.splitOffsets, []);
    assert.equal(metrics.lowerBounds.size, 0);
  });
});

describe("Iceberg Parquet data files, read by DuckDB", { skip: noDuckdb }, () => {
  it("reads every row, map columns included, across row groups", async () => {
    const rows = Array.from({ length: 650 }, (_, i) => sampleRow(i));
    const { path } = await writeFile(rows, { limits: { rowGroupRows: 200, pageRows: 50 } });
    assert.deepEqual(readDuckdb(path), rows.map(expected));
    const counts = python(
      `import sys, duckdb; print(duckdb.sql(f"select count(*), sum(cardinality(object_tags)), count(*) filter (where object_tags['env'] = 'prod') from read_parquet('{sys.argv[1]}')").fetchone())`,
      path,
    ).trim();
    const tagged = rows.filter((r) => r.object_tags instanceof Map).length;
    const entries = rows.reduce((n, r) => n + (r.object_tags == null ? 0 : r.object_tags instanceof Map ? r.object_tags.size : Object.keys(r.object_tags).length), 0);
    assert.equal(counts, `(650, ${entries}, ${tagged})`);
  });
});

describe("Iceberg Parquet writer checks", () => {
  const small: IcebergSchema = {
    type: "struct",
    "schema-id": 1,
    fields: [
      { id: 1, name: "key", required: true, type: "string" },
      { id: 2, name: "size", required: false, type: "long" },
      { id: 3, name: "n", required: false, type: "int" },
      { id: 4, name: "tags", required: false, type: { type: "map", "key-id": 5, key: "string", "value-id": 6, value: "string", "value-required": true } },
    ],
  };
  const attempt = async (row: Record<string, unknown>) => writeIcebergParquet(small, [row as IcebergRow]);

  it("refuses rows that do not fit the schema, and then the file", async () => {
    await assert.rejects(attempt({ size: 1 }), /key is required/);
    await assert.rejects(attempt({ key: 5 }), /key: expected a string/);
    await assert.rejects(attempt({ key: "k", size: 2 ** 53 }), /size: expected a long \(a safe integer, or a bigint/);
    await assert.rejects(attempt({ key: "k", size: 2n ** 63n }), /within 64 bits/);
    await assert.rejects(attempt({ key: "k", n: 2 ** 31 }), /n: expected an int/);
    await assert.rejects(attempt({ key: "k", tags: { a: null } }), /tags\.value is required/);
    await assert.rejects(attempt({ key: "k", tags: ["a"] }), /tags: expected a Map or an object/);
    await assert.rejects(attempt({ key: "k", colour: "red" }), /a field the schema does not: colour/);
    const writer = createIcebergParquetWriter({ schema: small, sink: async () => {} });
    await assert.rejects(writer.writeRows([{ key: "k", tags: { a: "1", b: null } }]));
    await assert.rejects(writer.finish(), /tags\.value is required/, "a row rejected halfway leaves the file unfinishable");
  });

  it("refuses schemas it cannot write", () => {
    const sink = async () => {};
    assert.throws(() => createIcebergParquetWriter({ schema: { ...small, fields: [{ id: 1, name: "x", required: true, type: "double" as never }] }, sink }), /type double is not supported/);
    assert.throws(() => createIcebergParquetWriter({ schema: { ...small, fields: [...small.fields, { id: 6, name: "dup", required: false, type: "string" }] }, sink }), /id 6 is not a unique/);
  });

  it("serializes bounds as Iceberg's Appendix D says", () => {
    assert.equal(singleValueBytes("int", -2).toString("hex"), "feffffff");
    assert.equal(singleValueBytes("long", 2n ** 60n).toString("hex"), "0000000000000010");
    assert.equal(singleValueBytes("long", -1).toString("hex"), "ffffffffffffffff");
    assert.equal(singleValueBytes("timestamptz", 1).toString("hex"), "0100000000000000");
    assert.equal(singleValueBytes("boolean", true).toString("hex"), "01");
    assert.equal(singleValueBytes("string", "ü").toString("hex"), "c3bc");
  });

  it("truncates bounds: a prefix below, the prefix incremented above", () => {
    assert.equal(truncateStringLower("abc😀d", 4), "abc😀");
    assert.equal(truncateStringUpper("abc", 3), "abc");
    assert.equal(truncateStringUpper("abcd", 3), "abd");
    assert.equal(truncateStringUpper("ab😀d", 3), "ab😁");
    assert.equal(truncateStringUpper("a\u{10ffff}\u{10ffff}", 2), "b", "U+10FFFF cannot grow: the one before it does");
    assert.equal(truncateStringUpper("a\ud7ffb", 2), "a\ue000", "past the surrogates");
    assert.equal(truncateStringUpper("\u{10ffff}\u{10ffff}", 1), undefined);
    assert.deepEqual([...truncateBinaryUpper(Uint8Array.from([1, 0xff, 0xff, 5]), 3)!], [2]);
    assert.equal(truncateBinaryUpper(Uint8Array.from([0xff, 0xff, 1]), 2), undefined);
  });

  it("keeps the metrics in step with the bytes handed to the sink", async () => {
    const { bytes, metrics } = await writeIcebergParquet(small, [{ key: "a" }, { key: "b", size: 3n, tags: new Map([["x", "y"]]) }]);
    assert.equal(metrics.fileSizeInBytes, bytes.length);
    assert.equal(bytes.subarray(0, 4).toString(), "PAR1");
    assert.equal(bytes.subarray(-4).toString(), "PAR1");
    const summary = (m: DataFileMetrics) => ({ values: byId(m.valueCounts), nulls: byId(m.nullValueCounts), lower: byId(m.lowerBounds), upper: byId(m.upperBounds) });
    assert.deepEqual(summary(metrics), {
      values: { 1: 2, 2: 2, 3: 2, 5: 2, 6: 2 },
      nulls: { 1: 0, 2: 1, 3: 2, 5: 1, 6: 1 },
      lower: { 1: "61", 2: "0300000000000000" },
      upper: { 1: "62", 2: "0300000000000000" },
    });
  });
});
