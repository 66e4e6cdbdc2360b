// The server's Prometheus metrics (GET /_stocktake/metrics, docs/observability.md): one prom-client
// Registry per server, so two servers in one process count apart. Request metrics are recorded
// as each request ends; the engines report through their hooks; store sizes, per-bucket counts,
// connections and backlogs are read when scraped, each at a cost bounded by the number of buckets.
import type { MetadataTablesPass } from "../metadata-tables/engine.js";
import type { Socket } from "node:net";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { MetadataStore } from "../storage/types.js";
import type { DiskSpace } from "../storage/disk-space.js";
import type { Clock } from "../clock.js";
import type { InventoryRun } from "../inventory/run.js";
import type { InventoryScheduler } from "../inventory/scheduler.js";
import type { LifecyclePassReport } from "../lifecycle/pass.js";
import type { TieringPassReport } from "../tiering/pass.js";
import type { ReplicationBacklog, ReplicationOutcome } from "../replication/replicator.js";

/** The label of requests that never got an operation name (unparseable, unauthenticated, unknown). */
export const UNKNOWN_OPERATION = "unknown";

const STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;

/** Seconds: from a cached HEAD to a multi-gigabyte upload. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** Seconds: background passes and inventory runs, from an empty server to hours over a big bucket. */
const LONG_BUCKETS = [0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600];

