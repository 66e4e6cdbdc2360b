// The thread the tables' data files are decoded and encoded in: the live inventory table's shard
// rewrites (rewriteShard), the maintenance's merges (mergeFiles) and the backfill's new shards
// (GatheredShard). A shard is 100,000 rows, and reading and writing it on the server's thread held
// requests up for tens of milliseconds at a time, a second or so per shard in all. One thread,
// started at the first task and ended after a while without work, takes the rewrites and merges
// one at a time, and a gathered shard's pages as they come; the server's thread reads and stores
// bytes.
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { mergeFiles, rewriteShard, ShardWriter, type DataFileFormat, type EncodedDataFile, type FilesMerge, type ShardRewrite } from "./shard-rewrite.js";
import type { IcebergRow } from "./parquet-table.js";
import { threadEntry } from "../thread-entry.js";

type Task =
  | { kind: "rewrite"; job: ShardRewrite }
  | { kind: "merge"; job: FilesMerge }
  | { kind: "gather"; shard: number; rows: IcebergRow[]; format?: DataFileFormat }
  | { kind: "encode-gathered"; shard: number; rows: number }
  | { kind: "drop-gathered"; shard: number };
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
/** Shards being gathered: their rows are the thread's alone, so it must not end for idleness meanwhile. */
let gathering = 0;
let nextShard = 0;

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
    if (pending.size === 0 && gathering === 0 && thread === worker) {
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
  const sent: Task =
    task.kind === "rewrite" ? { kind: "rewrite", job: { ...task.job, file: task.job.file && copy(task.job.file) } } : task.kind === "merge" ? { kind: "merge", job: { ...task.job, files: task.job.files.map(copy) } } : task;
  const files = sent.kind === "rewrite" ? (sent.job.file ? [sent.job.file] : []) : sent.kind === "merge" ? sent.job.files : [];
  const transfer = files.map((f) => f.bytes.buffer as ArrayBuffer);
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

/**
 * A new shard's rows sent to the shard thread as they are made, a page at a time, and written
 * there as they come (ShardWriter). The whole shard in one message would hold the server's thread
 * for a third of a second while it is copied; a page of 1,000 rows takes some 3 ms. A thread that
 * ends meanwhile takes the shard with it: the next page or the encoding finds it gone, and fails
 * rather than write a short file.
 */
export class GatheredShard {
  private readonly shard = nextShard++;
  private sent = 0;
  private open = true;
  /** The last page sent, until the thread has it. */
  private inFlight: Promise<unknown> = Promise.resolve();

  constructor(private readonly format: DataFileFormat) {
    gathering++;
  }

  get rows(): number {
    return this.sent;
  }

  /**
   * Sends a page, and resolves once the page before it is written: one page is in flight while
   * the caller makes the next, and no more (a page's failure is told by the next add or encode).
   */
  async add(rows: IcebergRow[]): Promise<void> {
    if (!this.open) throw new Error("the gathered shard was already encoded or dropped");
    const before = this.inFlight;
    const page = apart({ kind: "gather", shard: this.shard, rows, format: this.sent === 0 ? this.format : undefined });
    this.sent += rows.length;
    // Awaited by the next add or the encoding; until then a failure must not count as unhandled.
    page.catch(() => undefined);
    this.inFlight = page;
    await before;
  }

  /** The rows, each key's versions in a shard's order, as one data file. */
  async encode(): Promise<EncodedDataFile> {
    this.close();
    try {
      await this.inFlight;
    } catch (err) {
      await this.forget();
      throw err;
    }
    if (this.sent === 0) throw new RangeError("a data file needs at least one row");
    const { files } = await apart({ kind: "encode-gathered", shard: this.shard, rows: this.sent });
    return files[0]!;
  }

  /** Lets the thread forget the shard (a stopped or failed backfill). */
  async drop(): Promise<void> {
    if (!this.open) return;
    this.close();
    await this.inFlight.catch(() => undefined);
    await this.forget();
  }

  private async forget(): Promise<void> {
    if (thread && this.sent > 0) await apart({ kind: "drop-gathered", shard: this.shard });
  }

  private close(): void {
    if (!this.open) return;
    this.open = false;
    gathering--;
  }
}

if (!isMainThread && (workerData as { shardWorker?: boolean } | undefined)?.shardWorker) {
  // One rewrite or merge at a time, whatever number of tables ask at once: a decoded shard is the
  // thread's memory.
  let queue = Promise.resolve();
  // Shards being written as their rows come, each with its pages taken one after another.
  const gathered = new Map<number, { writer: ShardWriter; taken: Promise<void> }>();
  const lost = (shard: number) => new Error(`gathered shard ${shard} is gone: the shard thread ended while it was sent`);
  const run = async (task: Task): Promise<Done> => {
    switch (task.kind) {
      case "rewrite":
        return { files: await rewriteShard(task.job), dropped: 0 };
      case "merge":
        return mergeFiles(task.job);
      case "gather": {
        let g = gathered.get(task.shard);
        if (!g) {
          if (!task.format) throw lost(task.shard);
          gathered.set(task.shard, (g = { writer: new ShardWriter(task.format), taken: Promise.resolve() }));
        }
        const { writer } = g;
        await (g.taken = g.taken.then(() => writer.add(task.rows)));
        return { files: [], dropped: 0 };
      }
      case "encode-gathered": {
        const g = gathered.get(task.shard);
        gathered.delete(task.shard);
        if (!g) throw lost(task.shard);
        await g.taken;
        if (g.writer.rows !== task.rows) throw new Error(`gathered shard ${task.shard} holds ${g.writer.rows} rows of the ${task.rows} sent`);
        return { files: [await g.writer.finish()], dropped: 0 };
      }
      case "drop-gathered":
        gathered.delete(task.shard);
        return { files: [], dropped: 0 };
    }
  };
  const answer = (id: number, task: Task): Promise<void> =>
    run(task).then(
      ({ files, dropped }) => {
        const sent = files.map((f) => ({ bytes: new Uint8Array(f.bytes), metrics: f.metrics }));
        parentPort!.postMessage({ id, files: sent, dropped } satisfies Answer, sent.map((f) => f.bytes.buffer as ArrayBuffer));
      },
      (err: unknown) => parentPort!.postMessage({ id, error: err instanceof Error ? err.message : String(err) } satisfies Answer),
    );
  parentPort!.on("message", ({ id, task }: Job) => {
    // A gathered shard's pages are written as they come, beside a rewrite in hand: they hold a
    // page and a row group, not a decoded shard.
    if (task.kind === "rewrite" || task.kind === "merge") queue = queue.then(() => answer(id, task));
    else void answer(id, task);
  });
}
