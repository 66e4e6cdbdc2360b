// One inventory run: destination checks -> the write stage in a worker thread (snapshot scan,
// projection, format, data files) -> publish (one commit) -> the run's record. Records are kept in
// the metadata store (kind "inventory-run"), newest last by id, and survive restarts.
import { Worker } from "node:worker_threads";
import { randomBytes } from "node:crypto";
import type { Context } from "../core/context.js";
import { isCurrentBucket } from "../core/buckets.js";
import { threadEntry } from "../thread-entry.js";

/** The domain's context and the runs in progress, by run id, with their live row and byte counts. */
export interface InventoryContext extends Context {
  activeRuns: Map<string, InventoryRun>;
  /**
   * This node, and the nodes alive now, when several share the database (docs/scale-out.md): a
   * run's marker names the node running it, and only the runs of dead nodes are interrupted.
   * Without them every marker found is a run a restart interrupted (one node).
   */
  nodeId?: string;
  liveNodeIds?: () => Promise<ReadonlySet<string>>;
  /** Told of every run once its outcome is recorded (the server's metrics). */
  onRunFinished?: (run: InventoryRun) => void;
}
import { BucketGoneError, type BucketRecord, type BucketRef } from "../storage/types.js";
import { inventoryConfigurationFromJson, type InventoryConfiguration } from "./config.js";
import { reportColumns } from "./fields.js";
import { checkDestination, DeliveryRefused, publishReport, reportEncryption } from "./publish.js";
import { REPORT_THREAD_LIMITS } from "./thread-limits.js";
import { S3Error } from "../errors.js";
import type { WorkerMessage, WriteJob } from "./write-worker.js";
import { LIFECYCLE_KIND, type LifecycleConfiguration } from "../lifecycle/rules.js";
import type { InventorySummary } from "./summary.js";

export const RUN_KIND = "inventory-run";
/**
 * One marker per run in progress (same bucket, keyed by run id), written and removed in the same
 * commit as the run's record: what a restart reads to find runs a crash interrupted, without
 * reading every run record ever kept.
 */
export const ACTIVE_RUN_KIND = "inventory-run-active";
export const INTERRUPTED_ERROR = "interrupted by a server restart";
/** The reason recorded for a run the server stopped (stopRuns) before it could publish. */
export const SHUTDOWN_ERROR = "interrupted by a server shutdown";

class RunInterrupted extends Error {
  constructor() {
    super(SHUTDOWN_ERROR);
  }
}

/**
 * How to stop each run in progress, keyed by its object in ctx.activeRuns: the abort reaches the
 * run's waits and its writer thread, and `finished` settles once the outcome is recorded.
 */
const controls = new WeakMap<InventoryRun, { abort: AbortController; finished: Promise<InventoryRun> }>();
/** Data files roll over past this size (S3 documents no bound; any split works for consumers). */
export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;

export interface InventoryRun {
  runId: string;
  bucket: string;
  /**
   * The id of the bucket's creation the run belongs to (BucketRef): its records are written with
   * it, so a run that outlives its bucket cannot leave them in a newer bucket of the same name.
   * Absent in records written before bucket ids existed.
   */
  bucketId?: string;
  configId: string;
  trigger: "schedule" | "on-demand";
  status: "running" | "succeeded" | "failed";
  startedAt: string;
  /** When the run's snapshot was taken; its minute names the report (see waitForFreeMinute). */
  snapshotAt?: string;
  finishedAt?: string;
  rows: number;
  bytes: number;
  files: number;
  manifestKey?: string;
  /** The bucket the report was published into: the configuration's destination as the run found it. */
  destinationBucket?: string;
  error?: string;
  /** What the report holds, by class, encryption, age, prefix... (summary.ts); set once it succeeded. */
  summary?: InventorySummary;
}

/** Run ids sort by start time, so listing them by id lists them in order. */
function newRunId(now: Date): string {
  return now.toISOString().replace(/[-:.]/g, "") + "-" + randomBytes(4).toString("hex");
}

/** Where a run's records go: its bucket as the run began against it. */
function bucketOf(run: InventoryRun): BucketRef | string {
  return run.bucketId === undefined ? run.bucket : { name: run.bucket, id: run.bucketId };
}

async function save(ctx: InventoryContext, run: InventoryRun): Promise<void> {
  await ctx.metadata.putBucketConfig(bucketOf(run), RUN_KIND, run.runId, JSON.stringify(run));
}

