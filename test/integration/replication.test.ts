// Replication between buckets of one server, end to end: the configuration API (SDK v3 and boto3),
// S3's validation errors, new versions marked PENDING and copied by the Replicator to replicas that
// match byte for byte (same version id, ETag, dates, metadata, parts), delete marker replication
// on and off, FAILED for a missing destination, a PENDING version surviving a restart, the
// x-amz-replication-status header, and the ReplicationStatus column of CSV, Parquet and ORC
// inventory reports read back with DuckDB and pyarrow.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteBucketLifecycleCommand,
  DeleteBucketReplicationCommand,
  DeleteObjectCommand,
  GetBucketReplicationCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketInventoryConfigurationCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketReplicationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  type InventoryFormat,
  type ReplicationConfiguration,
  type ReplicationRule,
  type S3Client,
} from "@aws-sdk/client-s3";
import { ROLE, rule } from "../helpers/replication.js";
import { startTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import { rejectsWith } from "../helpers/errors.js";
import { Replicator } from "../../src/replication/replicator.js";
import { getObjectBytes, python, reportDeliveryPolicy, runInventory } from "../helpers/inventory.js";


async function createBucket(s3: S3Client, Bucket: string, versioned = true): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket }));
  if (versioned) await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: "Enabled" } }));
}

async function configure(s3: S3Client, Bucket: string, Rules: ReplicationRule[]): Promise<void> {
  await s3.send(new PutBucketReplicationCommand({ Bucket, ReplicationConfiguration: { Role: ROLE, Rules } }));
}

async function head(s3: S3Client, Bucket: string, Key: string, VersionId?: string) {
  return s3.send(new HeadObjectCommand({ Bucket, Key, VersionId }));
}

