// The summary kept with each inventory run: a known mix of objects (storage classes, SSE-S3 and
// none, versions and a delete marker, a multipart upload, prefixes and top-level keys, ages from
// hours to over a year through a ManualClock) gives exact numbers, read back through the XML and
// the JSON answers of ?inventory-runs and of a run on demand; the same when the report is split
// across two threads (the cut falls inside logs/, and top-level keys are on both sides of it).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectCommand,
  PutBucketInventoryConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
  type PutObjectCommandInput,
  type S3Client,
} from "@aws-sdk/client-s3";
import { ManualClock } from "../../src/clock.js";
import { createAccount, loadSealingKey } from "../../src/auth/accounts.js";
import { asArray, parseXml, textOf, type XmlNode } from "../../src/xml/codec.js";
import type { AgeBandName, InventorySummary, Tally } from "../../src/inventory/summary.js";
import { startTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import { signedFetch } from "../helpers/raw.js";
import { reportDeliveryPolicy, runInventory } from "../helpers/inventory.js";

const DAY = 86_400_000;
const HOUR = 3_600_000;
const SOURCE = "summary-src";
const DEST = "summary-dest";
/** The snapshot time of the runs; objects are written at times before it. */
const SNAPSHOT = Date.UTC(2026, 2, 10, 12, 0);
const credentials = { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY };
const JSON_ACCEPT = { accept: "application/json" };

const t = (count: number, bytes: number): Tally => ({ count, bytes });

/** Every version and delete marker of the source bucket, the report "all" holds. */
const ALL: InventorySummary = {
  snapshotAt: new Date(SNAPSHOT).toISOString(),
  rows: 10,
  objects: t(9, 1590),
  current: t(7, 1560),
  noncurrent: t(2, 30),
  deleteMarkers: 1,
  multipart: t(1, 1000),
  storageClasses: { GLACIER: t(2, 500), STANDARD: t(6, 1050), STANDARD_IA: t(1, 40) },
  encryption: { "NOT-SSE": t(4, 508), "SSE-S3": t(5, 1082) },
  replication: { NONE: t(9, 1590) },
  ageBands: [
    { band: "0-1d", ...t(3, 1008) },
    { band: "1-7d", ...t(1, 12) },
    { band: "7-30d", ...t(2, 30) },
    { band: "30-90d", ...t(1, 40) },
    { band: "90-365d", ...t(0, 0) },
    { band: "365d+", ...t(2, 500) },
  ],
  prefixes: [
    { prefix: "media/", ...t(1, 1000) },
    { prefix: "archive/", ...t(2, 500) },
    { prefix: "logs/", ...t(4, 82) },
    { prefix: "", ...t(2, 8) },
  ],
  otherPrefixes: t(0, 0),
  prefixBound: 100,
};

/** The current versions under logs/ (b.log's current version is a delete marker: not in the report). */
const LOGS_CURRENT: InventorySummary = {
  snapshotAt: new Date(SNAPSHOT).toISOString(),
  rows: 2,
  objects: t(2, 52),
  current: t(2, 52),
  noncurrent: t(0, 0),
  deleteMarkers: 0,
  multipart: t(0, 0),
  storageClasses: { STANDARD: t(1, 12), STANDARD_IA: t(1, 40) },
  encryption: { "SSE-S3": t(2, 52) },
  replication: { NONE: t(2, 52) },
  ageBands: [
    { band: "0-1d", ...t(0, 0) },
    { band: "1-7d", ...t(1, 12) },
    { band: "7-30d", ...t(0, 0) },
    { band: "30-90d", ...t(1, 40) },
    { band: "90-365d", ...t(0, 0) },
    { band: "365d+", ...t(0, 0) },
  ],
  prefixes: [{ prefix: "logs/", ...t(2, 52) }],
  otherPrefixes: t(0, 0),
  prefixBound: 100,
};

type Node = Record<string, XmlNode | XmlNode[]>;
const el = (n: Node, name: string) => n[name] as Node;
const all = (n: Node, name: string) => asArray(n[name]) as Node[];
const tallyOf = (n: Node): Tally => ({ count: Number(textOf(n, "Count")), bytes: Number(textOf(n, "Bytes")) });
const named = (nodes: Node[]): Record<string, Tally> => Object.fromEntries(nodes.map((n) => [textOf(n, "Name")!, tallyOf(n)]));

/** The <Summary> element of an XML answer, read back into the JSON shape. */
function summaryFromXml(s: Node): InventorySummary {
  return {
    snapshotAt: textOf(s, "SnapshotAt")!,
    rows: Number(textOf(s, "Rows")),
    objects: tallyOf(el(s, "Objects")),
    current: tallyOf(el(s, "Current")),
    noncurrent: tallyOf(el(s, "Noncurrent")),
    deleteMarkers: Number(textOf(s, "DeleteMarkers")),
    multipart: tallyOf(el(s, "Multipart")),
    storageClasses: named(all(s, "StorageClass")),
    encryption: named(all(s, "EncryptionStatus")),
    replication: named(all(s, "ReplicationStatus")),
    ageBands: all(s, "AgeBand").map((n) => ({ band: textOf(n, "Name") as AgeBandName, ...tallyOf(n) })),
    prefixes: all(s, "Prefix").map((n) => ({ prefix: textOf(n, "Name")!, ...tallyOf(n) })),
    otherPrefixes: tallyOf(el(s, "OtherPrefixes")),
    prefixBound: Number(textOf(s, "PrefixBound")),
  };
}

interface RunJson {
  runId: string;
  id: string;
  status: string;
  files: number;
  rows: number;
  snapshotAt?: string;
  summary?: InventorySummary;
}

for (const split of [false, true]) {
  describe(`inventory run summaries (${split ? "a report split across two threads" : "one thread"})`, () => {
    const clock = new ManualClock(SNAPSHOT - 400 * DAY);
    let server: TestServer;
    let s3: S3Client;
    const at = (ms: number) => clock.set(new Date(SNAPSHOT - ms));
    const put = (Key: string, size: number, extra: Partial<PutObjectCommandInput> = {}) => s3.send(new PutObjectCommand({ Bucket: SOURCE, Key, Body: "x".repeat(size), ...extra }));
    const SSE = { ServerSideEncryption: "AES256" } as const;

    const configure = (Id: string, versions: "All" | "Current", prefix?: string) =>
      s3.send(
        new PutBucketInventoryConfigurationCommand({
          Bucket: SOURCE,
          Id,
          InventoryConfiguration: {
            Id,
            IsEnabled: true,
            IncludedObjectVersions: versions,
            Schedule: { Frequency: "Daily" },
            ...(prefix === undefined ? {} : { Filter: { Prefix: prefix } }),
            // Columns that show none of what the summary counts: it is computed all the same.
            Destination: { S3BucketDestination: { Bucket: `arn:aws:s3:::${DEST}`, Format: "CSV" } },
          },
        }),
      );

    before(async () => {
      server = await startTestServer({ clock, maxClockSkewMs: 3650 * DAY, defaultEncryption: "none", ...(split ? { inventoryParallelMinRows: 1 } : {}) });
      s3 = server.client;
      for (const Bucket of [SOURCE, DEST]) await s3.send(new CreateBucketCommand({ Bucket }));
      await s3.send(new PutBucketPolicyCommand({ Bucket: DEST, Policy: reportDeliveryPolicy(DEST) }));
      await s3.send(new PutBucketVersioningCommand({ Bucket: SOURCE, VersioningConfiguration: { Status: "Enabled" } }));

      at(400 * DAY);
      await put("archive/2023.tar", 200, { StorageClass: "GLACIER" });
      await put("archive/2024.tar", 300, { StorageClass: "GLACIER" });
      at(70 * DAY);
      await put("logs/old.log", 40, { StorageClass: "STANDARD_IA", ...SSE });
      at(10 * DAY);
      await put("logs/a.log", 10, SSE);
      await put("logs/b.log", 20, SSE);
      at(3 * DAY);
      await put("logs/a.log", 12, SSE);
      await s3.send(new DeleteObjectCommand({ Bucket: SOURCE, Key: "logs/b.log" }));
      at(2 * HOUR);
      const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: SOURCE, Key: "media/movie.mp4", ...SSE }));
      const part = await s3.send(new UploadPartCommand({ Bucket: SOURCE, Key: "media/movie.mp4", UploadId: upload.UploadId, PartNumber: 1, Body: "m".repeat(1000) }));
      await s3.send(
        new CompleteMultipartUploadCommand({ Bucket: SOURCE, Key: "media/movie.mp4", UploadId: upload.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }),
      );
      await put("README", 5);
      await put("zebra", 3);
      clock.set(new Date(SNAPSHOT));

      await configure("all", "All");
      await configure("logs-current", "Current", "logs/");
    });
    after(() => server.stop());

    const listRuns = async (query: Record<string, string>, headers: Record<string, string> = {}) => {
      const res = await signedFetch(server.url, credentials, "GET", `/${SOURCE}`, { "inventory-runs": "", ...query }, undefined, headers);
      assert.equal(res.status, 200, res.text);
      return res;
    };

    it("keeps the summary of every version and delete marker with the run, in the XML and the JSON answers", async () => {
      const run = await runInventory(server, SOURCE, "all");
      assert.equal(run.status, "succeeded", run.error);
      assert.equal(run.rows, 10);

      const listed = await listRuns({ id: "all" }, JSON_ACCEPT);
      assert.match(listed.headers.get("content-type") ?? "", /^application\/json/);
      assert.match(listed.headers.get("vary") ?? "", /Accept/);
      const [json] = (JSON.parse(listed.text) as { runs: RunJson[] }).runs;
      assert.equal(json?.status, "succeeded");
      assert.equal(json.files, split ? 2 : 1, split ? "one data file per thread" : "one thread");
      assert.equal(json.snapshotAt, new Date(SNAPSHOT).toISOString());
      assert.deepEqual(json.summary, ALL);

      const one = await listRuns({ "run-id": json.runId }, JSON_ACCEPT);
      assert.deepEqual((JSON.parse(one.text) as { runs: RunJson[] }).runs[0]?.summary, ALL);

      const xml = await listRuns({ "run-id": json.runId });
      assert.match(xml.headers.get("content-type") ?? "", /^application\/xml/);
      const doc = parseXml(Buffer.from(xml.text), "ListInventoryRunsResult");
      const runXml = all(doc, "InventoryRun")[0]!;
      assert.equal(textOf(runXml, "SnapshotAt"), new Date(SNAPSHOT).toISOString());
      assert.deepEqual(summaryFromXml(el(runXml, "Summary")), ALL);
    });

    it("answers a run on demand in JSON with its summary, and the summary respects the version and prefix filters", async () => {
      const res = await signedFetch(server.url, credentials, "POST", `/${SOURCE}`, { inventory: "", id: "logs-current", run: "", wait: "" }, undefined, JSON_ACCEPT);
      assert.equal(res.status, 200, res.text);
      assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
      const run = JSON.parse(res.text) as RunJson;
      assert.equal(run.status, "succeeded");
      assert.equal(run.id, "logs-current");
      assert.deepEqual(run.summary, LOGS_CURRENT);

      const xml = await signedFetch(server.url, credentials, "GET", `/${SOURCE}`, { "inventory-runs": "", "run-id": run.runId });
      const runXml = all(parseXml(Buffer.from(xml.text), "ListInventoryRunsResult"), "InventoryRun")[0]!;
      assert.deepEqual(summaryFromXml(el(runXml, "Summary")), LOGS_CURRENT);
    });

    it("a started run has no summary yet, and a failed one none at all", async () => {
      await s3.send(
        new PutBucketInventoryConfigurationCommand({
          Bucket: SOURCE,
          Id: "nowhere",
          InventoryConfiguration: {
            Id: "nowhere",
            IsEnabled: true,
            IncludedObjectVersions: "All",
            Schedule: { Frequency: "Daily" },
            Destination: { S3BucketDestination: { Bucket: "arn:aws:s3:::no-such-destination", Format: "CSV" } },
          },
        }),
      );
      const started = await signedFetch(server.url, credentials, "POST", `/${SOURCE}`, { inventory: "", id: "nowhere", run: "" }, undefined, JSON_ACCEPT);
      assert.equal(started.status, 202, started.text);
      const run = JSON.parse(started.text) as RunJson;
      assert.equal(run.status, "running");
      assert.equal(run.summary, undefined);
      let status = "running";
      let last: RunJson | undefined;
      for (let i = 0; i < 100 && status === "running"; i++) {
        last = (JSON.parse((await listRuns({ "run-id": run.runId }, JSON_ACCEPT)).text) as { runs: RunJson[] }).runs[0];
        status = last?.status ?? "missing";
        if (status === "running") await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(status, "failed");
      assert.equal(last?.summary, undefined);
      const xml = await listRuns({ "run-id": run.runId });
      assert.doesNotMatch(xml.text, /<Summary>/);
    });

    it("names the top-level prefixes only to a caller who may list the bucket", async () => {
      const reader = await createAccount(server.context.metadata, loadSealingKey(server.dataDir), {}, new Date());
      const grant = (actions: string[]) =>
        s3.send(
          new PutBucketPolicyCommand({
            Bucket: SOURCE,
            Policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: reader.accountId }, Action: actions, Resource: `arn:aws:s3:::${SOURCE}` }] }),
          }),
        );
      const summariesAs = async () => {
        const res = await signedFetch(server.url, reader, "GET", `/${SOURCE}`, { "inventory-runs": "", id: "all" }, undefined, JSON_ACCEPT);
        assert.equal(res.status, 200, res.text);
        return (JSON.parse(res.text) as { runs: RunJson[] }).runs.map((r) => r.summary);
      };
      await grant(["s3:GetInventoryConfiguration"]);
      const [withoutList] = await summariesAs();
      const { prefixes: _p, otherPrefixes: _o, prefixBound: _b, ...rest } = ALL;
      assert.deepEqual(withoutList, rest, "everything but the key names");
      const xml = await signedFetch(server.url, reader, "GET", `/${SOURCE}`, { "inventory-runs": "", id: "all" });
      assert.doesNotMatch(xml.text, /<Prefix>|<OtherPrefixes>/);
      await grant(["s3:GetInventoryConfiguration", "s3:ListBucket"]);
      assert.deepEqual((await summariesAs())[0], ALL);
      await s3.send(new DeleteBucketPolicyCommand({ Bucket: SOURCE }));
    });
  });
}