export async function getRun(ctx: InventoryContext, bucket: BucketRef, runId: string): Promise<InventoryRun | undefined> {
  const active = ctx.activeRuns.get(runId);
  if (active && active.bucket === bucket.name && active.bucketId === bucket.id) return { ...active };
  const json = await ctx.metadata.getBucketConfig(bucket.name, RUN_KIND, runId);
  return json === undefined ? undefined : (JSON.parse(json) as InventoryRun);
}

/** At most this many runs a listing answers, and the default. */
export const MAX_RUNS_LISTED = 1000;

export interface RunPage {
  runs: InventoryRun[];
  /** The run id to continue after (older runs), when more match. */
  next?: string;
}

/**
 * A bucket's runs newest first (run ids begin with their start time), at most `max`, older than
 * the run `before`; with `configId`, that configuration's only. It holds one store page and the
 * runs it answers, so a history of any length costs the same memory; a configuration with few of
 * the bucket's runs costs a longer read.
 */
export async function listRunsPage(ctx: InventoryContext, bucket: string, o: { configId?: string; before?: string; max: number }): Promise<RunPage> {
  const runs: InventoryRun[] = [];
  let cursor = o.before;
  for (;;) {
    const page = await ctx.metadata.listBucketConfigsDescending(bucket, RUN_KIND, cursor, 1000);
    for (const row of page) {
      const run = JSON.parse(row.json) as InventoryRun;
      if (o.configId !== undefined && run.configId !== o.configId) continue;
      // One more than asked for tells whether the listing goes on.
      if (runs.length === o.max) return { runs, next: runs[runs.length - 1]!.runId };
      runs.push(run);
    }
    if (page.length < 1000) return { runs };
    cursor = page[page.length - 1]!.id;
  }
}

/**
 * At start-up, before any run starts: every run a crash (or a stop) left "running" becomes
 * "failed" with INTERRUPTED_ERROR. Its data files were never published, so no record references
 * their blobs and the start-up orphan sweep has already removed them. Returns the runs it failed.
 */
export async function failInterruptedRuns(ctx: InventoryContext): Promise<InventoryRun[]> {
  const failed: InventoryRun[] = [];
  for await (const page of activeRunMarkerPages(ctx)) {
    // After the page: a node that wrote a marker in it was alive when it did, and is counted.
    const live = (await ctx.liveNodeIds?.()) ?? new Set<string>();
    const writes: Promise<unknown>[] = [];
    for (const marker of page) {
      const runner = (JSON.parse(marker.json) as { nodeId?: string }).nodeId;
      if (runner !== undefined && live.has(runner)) continue;
      const json = await ctx.metadata.getBucketConfig(marker.bucket, RUN_KIND, marker.id);
      const run = json === undefined ? undefined : (JSON.parse(json) as InventoryRun);
      if (run?.status === "running") {
        run.status = "failed";
        run.error = INTERRUPTED_ERROR;
        run.finishedAt = ctx.clock.now().toISOString();
        failed.push(run);
        // Still "running", so its report was not published (that commit records success).
        writes.push(save(ctx, run), releaseReportMinute(ctx, run));
      }
      // By name: the marker is ours, and a bucket deleted since took its markers with it.
      writes.push(ctx.metadata.deleteBucketConfig(marker.bucket, ACTIVE_RUN_KIND, marker.id));
    }
    await Promise.all(writes);
  }
  return failed;
}

/** The markers of the runs in progress (on any node), a page at a time. */
async function* activeRunMarkerPages(ctx: InventoryContext): AsyncGenerator<{ bucket: string; id: string; json: string }[]> {
  let after: { bucket: string; id: string } | undefined;
  for (;;) {
    const page = await ctx.metadata.listConfigsOfKind(ACTIVE_RUN_KIND, after, 1000);
    yield page;
    if (page.length < 1000) return;
    after = page[page.length - 1]!;
  }
}

/** When a run was started, from its id (newRunId): "20261204T143152123Z-…" is 2026-12-04T14:31:52.123Z. */
function startOfRunId(runId: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z/.exec(runId);
  return m === null ? NaN : Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!);
}

/**
 * When the oldest run in progress (on any node) started: its data files are in the blob
 * directory, referenced by nothing until it publishes, and a sweep must leave them be. Read from
 * the markers' run ids, which begin with the start time.
 */
export async function oldestActiveRunStart(ctx: InventoryContext): Promise<Date | undefined> {
  let oldest: number | undefined;
  for await (const page of activeRunMarkerPages(ctx)) {
    for (const marker of page) {
      const started = startOfRunId(marker.id);
      if (!Number.isNaN(started) && (oldest === undefined || started < oldest)) oldest = started;
    }
  }
  return oldest === undefined ? undefined : new Date(oldest);
}