describe("bucket replication", () => {
  let server: TestServer;
  let s3: S3Client;

  before(async () => {
    server = await startTestServer();
    s3 = server.client;
    for (const b of ["src", "dst", "dst-archive"]) await createBucket(s3, b);
    await createBucket(s3, "plain", false);
    await configure(s3, "src", [
      rule("docs", 1, "docs/", "dst", { Destination: { Bucket: "arn:aws:s3:::dst", StorageClass: "STANDARD_IA" } }),
      rule("markers-on", 2, "dm-on/", "dst", { DeleteMarkerReplication: { Status: "Enabled" } }),
      rule("markers-off", 3, "dm-off/", "dst"),
      rule("big", 4, "big/", "dst"),
      rule("sse-c", 5, "secret/", "dst"),
    ]);
  });
  after(async () => {
    await server.stop();
  });

  it("stores a configuration and answers it back, with the ID S3 generates for a rule without one", async () => {
    await createBucket(s3, "round-trip");
    const config: ReplicationConfiguration = {
      Role: ROLE,
      Rules: [
        rule("one", 10, "a/", "dst", {
          Destination: { Bucket: "arn:aws:s3:::dst", StorageClass: "GLACIER_IR", Account: server.root.accountId },
          ExistingObjectReplication: { Status: "Enabled" },
        }),
        { Priority: 11, Status: "Disabled", Filter: { And: { Prefix: "b/", Tags: [{ Key: "team", Value: "x" }] } }, DeleteMarkerReplication: { Status: "Disabled" }, Destination: { Bucket: "arn:aws:s3:::dst-archive" } },
      ],
    };
    await s3.send(new PutBucketReplicationCommand({ Bucket: "round-trip", ReplicationConfiguration: config }));
    const got = (await s3.send(new GetBucketReplicationCommand({ Bucket: "round-trip" }))).ReplicationConfiguration!;
    assert.equal(got.Role, ROLE);
    assert.deepEqual(got.Rules![0], config.Rules![0]);
    const second = got.Rules![1]!;
    assert.ok(second.ID && second.ID.length > 0, "S3 names a rule given without an ID");
    assert.deepEqual({ ...second, ID: undefined }, { ...config.Rules![1], ID: undefined });

    await s3.send(new DeleteBucketReplicationCommand({ Bucket: "round-trip" }));
    await rejectsWith(s3.send(new GetBucketReplicationCommand({ Bucket: "round-trip" })), "ReplicationConfigurationNotFoundError", 404);
    await s3.send(new DeleteBucketReplicationCommand({ Bucket: "round-trip" }));
  });

  it("refuses configurations as S3 does", async () => {
    const put = (Bucket: string, Rules: ReplicationRule[]) => s3.send(new PutBucketReplicationCommand({ Bucket, ReplicationConfiguration: { Role: ROLE, Rules } }));
    await assert.rejects(put("plain", [rule("r", 1, "", "dst")]), (err: Error & { $metadata: { httpStatusCode: number } }) => {
      assert.equal(err.name, "InvalidRequest");
      assert.equal(err.message, "Versioning must be 'Enabled' on the bucket to apply a replication configuration");
      assert.equal(err.$metadata.httpStatusCode, 400);
      return true;
    });
    await rejectsWith(put("dst-archive", [rule("r", 1, "", "no-such-bucket")]), "InvalidRequest", 400);
    await rejectsWith(put("dst-archive", [rule("r", 1, "", "plain")]), "InvalidRequest", 400);
    await rejectsWith(put("dst-archive", [rule("r", 1, "", "dst-archive")]), "InvalidRequest", 400);
    await rejectsWith(put("dst-archive", [rule("r", 1, "", "dst"), rule("s", 1, "x", "dst")]), "InvalidRequest", 400);
    await rejectsWith(put("dst-archive", [{ ...rule("r", 1, "", "dst"), Priority: undefined }]), "MalformedXML", 400);
    await rejectsWith(
      put("dst-archive", [{ ...rule("r", 1, "", "dst"), Filter: { Tag: { Key: "k", Value: "v" } }, DeleteMarkerReplication: { Status: "Enabled" } }]),
      "InvalidRequest",
      400,
    );
    await rejectsWith(put("dst-archive", [{ ...rule("r", 1, "", "dst"), Destination: { Bucket: "dst" } }]), "InvalidArgument", 400);
    await rejectsWith(s3.send(new GetBucketReplicationCommand({ Bucket: "dst" })), "ReplicationConfigurationNotFoundError", 404);
  });

  it("keeps versioning enabled while the bucket has a replication configuration (409 InvalidBucketState)", async () => {
    await rejectsWith(s3.send(new PutBucketVersioningCommand({ Bucket: "src", VersioningConfiguration: { Status: "Suspended" } })), "InvalidBucketState", 409);
    await s3.send(new PutBucketVersioningCommand({ Bucket: "src", VersioningConfiguration: { Status: "Enabled" } }));
  });

  it("marks a new version PENDING, then writes an identical replica and marks it COMPLETED", async () => {
    await server.replication.stop();
    const body = randomBytes(100_000);
    const put = await s3.send(
      new PutObjectCommand({ Bucket: "src", Key: "docs/report.bin", Body: body, ContentType: "application/x-report", CacheControl: "max-age=60", Metadata: { owner: "finance" } }),
    );
    assert.equal((await head(s3, "src", "docs/report.bin")).ReplicationStatus, "PENDING");
    await rejectsWith(head(s3, "dst", "docs/report.bin"), undefined, 404);
    await s3.send(new PutObjectCommand({ Bucket: "src", Key: "other/not-selected.txt", Body: "x" }));
    assert.equal((await head(s3, "src", "other/not-selected.txt")).ReplicationStatus, undefined, "no rule selects it: no header");

    server.replication.start();
    await server.replication.runOnce();
    const source = await head(s3, "src", "docs/report.bin");
    assert.equal(source.ReplicationStatus, "COMPLETED");
    const replica = await s3.send(new GetObjectCommand({ Bucket: "dst", Key: "docs/report.bin" }));
    assert.deepEqual(Buffer.from(await replica.Body!.transformToByteArray()), body);
    assert.equal(replica.ReplicationStatus, "REPLICA");
    assert.equal(replica.VersionId, put.VersionId);
    assert.equal(replica.ETag, put.ETag);
    assert.equal(replica.LastModified!.getTime(), source.LastModified!.getTime());
    assert.equal(replica.ContentType, "application/x-report");
    assert.equal(replica.CacheControl, "max-age=60");
    assert.deepEqual(replica.Metadata, { owner: "finance" });
    assert.equal(replica.StorageClass, "STANDARD_IA", "the rule's destination storage class");
    assert.equal(replica.ServerSideEncryption, "AES256");
  });

  it("replicates a multipart object with its parts, and each new version in order", async () => {
    const Key = "big/parts.bin";
    const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: "src", Key }));
    const bodies = [randomBytes(5 * 1024 * 1024), randomBytes(1000)];
    const parts = [];
    for (const [i, Body] of bodies.entries()) {
      const part = await s3.send(new UploadPartCommand({ Bucket: "src", Key, UploadId: upload.UploadId, PartNumber: i + 1, Body }));
      parts.push({ PartNumber: i + 1, ETag: part.ETag });
    }
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: "src", Key, UploadId: upload.UploadId, MultipartUpload: { Parts: parts } }));
    const second = await s3.send(new PutObjectCommand({ Bucket: "src", Key, Body: "newer" }));
    await server.replication.runOnce();

    const first = await s3.send(new GetObjectCommand({ Bucket: "dst", Key, VersionId: done.VersionId }));
    assert.match(first.ETag!, /-2"$/);
    assert.equal(first.ETag, done.ETag);
    assert.deepEqual(Buffer.from(await first.Body!.transformToByteArray()), Buffer.concat(bodies));
    const part2 = await s3.send(new GetObjectCommand({ Bucket: "dst", Key, VersionId: done.VersionId, PartNumber: 2 }));
    assert.equal(part2.PartsCount, 2);
    assert.deepEqual(Buffer.from(await part2.Body!.transformToByteArray()), bodies[1]);
    const latest = await s3.send(new GetObjectCommand({ Bucket: "dst", Key }));
    assert.equal(latest.VersionId, second.VersionId, "the newest source version is the replica's latest");
    assert.equal((await head(s3, "src", Key, done.VersionId)).ReplicationStatus, "COMPLETED");
  });

  it("replicates delete markers only for a rule with DeleteMarkerReplication Enabled", async () => {
    for (const Key of ["dm-on/a.txt", "dm-off/a.txt"]) await s3.send(new PutObjectCommand({ Bucket: "src", Key, Body: Key }));
    await server.replication.runOnce();
    const on = await s3.send(new DeleteObjectCommand({ Bucket: "src", Key: "dm-on/a.txt" }));
    await s3.send(new DeleteObjectCommand({ Bucket: "src", Key: "dm-off/a.txt" }));
    await server.replication.runOnce();

    await rejectsWith(head(s3, "dst", "dm-on/a.txt"), undefined, 404);
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: "dst", Prefix: "dm-on/" }));
    assert.deepEqual(versions.DeleteMarkers?.map((m) => [m.VersionId, m.IsLatest]), [[on.VersionId, true]]);
    assert.equal((await head(s3, "dst", "dm-off/a.txt")).ReplicationStatus, "REPLICA", "the marker stayed in the source bucket");
  });

  it("does not replicate the delete marker a lifecycle expiration adds, even with DeleteMarkerReplication Enabled", async () => {
    await s3.send(new PutObjectCommand({ Bucket: "src", Key: "dm-on/expiring.txt", Body: "x" }));
    await server.replication.runOnce();
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: "src",
        LifecycleConfiguration: { Rules: [{ ID: "past", Status: "Enabled", Filter: { Prefix: "dm-on/expiring" }, Expiration: { Date: new Date("2020-01-01T00:00:00Z") } }] },
      }),
    );
    try {
      await server.lifecycle.runOnce();
      await rejectsWith(head(s3, "src", "dm-on/expiring.txt"), undefined, 404);
      await server.replication.runOnce();
      assert.equal((await head(s3, "dst", "dm-on/expiring.txt")).ReplicationStatus, "REPLICA", "the replica is still the latest version");
    } finally {
      await s3.send(new DeleteBucketLifecycleCommand({ Bucket: "src" }));
    }
  });

  it("replicates an SSE-C object so the replica opens with the same customer key", async () => {
    const key = randomBytes(32);
    const sse = { SSECustomerAlgorithm: "AES256", SSECustomerKey: key.toString("base64"), SSECustomerKeyMD5: createHash("md5").update(key).digest("base64") };
    await s3.send(new PutObjectCommand({ Bucket: "src", Key: "secret/x", Body: "for your eyes only", ...sse }));
    await server.replication.runOnce();
    const replica = await s3.send(new GetObjectCommand({ Bucket: "dst", Key: "secret/x", ...sse }));
    assert.equal(await replica.Body!.transformToString(), "for your eyes only");
    assert.equal(replica.ReplicationStatus, "REPLICA");
    await rejectsWith(s3.send(new GetObjectCommand({ Bucket: "dst", Key: "secret/x" })), "InvalidRequest", 400);
  });

  it("marks a version FAILED when its destination bucket is gone, and never replicates a replica again", async () => {
    await createBucket(s3, "chain-src");
    await createBucket(s3, "soon-gone");
    await configure(s3, "chain-src", [rule("gone", 1, "", "soon-gone")]);
    await s3.send(new DeleteBucketCommand({ Bucket: "soon-gone" }));
    await s3.send(new PutObjectCommand({ Bucket: "chain-src", Key: "k", Body: "v" }));
    await server.replication.runOnce();
    assert.equal((await head(s3, "chain-src", "k")).ReplicationStatus, "FAILED");

    // dst replicates on to dst-archive, but not the replicas it holds (S3's rule).
    await configure(s3, "dst", [rule("onward", 1, "", "dst-archive")]);
    await s3.send(new PutObjectCommand({ Bucket: "src", Key: "docs/chained.txt", Body: "x" }));
    await s3.send(new PutObjectCommand({ Bucket: "dst", Key: "own.txt", Body: "y" }));
    await server.replication.runOnce();
    assert.equal((await head(s3, "dst", "docs/chained.txt")).ReplicationStatus, "REPLICA");
    await rejectsWith(head(s3, "dst-archive", "docs/chained.txt"), undefined, 404);
    assert.equal((await head(s3, "dst-archive", "own.txt")).ReplicationStatus, "REPLICA");
    await s3.send(new DeleteBucketReplicationCommand({ Bucket: "dst" }));
  });

  it("answers put/get_bucket_replication and head_object's ReplicationStatus to boto3", async () => {
    const out = await python(
      `
import sys, json, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3],
                  config=boto3.session.Config(s3={"addressing_style": "path"}))
s3.create_bucket(Bucket="boto-src")
s3.put_bucket_versioning(Bucket="boto-src", VersioningConfiguration={"Status": "Enabled"})
s3.put_bucket_replication(Bucket="boto-src", ReplicationConfiguration={"Role": "${ROLE}", "Rules": [
  {"ID": "all", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""}, "DeleteMarkerReplication": {"Status": "Disabled"},
   "Destination": {"Bucket": "arn:aws:s3:::dst-archive"}}]})
got = s3.get_bucket_replication(Bucket="boto-src")["ReplicationConfiguration"]
s3.put_object(Bucket="boto-src", Key="hello.txt", Body=b"hi")
print(json.dumps({"rules": got["Rules"], "role": got["Role"], "status": s3.head_object(Bucket="boto-src", Key="hello.txt").get("ReplicationStatus")}))
`,
      server.url,
      TEST_ACCESS_KEY,
      TEST_SECRET_KEY,
    );
    const got = JSON.parse(out) as { rules: unknown[]; role: string; status: string };
    assert.equal(got.role, ROLE);
    assert.deepEqual(got.rules, [
      { ID: "all", Priority: 1, Status: "Enabled", Filter: { Prefix: "" }, DeleteMarkerReplication: { Status: "Disabled" }, Destination: { Bucket: "arn:aws:s3:::dst-archive" } },
    ]);
    assert.ok(["PENDING", "COMPLETED"].includes(got.status), got.status);
    await server.replication.runOnce();
    const after = await python(
      `
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3],
                  config=boto3.session.Config(s3={"addressing_style": "path"}))
print(s3.head_object(Bucket="boto-src", Key="hello.txt")["ReplicationStatus"], s3.head_object(Bucket="dst-archive", Key="hello.txt")["ReplicationStatus"])
`,
      server.url,
      TEST_ACCESS_KEY,
      TEST_SECRET_KEY,
    );
    assert.equal(after.trim(), "COMPLETED REPLICA");
  });
});

