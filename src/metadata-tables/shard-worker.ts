// The thread the tables' data files are decoded and encoded in: the live inventory table's shard
// rewrites (rewriteShard) and the maintenance's merges (mergeFiles). A shard is 100,000 rows, and
// reading and writing it on the server's thread held requests up for tens of milliseconds at a
// time, a second or so per shard in all. One thread, started at the first task and ended after a
// while without work, takes the tasks one at a time; the server's thread reads and stores bytes.
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { mergeFiles, rewriteShard, type EncodedDataFile, type FilesMerge, type ShardRewrite } from "./shard-rewrite.js";
import { threadEntry } from "../thread-entry.js";

type Task = { kind: "rewrite"; job: ShardRewrite } | { kind: "merge"; job: FilesMerge };
interface Job {
  id: number;
  task: Task;
}
interface Done {
  files: EncodedDataFile[];
  dropped: number;
}
type Answer = ({ id: number } & Done) | { id: number; error: string };

/**
 * A shard's rows, decoded, are some 1.5 KB each, so a 100,000-row shard takes about 150 MB. A key's
 * versions are never split between shards, so one key of a million versions makes a shard that
 * big: the limit is the main thread's usual one, so that the thread fails no shard the server's
 * thread would have read (a thread past it ends, and the pass fails, not the server).
 */
const SHARD_THREAD_LIMITS = { maxYoungGenerationSizeMb: 32, maxOldGenerationSizeMb: 2048 };
/** How long the thread waits for the next task before it ends (a setting, so tests can shorten it). */
export const shardThread = { idleMs: 30_000 };

let thread: Worker | undefined;
let nextId = 0;
const pending = new Map<number, { resolve: (done: Done) => void; reject: (err: Error) => void }>();
let idle: ReturnType<typeof setTimeout> | undefined;

function failAll(err: Error): void {
  for (const p of pending.values()) p.reject(err);
  pending.clear();
}

function started(): Worker {
  if (thread) return thread;
  const worker = new Worker(threadEntry(import.meta.url), { workerData: { shardWorker: true }, resourceLimits: SHARD_THREAD_LIMITS });
  worker.on("message", (answer: Answer) => {
    const p = pending.get(answer.id);
    if (!p) return;
    pending.delete(answer.id);
    if ("error" in answer) p.reject(new Error(answer.error));
    else p.resolve({ dropped: answer.dropped, files: answer.files.map((f) => ({ bytes: f.bytes, metrics: { ...f.metrics, lowerBounds: buffers(f.metrics.lowerBounds), upperBounds: buffers(f.metrics.upperBounds) } })) });
    if (pending.size === 0) rest(worker);
  });
  // Only the current thread's end fails what is pending: a thread ended for idleness may finish
  // exiting after the next task has started a new one.
  worker.on("error", (err) => {
    if (thread !== worker) return;
    thread = undefined;
    failAll(err);
  });
  worker.on("exit", (code) => {
    if (thread !== worker) return;
    thread = undefined;
    failAll(new Error(`the shard thread ended (exit code ${code})`));
  });
  thread = worker;
  return worker;
}

/** Bounds cross the thread as plain byte arrays; the manifest writer takes Buffers. */
function buffers(bounds: Map<number, Uint8Array>): Map<number, Buffer> {
  return new Map([...bounds].map(([id, b]) => [id, Buffer.from(b.buffer, b.byteOffset, b.byteLength)]));
}

/** With nothing in flight the thread holds no one up: it ends after shardThread.idleMs, or with the process. */
function rest(worker: Worker): void {
  worker.unref();
  clearTimeout(idle);
  idle = setTimeout(() => {
    if (pending.size === 0 && thread === worker) {
      thread = undefined;
      void worker.terminate();
    }
  }, shardThread.idleMs).unref();
}

/**
 * Hands a task to the thread. Copies of the files' bytes move there: an original may share its
 * memory with other buffers (Node's pool), which a transfer would take from under them.
 */
function apart(task: Task): Promise<Done> {
  const worker = started();
  clearTimeout(idle);
  worker.ref();
  const id = nextId++;
  const copy = (f: NonNullable<ShardRewrite["file"]>) => ({ ...f, bytes: new Uint8Array(f.bytes) });
  const sent: Task = task.kind === "rewrite" ? { kind: "rewrite", job: { ...task.job, file: task.job.file && copy(task.job.file) } } : { kind: "merge", job: { ...task.job, files: task.job.files.map(copy) } };
  const transfer = (sent.kind === "rewrite" ? (sent.job.file ? [sent.job.file] : []) : sent.job.files).map((f) => f.bytes.buffer as ArrayBuffer);
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, task: sent } satisfies Job, transfer);
  });
}

/** Rewrites a live inventory shard (rewriteShard) in the shard thread. */
export async function rewriteShardApart(job: ShardRewrite): Promise<EncodedDataFile[]> {
  return (await apart({ kind: "rewrite", job })).files;
}

/** Merges data files (mergeFiles) in the shard thread. */
export function mergeFilesApart(job: FilesMerge): Promise<Done> {
  return apart({ kind: "merge", job });
}

if (!isMainThread && (workerData as { shardWorker?: boolean } | undefined)?.shardWorker) {
  // One shard at a time, whatever number of tables ask at once: a decoded shard is the thread's memory.
  let queue = Promise.resolve();
  const run = (task: Task): Promise<Done> => (task.kind === "rewrite" ? rewriteShard(task.job).then((files) => ({ files, dropped: 0 })) : mergeFiles(task.job));
  parentPort!.on("message", ({ id, task }: Job) => {
    queue = queue.then(() =>
      run(task).then(
        ({ files, dropped }) => {
          const sent = files.map((f) => ({ bytes: new Uint8Array(f.bytes), metrics: f.metrics }));
          parentPort!.postMessage({ id, files: sent, dropped } satisfies Answer, sent.map((f) => f.bytes.buffer as ArrayBuffer));
        },
        (err: unknown) => parentPort!.postMessage({ id, error: err instanceof Error ? err.message : String(err) } satisfies Answer),
      ),
    );
  });
}