/** The write worker's module: built, the .js beside us; under tsx, the .ts source (threadEntry bootstraps it). */
const WRITE_WORKER = new URL(import.meta.url.endsWith(".ts") ? "./write-worker.ts" : "./write-worker.js", import.meta.url).href;

function runWriteStage(
  job: WriteJob,
  signal: AbortSignal,
  onProgress: (rows: number, bytes: number) => void,
): Promise<Omit<Extract<WorkerMessage, { type: "done" }>, "type">> {
  if (signal.aborted) return Promise.reject(new RunInterrupted());
  const worker = new Worker(threadEntry(WRITE_WORKER), { workerData: job, resourceLimits: REPORT_THREAD_LIMITS });
  return new Promise((resolve, reject) => {
    let settled = false;
    // Files the writer committed before it was stopped are referenced by nothing: the next
    // start's orphan sweep removes them, as after a crash. The run settles once the thread is
    // gone, so the stores are not closed under it.
    const stop = () => {
      settled = true;
      void worker.terminate().finally(() => reject(new RunInterrupted()));
    };
    signal.addEventListener("abort", stop, { once: true });
    worker.once("exit", () => signal.removeEventListener("abort", stop));
    worker.on("message", (m: WorkerMessage) => {
      if (m.type === "progress") onProgress(m.rows, m.bytes);
      else if (m.type === "done") {
        settled = true;
        resolve({ files: m.files, summary: m.summary });
      } else {
        settled = true;
        reject(new Error(m.message));
      }
    });
    worker.on("error", (err) => {
      settled = true;
      reject(err);
    });
    worker.on("exit", (code) => {
      if (!settled) reject(new Error(`the report writer stopped (exit code ${code})`));
    });
  });
}

export interface StartedRun {
  run: InventoryRun;
  /** Settles when the run has succeeded or failed (never rejects). */
  finished: Promise<InventoryRun>;
}

/**
 * Starts a run of one configuration and returns at once with its record; the work goes on in the
 * background. A refused destination or a disabled configuration fails the run with the reason.
 */
export async function startRun(
  ctx: InventoryContext,
  source: BucketRecord,
  configId: string,
  trigger: InventoryRun["trigger"],
  onProgress?: (run: InventoryRun) => void,
): Promise<StartedRun> {
  const json = await ctx.metadata.getBucketConfig(source.name, "inventory", configId);
  if (json === undefined) throw new Error(`no inventory configuration ${configId} on ${source.name}`);
  const config = inventoryConfigurationFromJson(json);
  const startedAt = ctx.clock.now();
  const run: InventoryRun = {
    runId: newRunId(startedAt),
    bucket: source.name,
    bucketId: source.id,
    configId,
    trigger,
    status: "running",
    startedAt: startedAt.toISOString(),
    rows: 0,
    bytes: 0,
    files: 0,
  };
  // Same event-loop turn: one group commit holds the record and its marker.
  await Promise.all([save(ctx, run), ctx.metadata.putBucketConfig(bucketOf(run), ACTIVE_RUN_KIND, run.runId, JSON.stringify({ nodeId: ctx.nodeId }))]);
  ctx.activeRuns.set(run.runId, run);
  const abort = new AbortController();
  const finished = execute(ctx, source, config, run, abort.signal, onProgress).finally(() => ctx.activeRuns.delete(run.runId));
  controls.set(run, { abort, finished });
  return { run: { ...run }, finished };
}

/**
 * Server shutdown: waits until `deadline` (epoch ms) for the runs in progress to finish, then
 * stops the rest, which are recorded as failed with SHUTDOWN_ERROR. A run already publishing is
 * let finish: its report and its outcome are one commit. Resolves once every outcome is recorded.
 */
export async function stopRuns(ctx: InventoryContext, deadline: number): Promise<void> {
  while (ctx.activeRuns.size > 0) {
    const running = [...ctx.activeRuns.values()].flatMap((run) => controls.get(run) ?? []);
    const all = Promise.allSettled(running.map((c) => c.finished));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), Math.max(0, deadline - Date.now()))));
    const outcome = await Promise.race([all, late]);
    clearTimeout(timer);
    if (outcome === "late") {
      for (const c of running) c.abort.abort();
      await all;
    }
  }
}

