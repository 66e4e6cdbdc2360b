// ORC inventory reports end to end: objects (one uploaded in parts) and versions written with the
// AWS SDK v3, ORC and CSV configurations of the same bucket run on demand, and the ORC data files
// read with pyarrow (its ORC reader and its dataset API) must hold exactly the CSV report's rows,
// with S3's schema.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutBucketInventoryConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  type InventoryConfiguration,
  type InventoryFormat,
  type S3Client,
} from "@aws-sdk/client-s3";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { getObjectBytes, python, reportDeliveryPolicy, runInventory } from "../helpers/inventory.js";

const SOURCE = "orc-source";
const DEST = "orc-dest";
const FIELDS: InventoryConfiguration["OptionalFields"] = ["Size", "LastModifiedDate", "ETag", "StorageClass", "IsMultipartUploaded", "EncryptionStatus", "ChecksumAlgorithm"];

function config(id: string, format: InventoryFormat): InventoryConfiguration {
  return {
    Id: id,
    IsEnabled: true,
    IncludedObjectVersions: "All",
    OptionalFields: FIELDS,
    Schedule: { Frequency: "Daily" },
    Destination: { S3BucketDestination: { Bucket: `arn:aws:s3:::${DEST}`, Format: format } },
  };
}

interface Manifest {
  fileFormat: string;
  fileSchema: string;
  files: { key: string; size: number; MD5checksum: string }[];
}

