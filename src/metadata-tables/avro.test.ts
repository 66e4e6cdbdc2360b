// The Avro writer checked against the specification's byte examples, our own reader, and fastavro
// (python3), a reader and writer nobody here wrote: every type Iceberg's manifests use, both
// codecs, many blocks, longs past 2^53, unicode, and an Iceberg manifest list whose field ids a
// reader must still see. The fastavro tests skip when `python3 -c "import fastavro"` fails.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeValue, encodeValue, readAvroContainer, writeAvroContainer, type AvroCodec, type AvroRecord, type AvroSchema } from "./avro.js";

const work = mkdtempSync(join(tmpdir(), "stocktake-avro-"));
after(() => rmSync(work, { recursive: true, force: true }));

const LONG_MAX = 2n ** 63n - 1n;
const LONG_MIN = -(2n ** 63n);

const EVERYTHING: AvroRecord = {
  type: "record",
  name: "everything",
  fields: [
    { name: "nothing", type: "null" },
    { name: "flag", type: "boolean" },
    { name: "i", type: "int" },
    { name: "l", type: "long" },
    { name: "f", type: "float" },
    { name: "d", type: "double" },
    { name: "b", type: "bytes" },
    { name: "s", type: "string" },
    { name: "optLong", type: ["null", "long"], default: null },
    { name: "optString", type: ["null", "string"], default: null },
    { name: "tags", type: { type: "map", values: "string" } },
    { name: "nums", type: { type: "array", items: "long" } },
    {
      name: "inner",
      type: { type: "record", name: "inner", fields: [{ name: "x", type: "int" }, { name: "ys", type: { type: "array", items: ["null", "double"] } }] },
    },
    { name: "maybeInner", type: ["null", "inner"], default: null },
    { name: "hash", type: { type: "fixed", name: "md5", size: 16 } },
    { name: "color", type: { type: "enum", name: "color", symbols: ["RED", "GREEN", "BLUE"] } },
    { name: "day", type: { type: "int", logicalType: "date" } },
    {
      name: "counts",
      type: {
        type: "array",
        logicalType: "map",
        items: { type: "record", name: "k7_v8", fields: [{ name: "key", type: "int", "field-id": 7 }, { name: "value", type: "long", "field-id": 8 }] },
      },
    },
  ],
};

function everything(i: number) {
  return {
    nothing: null,
    flag: i % 2 === 0,
    i: i === 0 ? -(2 ** 31) : i === 1 ? 2 ** 31 - 1 : -i * 1000,
    l: i === 0 ? LONG_MAX : i === 1 ? LONG_MIN : i % 3 === 0 ? 2n ** 62n + BigInt(i) : -i * 1_000_000_007,
    f: i === 0 ? 0 : -i / 4,
    d: i === 0 ? Number.MAX_VALUE : i * -1.0000001e-300,
    b: Buffer.from(Array.from({ length: i % 5 }, (_, k) => (k * 97 + i) & 0xff)),
    s: i % 4 === 0 ? "" : `naïve ☃ 𝄞 日本語 ${i} ${"x".repeat(i)}`,
    optLong: i % 2 ? null : -(2n ** 60n) - BigInt(i),
    optString: i % 3 ? `opt ${i} ü` : null,
    tags: i % 4 ? { [`k${i}`]: "v", "ключ": `значение ${i}` } : {},
    nums: Array.from({ length: i % 6 }, (_, k) => (k % 2 ? -k : k) * 2 ** 40),
    inner: { x: i ? -i : 0, ys: [null, i + 0.5, -1e-9] },
    maybeInner: i % 2 ? { x: i, ys: [] } : null,
    hash: Buffer.alloc(16, i),
    color: ["RED", "GREEN", "BLUE"][i % 3],
    day: 20000 + i,
    counts: i % 3 ? [{ key: i, value: 2 ** 53 - 1 }, { key: -i, value: 0 }] : [],
  };
}