async function execute(
  ctx: InventoryContext,
  source: BucketRecord,
  config: InventoryConfiguration,
  run: InventoryRun,
  signal: AbortSignal,
  onProgress?: (run: InventoryRun) => void,
): Promise<InventoryRun> {
  let recorded: Promise<unknown> | undefined;
  try {
    if (!config.isEnabled) throw new DeliveryRefused(`inventory configuration ${config.id} is disabled`);
    const snapshotAt = await waitForFreeMinute(ctx, run, signal);
    await checkSourceStands(ctx, source);
    const dest = await checkDestination(ctx, source, config, snapshotAt);
    const encryption = await reportEncryption(ctx, source, config, dest);
    const columns = reportColumns(config.includedObjectVersions, config.optionalFields ?? []);
    // The report's files would go into the reserve released for deletes.
    if (ctx.disk.isFull()) throw new S3Error("InsufficientStorage");
    const { files, summary } = await runWriteStage(
      {
        dataDir: ctx.config.dataDir,
        metadataUrl: ctx.config.metadataUrl,
        bucket: source.name,
        prefix: config.filterPrefix ?? "",
        currentOnly: config.includedObjectVersions === "Current",
        columns: columns.map((c) => c.name),
        format: config.destination.format,
        maxFileBytes: ctx.config.inventoryMaxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
        parallelMinRows: ctx.config.inventoryParallelMinRows,
        snapshotAt: snapshotAt.getTime(),
        seal: encryption?.wrapping,
        lifecycle: await ctx.settings.get<LifecycleConfiguration>(source.name, LIFECYCLE_KIND),
      },
      signal,
      (rows, bytes) => {
        run.rows = rows;
        run.bytes = bytes;
        onProgress?.({ ...run });
      },
    );
    let succeeded: InventoryRun | undefined;
    try {
      if (signal.aborted) throw new RunInterrupted();
      await checkSourceStands(ctx, source);
      await publishReport(ctx, source, config, columns, files, snapshotAt, encryption, (manifestKey) => {
        // The outcome joins the report's own commit: a kill cannot leave a published report whose
        // run says "interrupted by a server restart".
        succeeded = {
          ...run,
          status: "succeeded",
          manifestKey,
          destinationBucket: dest.name,
          rows: files.reduce((n, f) => n + f.rows, 0),
          bytes: files.reduce((n, f) => n + f.size, 0),
          files: files.length,
          finishedAt: ctx.clock.now().toISOString(),
          summary,
        };
        recorded = record(ctx, succeeded);
      });
    } catch (err) {
      await Promise.all(files.map((f) => ctx.blobs.delete(f.blobId)));
      throw err;
    }
    if (!succeeded) throw new Error("the report was published without its outcome");
    Object.assign(run, succeeded);
  } catch (err) {
    run.status = "failed";
    run.error = recordedReason(err);
    ctx.log.warn("inventory run failed", { bucket: run.bucket, id: run.configId, runId: run.runId, error: err instanceof Error ? err.message : String(err) });
  }
  if (run.status !== "succeeded" || recorded === undefined) {
    run.finishedAt = ctx.clock.now().toISOString();
    // A failed run's report was never published: publishing and the succeeded record are one commit.
    recorded = Promise.all([record(ctx, run), releaseReportMinute(ctx, run).catch((err: unknown) => ctx.log.warn("could not release a report minute", { runId: run.runId, error: String(err) }))]);
  }
  await recorded;
  onProgress?.({ ...run });
  ctx.onRunFinished?.({ ...run });
  return { ...run };
}

/**
 * The scan reads the source by name. Bucket ids are never reused, so a source that still has its
 * id after the scan was never deleted while it ran, and the snapshot read was of its own objects,
 * not of a newer bucket of the same name (someone else's).
 */
async function checkSourceStands(ctx: InventoryContext, source: BucketRecord): Promise<void> {
  if (!(await isCurrentBucket(ctx, source))) throw new BucketGoneError(source.name);
}

/** What a failed run records for anything but our own refusals; the detail is in the server log. */
export const INTERNAL_FAILURE_REASON = "the report could not be written because of an internal error";

/**
 * The reason the bucket owner reads (ListBucketInventoryRuns). Our refusals say what to change and
 * are written for them; anything else (a filesystem error, a worker's failure) may name server
 * paths or internals, so it is recorded as a generic reason and logged in full.
 */
function recordedReason(err: unknown): string {
  if (err instanceof DeliveryRefused || err instanceof S3Error || err instanceof BucketGoneError || err instanceof RunInterrupted) return err.message;
  return INTERNAL_FAILURE_REASON;
}

