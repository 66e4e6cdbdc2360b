// The worker thread that runs a report's write stage, so scanning, formatting and compressing a
// large bucket never holds up the server's event loop. It reads the database on its own
// read-only connection and writes data files straight into the blob store.
//
// A big report (CSV, ORC or Parquet) is cut in two key ranges, each scanned and formatted by a
// thread of its own (this one and a helper it starts) into data files of its own, listed in key
// order: reading SQLite and formatting rows is most of a report's work, and one thread would
// leave the second core to compression alone. The two scans must read the very same snapshot:
// they are opened one after the other and kept only if no commit came in between (PRAGMA
// data_version), otherwise opened again (a few times, then the report runs on one thread).
// Writers are never held up.
import { readlinkSync } from "node:fs";
import { availableParallelism, setPriority } from "node:os";
import { parentPort, Worker, workerData, type MessagePort } from "node:worker_threads";
import { FileBlobStore } from "../storage/file-blobs.js";
import { openVersionScan, splitKeyRange, SqliteMetadataStore, watchCommits, type KeyRange } from "../storage/sqlite-metadata.js";
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

export interface WriteJob {
  dataDir: string;
  bucket: string;
  prefix: string;
  currentOnly: boolean;
  columns: string[];
  format: InventoryFormat;
  maxFileBytes: number;
  /** Encrypts the data files at rest (the report's encryption); see write-files.ts. */
  seal?: Wrapping;
  /** The source bucket's lifecycle configuration at report time, for the LifecycleExpirationDate column. */
  lifecycle?: LifecycleConfiguration;
  /** Rows from which a report is split across two threads (default PARALLEL_MIN_ROWS; tests lower it). */
  parallelMinRows?: number;
  /**
   * Tests only: the helper commits a write to the database each time it opens its scan, so that
   * no attempt at a common snapshot succeeds and the report falls back to one thread.
   */
  commitWhileOpeningForTests?: boolean;
}

export type WorkerMessage =
  | { type: "progress"; rows: number; bytes: number }
  | { type: "done"; files: { blobId: string; size: number; md5: string; rows: number }[] }
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

type HelperMessage = { type: "ready" } | { type: "begun" } | WorkerMessage;
/** begin: open (or reopen) the scan; go: write it; abort: stop. */
type LeaderMessage = { type: "begin" } | { type: "go" } | { type: "abort" };
/** Attempts at opening both scans between two commits before the report falls back to one thread. */
const SNAPSHOT_ATTEMPTS = 8;

const job = workerData as WriteJob | HelperJob;
const port = parentPort!;

/** This module as a worker entry; under tsx (tests) a bootstrap registers the loader first, as run.ts does. */
function selfEntry(): URL {
  if (!import.meta.url.endsWith(".ts")) return new URL(import.meta.url);
  const tsx = import.meta.resolve("tsx/esm/api");
  const bootstrap = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(import.meta.url)});`;
  return new URL("data:text/javascript," + encodeURIComponent(bootstrap));
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

function write(scan: ReturnType<typeof openVersionScan>, blobs: FileBlobStore, onProgress: (rows: number, bytes: number) => void, signal?: AbortSignal, writerFactory?: ReportWriterFactory): Promise<DataFile[]> {
  return writeDataFiles({
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
  });
}

async function helperMain(h: HelperJob, leader: MessagePort): Promise<void> {
  const blobs = await FileBlobStore.open(h.dataDir);
  const abort = new AbortController();
  let scan: ReturnType<typeof openVersionScan> | undefined;
  let go: () => void;
  const started = new Promise<void>((resolve) => (go = resolve));
  leader.on("message", (m: LeaderMessage) => {
    if (m.type === "begin") {
      // A failure here ends the thread with an error, which fails the report (run.ts).
      void (async () => {
        await scan?.close();
        scan = openVersionScan(h.dataDir, h.bucket, h.prefix, h.currentOnly, h.range);
        if (h.commitWhileOpeningForTests) await commitForTests(h.dataDir);
        leader.postMessage({ type: "begun" } satisfies HelperMessage);
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
  const files = await write(scan, blobs, progressReporter((rows, bytes) => leader.postMessage({ type: "progress", rows, bytes } satisfies HelperMessage)), abort.signal, INLINE_WRITERS[h.format]);
  leader.postMessage({ type: "done", files } satisfies HelperMessage);
  leader.close();
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

/** Starts the helper for keys from `from` on and resolves once it is loaded and waiting for "begin". */
async function startHelper(from: string): Promise<{ worker: Worker; next: () => Promise<HelperMessage> }> {
  const worker = new Worker(selfEntry(), { workerData: { ...job, helper: true, range: { from } } satisfies HelperJob, resourceLimits: REPORT_THREAD_LIMITS });
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

async function leaderMain(): Promise<DataFile[]> {
  const blobs = await FileBlobStore.open(job.dataDir);
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

  const cuts = PARALLEL_FORMATS.has(job.format) && availableParallelism() >= 2 ? splitKeyRange(job.dataDir, job.bucket, job.prefix, job.currentOnly, 2, job.parallelMinRows ?? PARALLEL_MIN_ROWS) : [];
  if (cuts.length === 0) return write(openVersionScan(job.dataDir, job.bucket, job.prefix, job.currentOnly), blobs, onA);

  const helper = await startHelper(cuts[0]!);
  let scan: ReturnType<typeof openVersionScan> | undefined;
  const commits = watchCommits(job.dataDir);
  try {
    for (let attempt = 0; attempt < SNAPSHOT_ATTEMPTS && scan === undefined; attempt++) {
      const before = commits.mark();
      const mine = openVersionScan(job.dataDir, job.bucket, job.prefix, job.currentOnly, { to: cuts[0] });
      helper.worker.postMessage({ type: "begin" } satisfies LeaderMessage);
      const m = await helper.next();
      if (m.type === "failed") throw new Error(m.message);
      if (m.type !== "begun") throw new Error(`unexpected message from the helper thread: ${m.type}`);
      if (commits.mark() === before) scan = mine;
      else await mine.close();
    }
  } catch (err) {
    await helper.worker.terminate();
    throw err;
  } finally {
    commits.close();
  }
  if (scan === undefined) {
    // Writes kept landing between the two openings: one thread, one snapshot.
    helper.worker.postMessage({ type: "abort" } satisfies LeaderMessage);
    await helper.worker.terminate();
    return write(openVersionScan(job.dataDir, job.bucket, job.prefix, job.currentOnly), blobs, onA);
  }
  helper.worker.postMessage({ type: "go" } satisfies LeaderMessage);

  const abort = new AbortController();
  const helperFiles = (async (): Promise<DataFile[]> => {
    for (;;) {
      const m = await helper.next();
      if (m.type === "progress") {
        rowsB = m.rows;
        bytesB = m.bytes;
        report(0, 0);
      } else if (m.type === "done") return m.files;
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
  if (mine.status === "fulfilled" && theirs.status === "fulfilled") return [...mine.value, ...theirs.value];
  if (mine.status === "fulfilled") await Promise.all(mine.value.map((f) => blobs.delete(f.blobId)));
  if (theirs.status === "fulfilled") await Promise.all(theirs.value.map((f) => blobs.delete(f.blobId)));
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
    const files = await leaderMain();
    port.postMessage({ type: "done", files } satisfies WorkerMessage);
  } catch (err) {
    port.postMessage({ type: "failed", message: err instanceof Error ? err.message : String(err) } satisfies WorkerMessage);
  }
}