describe("inventory reports (ORC)", () => {
  let server: TestServer;
  let s3: S3Client;
  let work: string;

  before(async () => {
    server = await startTestServer();
    s3 = server.client;
    work = mkdtempSync(join(tmpdir(), "stocktake-orc-report-"));
    await s3.send(new CreateBucketCommand({ Bucket: SOURCE }));
    await s3.send(new CreateBucketCommand({ Bucket: DEST }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: SOURCE, VersioningConfiguration: { Status: "Enabled" } }));
    await s3.send(new PutBucketPolicyCommand({ Bucket: DEST, Policy: reportDeliveryPolicy(DEST) }));
    for (const Key of ["a.txt", "dir/b c.txt", "ünïcødé/ключ.bin", "logs/x.log"]) {
      await s3.send(new PutObjectCommand({ Bucket: SOURCE, Key, Body: `body of ${Key}`, StorageClass: Key.endsWith(".log") ? "GLACIER_IR" : undefined }));
    }
    await s3.send(new PutObjectCommand({ Bucket: SOURCE, Key: "a.txt", Body: "second version" }));
    await s3.send(new DeleteObjectCommand({ Bucket: SOURCE, Key: "logs/x.log" }));
    const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: SOURCE, Key: "big/parts.bin" }));
    const parts = [];
    for (const [i, body] of [Buffer.alloc(5 * 1024 * 1024, 1), Buffer.from("tail")].entries()) {
      const part = await s3.send(new UploadPartCommand({ Bucket: SOURCE, Key: "big/parts.bin", UploadId: upload.UploadId, PartNumber: i + 1, Body: body }));
      parts.push({ PartNumber: i + 1, ETag: part.ETag });
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: SOURCE, Key: "big/parts.bin", UploadId: upload.UploadId, MultipartUpload: { Parts: parts } }));
  });
  after(async () => {
    rmSync(work, { recursive: true, force: true });
    await server.stop();
  });

  async function deliver(id: string, format: InventoryFormat): Promise<{ manifest: Manifest; dir: string }> {
    await s3.send(new PutBucketInventoryConfigurationCommand({ Bucket: SOURCE, Id: id, InventoryConfiguration: config(id, format) }));
    const run = await runInventory(server, SOURCE, id);
    assert.equal(run.status, "succeeded", run.error);
    const manifestBytes = await getObjectBytes(s3, DEST, run.manifestKey!);
    const checksum = (await getObjectBytes(s3, DEST, run.manifestKey!.replace("manifest.json", "manifest.checksum"))).toString().trim();
    assert.equal(checksum, createHash("md5").update(manifestBytes).digest("hex"));
    const manifest = JSON.parse(manifestBytes.toString()) as Manifest;
    const dir = join(work, id);
    mkdirSync(dir);
    for (const [i, f] of manifest.files.entries()) {
      const data = await getObjectBytes(s3, DEST, f.key);
      assert.equal(data.length, f.size);
      assert.equal(createHash("md5").update(data).digest("hex"), f.MD5checksum);
      writeFileSync(join(dir, `${i}.${format === "ORC" ? "orc" : "csv.gz"}`), data);
    }
    return { manifest, dir };
  }

  it("delivers an ORC report with S3's schema whose rows are exactly the CSV report's", async () => {
    const orc = await deliver("orc-all", "ORC");
    assert.equal(orc.manifest.fileFormat, "ORC");
    assert.match(orc.manifest.files[0]!.key, /^orc-source\/orc-all\/data\/[0-9a-f-]{36}\.orc$/);
    assert.equal(
      orc.manifest.fileSchema,
      "struct<bucket:string,key:string,version_id:string,is_latest:boolean,is_delete_marker:boolean,size:bigint," +
        "last_modified_date:timestamp,e_tag:string,storage_class:string,is_multipart_uploaded:boolean,encryption_status:string,checksum_algorithm:string>",
    );
    const csv = await deliver("csv-all", "CSV");

    // Each report as CSV-style text rows: strings as they are, booleans true/false, dates ISO in UTC.
    const orcRows = JSON.parse(
      await python(
        `
import sys, json, glob, datetime
import pyarrow.orc as po, pyarrow.dataset as ds
paths = sorted(glob.glob(sys.argv[1] + "/*.orc"))
f = po.ORCFile(paths[0])
schema = "struct<" + ",".join("%s:%s" % (fl.name, {"string": "string", "bool": "boolean", "int64": "bigint"}.get(str(fl.type), "timestamp")) for fl in f.schema) + ">"
table = ds.dataset(paths, format="orc").to_table()
def text(v):
    if v is None: return ""
    if isinstance(v, bool): return "true" if v else "false"
    if isinstance(v, datetime.datetime): return v.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (v.microsecond // 1000)
    return str(v)
print(json.dumps({"schema": schema, "types": [str(t) for t in table.schema.types], "rows": [[text(v) for v in r.values()] for r in table.to_pylist()]}))
`,
        orc.dir,
      ),
    ) as { schema: string; types: string[]; rows: string[][] };
    assert.equal(orcRows.schema, orc.manifest.fileSchema, "the file's own types are the manifest's fileSchema");
    assert.deepEqual(orcRows.types.slice(0, 6), ["string", "string", "string", "bool", "bool", "int64"]);
    assert.match(orcRows.types[6]!, /^timestamp/);

    const csvRows = gunzipSync(Buffer.concat(csv.manifest.files.map((_, i) => readFileSync(join(csv.dir, `${i}.csv.gz`)))))
      .toString()
      .split("\n")
      .filter(Boolean)
      .map((line) => line.slice(1, -1).split('","'))
      .map((r) => [r[0]!, decodeURIComponent(r[1]!.replace(/\+/g, " ")), ...r.slice(2)]);
    assert.equal(orcRows.rows.length, 7, "5 current objects, an older version and a delete marker");
    assert.deepEqual(orcRows.rows, csvRows);

    const multipart = orcRows.rows.find((r) => r[1] === "big/parts.bin")!;
    assert.equal(multipart[9], "true", "is_multipart_uploaded");
    assert.match(multipart[7]!, /^[0-9a-f]{32}-2$/, "the multipart ETag keeps its -N suffix");
    const marker = orcRows.rows.find((r) => r[1] === "logs/x.log" && r[4] === "true")!;
    assert.equal(marker[5], "", "a delete marker has no size");
  });
});
