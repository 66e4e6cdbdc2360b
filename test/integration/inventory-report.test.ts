// Inventory reports end to end: objects and versions written with the AWS SDK v3, a run started on
// demand through Stocktake's endpoint, the delivered report read back through the S3 API and
// checked by hand, with DuckDB and with pyarrow; and the refusals (no policy, wrong account,
// disabled configuration).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { execFile } from "node:child_process";
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
import { signedFetch } from "../helpers/raw.js";
import { getObjectBytes, python, reportDeliveryPolicy, runInventory } from "../helpers/inventory.js";

const SOURCE = "inventory-source";
const DEST = "inventory-dest";

function config(id: string, extra: Partial<InventoryConfiguration> = {}): InventoryConfiguration {
  return {
    Id: id,
    IsEnabled: true,
    IncludedObjectVersions: "Current",
    Schedule: { Frequency: "Daily" },
    Destination: { S3BucketDestination: { Bucket: `arn:aws:s3:::${DEST}`, Format: "CSV", Prefix: "reports" } },
    ...extra,
  };
}

/** Parses our CSV: every field quoted, no embedded newlines in our values. */
function parseCsv(text: string): string[][] {
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => line.slice(1, -1).split('","').map((f) => f.replace(/""/g, '"')));
}

describe("inventory reports (CSV)", () => {
  let server: TestServer;
  let s3: S3Client;
  let work: string;
  const keys = ["a.txt", "dir/b c.txt", "dir/plus+sign", "ünïcødé/ключ.bin", "logs/2026/x.log", "logs/2026/y.log"];

  before(async () => {
    server = await startTestServer();
    s3 = server.client;
    work = mkdtempSync(join(tmpdir(), "stocktake-report-"));
    await s3.send(new CreateBucketCommand({ Bucket: SOURCE }));
    await s3.send(new CreateBucketCommand({ Bucket: DEST }));
    await s3.send(new PutBucketPolicyCommand({ Bucket: DEST, Policy: reportDeliveryPolicy(DEST, { sourceAccount: server.root.accountId, sources: [SOURCE] }) }));
    for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: SOURCE, Key, Body: `body of ${Key}`, StorageClass: Key.endsWith(".log") ? "STANDARD_IA" : undefined }));
  });
  after(async () => {
    rmSync(work, { recursive: true, force: true });
    await server.stop();
  });

  it("delivers a CSV report whose manifest, checksum, symlink and rows are what S3 writes", async () => {
    await s3.send(
      new PutBucketInventoryConfigurationCommand({
        Bucket: SOURCE,
        Id: "daily-csv",
        InventoryConfiguration: config("daily-csv", { OptionalFields: ["ETag", "Size", "StorageClass", "IsMultipartUploaded", "ChecksumAlgorithm", "LastModifiedDate", "EncryptionStatus"] }),
      }),
    );
    const run = await runInventory(server, SOURCE, "daily-csv");
    assert.equal(run.status, "succeeded", run.error);
    assert.equal(run.rows, keys.length);
    assert.match(run.manifestKey!, /^reports\/inventory-source\/daily-csv\/\d{4}-\d\d-\d\dT\d\d-\d\dZ\/manifest\.json$/);

    const manifestBytes = await getObjectBytes(s3, DEST, run.manifestKey!);
    const manifest = JSON.parse(manifestBytes.toString());
    assert.equal(manifest.sourceBucket, SOURCE);
    assert.equal(manifest.destinationBucket, `arn:aws:s3:::${DEST}`);
    assert.equal(manifest.version, "2016-11-30");
    assert.equal(manifest.fileFormat, "CSV");
    const [, day, hour, minute] = /\/(\d{4}-\d\d-\d\d)T(\d\d)-(\d\d)Z\//.exec(run.manifestKey!)!;
    assert.equal(manifest.creationTimestamp, String(Date.parse(`${day}T${hour}:${minute}:00.000Z`)), "the report's minute in epoch ms, as a string");
    assert.equal(manifest.fileSchema, "Bucket, Key, Size, LastModifiedDate, ETag, StorageClass, IsMultipartUploaded, EncryptionStatus, ChecksumAlgorithm");
    const checksum = (await getObjectBytes(s3, DEST, run.manifestKey!.replace("manifest.json", "manifest.checksum"))).toString().trim();
    assert.equal(checksum, createHash("md5").update(manifestBytes).digest("hex"));

    assert.equal(manifest.files.length, 1);
    const file = manifest.files[0];
    assert.match(file.key, /^reports\/inventory-source\/daily-csv\/data\/[0-9a-f-]{36}\.csv\.gz$/);
    const data = await getObjectBytes(s3, DEST, file.key);
    assert.equal(data.length, file.size);
    assert.equal(createHash("md5").update(data).digest("hex"), file.MD5checksum);

    const listed = await s3.send(new ListObjectsV2Command({ Bucket: DEST, Prefix: "reports/inventory-source/daily-csv/hive/" }));
    assert.equal(listed.KeyCount, 1);
    const symlink = (await getObjectBytes(s3, DEST, listed.Contents![0]!.Key!)).toString();
    assert.match(listed.Contents![0]!.Key!, /hive\/dt=\d{4}-\d\d-\d\d-\d\d-\d\d\/symlink\.txt$/);
    assert.equal(symlink, `s3://${DEST}/${file.key}\n`);

    const rows = parseCsv(gunzipSync(data).toString());
    const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    assert.deepEqual(rows.map((r) => decodeURIComponent(r[1]!.replace(/\+/g, " "))), sorted, "keys in order, form-encoded");
    const plus = rows.find((r) => r[1] === "dir/plus%2Bsign");
    assert.ok(plus, "a + in a key is %2B and / stays /, as in real reports");
    assert.ok(rows.some((r) => r[1] === "dir/b+c.txt"), "a space is +");
    for (const r of rows) {
      const key = decodeURIComponent(r[1]!.replace(/\+/g, " "));
      assert.equal(r[0], SOURCE);
      assert.equal(r[2], String(Buffer.byteLength(`body of ${key}`)));
      assert.match(r[3]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(r[4], createHash("md5").update(`body of ${key}`).digest("hex"));
      assert.equal(r[5], key.endsWith(".log") ? "STANDARD_IA" : "STANDARD");
      assert.equal(r[6], "false");
      assert.equal(r[7], "SSE-S3", "every object is SSE-S3 by default, as on S3 since 2023");
      assert.equal(r[8], "CRC32", "the SDK's default trailing checksum is recorded");
    }

    const local = join(work, "report.csv.gz");
    writeFileSync(local, data);
    const duck = await python(
      `import duckdb; r = duckdb.sql("select count(*), sum(column2::bigint), min(column5) from read_csv('${local}', header=false, columns={'column0':'VARCHAR','column1':'VARCHAR','column2':'VARCHAR','column3':'VARCHAR','column4':'VARCHAR','column5':'VARCHAR','column6':'VARCHAR','column7':'VARCHAR','column8':'VARCHAR'})").fetchone(); print(r[0], r[1], r[2])`,
    );
    const totalSize = keys.reduce((n, k) => n + Buffer.byteLength(`body of ${k}`), 0);
    assert.equal(duck.trim(), `${keys.length} ${totalSize} STANDARD`);
    const arrow = await python(
      `import pyarrow.csv as pc; t = pc.read_csv('${local}', read_options=pc.ReadOptions(autogenerate_column_names=True)); print(t.num_rows, t.num_columns)`,
    );
    assert.equal(arrow.trim(), `${keys.length} 9`);
  });

  it("reports every version and delete marker with All, under the filter prefix only", async () => {
    const B = "versioned-source";
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: B, VersioningConfiguration: { Status: "Enabled" } }));
    const v1 = await s3.send(new PutObjectCommand({ Bucket: B, Key: "logs/a", Body: "1" }));
    const v2 = await s3.send(new PutObjectCommand({ Bucket: B, Key: "logs/a", Body: "22" }));
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: B, Key: "logs/a" }));
    await s3.send(new PutObjectCommand({ Bucket: B, Key: "other/b", Body: "x" }));
    await s3.send(new PutBucketPolicyCommand({ Bucket: DEST, Policy: reportDeliveryPolicy(DEST, { sourceAccount: server.root.accountId, sources: ["*"] }) }));
    await s3.send(
      new PutBucketInventoryConfigurationCommand({
        Bucket: B,
        Id: "all-versions",
        InventoryConfiguration: config("all-versions", { IncludedObjectVersions: "All", Filter: { Prefix: "logs/" }, OptionalFields: ["Size"] }),
      }),
    );
    const run = await runInventory(server, B, "all-versions");
    assert.equal(run.status, "succeeded", run.error);
    const manifest = JSON.parse((await getObjectBytes(s3, DEST, run.manifestKey!)).toString());
    assert.equal(manifest.fileSchema, "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size");
    const rows = parseCsv(gunzipSync(await getObjectBytes(s3, DEST, manifest.files[0].key)).toString());
    assert.deepEqual(rows, [
      [B, "logs/a", marker.VersionId!, "true", "true", ""],
      [B, "logs/a", v2.VersionId!, "false", "false", "2"],
      [B, "logs/a", v1.VersionId!, "false", "false", "1"],
    ]);
  });

  it("fails the run with the reason and publishes nothing when delivery is not allowed", async () => {
    const B = "refused-source";
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    await s3.send(new PutObjectCommand({ Bucket: B, Key: "k", Body: "v" }));
    const before = (await s3.send(new ListObjectsV2Command({ Bucket: DEST }))).KeyCount;
    await s3.send(new PutBucketPolicyCommand({ Bucket: DEST, Policy: reportDeliveryPolicy(DEST, { sourceAccount: server.root.accountId, sources: [SOURCE] }) }));
    await s3.send(new PutBucketInventoryConfigurationCommand({ Bucket: B, Id: "no-policy", InventoryConfiguration: config("no-policy") }));
    const denied = await runInventory(server, B, "no-policy");
    assert.equal(denied.status, "failed");
    assert.match(denied.error!, /bucket policy/);

    await s3.send(new PutBucketPolicyCommand({ Bucket: DEST, Policy: reportDeliveryPolicy(DEST, { sourceAccount: server.root.accountId, sources: [B] }) }));
    const wrongAccount = config("wrong-account");
    wrongAccount.Destination!.S3BucketDestination!.AccountId = "999999999999";
    await s3.send(new PutBucketInventoryConfigurationCommand({ Bucket: B, Id: "wrong-account", InventoryConfiguration: wrongAccount }));
    const refused = await runInventory(server, B, "wrong-account");
    assert.equal(refused.status, "failed");
    assert.match(refused.error!, /not owned by account 999999999999/);

    await s3.send(new PutBucketInventoryConfigurationCommand({ Bucket: B, Id: "disabled", InventoryConfiguration: config("disabled", { IsEnabled: false }) }));
    const disabled = await runInventory(server, B, "disabled");
    assert.equal(disabled.status, "failed");
    assert.match(disabled.error!, /disabled/);

    const missingDest = config("missing-dest");
    missingDest.Destination!.S3BucketDestination!.Bucket = "arn:aws:s3:::no-such-destination";
    await s3.send(new PutBucketInventoryConfigurationCommand({ Bucket: B, Id: "missing-dest", InventoryConfiguration: missingDest }));
    assert.match((await runInventory(server, B, "missing-dest")).error!, /does not exist/);

    const afterCount = (await s3.send(new ListObjectsV2Command({ Bucket: DEST }))).KeyCount;
    assert.equal(afterCount, before, "nothing was published");
    const runs = await signedFetch(server.url, { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY }, "GET", `/${B}`, { "inventory-runs": "" });
    assert.equal((runs.text.match(/<Status>failed<\/Status>/g) ?? []).length, 4);
  });

  it("runs a report from the command line, printing the manifest key, and lists runs", async () => {
    // Asynchronously: the server runs in this process, so a synchronous spawn would starve it.
    const cli = (...args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          ["--import", "tsx", "src/main.ts", "inventory", ...args, "--endpoint", server.url],
          { encoding: "utf8", env: { ...process.env, AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: TEST_SECRET_KEY } },
          (err, stdout, stderr) => resolve({ status: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
        );
      });
    await s3.send(new PutBucketPolicyCommand({ Bucket: DEST, Policy: reportDeliveryPolicy(DEST, { sourceAccount: server.root.accountId, sources: [SOURCE] }) }));
    // A configuration of its own: "daily-csv" may have run this minute, and would wait for the next.
    await s3.send(new PutBucketInventoryConfigurationCommand({ Bucket: SOURCE, Id: "cli-csv", InventoryConfiguration: config("cli-csv") }));
    const ok = await cli("run", "--bucket", SOURCE, "--id", "cli-csv");
    assert.equal(ok.status, 0, ok.stderr);
    const manifestKey = ok.stdout.trim();
    assert.match(manifestKey, /^reports\/inventory-source\/cli-csv\/.*\/manifest\.json$/);
    assert.ok((await getObjectBytes(s3, DEST, manifestKey)).length > 0);
    assert.match(ok.stderr, /6 rows in 1 file/);

    await s3.send(new PutBucketInventoryConfigurationCommand({ Bucket: SOURCE, Id: "cli-disabled", InventoryConfiguration: config("cli-disabled", { IsEnabled: false }) }));
    const failed = await cli("run", "--bucket", SOURCE, "--id", "cli-disabled");
    assert.notEqual(failed.status, 0);
    assert.match(failed.stderr, /disabled/);
    const missing = await cli("run", "--bucket", SOURCE, "--id", "no-such-config");
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /NoSuchConfiguration/);

    const listed = await cli("runs", "--bucket", SOURCE, "--json");
    assert.equal(listed.status, 0, listed.stderr);
    const runs = JSON.parse(listed.stdout) as { runId: string; id: string; status: string; manifestKey?: string; summary?: { rows: number } }[];
    assert.ok(runs.some((r) => r.id === "cli-csv" && r.status === "succeeded" && r.manifestKey === manifestKey && r.summary?.rows === 6), listed.stdout);
    assert.ok(runs.some((r) => r.id === "cli-disabled" && r.status === "failed"));
    // Oldest first; --last keeps the newest.
    assert.deepEqual(runs.map((r) => r.runId), [...runs.map((r) => r.runId)].sort());
    const newest = await cli("runs", "--bucket", SOURCE, "--json", "--last", "1");
    assert.deepEqual((JSON.parse(newest.stdout) as { runId: string }[]).map((r) => r.runId), [runs.at(-1)!.runId]);
  });

  it("rolls a large report over into several data files, all listed in the manifest and the symlink", async () => {
    const rolling = await startTestServer({ inventoryMaxFileBytes: 2048 });
    try {
      const c = rolling.client;
      await c.send(new CreateBucketCommand({ Bucket: SOURCE }));
      await c.send(new CreateBucketCommand({ Bucket: DEST }));
      await c.send(new PutBucketPolicyCommand({ Bucket: DEST, Policy: reportDeliveryPolicy(DEST, { sourceAccount: rolling.root.accountId, sources: [SOURCE] }) }));
      await Promise.all(Array.from({ length: 3000 }, (_, i) => c.send(new PutObjectCommand({ Bucket: SOURCE, Key: `many/${String(i).padStart(5, "0")}-${createHash("sha1").update(String(i)).digest("hex")}`, Body: "" }))));
      await c.send(new PutBucketInventoryConfigurationCommand({ Bucket: SOURCE, Id: "rolling", InventoryConfiguration: config("rolling", { OptionalFields: ["ETag"] }) }));
      const run = await runInventory(rolling, SOURCE, "rolling");
      assert.equal(run.status, "succeeded", run.error);
      const manifest = JSON.parse((await getObjectBytes(c, DEST, run.manifestKey!)).toString());
      assert.ok(manifest.files.length > 1, `${manifest.files.length} files`);
      let total = 0;
      let lastKey = "";
      for (const f of manifest.files) {
        const body = await getObjectBytes(c, DEST, f.key);
        assert.equal(createHash("md5").update(body).digest("hex"), f.MD5checksum);
        const rows = parseCsv(gunzipSync(body).toString());
        assert.ok(rows[0]![1]! > lastKey, "files follow key order");
        lastKey = rows[rows.length - 1]![1]!;
        total += rows.length;
      }
      assert.equal(total, 3000);
    } finally {
      await rolling.stop();
    }
  });
});