const MINUTE_MS = 60_000;
/**
 * One row per configuration and report minute, added by the run that publishes that minute's
 * report (addBucketConfig: of several runs, on any node, exactly one gets it). Kept ten minutes,
 * longer than any node's clock may lag behind another's, so no late clock claims it again.
 */
export const REPORT_MINUTE_KIND = "inventory-report-minute";
const CLAIM_KEPT_MS = 10 * MINUTE_MS;
const CLAIMED_MINUTE = /^\d{4}-\d\d-\d\dT\d\d:\d\d$/;

/** "config-id/2026-12-05T03:41": the claim of a report minute, from the snapshot's ISO time. */
function minuteClaimId(configId: string, at: string): string {
  return `${configId}/${at.slice(0, "YYYY-MM-DDTHH:MM".length)}`;
}

/**
 * Claims this minute's report for the run; false when another run holds it. The claim is recorded
 * in the run's record too (its snapshotAt), so a restart can release a crashed run's claim.
 */
async function claimReportMinute(ctx: InventoryContext, run: InventoryRun, now: Date): Promise<boolean> {
  const at = now.toISOString();
  if (!(await ctx.metadata.addBucketConfig(run.bucket, REPORT_MINUTE_KIND, minuteClaimId(run.configId, at), JSON.stringify({ runId: run.runId })))) return false;
  run.snapshotAt = at;
  await save(ctx, run);
  await dropOldClaims(ctx, run, now);
  return true;
}

async function dropOldClaims(ctx: InventoryContext, run: InventoryRun, now: Date): Promise<void> {
  const prefix = `${run.configId}/`;
  const cutoff = minuteClaimId(run.configId, new Date(now.getTime() - CLAIM_KEPT_MS).toISOString());
  // A configuration id may hold "/" itself: a row is this configuration's only if a minute follows the prefix.
  const old = (await ctx.metadata.listBucketConfigs(run.bucket, REPORT_MINUTE_KIND, prefix, 100)).filter(
    (c) => c.id.startsWith(prefix) && CLAIMED_MINUTE.test(c.id.slice(prefix.length)) && c.id < cutoff,
  );
  await Promise.all(old.map((c) => ctx.metadata.deleteBucketConfig(run.bucket, REPORT_MINUTE_KIND, c.id)));
}

/** A run that published nothing gives its minute back, so a run retried at once is not held a minute. */
function releaseReportMinute(ctx: InventoryContext, run: InventoryRun): Promise<unknown> {
  if (run.snapshotAt === undefined) return Promise.resolve();
  return ctx.metadata.deleteBucketConfig(run.bucket, REPORT_MINUTE_KIND, minuteClaimId(run.configId, run.snapshotAt));
}

/**
 * S3 names a report by the UTC minute of its snapshot (…/2026-11-25T08-00Z/manifest.json). A
 * second report of one configuration in the same minute would replace the first one's manifest
 * and leave its data files named by nothing, so a run whose minute is taken waits for the next
 * free one (polling the clock, so a test's ManualClock moves it on). Returns the snapshot time.
 * The minute is claimed in the store, so runs on different nodes never share one either.
 */
async function waitForFreeMinute(ctx: InventoryContext, run: InventoryRun, signal: AbortSignal): Promise<Date> {
  for (;;) {
    if (signal.aborted) throw new RunInterrupted();
    const now = ctx.clock.now();
    if (await claimReportMinute(ctx, run, now)) return now;
    const untilNextMinute = MINUTE_MS - (now.getTime() % MINUTE_MS);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.min(1000, untilNextMinute)).unref();
      // A stop wakes the wait at once rather than at the next poll.
      signal.addEventListener("abort", done, { once: true });
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
    });
  }
}

/** The run's final record, and its in-progress marker gone, in one commit. Never rejects (logs). */
function record(ctx: InventoryContext, run: InventoryRun): Promise<unknown> {
  return Promise.all([save(ctx, run), ctx.metadata.deleteBucketConfig(bucketOf(run), ACTIVE_RUN_KIND, run.runId)]).catch((err: unknown) => {
    // The bucket was deleted while its report ran: the run's records went with it, and stay gone.
    if (err instanceof BucketGoneError) ctx.log.info("inventory run outlived its bucket; its record is dropped", { bucket: run.bucket, runId: run.runId });
    else ctx.log.error("could not record an inventory run", { runId: run.runId, error: String(err) });
  });
}
