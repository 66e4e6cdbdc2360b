// ServerMetrics: the names, labels and values a scrape shows, with the scrape-time sources faked;
// and two servers' registries kept apart.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ServerMetrics, UNKNOWN_OPERATION, type ScrapeSources } from "./metrics.js";
import type { BucketCounts } from "../storage/types.js";
import type { InventoryRun } from "../inventory/run.js";

function fakeSources(counts: BucketCounts[]): ScrapeSources {
  return {
    metadata: { bucketCounts: async () => counts, sizeBytes: async () => 4096 } as unknown as ScrapeSources["metadata"],
    disk: { isFull: () => false } as unknown as ScrapeSources["disk"],
    clock: { now: () => new Date(1_700_000_000_000) },
    activeRuns: new Map([["r", {}]]),
    scheduler: { lag: () => ({ waiting: 2, seconds: 90 }) },
    replication: { backlog: () => ({ queued: 3, inFlight: 1, retrying: 0, leftInStore: true }) },
  };
}

/** The value of one sample line, by its exact name and label text. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(series + " ")) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

const run = (over: Partial<InventoryRun>): InventoryRun => ({
  runId: "r1",
  bucket: "b",
  configId: "c",
  trigger: "on-demand",
  status: "succeeded",
  startedAt: "2026-01-01T00:00:00.000Z",
  finishedAt: "2026-01-01T00:00:04.000Z",
  rows: 1000,
  bytes: 5000,
  files: 1,
  ...over,
});

describe("ServerMetrics", () => {
  it("counts requests by operation and status class, with latency and bytes", async () => {
    const m = new ServerMetrics(fakeSources([]));
    m.requestDone("PutObject", 200, 0.003, 1024, 300);
    m.requestDone("PutObject", 200, 0.004, 1024, 300);
    m.requestDone("GetObject", 404, 0.001, 0, 250);
    m.requestDone(UNKNOWN_OPERATION, 503, 0.001, 0, 100);
    const text = await m.registry.metrics();
    assert.equal(sample(text, 'stocktake_s3_requests_total{operation="PutObject",status_class="2xx"}'), 2);
    assert.equal(sample(text, 'stocktake_s3_requests_total{operation="GetObject",status_class="4xx"}'), 1);
    assert.equal(sample(text, 'stocktake_s3_requests_total{operation="unknown",status_class="5xx"}'), 1);
    assert.equal(sample(text, 'stocktake_s3_received_bytes_total{operation="PutObject"}'), 2048);
    assert.equal(sample(text, 'stocktake_s3_sent_bytes_total{operation="GetObject"}'), 250);
    assert.equal(sample(text, 'stocktake_s3_request_duration_seconds_bucket{le="0.005",operation="PutObject"}'), 2);
    assert.equal(sample(text, 'stocktake_s3_request_duration_seconds_count{operation="PutObject"}'), 2);
  });

  it("reads store, connections, scheduler and replication figures when scraped", async () => {
    const counts: BucketCounts[] = [
      { bucket: "a", objects: 2, versions: 5 },
      { bucket: "b", objects: 0, versions: 1 },
    ];
    const m = new ServerMetrics(fakeSources(counts));
    m.openConnections = () => 7;
    let text = await m.registry.metrics();
    assert.equal(sample(text, 'stocktake_bucket_objects{bucket="a"}'), 2);
    assert.equal(sample(text, 'stocktake_bucket_versions{bucket="a"}'), 5);
    assert.equal(sample(text, 'stocktake_bucket_versions{bucket="b"}'), 1);
    assert.equal(sample(text, "stocktake_metadata_store_bytes"), 4096);
    assert.equal(sample(text, "stocktake_open_connections"), 7);
    assert.equal(sample(text, "stocktake_inventory_runs_in_progress"), 1);
    assert.equal(sample(text, "stocktake_inventory_scheduler_lag_seconds"), 90);
    assert.equal(sample(text, "stocktake_inventory_scheduler_waiting"), 2);
    assert.equal(sample(text, 'stocktake_replication_backlog{state="queued"}'), 3);
    assert.equal(sample(text, "stocktake_replication_pending_in_store"), 1);
    assert.equal(sample(text, "stocktake_disk_full"), 0);
    // A bucket deleted since the last scrape leaves no stale series.
    counts.pop();
    text = await m.registry.metrics();
    assert.equal(sample(text, 'stocktake_bucket_versions{bucket="b"}'), undefined);
  });

  it("records inventory runs by outcome with rows, bytes, duration and rows per second", async () => {
    const m = new ServerMetrics(fakeSources([]));
    m.inventoryRunFinished(run({}));
    m.inventoryRunFinished(run({ status: "failed", trigger: "schedule", rows: 10, bytes: 0 }));
    const text = await m.registry.metrics();
    assert.equal(sample(text, 'stocktake_inventory_runs_total{outcome="succeeded",trigger="on-demand"}'), 1);
    assert.equal(sample(text, 'stocktake_inventory_runs_total{outcome="failed",trigger="schedule"}'), 1);
    assert.equal(sample(text, 'stocktake_inventory_run_rows_total{outcome="succeeded"}'), 1000);
    assert.equal(sample(text, 'stocktake_inventory_run_bytes_total{outcome="succeeded"}'), 5000);
    assert.equal(sample(text, 'stocktake_inventory_run_duration_seconds_sum{outcome="succeeded"}'), 4);
    assert.equal(sample(text, "stocktake_inventory_last_run_rows_per_second"), 250);
  });

  it("records background passes", async () => {
    const m = new ServerMetrics(fakeSources([]));
    m.lifecyclePass({ seconds: 0.5, counts: { expired: 3, noncurrentExpired: 1, markersRemoved: 0, transitioned: 2, uploadsAborted: 0, skippedLocked: 4 } });
    m.lifecyclePass({ seconds: 0.1 });
    m.tieringPass({ seconds: 0.2, counts: { buckets: 1, updated: 6 } });
    m.replicationAttempt("COMPLETED");
    m.replicationAttempt("error");
    m.replicationScan(false);
    const text = await m.registry.metrics();
    assert.equal(sample(text, 'stocktake_lifecycle_passes_total{outcome="ok"}'), 1);
    assert.equal(sample(text, 'stocktake_lifecycle_passes_total{outcome="failed"}'), 1);
    assert.equal(sample(text, 'stocktake_lifecycle_actions_total{action="expired"}'), 3);
    assert.equal(sample(text, "stocktake_lifecycle_backlog_versions"), 4);
    assert.equal(sample(text, "stocktake_tiering_versions_updated_total"), 6);
    assert.equal(sample(text, 'stocktake_replication_attempts_total{outcome="completed"}'), 1);
    assert.equal(sample(text, 'stocktake_replication_attempts_total{outcome="error"}'), 1);
    assert.equal(sample(text, 'stocktake_replication_scans_total{outcome="ok"}'), 1);
  });

  it("keeps two servers' metrics apart, each with the Node process metrics", async () => {
    const one = new ServerMetrics(fakeSources([]));
    const two = new ServerMetrics(fakeSources([]));
    one.requestDone("GetObject", 200, 0.001, 0, 10);
    const text = await two.registry.metrics();
    assert.equal(sample(text, 'stocktake_s3_requests_total{operation="GetObject",status_class="2xx"}'), undefined);
    assert.match(text, /^process_cpu_user_seconds_total /m);
    assert.match(text, /^nodejs_eventloop_lag_seconds /m);
  });
});
