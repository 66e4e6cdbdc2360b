// Data files read back: what writeIcebergParquet wrote comes back from readParquetRows in the very
// shape it was given (the engine writes what it read again), columns matched by field id; and a
// table's data file, written to its bucket, reads back whole.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { startTestServer, TEST_ACCOUNT_ID, type TestServer } from "../../test/helpers/server.js";
import { INVENTORY_SCHEMA, JOURNAL_SCHEMA } from "./schemas.js";
import { writeIcebergParquet, type IcebergRow, type IcebergSchema } from "./parquet-table.js";
import { readParquetRows } from "./data-files.js";
import { createTable, readTableFile, writeDataFile, type TableLocation } from "./table-store.js";

/** Small pages and row groups, so that a read crosses page, dictionary and row group boundaries. */
const SMALL = { limits: { rowGroupRows: 7, pageRows: 3 } };

async function roundTrip(schema: IcebergSchema, rows: IcebergRow[], options = SMALL): Promise<IcebergRow[]> {
  const { bytes } = await writeIcebergParquet(schema, rows, options);
  return readParquetRows(bytes, schema);
}

const MICROS_2025 = Date.UTC(2025, 0, 1) * 1000;

/** A journal row with every column set, most of them varied by i (nulls, empty maps, odd keys). */
function journalRow(i: number): IcebergRow {
  const deleted = i % 4 === 3;
  return {
    bucket: "photos",
    key: ["a.jpg", "dir/ünïcødé/ファイル.txt", "emoji/😀", "", "__proto__"][i % 5]! + `#${i}`,
    sequence_number: String(i).padStart(20, "0"),
    record_type: deleted ? "DELETE" : i % 4 === 2 ? "UPDATE_METADATA" : "CREATE",
    record_timestamp: MICROS_2025 + i * 1_000_001,
    version_id: i % 3 === 0 ? null : `v-${i}`,
    is_delete_marker: deleted ? true : i % 5 === 0 ? null : false,
    size: deleted ? 0 : i === 1 ? Number.MAX_SAFE_INTEGER : i === 2 ? 2n ** 62n : i === 5 ? -(2n ** 63n) : i * 1000,
    // Past 2^53 microseconds (the year 2255) a timestamp is a bigint.
    last_modified_date: deleted ? null : i === 4 ? 2n ** 60n : MICROS_2025 - i,
    e_tag: deleted ? null : `"etag-${i}"`,
    storage_class: deleted ? null : "STANDARD",
    is_multipart: deleted ? null : i % 2 === 0,
    encryption_status: deleted ? null : i % 2 === 0 ? "SSE-S3" : "SSE-KMS",
    is_bucket_key_enabled: deleted ? null : i % 2 === 1,
    kms_key_arn: i % 2 === 1 && !deleted ? `arn:aws:kms:us-east-1:${TEST_ACCOUNT_ID}:key/k${i}` : null,
    checksum_algorithm: i % 3 === 1 ? "CRC64NVME" : null,
    object_tags: deleted ? null : i % 2 === 0 ? {} : Object.fromEntries([["team", `t${i}`], ["ключ", "значение"], ["", ""], ["__proto__", "p"], ["\0__proto__", "q"]]),
    user_metadata: deleted ? null : i % 3 === 0 ? {} : { "x-note": "ünïcødé 😀", constructor: "c", "has space": "" },
    requester: i % 5 === 4 ? "s3.amazonaws.com" : TEST_ACCOUNT_ID,
    source_ip_address: i % 5 === 4 ? null : "192.0.2.1",
    request_id: i % 5 === 4 ? null : `REQ${i}`,
  };
}

/** An inventory row: the inventory's columns of a journal row. */
function inventoryRow(i: number): IcebergRow {
  const row = journalRow(i);
  return Object.fromEntries(INVENTORY_SCHEMA.fields.map((f) => [f.name, row[f.name]]));
}