describe("bucket replication across a restart", () => {
  it("replicates a version left PENDING when the server stopped", async () => {
    let server = await startTestServer();
    try {
      const s3 = server.client;
      await createBucket(s3, "r-src");
      await createBucket(s3, "r-dst");
      await configure(s3, "r-src", [rule("all", 1, "", "r-dst")]);
      await server.replication.stop();
      const put = await s3.send(new PutObjectCommand({ Bucket: "r-src", Key: "k", Body: "survives" }));
      assert.equal((await head(s3, "r-src", "k")).ReplicationStatus, "PENDING");

      server = await server.restart();
      await server.replication.runOnce();
      assert.equal((await head(server.client, "r-src", "k")).ReplicationStatus, "COMPLETED");
      const replica = await server.client.send(new GetObjectCommand({ Bucket: "r-dst", Key: "k" }));
      assert.equal(replica.VersionId, put.VersionId);
      assert.equal(await replica.Body!.transformToString(), "survives");
    } finally {
      await server.stop();
    }
  });
});

describe("replication with a full queue", () => {
  it("leaves what does not fit in the store as PENDING and replicates it on the next scan", async () => {
    const server = await startTestServer();
    try {
      const s3 = server.client;
      await createBucket(s3, "q-src");
      await createBucket(s3, "q-dst");
      await configure(s3, "q-src", [rule("all", 1, "", "q-dst")]);
      await server.replication.stop();
      // A replicator holding one version at a time: the commits it cannot queue wait in the store.
      const small = new Replicator(server.context, { maxQueued: 1, maxInFlight: 1 });
      small.start();
      await small.runOnce();
      try {
        const keys = Array.from({ length: 6 }, (_, i) => `k${i}`);
        await Promise.all(keys.map((Key) => s3.send(new PutObjectCommand({ Bucket: "q-src", Key, Body: Key }))));
        await small.runOnce();
        for (const Key of keys) {
          assert.equal((await head(s3, "q-src", Key)).ReplicationStatus, "COMPLETED", Key);
          assert.equal(await (await s3.send(new GetObjectCommand({ Bucket: "q-dst", Key }))).Body!.transformToString(), Key);
        }
      } finally {
        await small.stop();
      }
    } finally {
      await server.stop();
    }
  });
});

