// The worker thread that runs a report's write stage, so scanning, formatting and compressing a
// large bucket never holds up the server's event loop. It reads the metadata database (SQLite
// under the data directory, or PostgreSQL at job.metadataUrl) on connections of its own and
// writes data files straight into the blob store.
//
// A big report (CSV, ORC or Parquet) is cut in two key ranges, each scanned and formatted by a
// thread of its own (this one and a helper it starts) into data files of its own, listed in key
// order: reading the database and formatting rows is most of a report's work, and one thread
// would leave the second core to compression alone. The two scans must read the very same
// snapshot. On SQLite they are opened one after the other and kept only if no commit came in
// between (PRAGMA data_version), otherwise opened again (a few times, then the report runs on one
// thread). On PostgreSQL the helper's transaction imports the snapshot the leader's exported; an
// engine that refuses either runs the report on one thread. Writers are never held up.
import { readlinkSync } from "node:fs";
import { availableParallelism, setPriority } from "node:os";
import { parentPort, Worker, workerData, type MessagePort } from "node:worker_threads";
import { FileBlobStore } from "../storage/file-blobs.js";
import { threadEntry } from "../thread-entry.js";
import { openVersionScan, splitKeyRange, SqliteMetadataStore, watchCommits } from "../storage/sqlite-metadata.js";
import type { KeyRange } from "../storage/types.js";
import type { ObjectVersionRecord, VersionScan } from "../storage/types.js";
import { canonicalIdFor } from "../auth/accounts.js";
import { INVENTORY_FIELDS } from "./fields.js";
import { REPORT_THREAD_LIMITS } from "./thread-limits.js";
import type { InventoryFormat } from "./config.js";
import { writeDataFiles, type DataFile } from "./write-files.js";
import { csvWriterFactory } from "./writers/csv.js";
import { orcWriterFactory } from "./writers/orc/index.js";
import type { ReportWriterFactory } from "./writers/types.js";
import type { Wrapping } from "../crypto/sse.js";
import type { LifecycleConfiguration } from "../lifecycle/rules.js";
import { lifecycleExpirationReader } from "./lifecycle-column.js";
import { mergeSummaries, SummaryAccumulator, type InventorySummary } from "./summary.js";

export interface WriteJob {
  /** The blob store's directory, and the SQLite database's unless metadataUrl is set. */
  dataDir: string;
  /** A postgres:// URL: the metadata lives in that PostgreSQL database (ServerConfig.metadataUrl). */
  metadataUrl?: string;
  bucket: string;
  prefix: string;
  currentOnly: boolean;
  columns: string[];
  format: InventoryFormat;
  maxFileBytes: number;
  /** The report's snapshot time (epoch ms): the summary's age bands are relative to it. */
  snapshotAt: number;
  /** Top-level prefixes the summary names (default DEFAULT_PREFIX_BOUND in summary.ts). */
  summaryPrefixBound?: number;
  /** Encrypts the data files at rest (the report's encryption); see write-files.ts. */
  seal?: Wrapping;
  /** The source bucket's lifecycle configuration at report time, for the LifecycleExpirationDate column. */
  lifecycle?: LifecycleConfiguration;
  /** Rows from which a report is split across two threads (default PARALLEL_MIN_ROWS; tests lower it). */
  parallelMinRows?: number;
  /**
   * Tests only (SQLite): the helper commits a write to the database each time it opens its scan,
   * so that no attempt at a common snapshot succeeds and the report falls back to one thread.
   */
  commitWhileOpeningForTests?: boolean;
  /**
   * Tests only (PostgreSQL): the helper commits these versions of the job's bucket (whose id is
   * `bucketId`) after the leader exported its snapshot and before importing it, as a concurrent
   * PUT would; the report must not contain them.
   */
  commitBeforeImportForTests?: { bucketId: string; versions: Omit<ObjectVersionRecord, "isLatest">[] };
  /**
   * Tests only (PostgreSQL): the helper is handed a snapshot id that names no snapshot, so its
   * import fails as on an engine without exported snapshots and the report falls back to one thread.
   */
  snapshotImportFailsForTests?: boolean;
}

