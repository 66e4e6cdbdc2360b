// Two Stocktake nodes on one PostgreSQL database and one data directory, as docs/scale-out.md
// runs a cluster behind a load balancer: what one node commits, the other serves at once (objects,
// listings, versions, multipart uploads, inventory reports); configurations the request path
// caches (bucket policies, bucket settings) reach the other node's decisions; background passes
// run on one node at a time and move to the other when it stops.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketEncryptionCommand,
  DeleteBucketPolicyCommand,
  GetBucketEncryptionCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketEncryptionCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { startTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import { signedFetch } from "../helpers/raw.js";
import { ManualClock } from "../../src/clock.js";
import { createDatabase, postgresUnavailable, startPostgres, type TestPostgres } from "../helpers/postgres.js";
import { dailyCsvInventory, getObjectBytes, readReportRows, runInventory } from "../helpers/inventory.js";
import { rejectsWith } from "../helpers/errors.js";
import { ACTIVE_RUN_KIND, failInterruptedRuns, RUN_KIND } from "../../src/inventory/run.js";

const skip = postgresUnavailable();
const tag = (text: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(text)?.[1];

/** Retries `check` until it passes or `ms` elapse: for what reaches the other node by notification. */
async function eventually(check: () => Promise<void>, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

describe("two nodes on one PostgreSQL database and one data directory", { skip }, () => {
  let postgres: TestPostgres | undefined;
  let a: TestServer;
  let b: TestServer;
  let metadataUrl: string;
  const dataDir = mkdtempSync(join(tmpdir(), "stocktake-cluster-"));

  before(async () => {
    const server = process.env.STOCKTAKE_TEST_POSTGRES;
    if (server) metadataUrl = await createDatabase(server);
    else {
      postgres = await startPostgres();
      metadataUrl = postgres.url;
    }
    a = await startTestServer({ metadataUrl }, dataDir);
    b = await startTestServer({ metadataUrl }, dataDir);
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await postgres?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("serves on one node what the other committed, at once: objects, deletes, listings, versions", async () => {
    await a.client.send(new CreateBucketCommand({ Bucket: "shared" }));
    await b.client.send(new PutBucketVersioningCommand({ Bucket: "shared", VersioningConfiguration: { Status: "Enabled" } }));
    const big = Buffer.alloc(200 * 1024, 7);
    await a.client.send(new PutObjectCommand({ Bucket: "shared", Key: "docs/small.txt", Body: "written on a" }));
    await a.client.send(new PutObjectCommand({ Bucket: "shared", Key: "docs/big.bin", Body: big }));
    const read = await b.client.send(new GetObjectCommand({ Bucket: "shared", Key: "docs/small.txt" }));
    assert.equal(await read.Body!.transformToString(), "written on a");
    const bigRead = Buffer.from(await (await b.client.send(new GetObjectCommand({ Bucket: "shared", Key: "docs/big.bin" }))).Body!.transformToByteArray());
    assert.ok(bigRead.equals(big));

    await b.client.send(new PutObjectCommand({ Bucket: "shared", Key: "docs/small.txt", Body: "overwritten on b" }));
    const again = await a.client.send(new GetObjectCommand({ Bucket: "shared", Key: "docs/small.txt" }));
    assert.equal(await again.Body!.transformToString(), "overwritten on b");
    await a.client.send(new DeleteObjectCommand({ Bucket: "shared", Key: "docs/big.bin" }));
    await rejectsWith(b.client.send(new GetObjectCommand({ Bucket: "shared", Key: "docs/big.bin" })), "NoSuchKey", 404);

    const listed = await b.client.send(new ListObjectsV2Command({ Bucket: "shared", Prefix: "docs/" }));
    assert.deepEqual(listed.Contents?.map((o) => o.Key), ["docs/small.txt"]);
    const versions = await b.client.send(new ListObjectVersionsCommand({ Bucket: "shared" }));
    assert.equal(versions.Versions?.length, 3);
    assert.equal(versions.DeleteMarkers?.length, 1);
  });

  it("completes on one node a multipart upload begun and filled on the other", async () => {
    const { UploadId } = await a.client.send(new CreateMultipartUploadCommand({ Bucket: "shared", Key: "mp.bin" }));
    const part1 = Buffer.alloc(5 * 1024 * 1024, 1);
    const part2 = Buffer.from("tail");
    const p1 = await a.client.send(new UploadPartCommand({ Bucket: "shared", Key: "mp.bin", UploadId, PartNumber: 1, Body: part1 }));
    const p2 = await b.client.send(new UploadPartCommand({ Bucket: "shared", Key: "mp.bin", UploadId, PartNumber: 2, Body: part2 }));
    await b.client.send(
      new CompleteMultipartUploadCommand({ Bucket: "shared", Key: "mp.bin", UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.ETag }] } }),
    );
    const got = Buffer.from(await (await a.client.send(new GetObjectCommand({ Bucket: "shared", Key: "mp.bin" }))).Body!.transformToByteArray());
    assert.ok(got.equals(Buffer.concat([part1, part2])));
  });

  it("runs on one node an inventory report of what the other wrote", async () => {
    await dailyCsvInventory(a.client, "inv-source", "inv-reports", ["k1", "k2", "k3"]);
    await a.client.send(new PutObjectCommand({ Bucket: "inv-source", Key: "k4", Body: "four" }));
    const run = await runInventory(b, "inv-source", "daily");
    assert.equal(run.status, "succeeded");
    const rows = await readReportRows(b.client, "inv-reports", run.manifestKey!);
    assert.deepEqual(rows.map((r) => r.key).sort(), ["k1", "k2", "k3", "k4"]);
  });

  it("publishes two whole reports in two minutes when both nodes run one configuration in the same minute", async () => {
    // Two more nodes on one manual clock, so the minute turns when the test says.
    const clock = new ManualClock(new Date());
    const [c, d] = [await startTestServer({ metadataUrl, clock }, dataDir), await startTestServer({ metadataUrl, clock }, dataDir)];
    try {
      await dailyCsvInventory(c.client, "race-source", "race-reports", ["k1", "k2"]);
      const credentials = { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY };
      const start = async (node: TestServer) => {
        const res = await signedFetch(node.url, credentials, "POST", "/race-source", { inventory: "", id: "daily", run: "" });
        assert.equal(res.status, 202, res.text);
        return tag(res.text, "RunId")!;
      };
      const runIds = await Promise.all([start(c), start(d)]);
      const state = async (runId: string) => (await signedFetch(c.url, credentials, "GET", "/race-source", { "inventory-runs": "", "run-id": runId })).text;
      // One run takes this minute; the other waits for the next, whatever node each is on.
      for (let i = 0; i < 100 && (await Promise.all(runIds.map(state))).every((t) => tag(t, "Status") === "running"); i++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 1500));
      clock.advance(60_000);
      let finished: string[] = [];
      for (let i = 0; i < 200; i++) {
        finished = await Promise.all(runIds.map(state));
        if (finished.every((t) => tag(t, "Status") !== "running")) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(finished.map((t) => tag(t, "Status")), ["succeeded", "succeeded"], finished.join("\n"));
      const manifests = finished.map((t) => tag(t, "ManifestKey")!);
      assert.notEqual(manifests[0], manifests[1], "each report has its own minute");
      for (const key of manifests) {
        const manifest = JSON.parse((await getObjectBytes(c.client, "race-reports", key)).toString()) as { files: { key: string }[] };
        for (const f of manifest.files) assert.ok((await getObjectBytes(c.client, "race-reports", f.key)).length > 0, `${key} names ${f.key}`);
      }
    } finally {
      await c.stop();
      await d.stop();
    }
  });

  it("decides on one node by the bucket policy and public access block the other just changed", async () => {
    await a.client.send(new CreateBucketCommand({ Bucket: "policed" }));
    await a.client.send(new PutPublicAccessBlockCommand({ Bucket: "policed", PublicAccessBlockConfiguration: { BlockPublicPolicy: false, RestrictPublicBuckets: false, BlockPublicAcls: true, IgnorePublicAcls: true } }));
    await a.client.send(new PutObjectCommand({ Bucket: "policed", Key: "page.html", Body: "<p>hi</p>" }));
    // b has the bucket's (absent) policy cached once it has served a request.
    assert.equal((await fetch(`${b.url}/policed/page.html`)).status, 403);
    const Policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::policed/*" }] });
    await a.client.send(new PutBucketPolicyCommand({ Bucket: "policed", Policy }));
    await eventually(async () => assert.equal((await fetch(`${b.url}/policed/page.html`)).status, 200));
    await b.client.send(new DeleteBucketPolicyCommand({ Bucket: "policed" }));
    await eventually(async () => assert.equal((await fetch(`${a.url}/policed/page.html`)).status, 403));
    // Default encryption, read on every write through the same cache.
    const bucketKey = async (node: TestServer) => (await node.client.send(new GetBucketEncryptionCommand({ Bucket: "policed" }))).ServerSideEncryptionConfiguration?.Rules?.[0]?.BucketKeyEnabled;
    assert.equal(await bucketKey(b), false);
    await a.client.send(
      new PutBucketEncryptionCommand({ Bucket: "policed", ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" }, BucketKeyEnabled: true }] } }),
    );
    await eventually(async () => assert.equal(await bucketKey(b), true));
    await a.client.send(new DeleteBucketEncryptionCommand({ Bucket: "policed" }));
    await eventually(async () => assert.equal(await bucketKey(b), false));
  });

  it("fails the inventory runs of a node that is not alive, and only those", async () => {
    const runOf = (runId: string, nodeId: string) => ({ runId, marker: JSON.stringify({ nodeId }) });
    const source = (await a.context.metadata.getBucket("inv-source"))!;
    const record = (runId: string) =>
      JSON.stringify({ runId, bucket: source.name, bucketId: source.id, configId: "daily", trigger: "api", status: "running", startedAt: new Date().toISOString(), rows: 0, bytes: 0, files: 0 });
    for (const { runId, marker } of [runOf("20261204T000000Z-dead", "0000000000000000"), runOf("20261204T000000Z-live", b.cluster.nodeId)]) {
      await a.context.metadata.putBucketConfig(source, RUN_KIND, runId, record(runId));
      await a.context.metadata.putBucketConfig(source, ACTIVE_RUN_KIND, runId, marker);
    }
    const failed = await failInterruptedRuns(a.context);
    assert.deepEqual(failed.map((r) => r.runId), ["20261204T000000Z-dead"]);
    const live = JSON.parse((await a.context.metadata.getBucketConfig("inv-source", RUN_KIND, "20261204T000000Z-live"))!) as { status: string };
    assert.equal(live.status, "running");
    await a.context.metadata.deleteBucketConfig(source, ACTIVE_RUN_KIND, "20261204T000000Z-live");
  });

  it("runs each once-per-cluster pass on one node, and on the other once that node leaves", async () => {
    const leases = ["inventory-scheduler", "lifecycle", "tiering", "replication-scan", "housekeeping"];
    for (const lease of leases) assert.equal([a, b].filter((n) => n.cluster.isLeader(lease)).length, 1, `one holder of ${lease}`);
    const holder = a.cluster.isLeader("lifecycle") ? a : b;
    const other = holder === a ? b : a;
    await holder.stop();
    await eventually(async () => {
      for (const lease of leases) assert.ok(other.cluster.isLeader(lease), `${lease} taken over`);
    });
  });
});
