// Parquet inventory reports end to end: objects and versions written with the AWS SDK v3, a
// Parquet configuration run on demand through Stocktake's endpoint, the delivered report fetched
// through the S3 API and read with pyarrow and DuckDB: manifest (fileFormat, fileSchema, sizes,
// MD5s), the file's physical schema, row counts, and every value against what the SDK wrote.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  PutBucketInventoryConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type InventoryConfiguration,
  type S3Client,
} from "@aws-sdk/client-s3";
import { startTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import { getObjectBytes, python, reportDeliveryPolicy, runInventory } from "../helpers/inventory.js";

const SOURCE = "parquet-source";
const VERSIONED = "parquet-versioned";
const DEST = "parquet-dest";

function parquetConfig(id: string, extra: Partial<InventoryConfiguration> = {}): InventoryConfiguration {
  return {
    Id: id,
    IsEnabled: true,
    IncludedObjectVersions: "Current",
    Schedule: { Frequency: "Daily" },
    Destination: { S3BucketDestination: { Bucket: `arn:aws:s3:::${DEST}`, Format: "Parquet", Prefix: "pq" } },
    ...extra,
  };
}

/**
 * pyarrow: the message type rebuilt from the file's column descriptors in parquet-mr's text (the
 * logical type, as S3's fileSchema names it; each column's converted type as well, for readers
 * that predate logical types), and the rows (timestamps as epoch ms).
 */
const PYARROW = `
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
cols = [t.column(n).cast(pa.int64()) if pa.types.is_timestamp(t.column(n).type) else t.column(n) for n in t.column_names]
print(json.dumps({
  "schema": "message %s {%s}" % (root, "".join(parts)),
  "converted": converted,
  "types": [str(x.type) for x in t.schema],
  "rows": [list(r.values()) for r in pa.table(cols, names=t.column_names).to_pylist()],
  "codec": f.metadata.row_group(0).column(0).compression if f.metadata.num_row_groups else None,
}))
`;

type Value = string | number | boolean | null;

describe("inventory reports (Parquet)", () => {
  let server: TestServer;
  let s3: S3Client;
  let work: string;
  const longKey = "long/" + "ключ-".repeat(100) + "end"; // 1,008 bytes in UTF-8, under S3's 1,024
  const keys = ["a.txt", "dir/b c.txt", "dir/plus+sign", "ünïcødé/ключ.bin", "emoji/😀.png", longKey, "logs/2026/x.log"];

  before(async () => {
    server = await startTestServer();
    s3 = server.client;
    work = mkdtempSync(join(tmpdir(), "stocktake-parquet-report-"));
    for (const Bucket of [SOURCE, VERSIONED, DEST]) await s3.send(new CreateBucketCommand({ Bucket }));
    await s3.send(new PutBucketPolicyCommand({ Bucket: DEST, Policy: reportDeliveryPolicy(DEST, { sourceAccount: server.root.accountId, sources: [SOURCE, VERSIONED] }) }));
    for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: SOURCE, Key, Body: `body of ${Key}`, StorageClass: Key.endsWith(".log") ? "STANDARD_IA" : undefined }));
  });
  after(async () => {
    rmSync(work, { recursive: true, force: true });
    await server.stop();
  });

  /** Runs a configuration and returns the manifest and each data file (checked against the manifest), saved locally. */
  async function deliver(bucket: string, id: string) {
    const run = await runInventory(server, bucket, id);
    assert.equal(run.status, "succeeded", run.error);
    const manifestBytes = await getObjectBytes(s3, DEST, run.manifestKey!);
    const manifest = JSON.parse(manifestBytes.toString()) as { fileFormat: string; fileSchema: string; files: { key: string; size: number; MD5checksum: string }[] };
    const checksum = (await getObjectBytes(s3, DEST, run.manifestKey!.replace("manifest.json", "manifest.checksum"))).toString().trim();
    assert.equal(checksum, createHash("md5").update(manifestBytes).digest("hex"));
    const paths: string[] = [];
    for (const [i, f] of manifest.files.entries()) {
      assert.match(f.key, new RegExp(`^pq/${bucket}/${id}/data/[0-9a-f-]{36}\\.parquet$`));
      const data = await getObjectBytes(s3, DEST, f.key);
      assert.equal(data.length, f.size);
      assert.equal(createHash("md5").update(data).digest("hex"), f.MD5checksum);
      assert.equal(data.subarray(0, 4).toString(), "PAR1");
      assert.equal(data.subarray(-4).toString(), "PAR1");
      const path = join(work, `${id}-${i}.parquet`);
      writeFileSync(path, data);
      paths.push(path);
    }
    return { run, manifest, paths };
  }

  it("delivers a Parquet report with S3's schema that pyarrow and DuckDB read, every value as written", async () => {
    const fields: InventoryConfiguration["OptionalFields"] = ["ETag", "Size", "StorageClass", "IsMultipartUploaded", "ChecksumAlgorithm", "LastModifiedDate", "EncryptionStatus", "ObjectLockRetainUntilDate", "ObjectOwner"];
    await s3.send(new PutBucketInventoryConfigurationCommand({ Bucket: SOURCE, Id: "daily-parquet", InventoryConfiguration: parquetConfig("daily-parquet", { OptionalFields: fields }) }));
    const { run, manifest, paths } = await deliver(SOURCE, "daily-parquet");
    assert.equal(run.rows, keys.length);
    assert.equal(manifest.fileFormat, "Parquet");
    assert.equal(
      manifest.fileSchema,
      "message s3.inventory {  required binary bucket (STRING);  required binary key (STRING);  optional int64 size;  " +
        "optional int64 last_modified_date (TIMESTAMP(MILLIS,true));  optional binary e_tag (STRING);  optional binary storage_class (STRING);  " +
        "optional boolean is_multipart_uploaded;  optional binary encryption_status (STRING);  optional int64 object_lock_retain_until_date (TIMESTAMP(MILLIS,true));  " +
        "optional binary checksum_algorithm (STRING);  optional binary object_owner (STRING);}",
    );
    assert.equal(manifest.files.length, 1);

    const view = JSON.parse(await python(PYARROW, paths[0]!)) as { schema: string; converted: string[]; types: string[]; rows: Value[][]; codec: string };
    assert.equal(view.schema, manifest.fileSchema, "the file's own schema is the manifest's fileSchema");
    assert.deepEqual(view.converted, ["UTF8", "UTF8", "NONE", "TIMESTAMP_MILLIS", "UTF8", "UTF8", "NONE", "UTF8", "TIMESTAMP_MILLIS", "UTF8", "UTF8"]);
    assert.deepEqual(view.types, ["string", "string", "int64", "timestamp[ms, tz=UTC]", "string", "string", "bool", "string", "timestamp[ms, tz=UTC]", "string", "string"]);
    assert.equal(view.codec, "SNAPPY");

    const listed = await s3.send(new ListObjectsV2Command({ Bucket: SOURCE }));
    const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    assert.deepEqual(view.rows.map((r) => r[1]), sorted, "keys in UTF-8 order, not URL-encoded");
    for (const r of view.rows) {
      const key = r[1] as string;
      const body = `body of ${key}`;
      const object = listed.Contents!.find((o) => o.Key === key)!;
      assert.equal(r[0], SOURCE);
      assert.equal(r[2], Buffer.byteLength(body));
      assert.equal(Math.floor((r[3] as number) / 1000), Math.floor(object.LastModified!.getTime() / 1000), "last_modified_date");
      assert.equal(r[4], createHash("md5").update(body).digest("hex"));
      assert.equal(r[5], key.endsWith(".log") ? "STANDARD_IA" : "STANDARD");
      assert.equal(r[6], false);
      assert.equal(r[7], "SSE-S3", "every object is SSE-S3 by default, as on S3 since 2023");
      assert.equal(r[8], null, "no object lock: a null timestamp");
      assert.equal(r[9], "CRC32", "the SDK's default trailing checksum");
      assert.match(r[10] as string, /^[0-9a-f]{64}$/, "the owner's canonical id");
    }

    const duck = await python(
      `import sys, json, duckdb; print(json.dumps(duckdb.sql(f"select count(*), sum(size), count(object_lock_retain_until_date), min(key), max(storage_class), count(distinct object_owner) from read_parquet('{sys.argv[1]}')").fetchone()))`,
      paths[0]!,
    );
    const totalSize = keys.reduce((n, k) => n + Buffer.byteLength(`body of ${k}`), 0);
    assert.deepEqual(JSON.parse(duck), [keys.length, totalSize, 0, sorted[0], "STANDARD_IA", 1]);
    const duckRows = await python(
      `import sys, json, duckdb; print(json.dumps([list(r) for r in duckdb.sql(f"select bucket, key, size, epoch_ms(last_modified_date), e_tag, storage_class, is_multipart_uploaded, encryption_status, epoch_ms(object_lock_retain_until_date), checksum_algorithm, object_owner from read_parquet('{sys.argv[1]}')").fetchall()]))`,
      paths[0]!,
    );
    assert.deepEqual(JSON.parse(duckRows), view.rows, "DuckDB reads the same rows as pyarrow");
  });

  it("reports versions and delete markers with All: null version id for the null version, null size for a marker", async () => {
    await s3.send(new PutObjectCommand({ Bucket: VERSIONED, Key: "doc", Body: "null version" }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: VERSIONED, VersioningConfiguration: { Status: "Enabled" } }));
    const v1 = await s3.send(new PutObjectCommand({ Bucket: VERSIONED, Key: "doc", Body: "1" }));
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: VERSIONED, Key: "doc" }));
    const other = await s3.send(new PutObjectCommand({ Bucket: VERSIONED, Key: "other", Body: "xy" }));
    await s3.send(
      new PutBucketInventoryConfigurationCommand({
        Bucket: VERSIONED,
        Id: "all-versions",
        InventoryConfiguration: parquetConfig("all-versions", { IncludedObjectVersions: "All", OptionalFields: ["Size", "ETag"] }),
      }),
    );
    const { manifest, paths } = await deliver(VERSIONED, "all-versions");
    assert.equal(
      manifest.fileSchema,
      "message s3.inventory {  required binary bucket (STRING);  required binary key (STRING);  optional binary version_id (STRING);  " +
        "optional boolean is_latest;  optional boolean is_delete_marker;  optional int64 size;  optional binary e_tag (STRING);}",
    );
    const view = JSON.parse(await python(PYARROW, paths[0]!)) as { schema: string; rows: Value[][] };
    assert.equal(view.schema, manifest.fileSchema);
    const md5 = (s: string) => createHash("md5").update(s).digest("hex");
    assert.deepEqual(view.rows, [
      [VERSIONED, "doc", marker.VersionId!, true, true, null, null],
      [VERSIONED, "doc", v1.VersionId!, false, false, 1, md5("1")],
      [VERSIONED, "doc", null, false, false, 12, md5("null version")],
      [VERSIONED, "other", other.VersionId!, true, false, 2, md5("xy")],
    ]);
    const duck = await python(
      `import sys, json, duckdb; print(json.dumps(duckdb.sql(f"select count(*), count(version_id), count(size), sum(is_delete_marker::int) from read_parquet('{sys.argv[1]}')").fetchone()))`,
      paths[0]!,
    );
    assert.deepEqual(JSON.parse(duck), [4, 3, 3, 1]);
  });

  it("rolls a large report over into several Parquet files, each whole and readable, keys in order across them", async () => {
    const rolling = await startTestServer({ inventoryMaxFileBytes: 4096 });
    try {
      const c = rolling.client;
      for (const Bucket of [SOURCE, DEST]) await c.send(new CreateBucketCommand({ Bucket }));
      await c.send(new PutBucketPolicyCommand({ Bucket: DEST, Policy: reportDeliveryPolicy(DEST, { sourceAccount: rolling.root.accountId, sources: [SOURCE] }) }));
      const count = 4100; // the run rolls over between scan batches of 2,000 rows
      await Promise.all(Array.from({ length: count }, (_, i) => c.send(new PutObjectCommand({ Bucket: SOURCE, Key: `many/${String(i).padStart(5, "0")}-${createHash("sha1").update(String(i)).digest("hex")}`, Body: "" }))));
      await c.send(new PutBucketInventoryConfigurationCommand({ Bucket: SOURCE, Id: "rolling", InventoryConfiguration: parquetConfig("rolling", { OptionalFields: ["ETag"] }) }));
      const run = await runInventory(rolling, SOURCE, "rolling");
      assert.equal(run.status, "succeeded", run.error);
      const manifest = JSON.parse((await getObjectBytes(c, DEST, run.manifestKey!)).toString()) as { files: { key: string; MD5checksum: string }[] };
      assert.ok(manifest.files.length > 1, `${manifest.files.length} files`);
      const paths: string[] = [];
      for (const [i, f] of manifest.files.entries()) {
        const body = await getObjectBytes(c, DEST, f.key);
        assert.equal(createHash("md5").update(body).digest("hex"), f.MD5checksum);
        paths.push(join(work, `rolling-${i}.parquet`));
        writeFileSync(paths[i]!, body);
      }
      const keysPerFile = JSON.parse(
        await python(`import sys, json, pyarrow.parquet as pq; print(json.dumps([pq.read_table(p, columns=["key"]).column("key").to_pylist() for p in sys.argv[1:]]))`, ...paths),
      ) as string[][];
      const all = keysPerFile.flat();
      assert.equal(all.length, count);
      assert.deepEqual(all, [...all].sort(), "files follow key order");
      assert.ok(keysPerFile.every((k) => k.length > 0), "no empty file in a split report");
    } finally {
      await rolling.stop();
    }
  });

  it("delivers an empty bucket as one Parquet file with the schema and no rows", async () => {
    const EMPTY = "parquet-empty";
    await s3.send(new CreateBucketCommand({ Bucket: EMPTY }));
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: DEST,
        Policy: reportDeliveryPolicy(DEST, { sourceAccount: server.root.accountId, sources: [SOURCE, VERSIONED] }).replace(`"arn:aws:s3:::${VERSIONED}"`, `"arn:aws:s3:::${VERSIONED}","arn:aws:s3:::${EMPTY}"`),
      }),
    );
    await s3.send(new PutBucketInventoryConfigurationCommand({ Bucket: EMPTY, Id: "empty", InventoryConfiguration: parquetConfig("empty", { OptionalFields: ["Size"] }) }));
    const { run, manifest, paths } = await deliver(EMPTY, "empty");
    assert.equal(run.rows, 0);
    assert.equal(manifest.files.length, 1);
    const view = JSON.parse(await python(PYARROW, paths[0]!)) as { schema: string; rows: Value[][] };
    assert.equal(view.schema, manifest.fileSchema);
    assert.deepEqual(view.rows, []);
    const duck = await python(`import sys, duckdb; print(duckdb.sql(f"select count(*) from read_parquet('{sys.argv[1]}')").fetchone()[0])`, paths[0]!);
    assert.equal(duck.trim(), "0");
  });
});