export type WorkerMessage =
  | { type: "progress"; rows: number; bytes: number }
  | { type: "done"; files: { blobId: string; size: number; md5: string; rows: number }[]; summary: InventorySummary }
  | { type: "failed"; message: string };

/**
 * Formats whose runs are split across two threads. Each thread holds a writer's buffers: CSV a
 * few gzip members, Parquet a row group of rows, ORC about three 8 MiB stripes (one filling, one
 * encoded, one compressed); measured with bench:inventory to stay under the report's memory target.
 */
const PARALLEL_FORMATS: ReadonlySet<InventoryFormat> = new Set(["CSV", "ORC", "Parquet"]);
/** Below this many rows a second thread costs more (its start, the key count) than it saves. */
const PARALLEL_MIN_ROWS = 200_000;

/** A helper's job: the leader's, for the keys from `range.from` on. */
interface HelperJob extends WriteJob {
  helper: true;
  range: KeyRange;
}

/** begun: the helper's scan is open; unshared: it cannot read the leader's snapshot. */
type HelperMessage = { type: "ready" } | { type: "begun" } | { type: "unshared" } | WorkerMessage;
/** begin: open (or reopen) the scan, on the leader's `snapshot` where the engine names one; go: write it; abort: stop. */
type LeaderMessage = { type: "begin"; snapshot?: string } | { type: "go" } | { type: "abort" };

/**
 * What the write stage needs from the metadata engine, on connections of this thread's own: the
 * key split, scans of the job's bucket, and the two halves of a report on one snapshot.
 */
interface ScanEngine {
  /** As splitKeyRange (sqlite-metadata.ts): cut keys for `parts` ranges, none below `minRows` rows. */
  split(parts: number, minRows: number): Promise<string[]>;
  open(range?: KeyRange): Promise<VersionScan>;
  /** Leader: its half, opened so that the helper's can read the same snapshot; undefined if this engine cannot share one. */
  openShared(range: KeyRange): Promise<SharedScan | undefined>;
  /** Helper: its half, on the snapshot the leader's openShared named; undefined if it cannot read it. */
  joinShared(range: KeyRange, snapshot: string | undefined): Promise<VersionScan | undefined>;
  /** Attempts at a common snapshot before the report falls back to one thread. */
  readonly shareAttempts: number;
  close(): Promise<void>;
}

interface SharedScan {
  scan: VersionScan;
  /** For the helper's joinShared (undefined where the engine needs none). */
  snapshot?: string;
  /** Called once, after the helper's half opened: whether both halves read one snapshot. */
  shared(): boolean;
}

const job = workerData as WriteJob | HelperJob;
const port = parentPort!;

function sqliteEngine(j: WriteJob): ScanEngine {
  const { dataDir, bucket, prefix, currentOnly } = j;
  return {
    split: async (parts, minRows) => splitKeyRange(dataDir, bucket, prefix, currentOnly, parts, minRows),
    open: async (range) => openVersionScan(dataDir, bucket, prefix, currentOnly, range),
    // Both halves read one snapshot if no other connection committed while they were opened.
    openShared: async (range) => {
      const commits = watchCommits(dataDir);
      const before = commits.mark();
      let scan: VersionScan;
      try {
        scan = openVersionScan(dataDir, bucket, prefix, currentOnly, range);
      } catch (err) {
        commits.close();
        throw err;
      }
      return {
        scan,
        shared: () => {
          try {
            return commits.mark() === before;
          } finally {
            commits.close();
          }
        },
      };
    },
    joinShared: async (range) => {
      const scan = openVersionScan(dataDir, bucket, prefix, currentOnly, range);
      if (j.commitWhileOpeningForTests) await commitForTests(dataDir);
      return scan;
    },
    shareAttempts: 8,
    close: async () => undefined,
  };
}