// Iceberg v2's manifest_file schema: field and element ids a reader matches columns by.
const MANIFEST_LIST: AvroRecord = {
  type: "record",
  name: "manifest_file",
  fields: [
    { name: "manifest_path", type: "string", doc: "Location URI with FS scheme", "field-id": 500 },
    { name: "manifest_length", type: "long", doc: "Total file size in bytes", "field-id": 501 },
    { name: "partition_spec_id", type: "int", doc: "Spec ID used to write", "field-id": 502 },
    { name: "content", type: "int", doc: "Contents of the manifest: 0=data, 1=deletes", "field-id": 517 },
    { name: "sequence_number", type: "long", "field-id": 515 },
    { name: "min_sequence_number", type: "long", "field-id": 516 },
    { name: "added_snapshot_id", type: "long", "field-id": 503 },
    { name: "added_files_count", type: "int", "field-id": 504 },
    { name: "existing_files_count", type: "int", "field-id": 505 },
    { name: "deleted_files_count", type: "int", "field-id": 506 },
    { name: "added_rows_count", type: "long", "field-id": 512 },
    { name: "existing_rows_count", type: "long", "field-id": 513 },
    { name: "deleted_rows_count", type: "long", "field-id": 514 },
    {
      name: "partitions",
      type: [
        "null",
        {
          type: "array",
          items: {
            type: "record",
            name: "r508",
            fields: [
              { name: "contains_null", type: "boolean", "field-id": 509 },
              { name: "contains_nan", type: ["null", "boolean"], default: null, "field-id": 518 },
              { name: "lower_bound", type: ["null", "bytes"], default: null, "field-id": 510 },
              { name: "upper_bound", type: ["null", "bytes"], default: null, "field-id": 511 },
            ],
          },
          "element-id": 508,
        },
      ],
      default: null,
      "field-id": 507,
    },
    { name: "key_metadata", type: ["null", "bytes"], default: null, "field-id": 519 },
  ],
};

function manifestFile(i: number) {
  return {
    manifest_path: `s3://bucket/metadata/${i}-m0.avro`,
    manifest_length: 4096 + i,
    partition_spec_id: 0,
    content: 0,
    sequence_number: i,
    min_sequence_number: 1,
    added_snapshot_id: 8_744_736_658_442_914_487n - BigInt(i),
    added_files_count: i,
    existing_files_count: 0,
    deleted_files_count: 0,
    added_rows_count: 1000 * i,
    existing_rows_count: 0,
    deleted_rows_count: 0,
    partitions: i % 2 ? null : [{ contains_null: false, contains_nan: null, lower_bound: Buffer.from("a"), upper_bound: Buffer.from("z") }],
    key_metadata: null,
  };
}

/** One comparable, JSON-safe form for our values and fastavro's: bytes as hex, unsafe longs as strings. */
function norm(v: unknown): unknown {
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString("hex") };
  if (typeof v === "bigint") return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : { $long: String(v) };
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  return v;
}
// Float fields come back as the nearest float32.
const asRead = (r: ReturnType<typeof everything>) => ({ ...r, f: Math.fround(r.f) });