describe("readParquetRows: a data file back in the shape it was written from", () => {
  it("round-trips journal rows exactly: every column type, nulls, empty maps, unicode and __proto__ keys, longs past 2^53", async () => {
    const rows = Array.from({ length: 40 }, (_, i) => journalRow(i));
    const back = await roundTrip(JOURNAL_SCHEMA, rows);
    assert.deepEqual(back, rows);
    // deepEqual compares own properties; a "__proto__" tag must be one, not the object's prototype.
    const tags = back[1]!.object_tags as Record<string, string>;
    assert.equal(Object.getPrototypeOf(tags), Object.prototype);
    assert.deepEqual(Object.keys(tags).sort(), ["", "\0__proto__", "__proto__", "team", "ключ"].sort());
    assert.equal(typeof back[2]!.size, "bigint");
    assert.equal(typeof back[1]!.size, "number");
    assert.equal(typeof back[4]!.last_modified_date, "bigint");
    assert.equal(typeof back[0]!.record_timestamp, "number");
  });

  it("round-trips inventory rows exactly", async () => {
    const rows = Array.from({ length: 25 }, (_, i) => inventoryRow(i));
    assert.deepEqual(await roundTrip(INVENTORY_SCHEMA, rows), rows);
  });

  it("round-trips any journal rows (property)", async () => {
    const text = fc.string({ unit: "grapheme", maxLength: 12 });
    const optional = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });
    const long = fc.oneof(fc.maxSafeInteger(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((v) => (Number.isSafeInteger(Number(v)) ? Number(v) : v)));
    const map = optional(fc.dictionary(fc.oneof(text, fc.constantFrom("__proto__", "\0__proto__", "constructor")), text, { maxKeys: 4 }).map((d) => Object.fromEntries(Object.entries(d))));
    const row = fc.record({
      bucket: text,
      key: text,
      sequence_number: text,
      record_type: fc.constantFrom("CREATE", "UPDATE_METADATA", "DELETE"),
      record_timestamp: long,
      version_id: optional(text),
      is_delete_marker: optional(fc.boolean()),
      size: optional(long),
      last_modified_date: optional(long),
      e_tag: optional(text),
      storage_class: optional(text),
      is_multipart: optional(fc.boolean()),
      encryption_status: optional(text),
      is_bucket_key_enabled: optional(fc.boolean()),
      kms_key_arn: optional(text),
      checksum_algorithm: optional(text),
      object_tags: map,
      user_metadata: map,
      requester: optional(text),
      source_ip_address: optional(text),
      request_id: optional(text),
    }).map((r) => ({ ...r })); // fast-check's records have no prototype; rows read back are plain objects
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 30 }), async (rows) => {
        assert.deepEqual(await roundTrip(JOURNAL_SCHEMA, rows), rows);
      }),
      { numRuns: 60 },
    );
  });

  it("round-trips the writer's other types: int, binary, timestamptz, structs, lists, maps of lists", async () => {
    const schema: IcebergSchema = {
      type: "struct",
      "schema-id": 0,
      fields: [
        { id: 1, name: "n", required: true, type: "int" },
        { id: 2, name: "b", required: false, type: "binary" },
        { id: 3, name: "s", required: false, type: { type: "struct", fields: [{ id: 4, name: "x", required: false, type: "long" }, { id: 5, name: "y", required: true, type: "string" }] } },
        { id: 6, name: "l", required: false, type: { type: "list", "element-id": 7, element: "string", "element-required": false } },
        { id: 8, name: "t", required: false, type: "timestamptz" },
        { id: 9, name: "m", required: false, type: { type: "map", "key-id": 10, key: "string", "value-id": 11, value: { type: "list", "element-id": 12, element: "long", "element-required": true }, "value-required": false } },
      ],
    };
    const rows: IcebergRow[] = [
      { n: -5, b: new Uint8Array([0, 255]), s: { x: 2n ** 62n, y: "__proto__" }, l: ["a", null, "\0__proto__"], t: -1, m: { k: [1, 2n ** 60n], none: null } },
      { n: 2147483647, b: null, s: null, l: [], t: null, m: Object.fromEntries([["__proto__", [2, 3]]]) },
      { n: 0, b: new Uint8Array(), s: { x: null, y: "" }, l: null, t: MICROS_2025, m: {} },
    ];
    assert.deepEqual(await roundTrip(schema, rows), rows);
  });

  it("matches columns by field id: a renamed column keeps its values, a column the file lacks reads as null", async () => {
    const rows = [journalRow(1), journalRow(2)];
    const { bytes } = await writeIcebergParquet(JOURNAL_SCHEMA, rows);
    const evolved: IcebergSchema = {
      ...JOURNAL_SCHEMA,
      "schema-id": 1,
      fields: [
        ...JOURNAL_SCHEMA.fields.map((f) => (f.id === 2 ? { ...f, name: "object_key" } : f.id === 8 ? { ...f, name: "key" } : f)),
        { id: 99, name: "added_later", required: false, type: "string" },
      ],
    };
    const back = await readParquetRows(bytes, evolved);
    assert.deepEqual(
      back.map((r) => [r.object_key, r.key, r.added_later]),
      rows.map((r) => [r.key, r.size, null]),
    );
  });
});

describe("large files on the server's thread", () => {
  /** Counts the turns of the event loop that other work gets while `work` runs. */
  async function turnsDuring<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
    let turns = 0;
    let running = true;
    const tick = () => {
      if (!running) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    const result = await work();
    running = false;
    return { result, turns };
  }

  it("writes and reads a 20,000-row file in slices, letting other work run in between", async () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => journalRow(i));
    const written = await turnsDuring(() => writeIcebergParquet(JOURNAL_SCHEMA, rows));
    // A turn per slice of rows at the least (a file written or read in one block gives none).
    assert.ok(written.turns >= 5, `the writer gave other work ${written.turns} turns`);
    const read = await turnsDuring(() => readParquetRows(written.result.bytes, JOURNAL_SCHEMA));
    assert.ok(read.turns >= 5, `the reader gave other work ${read.turns} turns`);
    assert.deepEqual(read.result, rows);
  });
});

describe("a table's data file, written to its bucket and read back", () => {
  const BUCKET = `data-files-${TEST_ACCOUNT_ID}`;
  const TABLE: TableLocation = { bucket: BUCKET, prefix: "b_photos/inventory/" };
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
    await server.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await createTable(server.context, TABLE, INVENTORY_SCHEMA);
  });

  after(async () => {
    await server?.stop();
  });

  it("reads back the rows writeDataFile wrote, as its data_file record counts them", async () => {
    const rows = Array.from({ length: 9 }, (_, i) => inventoryRow(i));
    const file = await writeDataFile(server.context, TABLE, rows);
    assert.equal(file.record_count, 9);
    const bytes = await readTableFile(server.context, TABLE, file.file_path);
    assert.deepEqual(await readParquetRows(bytes!, INVENTORY_SCHEMA), rows);
    assert.equal(await readTableFile(server.context, TABLE, `s3://${BUCKET}/b_photos/inventory/data/none.parquet`), undefined);
  });
});