/** Loaded only for PostgreSQL: a SQLite report's threads do without the pg module's start-up. */
async function postgresEngine(j: WriteJob, url: string): Promise<ScanEngine> {
  const { PostgresScanConnection } = await import("../storage/postgres-scan.js");
  const db = await PostgresScanConnection.connect(url);
  const { bucket, prefix, currentOnly } = j;
  return {
    split: (parts, minRows) => db.splitKeyRange(bucket, prefix, currentOnly, parts, minRows),
    open: (range) => db.openScan(bucket, prefix, currentOnly, range),
    // The helper imports the very snapshot the leader exported: nothing to check afterwards.
    openShared: async (range) => {
      const opened = await db.openExportingScan(bucket, prefix, currentOnly, range);
      return opened && { scan: opened.scan, snapshot: opened.snapshot, shared: () => true };
    },
    joinShared: async (range, snapshot) => {
      if (j.commitBeforeImportForTests) await commitVersionsForTests(url, j.bucket, j.commitBeforeImportForTests);
      // Well formed, but exported by no transaction.
      const id = j.snapshotImportFailsForTests ? "0000FFFF-0000FFFF-1" : snapshot;
      return id === undefined ? undefined : db.openImportingScan(bucket, prefix, currentOnly, range, id);
    },
    // An import that failed fails again: there is no race to retry.
    shareAttempts: 1,
    close: () => db.close(),
  };
}

function openEngine(j: WriteJob): Promise<ScanEngine> {
  return j.metadataUrl === undefined ? Promise.resolve(sqliteEngine(j)) : postgresEngine(j, j.metadataUrl);
}

function progressReporter(send: (rows: number, bytes: number) => void): (rows: number, bytes: number) => void {
  let lastReport = 0;
  return (rows, bytes) => {
    const now = Date.now();
    if (now - lastReport < 250) return;
    lastReport = now;
    send(rows, bytes);
  };
}

/** Niceness of the report's threads: request handling (niceness 0) goes first whenever it has work. */
const REPORT_NICENESS = 10;

/**
 * Lowers this thread's scheduling priority (Linux: setpriority on the thread's own id, which
 * /proc/thread-self names; it affects this thread alone). Elsewhere, or if refused, nothing changes.
 */
function lowerThreadPriority(): void {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, REPORT_NICENESS);
  } catch {
    // Not Linux, or not allowed: run at normal priority.
  }
}

/**
 * A run split across threads keeps every core busy itself: its CSV members and ORC stripes
 * compress on the thread that formats them (see csvWriterFactory, OrcWriterOptions.inline).
 * Parquet compresses on its own thread anyway.
 */
const INLINE_WRITERS: Partial<Record<InventoryFormat, ReportWriterFactory>> = {
  CSV: csvWriterFactory({ inline: true }),
  ORC: orcWriterFactory({ inline: true }),
};

/** What one thread wrote: its data files, and the (partial, for a split report) summary of their rows. */
interface Written {
  files: DataFile[];
  summary: InventorySummary;
}

async function write(scan: VersionScan, blobs: FileBlobStore, onProgress: (rows: number, bytes: number) => void, signal?: AbortSignal, writerFactory?: ReportWriterFactory): Promise<Written> {
  const summary = new SummaryAccumulator(job.snapshotAt, job.summaryPrefixBound);
  const files = await writeDataFiles({
    writerFactory,
    scan,
    blobs,
    columns: job.columns.map((name) => INVENTORY_FIELDS.find((f) => f.name === name)!),
    format: job.format,
    projection: { bucket: job.bucket, canonicalId: canonicalIdFor, lifecycleExpiration: lifecycleExpirationReader(job.lifecycle) },
    maxFileBytes: job.maxFileBytes,
    seal: job.seal,
    onProgress: (p) => onProgress(p.rows, p.bytes),
    signal,
    summary,
  });
  return { files, summary: summary.summary() };
}