describe("replication status in inventory reports", () => {
  let server: TestServer;
  let s3: S3Client;
  let work: string;

  before(async () => {
    server = await startTestServer();
    s3 = server.client;
    work = mkdtempSync(join(tmpdir(), "stocktake-replication-inventory-"));
    for (const b of ["inv-src", "inv-dst", "inv-gone"]) await createBucket(s3, b);
    await createBucket(s3, "inv-reports", false);
    await s3.send(new PutBucketPolicyCommand({ Bucket: "inv-reports", Policy: reportDeliveryPolicy("inv-reports") }));
    await configure(s3, "inv-src", [rule("ok", 1, "ok/", "inv-dst"), rule("bad", 2, "bad/", "inv-gone")]);
    await s3.send(new DeleteBucketCommand({ Bucket: "inv-gone" }));
    for (const Key of ["ok/1.txt", "ok/2.txt", "bad/3.txt", "none/4.txt"]) await s3.send(new PutObjectCommand({ Bucket: "inv-src", Key, Body: Key }));
    await server.replication.runOnce();
  });
  after(async () => {
    rmSync(work, { recursive: true, force: true });
    await server.stop();
  });

  async function report(bucket: string, format: InventoryFormat): Promise<string> {
    const id = `repl-${format.toLowerCase()}`;
    await s3.send(
      new PutBucketInventoryConfigurationCommand({
        Bucket: bucket,
        Id: id,
        InventoryConfiguration: {
          Id: id,
          IsEnabled: true,
          IncludedObjectVersions: "Current",
          OptionalFields: ["ReplicationStatus"],
          Schedule: { Frequency: "Daily" },
          Destination: { S3BucketDestination: { Bucket: "arn:aws:s3:::inv-reports", Format: format } },
        },
      }),
    );
    const run = await runInventory(server, bucket, id);
    assert.equal(run.status, "succeeded", run.error);
    const manifest = JSON.parse((await getObjectBytes(s3, "inv-reports", run.manifestKey!)).toString()) as { files: { key: string }[] };
    assert.equal(manifest.files.length, 1);
    const path = join(work, `${bucket}.${{ CSV: "csv.gz", Parquet: "parquet", ORC: "orc" }[format]}`);
    writeFileSync(path, await getObjectBytes(s3, "inv-reports", manifest.files[0]!.key));
    return path;
  }

  it("shows COMPLETED, FAILED and no status in the source's reports, REPLICA in the destination's, in CSV, Parquet and ORC", async () => {
    const files: string[] = [];
    for (const bucket of ["inv-src", "inv-dst"]) for (const format of ["CSV", "Parquet", "ORC"] as const) files.push(await report(bucket, format));
    const out = await python(
      `
import sys, json, duckdb, pyarrow.parquet as pq, pyarrow.orc as po
from urllib.parse import unquote
def rows(t): return sorted([r["key"], r["replication_status"]] for r in t.to_pylist())
out = []
for i in range(0, len(sys.argv) - 1, 3):
    csv, parquet, orc = sys.argv[1 + i: 4 + i]
    c = duckdb.sql(f"select column1, column2 from read_csv('{csv}', header=false, all_varchar=true) order by column1").fetchall()
    out.append({"csv": [[unquote(k), s] for k, s in c], "parquet": rows(pq.read_table(parquet)), "orc": rows(po.ORCFile(orc).read())})
print(json.dumps(out))
`,
      ...files,
    );
    const [source, destination] = JSON.parse(out) as Record<"csv" | "parquet" | "orc", [string, string | null][]>[];
    const expectedSource = [
      ["bad/3.txt", "FAILED"],
      ["none/4.txt", null],
      ["ok/1.txt", "COMPLETED"],
      ["ok/2.txt", "COMPLETED"],
    ];
    const expectedDestination = [
      ["ok/1.txt", "REPLICA"],
      ["ok/2.txt", "REPLICA"],
    ];
    for (const format of ["parquet", "orc"] as const) {
      assert.deepEqual(source![format], expectedSource, format);
      assert.deepEqual(destination![format], expectedDestination, format);
    }
    // CSV keys are URL-encoded, as on S3; an absent status is an empty field, which DuckDB reads as NULL.
    assert.deepEqual(source!.csv, expectedSource);
    assert.deepEqual(destination!.csv, expectedDestination);
  });
});