/** What is read at scrape time. */
export interface ScrapeSources {
  metadata: MetadataStore;
  disk: DiskSpace;
  clock: Clock;
  activeRuns: ReadonlyMap<string, unknown>;
  scheduler: Pick<InventoryScheduler, "lag">;
  replication: { backlog(): ReplicationBacklog };
}

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<"operation" | "status_class">;
  private readonly latency: Histogram<"operation">;
  private readonly received: Counter<"operation">;
  private readonly sent: Counter<"operation">;
  private readonly runs: Counter<"outcome" | "trigger">;
  private readonly runRows: Counter<"outcome">;
  private readonly runBytes: Counter<"outcome">;
  private readonly runDuration: Histogram<"outcome">;
  private readonly runRate: Gauge;
  private readonly scheduleDelay: Histogram;
  private readonly lifecyclePasses: Counter<"outcome">;
  private readonly metadataTablesDuration: Histogram;
  private readonly metadataTablesRows: Counter<"table">;
  private readonly metadataTablesErrors: Counter;
  private readonly lifecycleDuration: Histogram;
  private readonly lifecycleActions: Counter<"action">;
  private readonly lifecycleLocked: Gauge;
  private readonly tieringPasses: Counter<"outcome">;
  private readonly tieringDuration: Histogram;
  private readonly tieringUpdated: Counter;
  private readonly replicationAttempts: Counter<"outcome">;
  private readonly replicationScans: Counter<"outcome">;
  /** The edge's open connections; set once the edge exists. */
  openConnections: (() => number) | undefined;
  /**
   * Bytes read from each connection up to the end of its previous request. Node's parser reads
   * what has arrived, a small body often with its head, before the handler runs: a request's
   * bytes are what was read since the previous one ended, not since its handler began.
   */
  private readonly readUpTo = new WeakMap<Socket, number>();

  constructor(sources: ScrapeSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });

    this.requests = new Counter({
      name: "stocktake_s3_requests_total",
      help: "S3 requests answered, by operation and status class",
      labelNames: ["operation", "status_class"],
      registers,
    });
    this.latency = new Histogram({
      name: "stocktake_s3_request_duration_seconds",
      help: "Time from a request's head to the end of its answer, by operation",
      labelNames: ["operation"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.received = new Counter({
      name: "stocktake_s3_received_bytes_total",
      help: "Bytes read from the connection for a request (request heads and bodies), by operation",
      labelNames: ["operation"],
      registers,
    });
    this.sent = new Counter({
      name: "stocktake_s3_sent_bytes_total",
      help: "Bytes written to the connection for a request (response heads and bodies), by operation",
      labelNames: ["operation"],
      registers,
    });
    const openConnections = () => this.openConnections?.() ?? 0;
    new Gauge({
      name: "stocktake_open_connections",
      help: "Client connections open now",
      registers,
      collect() {
        this.set(openConnections());
      },
    });

    new Gauge({
      name: "stocktake_metadata_store_bytes",
      help: "Size of the metadata store on disk (the SQLite database, its WAL and shared memory)",
      registers,
      async collect() {
        this.set(await sources.metadata.sizeBytes());
      },
    });
    new Gauge({
      name: "stocktake_disk_full",
      help: "1 while the data disk counts as full (writes refused with 507), else 0",
      registers,
      collect() {
        this.set(sources.disk.isFull() ? 1 : 0);
      },
    });
    const bucketCounts = () => sources.metadata.bucketCounts();
    // Both gauges come from one read of the store per scrape, shared while it is in progress.
    let counting: ReturnType<typeof bucketCounts> | undefined;
    const countsOnce = () => (counting ??= bucketCounts().finally(() => (counting = undefined)));
    new Gauge({
      name: "stocktake_bucket_objects",
      help: "Current objects (latest versions that are not delete markers) per bucket",
      labelNames: ["bucket"],
      registers,
      async collect() {
        const counts = await countsOnce();
        this.reset();
        for (const c of counts) this.set({ bucket: c.bucket }, c.objects);
      },
    });
    new Gauge({
      name: "stocktake_bucket_versions",
      help: "Versions, delete markers included, per bucket",
      labelNames: ["bucket"],
      registers,
      async collect() {
        const counts = await countsOnce();
        this.reset();
        for (const c of counts) this.set({ bucket: c.bucket }, c.versions);
      },
    });

    this.runs = new Counter({
      name: "stocktake_inventory_runs_total",
      help: "Inventory runs finished, by outcome (succeeded, failed) and trigger (schedule, on-demand)",
      labelNames: ["outcome", "trigger"],
      registers,
    });
    this.runRows = new Counter({
      name: "stocktake_inventory_run_rows_total",
      help: "Report rows written by finished inventory runs, by outcome",
      labelNames: ["outcome"],
      registers,
    });
    this.runBytes = new Counter({
      name: "stocktake_inventory_run_bytes_total",
      help: "Report data bytes written by finished inventory runs, by outcome",
      labelNames: ["outcome"],
      registers,
    });
    this.runDuration = new Histogram({
      name: "stocktake_inventory_run_duration_seconds",
      help: "Time from an inventory run's start to its recorded outcome, by outcome",
      labelNames: ["outcome"],
      buckets: LONG_BUCKETS,
      registers,
    });
    this.runRate = new Gauge({
      name: "stocktake_inventory_last_run_rows_per_second",
      help: "Rows per second of the latest inventory run that succeeded",
      registers,
    });
    new Gauge({
      name: "stocktake_inventory_runs_in_progress",
      help: "Inventory runs in progress now",
      registers,
      collect() {
        this.set(sources.activeRuns.size);
      },
    });
    this.scheduleDelay = new Histogram({
      name: "stocktake_inventory_schedule_delay_seconds",
      help: "How long after its due time each scheduled inventory run started",
      buckets: LONG_BUCKETS,
      registers,
    });
    new Gauge({
      name: "stocktake_inventory_scheduler_lag_seconds",
      help: "How long the oldest due scheduled run still waiting to start has been due (0: none waits)",
      registers,
      collect() {
        this.set(sources.scheduler.lag(sources.clock.now()).seconds);
      },
    });
    new Gauge({
      name: "stocktake_inventory_scheduler_waiting",
      help: "Scheduled inventory runs due but not started (held back by the concurrency limit or a run of the same configuration)",
      registers,
      collect() {
        this.set(sources.scheduler.lag(sources.clock.now()).waiting);
      },
    });

    this.lifecyclePasses = new Counter({
      name: "stocktake_lifecycle_passes_total",
      help: "Lifecycle passes, by outcome (ok, failed)",
      labelNames: ["outcome"],
      registers,
    });
    this.lifecycleDuration = new Histogram({
      name: "stocktake_lifecycle_pass_duration_seconds",
      help: "Duration of lifecycle passes",
      buckets: LONG_BUCKETS,
      registers,
    });
    this.lifecycleActions = new Counter({
      name: "stocktake_lifecycle_actions_total",
      help: "What lifecycle passes did, by action",
      labelNames: ["action"],
      registers,
    });
    this.lifecycleLocked = new Gauge({
      name: "stocktake_lifecycle_backlog_versions",
      help: "Versions the latest lifecycle pass found due but could not delete (object lock); retried every pass",
      registers,
    });

    this.metadataTablesDuration = new Histogram({
      name: "stocktake_metadata_tables_pass_duration_seconds",
      help: "Duration of S3 Metadata tables engine passes",
      buckets: LONG_BUCKETS,
      registers,
    });
    this.metadataTablesRows = new Counter({
      name: "stocktake_metadata_tables_rows_total",
      help: "Rows the S3 Metadata tables engine wrote, by table (journal, inventory_backfill) or changes it applied (inventory_changes)",
      labelNames: ["table"],
      registers,
    });
    this.metadataTablesErrors = new Counter({
      name: "stocktake_metadata_tables_errors_total",
      help: "Buckets whose S3 Metadata pass stopped on an error (retried next pass) or whose table became FAILED",
      registers,
    });

    this.tieringPasses = new Counter({
      name: "stocktake_tiering_passes_total",
      help: "Intelligent-Tiering passes, by outcome (ok, failed)",
      labelNames: ["outcome"],
      registers,
    });
    this.tieringDuration = new Histogram({
      name: "stocktake_tiering_pass_duration_seconds",
      help: "Duration of Intelligent-Tiering passes",
      buckets: LONG_BUCKETS,
      registers,
    });
    this.tieringUpdated = new Counter({
      name: "stocktake_tiering_versions_updated_total",
      help: "Versions a tiering pass moved to another access tier or restore state",
      registers,
    });

    this.replicationAttempts = new Counter({
      name: "stocktake_replication_attempts_total",
      help: "Replication attempts, by outcome (completed, failed: the version's final status; error: left PENDING for a retry)",
      labelNames: ["outcome"],
      registers,
    });
    this.replicationScans = new Counter({
      name: "stocktake_replication_scans_total",
      help: "Scans of the store for PENDING versions, by outcome (ok, failed)",
      labelNames: ["outcome"],
      registers,
    });
    new Gauge({
      name: "stocktake_replication_backlog",
      help: "Versions waiting for replication in this process, by state (queued, in_flight, retrying)",
      labelNames: ["state"],
      registers,
      collect() {
        const b = sources.replication.backlog();
        this.set({ state: "queued" }, b.queued);
        this.set({ state: "in_flight" }, b.inFlight);
        this.set({ state: "retrying" }, b.retrying);
      },
    });
    new Gauge({
      name: "stocktake_replication_pending_in_store",
      help: "1 when PENDING versions wait in the store for the next scan (the queue was full or retries ran out), else 0",
      registers,
      collect() {
        this.set(sources.replication.backlog().leftInStore ? 1 : 0);
      },
    });
  }

  /** Bytes read from the connection since its previous request ended; call once per request, as it ends. */
  bytesReadFor(socket: Socket): number {
    const total = socket.bytesRead;
    const previous = this.readUpTo.get(socket) ?? 0;
    this.readUpTo.set(socket, total);
    return total - previous;
  }

  /** For each request as its connection is done with it: cheap label lookups, no allocation beyond them. */
  requestDone(operation: string, status: number, seconds: number, bytesIn: number, bytesOut: number): void {
    this.requests.inc({ operation, status_class: STATUS_CLASSES[Math.floor(status / 100) - 1] ?? "5xx" });
    this.latency.observe({ operation }, seconds);
    if (bytesIn > 0) this.received.inc({ operation }, bytesIn);
    if (bytesOut > 0) this.sent.inc({ operation }, bytesOut);
  }

  inventoryRunFinished(run: InventoryRun): void {
    const outcome = run.status;
    this.runs.inc({ outcome, trigger: run.trigger });
    this.runRows.inc({ outcome }, run.rows);
    this.runBytes.inc({ outcome }, run.bytes);
    const seconds = run.finishedAt === undefined ? 0 : Math.max(0, (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000);
    this.runDuration.observe({ outcome }, seconds);
    if (outcome === "succeeded" && seconds > 0) this.runRate.set(run.rows / seconds);
  }

  scheduledRunStarted(lateMs: number): void {
    this.scheduleDelay.observe(Math.max(0, lateMs) / 1000);
  }

  lifecyclePass(report: LifecyclePassReport): void {
    this.lifecyclePasses.inc({ outcome: report.counts ? "ok" : "failed" });
    this.lifecycleDuration.observe(report.seconds);
    const c = report.counts;
    if (!c) return;
    this.lifecycleActions.inc({ action: "expired" }, c.expired);
    this.lifecycleActions.inc({ action: "noncurrent_expired" }, c.noncurrentExpired);
    this.lifecycleActions.inc({ action: "markers_removed" }, c.markersRemoved);
    this.lifecycleActions.inc({ action: "transitioned" }, c.transitioned);
    this.lifecycleActions.inc({ action: "uploads_aborted" }, c.uploadsAborted);
    this.lifecycleActions.inc({ action: "skipped_locked" }, c.skippedLocked);
    this.lifecycleLocked.set(c.skippedLocked);
  }

  metadataTablesPass(report: MetadataTablesPass, seconds: number): void {
    this.metadataTablesDuration.observe(seconds);
    this.metadataTablesRows.inc({ table: "journal" }, report.journalRows);
    this.metadataTablesRows.inc({ table: "inventory_backfill" }, report.backfilledRows);
    this.metadataTablesRows.inc({ table: "inventory_changes" }, report.inventoryChanges);
    this.metadataTablesErrors.inc(report.errors + report.failed);
  }

  tieringPass(report: TieringPassReport): void {
    this.tieringPasses.inc({ outcome: report.counts ? "ok" : "failed" });
    this.tieringDuration.observe(report.seconds);
    if (report.counts) this.tieringUpdated.inc(report.counts.updated);
  }

  replicationAttempt(outcome: ReplicationOutcome): void {
    this.replicationAttempts.inc({ outcome: outcome.toLowerCase() });
  }

  replicationScan(failed: boolean): void {
    this.replicationScans.inc({ outcome: failed ? "failed" : "ok" });
  }
}
