// The operator's endpoints on a real server: liveness, readiness (and what makes it fail), the
// Prometheus metrics moving with S3 traffic and inventory runs, and who may read them.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { networkInterfaces } from "node:os";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { startTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import { signedFetch } from "../helpers/raw.js";
import { dailyCsvInventory, runInventory } from "../helpers/inventory.js";
import { createAccount, loadSealingKey } from "../../src/auth/accounts.js";

/** Samples of a Prometheus text exposition, by series (`name{labels}` exactly as written). */
function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    samples.set(m[1]!, Number(m[2]));
  }
  return samples;
}

async function scrape(server: TestServer, headers: Record<string, string> = {}): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(`${server.url}/_stocktake/metrics`, { headers });
  return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
}

async function metrics(server: TestServer): Promise<Map<string, number>> {
  const got = await scrape(server);
  assert.equal(got.status, 200, got.text);
  return parseMetrics(got.text);
}

const value = (m: Map<string, number>, series: string) => m.get(series) ?? 0;

describe("health endpoints", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.stop());

  it("answers live and ready with 200 and JSON, without credentials", async () => {
    for (const path of ["/_stocktake/health/live", "/_stocktake/health/ready"]) {
      const res = await fetch(server.url + path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get("content-type"), "application/json");
      assert.deepEqual(await res.json(), { status: "ok" });
    }
  });

  it("treats the path as an object key on a bucket's virtual host", async () => {
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${server.url}/_stocktake/health/live`, { headers: { host: `some-bucket.localhost:${server.port}` } }, (r) => {
        let body = "";
        r.on("data", (c: Buffer) => (body += c.toString()));
        r.on("end", () => resolve({ status: r.statusCode!, body }));
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(res.status, 404, res.body);
    assert.match(res.body, /<Code>NoSuchBucket<\/Code>/);
  });

  it("answers ready 503 naming the check while the disk is full", async () => {
    const disk = server.context.disk;
    disk.isFull = () => true;
    try {
      const res = await fetch(`${server.url}/_stocktake/health/ready`);
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), { status: "unavailable", check: "disk", reason: "the data directory's disk is full" });
      assert.equal((await fetch(`${server.url}/_stocktake/health/live`)).status, 200, "still alive");
    } finally {
      delete (disk as { isFull?: unknown }).isFull;
    }
    assert.equal((await fetch(`${server.url}/_stocktake/health/ready`)).status, 200);
  });

  it("answers ready 503 once the server is shutting down", async () => {
    server.health.markShuttingDown();
    assert.equal(server.health.isShuttingDown(), true);
    const res = await fetch(`${server.url}/_stocktake/health/ready`);
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { check: string }).check, "shutdown");
  });
});

describe("metrics", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
    const s3 = server.client;
    await dailyCsvInventory(s3, "metrics-src", "metrics-dest");
  });
  after(() => server.stop());

  it("serves the Prometheus text format with the Node process metrics", async () => {
    const got = await scrape(server);
    assert.equal(got.status, 200);
    assert.match(got.type ?? "", /^text\/plain; version=0\.0\.4/);
    const m = parseMetrics(got.text);
    assert.ok(m.has("process_resident_memory_bytes"));
    assert.ok(value(m, "stocktake_metadata_store_bytes") > 0);
    assert.ok(value(m, "stocktake_open_connections") >= 1, "the scrape's own connection");
  });

  it("counts a PUT and a GET by operation and status class, with bytes in and out and the bucket's objects", async () => {
    const before = await metrics(server);
    const body = "x".repeat(10_000);
    await server.client.send(new PutObjectCommand({ Bucket: "metrics-src", Key: "a", Body: body }));
    await server.client.send(new PutObjectCommand({ Bucket: "metrics-src", Key: "b", Body: "b" }));
    await server.client.send(new PutObjectCommand({ Bucket: "metrics-src", Key: "b", Body: "b2" }));
    const got = await server.client.send(new GetObjectCommand({ Bucket: "metrics-src", Key: "a" }));
    assert.equal((await got.Body!.transformToString()).length, body.length);
    const missing = await server.client.send(new GetObjectCommand({ Bucket: "metrics-src", Key: "nope" })).catch((err: unknown) => err);
    assert.equal((missing as { name: string }).name, "NoSuchKey");
    const after = await metrics(server);

    const delta = (series: string) => value(after, series) - value(before, series);
    assert.equal(delta('stocktake_s3_requests_total{operation="PutObject",status_class="2xx"}'), 3);
    assert.equal(delta('stocktake_s3_requests_total{operation="GetObject",status_class="2xx"}'), 1);
    assert.equal(delta('stocktake_s3_requests_total{operation="GetObject",status_class="4xx"}'), 1);
    assert.equal(delta('stocktake_s3_request_duration_seconds_count{operation="PutObject"}'), 3);
    assert.ok(delta('stocktake_s3_received_bytes_total{operation="PutObject"}') >= body.length);
    assert.ok(delta('stocktake_s3_sent_bytes_total{operation="GetObject"}') >= body.length);
    assert.equal(value(after, 'stocktake_bucket_objects{bucket="metrics-src"}'), 2);
    assert.equal(value(after, 'stocktake_bucket_versions{bucket="metrics-src"}'), 2, "the null version of b was replaced");
    assert.equal(after.has('stocktake_bucket_objects{bucket="metrics-dest"}'), false, "an empty bucket has no series");
    // Scrapes are not S3 requests.
    assert.equal([...after.keys()].some((k) => k.startsWith("stocktake_s3_requests_total") && k.includes("unknown")), false);
  });

  it("counts an inventory run on demand by outcome, with its rows", async () => {
    const before = await metrics(server);
    const run = await runInventory(server, "metrics-src", "daily");
    assert.equal(run.status, "succeeded", run.error);
    const after = await metrics(server);
    const delta = (series: string) => value(after, series) - value(before, series);
    assert.equal(delta('stocktake_inventory_runs_total{outcome="succeeded",trigger="on-demand"}'), 1);
    assert.equal(delta('stocktake_inventory_run_rows_total{outcome="succeeded"}'), run.rows);
    assert.ok(delta('stocktake_inventory_run_bytes_total{outcome="succeeded"}') > 0);
    assert.equal(delta('stocktake_inventory_run_duration_seconds_count{outcome="succeeded"}'), 1);
    assert.equal(value(after, "stocktake_inventory_runs_in_progress"), 0);
    // The report's files were delivered into the destination bucket.
    assert.ok(value(after, 'stocktake_bucket_objects{bucket="metrics-dest"}') >= 2);
  });

  it("counts background passes run on demand", async () => {
    const before = await metrics(server);
    await server.lifecycle.runOnce();
    await server.tiering.runOnce();
    const after = await metrics(server);
    assert.equal(value(after, 'stocktake_lifecycle_passes_total{outcome="ok"}') - value(before, 'stocktake_lifecycle_passes_total{outcome="ok"}'), 1);
    assert.equal(value(after, 'stocktake_tiering_passes_total{outcome="ok"}') - value(before, 'stocktake_tiering_passes_total{outcome="ok"}'), 1);
    assert.equal(value(after, 'stocktake_replication_backlog{state="queued"}'), 0);
  });
});

describe("metrics behind --metrics-auth", () => {
  const token = "metrics-token-0001";
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ metricsAuth: token });
  });
  after(() => server.stop());

  it("requires the bearer token, even on loopback", async () => {
    const none = await scrape(server);
    assert.equal(none.status, 401);
    const wrong = await scrape(server, { authorization: "Bearer not-the-token" });
    assert.equal(wrong.status, 401);
    const right = await scrape(server, { authorization: `Bearer ${token}` });
    assert.equal(right.status, 200);
    assert.ok(parseMetrics(right.text).has("stocktake_open_connections"));
  });

  it("accepts a request signed by the root account, and no other", async () => {
    const root = await signedFetch(server.url, { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY }, "GET", "/_stocktake/metrics", {});
    assert.equal(root.status, 200, root.text);
    const badSignature = await signedFetch(server.url, { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: "wrong" }, "GET", "/_stocktake/metrics", {});
    assert.equal(badSignature.status, 401);
    const other = await createAccount(server.context.metadata, loadSealingKey(server.dataDir), { accountId: "444455556666" }, new Date());
    const notRoot = await signedFetch(server.url, other, "GET", "/_stocktake/metrics", {});
    assert.equal(notRoot.status, 401);
  });

  it("leaves the health endpoints open", async () => {
    assert.equal((await fetch(`${server.url}/_stocktake/health/ready`)).status, 200);
  });
});

describe("metrics without --metrics-auth", () => {
  it("are refused to clients that are not on loopback", async () => {
    // A server on every interface, reached at a non-loopback address of this host when it has one.
    const address = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === "IPv4" && !i.internal)?.address;
    if (address === undefined) return; // the non-loopback rule itself is covered by observability.test.ts
    const server = await startTestServer({ host: "0.0.0.0" });
    try {
      const remote = await fetch(`http://${address}:${server.port}/_stocktake/metrics`);
      assert.equal(remote.status, 403);
      const local = await fetch(`http://127.0.0.1:${server.port}/_stocktake/metrics`);
      assert.equal(local.status, 200);
    } finally {
      await server.stop();
    }
  });
});