async function helperMain(h: HelperJob, leader: MessagePort): Promise<void> {
  const blobs = await FileBlobStore.open(h.dataDir);
  const engine = await openEngine(h);
  try {
    const abort = new AbortController();
    let scan: VersionScan | undefined;
    let go: () => void;
    const started = new Promise<void>((resolve) => (go = resolve));
    leader.on("message", (m: LeaderMessage) => {
      if (m.type === "begin") {
        // A failure here ends the thread with an error, which fails the report (run.ts).
        void (async () => {
          await scan?.close();
          scan = await engine.joinShared(h.range, m.snapshot);
          leader.postMessage({ type: scan === undefined ? "unshared" : "begun" } satisfies HelperMessage);
        })();
      } else if (m.type === "go") go();
      else {
        abort.abort(new Error("the report was stopped"));
        go();
      }
    });
    leader.postMessage({ type: "ready" } satisfies HelperMessage);
    await started;
    if (abort.signal.aborted || scan === undefined) {
      await scan?.close();
      leader.close();
      return;
    }
    const { files, summary } = await write(scan, blobs, progressReporter((rows, bytes) => leader.postMessage({ type: "progress", rows, bytes } satisfies HelperMessage)), abort.signal, INLINE_WRITERS[h.format]);
    leader.postMessage({ type: "done", files, summary } satisfies HelperMessage);
    leader.close();
  } finally {
    await engine.close();
  }
}

/** A real commit by another connection (a setting nothing reads), as a concurrent PUT would make. */
async function commitForTests(dataDir: string): Promise<void> {
  const store = SqliteMetadataStore.open(dataDir);
  try {
    await store.putSetting("write-worker.test-commit", String(Date.now()));
  } finally {
    await store.close();
  }
}

/** A real commit of versions by another connection, as a concurrent PUT would make. */
async function commitVersionsForTests(url: string, bucket: string, commit: NonNullable<WriteJob["commitBeforeImportForTests"]>): Promise<void> {
  const { PostgresMetadataStore } = await import("../storage/postgres-metadata.js");
  const store = await PostgresMetadataStore.open(url, { maxConnections: 1 });
  try {
    await store.putVersions({ name: bucket, id: commit.bucketId }, commit.versions);
  } finally {
    await store.close();
  }
}