describe("Avro binary encoding", () => {
  it("encodes longs as the specification's zigzag varint table shows, up to 64 bits", () => {
    const cases: [number | bigint, string][] = [
      [0, "00"], [-1, "01"], [1, "02"], [-2, "03"], [2, "04"], [-64, "7f"], [64, "8001"],
      [2 ** 30, "80808080 08"], [-(2 ** 30) - 1, "8180808008"],
      [LONG_MAX, "feffffffffffffffff01"], [LONG_MIN, "ffffffffffffffffff01"],
    ];
    for (const [value, hex] of cases) assert.equal(encodeValue("long", value).toString("hex"), hex.replace(/ /g, ""), `long ${value}`);
  });

  it("encodes strings, unions, records and arrays as the specification's examples show", () => {
    assert.equal(encodeValue("string", "foo").toString("hex"), "06666f6f");
    assert.equal(encodeValue(["null", "string"], "a").toString("hex"), "020261");
    assert.equal(encodeValue(["null", "string"], null).toString("hex"), "00");
    const test: AvroSchema = { type: "record", name: "test", fields: [{ name: "a", type: "long" }, { name: "b", type: "string" }] };
    assert.equal(encodeValue(test, { a: 27, b: "foo" }).toString("hex"), "3606666f6f");
    assert.equal(encodeValue({ type: "array", items: "long" }, [3, 27]).toString("hex"), "04063600");
    assert.equal(encodeValue({ type: "map", values: "long" }, {}).toString("hex"), "00");
    assert.equal(encodeValue("boolean", true).toString("hex"), "01");
    assert.equal(encodeValue("float", 1.5).toString("hex"), "0000c03f");
    assert.equal(encodeValue("double", -2).toString("hex"), "00000000000000c0");
    assert.equal(encodeValue({ type: "enum", name: "e", symbols: ["A", "B"] }, "B").toString("hex"), "02");
  });

  it("decodes longs as numbers while they are safe integers and as bigints beyond 2^53", () => {
    const cases: [number | bigint, number | bigint][] = [
      [0, 0], [2 ** 30, 2 ** 30], [-(2 ** 31), -(2 ** 31)], [2 ** 40 + 1, 2 ** 40 + 1], [5n, 5],
      [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], [Number.MIN_SAFE_INTEGER, Number.MIN_SAFE_INTEGER],
      [2n ** 53n, 2n ** 53n], [-(2n ** 53n) - 1n, -(2n ** 53n) - 1n], [LONG_MAX, LONG_MAX], [LONG_MIN, LONG_MIN],
    ];
    for (const [value, expected] of cases) assert.equal(decodeValue("long", encodeValue("long", value)), expected, `long ${value}`);
  });

  it("round-trips every type, named references and logical types through encodeValue and decodeValue", () => {
    for (let i = 0; i < 12; i++) {
      const record = everything(i);
      assert.deepEqual(norm(decodeValue(EVERYTHING, encodeValue(EVERYTHING, record))), norm(asRead(record)));
    }
    assert.ok(Number.isNaN(decodeValue("double", encodeValue("double", NaN))));
    assert.equal(decodeValue("float", encodeValue("float", -Infinity)), -Infinity);
  });

  it("fills a missing field from its default, and a missing optional field with null", () => {
    const schema: AvroSchema = {
      type: "record",
      name: "r",
      fields: [{ name: "a", type: "int", default: 7 }, { name: "b", type: ["null", "string"] }, { name: "c", type: ["string", "null"], default: "x" }],
    };
    assert.deepEqual(decodeValue(schema, encodeValue(schema, {})), { a: 7, b: null, c: "x" });
  });

  it("rejects values that do not fit, naming the path to the field", () => {
    const bad = (patch: object) => () => encodeValue(EVERYTHING, { ...everything(1), ...patch });
    assert.throws(bad({ inner: { x: 1, ys: [1, "2"] } }), /at everything\.inner\.ys\[1\]: expected one of \["null","double"\], got string "2"/);
    assert.throws(bad({ inner: { x: 1, ys: [], y: 2 } }), /at everything\.inner: record inner has no field "y"/);
    assert.throws(bad({ inner: { ys: [] } }), /at everything\.inner\.x: expected int .*got undefined/);
    assert.throws(bad({ l: 2 ** 60 }), /at everything\.l: expected long .*bigint.*got number/);
    assert.throws(bad({ l: LONG_MAX + 1n }), /at everything\.l: expected long/);
    assert.throws(bad({ i: 2 ** 31 }), /at everything\.i: expected int/);
    assert.throws(bad({ i: 1.5 }), /at everything\.i: expected int/);
    assert.throws(bad({ hash: Buffer.alloc(15) }), /at everything\.hash: expected fixed md5 of 16 bytes, got 15 bytes/);
    assert.throws(bad({ color: "PINK" }), /at everything\.color: expected one of the symbols/);
    assert.throws(bad({ tags: { k: 1 } }), /at everything\.tags\["k"\]: expected string, got number 1/);
    assert.throws(bad({ counts: [{ key: 1 }] }), /at everything\.counts\[0\]\.value: expected long/);
    assert.throws(bad({ b: "not bytes" }), /at everything\.b: expected bytes/);
    assert.throws(bad({ flag: 1 }), /at everything\.flag: expected boolean, got number 1/);
    assert.throws(() => writeAvroContainer({ schema: EVERYTHING, records: [everything(0), { ...everything(1), s: 5 }] }), /at records\[1\]\.s: expected string/);
  });

  it("picks the first union branch the value fits, trying records by their fields", () => {
    const a: AvroRecord = { type: "record", name: "a", fields: [{ name: "x", type: "int" }] };
    const b: AvroRecord = { type: "record", name: "b", fields: [{ name: "y", type: "string" }] };
    assert.equal(encodeValue(["null", a, b], { y: "q" }).toString("hex"), "040271");
    assert.equal(encodeValue(["int", "long", "double"], 2 ** 40).toString("hex"), encodeValue(["long"], 2 ** 40).toString("hex").replace(/^00/, "02"));
    assert.equal(encodeValue(["int", "double"], 0.5)[0], 2);
  });

  it("rejects a schema that names a type it never defines", () => {
    assert.throws(() => encodeValue({ type: "record", name: "r", fields: [{ name: "a", type: "Nope" }] }, { a: 1 }), /unknown type "Nope"/);
  });
});