/** Starts the helper for keys from `from` on and resolves once it is loaded and waiting for "begin". */
async function startHelper(from: string): Promise<{ worker: Worker; next: () => Promise<HelperMessage> }> {
  const worker = new Worker(threadEntry(import.meta.url), { workerData: { ...job, helper: true, range: { from } } satisfies HelperJob, resourceLimits: REPORT_THREAD_LIMITS });
  const queue: HelperMessage[] = [];
  let wake: (() => void) | undefined;
  let ended: Error | undefined;
  worker.on("message", (m: HelperMessage) => {
    queue.push(m);
    wake?.();
  });
  const stop = (err: Error) => {
    ended ??= err;
    wake?.();
  };
  worker.on("error", stop);
  worker.on("exit", (code) => stop(new Error(`the report's helper thread stopped (exit code ${code})`)));
  const next = async (): Promise<HelperMessage> => {
    for (;;) {
      const m = queue.shift();
      if (m !== undefined) return m;
      if (ended !== undefined) throw ended;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  };
  const first = await next();
  if (first.type === "failed") throw new Error(first.message);
  if (first.type !== "ready") throw new Error(`unexpected message from the helper thread: ${first.type}`);
  return { worker, next };
}

async function leaderMain(): Promise<Written> {
  const blobs = await FileBlobStore.open(job.dataDir);
  const engine = await openEngine(job);
  try {
    const parts = await leaderWrite(engine, blobs);
    // One part or two: each thread's summary is partial (see SummaryAccumulator.summary) until merged.
    return { files: parts.flatMap((p) => p.files), summary: mergeSummaries(parts.map((p) => p.summary)) };
  } finally {
    await engine.close();
  }
}

/** What each thread wrote, in key order. */
async function leaderWrite(engine: ScanEngine, blobs: FileBlobStore): Promise<Written[]> {
  let rowsA = 0;
  let bytesA = 0;
  let rowsB = 0;
  let bytesB = 0;
  const report = progressReporter(() => port.postMessage({ type: "progress", rows: rowsA + rowsB, bytes: bytesA + bytesB } satisfies WorkerMessage));
  const onA = (rows: number, bytes: number) => {
    rowsA = rows;
    bytesA = bytes;
    report(0, 0);
  };

  const cuts = PARALLEL_FORMATS.has(job.format) && availableParallelism() >= 2 ? await engine.split(2, job.parallelMinRows ?? PARALLEL_MIN_ROWS) : [];
  if (cuts.length === 0) return [await write(await engine.open(), blobs, onA)];

  const helper = await startHelper(cuts[0]!);
  let scan: VersionScan | undefined;
  try {
    for (let attempt = 0; attempt < engine.shareAttempts && scan === undefined; attempt++) {
      const mine = await engine.openShared({ to: cuts[0] });
      if (mine === undefined) break;
      helper.worker.postMessage({ type: "begin", snapshot: mine.snapshot } satisfies LeaderMessage);
      const m = await helper.next();
      if (m.type === "failed") throw new Error(m.message);
      if (m.type !== "begun" && m.type !== "unshared") throw new Error(`unexpected message from the helper thread: ${m.type}`);
      const same = mine.shared();
      if (same && m.type === "begun") scan = mine.scan;
      else await mine.scan.close();
      if (m.type === "unshared") break;
    }
  } catch (err) {
    await helper.worker.terminate();
    throw err;
  }
  if (scan === undefined) {
    // Writes kept landing between the two openings, or the engine cannot share a snapshot
    // between connections: one thread, one snapshot.
    helper.worker.postMessage({ type: "abort" } satisfies LeaderMessage);
    await helper.worker.terminate();
    return [await write(await engine.open(), blobs, onA)];
  }
  helper.worker.postMessage({ type: "go" } satisfies LeaderMessage);

  const abort = new AbortController();
  const helperFiles = (async (): Promise<Written> => {
    for (;;) {
      const m = await helper.next();
      if (m.type === "progress") {
        rowsB = m.rows;
        bytesB = m.bytes;
        report(0, 0);
      } else if (m.type === "done") return { files: m.files, summary: m.summary };
      else if (m.type === "failed") throw new Error(m.message);
    }
  })();
  // A failed helper stops this half too (its own files it has removed already).
  helperFiles.catch(() => abort.abort(new Error("the report's helper thread failed")));
  const own = write(scan, blobs, onA, abort.signal, INLINE_WRITERS[job.format]).catch((err: unknown) => {
    helper.worker.postMessage({ type: "abort" } satisfies LeaderMessage);
    throw err;
  });
  const [mine, theirs] = await Promise.allSettled([own, helperFiles]);
  if (mine.status === "fulfilled" && theirs.status === "fulfilled") return [mine.value, theirs.value];
  if (mine.status === "fulfilled") await Promise.all(mine.value.files.map((f) => blobs.delete(f.blobId)));
  if (theirs.status === "fulfilled") await Promise.all(theirs.value.files.map((f) => blobs.delete(f.blobId)));
  throw theirs.status === "rejected" ? theirs.reason : (mine as PromiseRejectedResult).reason;
}

lowerThreadPriority();
if ("helper" in job) {
  try {
    await helperMain(job, port);
  } catch (err) {
    port.postMessage({ type: "failed", message: err instanceof Error ? err.message : String(err) } satisfies HelperMessage);
  }
} else {
  try {
    const { files, summary } = await leaderMain();
    port.postMessage({ type: "done", files, summary } satisfies WorkerMessage);
  } catch (err) {
    port.postMessage({ type: "failed", message: err instanceof Error ? err.message : String(err) } satisfies WorkerMessage);
  }
}