describe("Avro object container files", () => {
  it("writes the magic, avro.schema exactly as given, avro.codec, our metadata and a random sync marker after every block", () => {
    const file = writeAvroContainer({ schema: MANIFEST_LIST, metadata: { "format-version": "2", raw: Buffer.from([0, 255]) }, records: [manifestFile(1)], codec: "deflate" });
    assert.equal(file.subarray(0, 4).toString("latin1"), "Obj\x01");
    const read = readAvroContainer(file);
    assert.equal(read.metadata["avro.schema"], JSON.stringify(MANIFEST_LIST));
    assert.equal(read.metadata["avro.codec"], "deflate");
    assert.equal(read.metadata["format-version"], "2");
    assert.deepEqual(read.metadataBytes.raw, Buffer.from([0, 255]));
    assert.deepEqual(read.schema, MANIFEST_LIST, "field-id, element-id, doc and default survive");
    const again = writeAvroContainer({ schema: MANIFEST_LIST, metadata: {}, records: [manifestFile(1)] });
    assert.notDeepEqual(file.subarray(-16), again.subarray(-16), "each file has its own sync marker");
  });

  for (const codec of ["null", "deflate"] as AvroCodec[]) {
    it(`round-trips through our reader with the ${codec} codec in many blocks`, () => {
      const records = Array.from({ length: 25 }, (_, i) => everything(i));
      const file = writeAvroContainer({ schema: EVERYTHING, metadata: { note: "ünïcode" }, records, codec, recordsPerBlock: 4 });
      const read = readAvroContainer(file);
      assert.equal(read.blocks, 7);
      assert.equal(read.metadata.note, "ünïcode");
      assert.deepEqual(norm(read.records), norm(records.map(asRead)));
    });
  }

  it("compresses with deflate", () => {
    const records = Array.from({ length: 200 }, (_, i) => manifestFile(i));
    const plain = writeAvroContainer({ schema: MANIFEST_LIST, records });
    const deflated = writeAvroContainer({ schema: MANIFEST_LIST, records, codec: "deflate" });
    assert.ok(deflated.length < plain.length / 2, `${deflated.length} vs ${plain.length}`);
    assert.deepEqual(norm(readAvroContainer(deflated).records), norm(records));
  });

  it("ends a block after about 64 kB of records whatever recordsPerBlock says", () => {
    const schema: AvroSchema = { type: "record", name: "big", fields: [{ name: "s", type: "string" }] };
    const records = Array.from({ length: 100 }, (_, i) => ({ s: String(i).repeat(2000) }));
    const read = readAvroContainer(writeAvroContainer({ schema, records, recordsPerBlock: 1_000_000 }));
    assert.ok(read.blocks >= 3, `${read.blocks} blocks`);
    assert.deepEqual(read.records, records);
  });

  it("writes a file with no records as a header alone", () => {
    const read = readAvroContainer(writeAvroContainer({ schema: MANIFEST_LIST, records: [] }));
    assert.deepEqual(read.records, []);
    assert.equal(read.blocks, 0);
  });

  it("refuses metadata keys under avro. and codecs other than null and deflate", () => {
    assert.throws(() => writeAvroContainer({ schema: "int", metadata: { "avro.codec": "snappy" }, records: [] }), /reserved/);
    assert.throws(() => writeAvroContainer({ schema: "int", records: [], codec: "snappy" as AvroCodec }), /unsupported codec "snappy"/);
  });

  it("rejects a block that does not end with the file's sync marker, and truncated files", () => {
    const file = writeAvroContainer({ schema: "long", records: [1, 2, 3] });
    const broken = Buffer.from(file);
    broken[broken.length - 1] ^= 1;
    assert.throws(() => readAvroContainer(broken), /sync marker/);
    assert.throws(() => readAvroContainer(file.subarray(0, file.length - 20)), /truncated/);
    assert.throws(() => readAvroContainer(Buffer.from("PAR1")), /bad magic/);
  });
});

const fastavroMissing = spawnSync("python3", ["-c", "import fastavro"]).status !== 0;
const skip = fastavroMissing ? "fastavro is not importable (python3 -m pip install fastavro)" : false;

function python(script: string, ...args: string[]): string {
  const res = spawnSync("python3", ["-c", script, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  assert.equal(res.status, 0, res.stderr);
  return res.stdout;
}

const PY_CONVERT = `
import datetime
def enc(v):
    if isinstance(v, (bytes, bytearray)): return {"$bytes": v.hex()}
    if isinstance(v, bool): return v
    if isinstance(v, int) and abs(v) > 2**53 - 1: return {"$long": str(v)}
    if isinstance(v, datetime.date): return (v - datetime.date(1970, 1, 1)).days
    if isinstance(v, dict): return {k: enc(x) for k, x in v.items()}
    if isinstance(v, list): return [enc(x) for x in v]
    return v
def dec(v):
    if isinstance(v, dict):
        if "$bytes" in v: return bytes.fromhex(v["$bytes"])
        if "$long" in v: return int(v["$long"])
        return {k: dec(x) for k, x in v.items()}
    if isinstance(v, list): return [dec(x) for x in v]
    return v
`;
const PY_READ = `${PY_CONVERT}
import sys, json, fastavro
with open(sys.argv[1], "rb") as f:
    r = fastavro.reader(f)
    out = {"records": [enc(x) for x in r], "schema": r.writer_schema, "metadata": r.metadata, "codec": r.codec}
with open(sys.argv[1], "rb") as f:
    out["blocks"] = sum(1 for _ in fastavro.block_reader(f))
print(json.dumps(out))
`;
const PY_WRITE = `${PY_CONVERT}
import sys, json, fastavro
with open(sys.argv[2]) as f: records = dec(json.load(f))
with open(sys.argv[3], "wb") as f:
    fastavro.writer(f, fastavro.parse_schema(json.loads(sys.argv[1])), records, codec=sys.argv[4], sync_interval=int(sys.argv[5]), metadata={"written-by": "fastavro"})
`;

interface FastavroView {
  records: unknown[];
  schema: AvroRecord;
  metadata: Record<string, string>;
  codec: string;
  blocks: number;
}
let fileCounter = 0;
function readWithFastavro(file: Buffer): FastavroView {
  const path = join(work, `ours-${fileCounter++}.avro`);
  writeFileSync(path, file);
  return JSON.parse(python(PY_READ, path)) as FastavroView;
}
function writeWithFastavro(schema: AvroSchema, records: unknown[], codec: AvroCodec, syncInterval: number): Buffer {
  const input = join(work, `records-${fileCounter}.json`);
  const output = join(work, `fastavro-${fileCounter++}.avro`);
  writeFileSync(input, JSON.stringify(norm(records)));
  python(PY_WRITE, JSON.stringify(schema), input, output, codec, String(syncInterval));
  return readFileSync(output);
}

describe("interop with fastavro", { skip }, () => {
  for (const codec of ["null", "deflate"] as AvroCodec[]) {
    it(`fastavro reads our ${codec} files record for record, across many blocks`, () => {
      const records = Array.from({ length: 30 }, (_, i) => everything(i));
      const view = readWithFastavro(writeAvroContainer({ schema: EVERYTHING, metadata: { "written-by": "stocktake" }, records, codec, recordsPerBlock: 7 }));
      assert.equal(view.codec, codec);
      assert.equal(view.blocks, 5);
      assert.equal(view.metadata["written-by"], "stocktake");
      assert.deepEqual(view.records, norm(records.map(asRead)));
    });

    it(`we read fastavro's ${codec} files record for record, across many blocks`, () => {
      const records = Array.from({ length: 30 }, (_, i) => everything(i));
      const read = readAvroContainer(writeWithFastavro(EVERYTHING, records, codec, 500));
      assert.ok(read.blocks > 1, `${read.blocks} blocks`);
      assert.equal(read.metadata["written-by"], "fastavro");
      assert.equal(read.metadata["avro.codec"], codec);
      assert.deepEqual(norm(read.records), norm(records.map(asRead)));
    });
  }

  it("fastavro sees an Iceberg manifest list's field ids, element id and file metadata as we wrote them", () => {
    const records = Array.from({ length: 5 }, (_, i) => manifestFile(i));
    const metadata = { "snapshot-id": "8744736658442914487", "parent-snapshot-id": "null", "sequence-number": "4", "format-version": "2" };
    const view = readWithFastavro(writeAvroContainer({ schema: MANIFEST_LIST, metadata, records, codec: "deflate" }));
    const ids = Object.fromEntries(view.schema.fields.map((f) => [f.name, f["field-id"]]));
    assert.deepEqual(ids, Object.fromEntries(MANIFEST_LIST.fields.map((f) => [f.name, f["field-id"]])));
    const partitions = view.schema.fields.find((f) => f.name === "partitions")!.type as [string, { "element-id": number; items: AvroRecord }];
    assert.equal(partitions[1]["element-id"], 508);
    assert.deepEqual(partitions[1].items.fields.map((f) => f["field-id"]), [509, 518, 510, 511]);
    for (const [key, value] of Object.entries(metadata)) assert.equal(view.metadata[key], value);
    assert.deepEqual(view.records, norm(records));
  });

  it("fastavro reads an empty file of ours, and we read its empty file", () => {
    assert.deepEqual(readWithFastavro(writeAvroContainer({ schema: MANIFEST_LIST, records: [] })).records, []);
    assert.deepEqual(readAvroContainer(writeWithFastavro(MANIFEST_LIST, [], "deflate", 16000)).records, []);
  });
});
