// `npm run bench:metadata`: S3 Metadata (docs/metadata-tables.md), the two figures issue 20 asks for.
//   1. Journal overhead on PUT throughput (target: within 10%). One server, two buckets: one plain,
//      one with a metadata configuration (journal only). The same load of 1 KiB PUTs at a fixed
//      concurrency goes to each, in rounds, each round in the opposite order, from a load thread of
//      this process (a worker thread, so the load does not share the server's event loop). Then one
//      engine pass commits the journal rows the PUTs logged, timed.
//   2. Backfill rows/s. A versioned bucket seeded with --versions versions (1,000,000) straight
//      through the storage layer (bench/inventory-data.ts), then a configuration with the inventory
//      table ENABLED made through the S3 API and the engine's first pass, which backfills, timed, with
//      the process's RSS; then changes through S3 spread over the bucket and clustered in one place,
//      and the upkeep pass that applies each batch, timed, with the data files it rewrote.
// The server runs in this process (src/server/index.ts startServer) on 127.0.0.1, port 0, with a
// fresh data directory and the engine's timers an hour apart, so the bench drives every pass itself
// (server.metadataTables.runOnce). Progress on stderr; a table and one JSON line on stdout. The exit
// code is 1 when a request or a pass failed or a pass's row count is not the one expected.
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import type { RunningServer } from "../src/server/index.js";
import type { MetadataTablesPass } from "../src/metadata-tables/engine.js";
import { runLoad, type LoadResult } from "./load.js";
import { BenchS3Client, encodeKeyPath } from "./sigv4-client.js";
import { fixed, int, journalOverhead, median, metadataConfigurationXml, mib, parseListing, planChanges, textTable, versioningXml, type ListedObject } from "./metadata-tables-data.js";

const ACCOUNT = "123456789012";
const ACCESS = "METADATABENCHKEY0001";
const SECRET = "metadata/bench/secret/key/00000000000000";
const REGION = "us-east-1";
const PLAIN = "plain";
const JOURNALED = "journaled";
const BACKFILL = "backfill";
const HOUR = 3_600_000;
/** The engine's Parquet data files of an inventory table are under here in the managed table bucket. */
const TABLE_BUCKET = `aws-s3-${ACCOUNT}`;
const OBJECT_BYTES = 1024;
const TARGET_OVERHEAD_PERCENT = 10;
/** USER_HZ: /proc/<pid>/stat counts CPU time in these. */
const TICK_US = 10_000;

// ---------------------------------------------------------------------------------------------------------------
// The load thread: PUTs of 1 KiB to `<bucket>/<prefix>/<i>` with our SigV4 client (undici Pool,
// keep-alive), closed loop, `concurrency` in flight. Answers each job with runLoad's result and the
// CPU time this thread used, so the main thread can tell the server's CPU from the load's.

interface LoadThreadData {
  endpoint: string;
  concurrency: number;
}
interface LoadJob {
  bucket: string;
  prefix: string;
  count: number;
}
type LoadAnswer = (LoadResult & { cpuTicks: number | undefined }) | { error: string };

/** utime + stime of the calling thread, in clock ticks (/proc/thread-self/stat fields 14 and 15). */
function threadCpuTicks(): number | undefined {
  try {
    const fields = readFileSync("/proc/thread-self/stat", "utf8").split(") ")[1]!.split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

function loadThread(): void {
  const d = workerData as LoadThreadData;
  const client = new BenchS3Client({ endpoint: d.endpoint, accessKey: ACCESS, secretKey: SECRET, region: REGION, connections: d.concurrency });
  const body = randomBytes(OBJECT_BYTES);
  parentPort!.on("message", (job: LoadJob) => {
    const before = threadCpuTicks();
    runLoad({
      concurrency: d.concurrency,
      count: job.count,
      op: async (i) => (await client.request("PUT", `/${job.bucket}/${encodeKeyPath(`${job.prefix}/${i}`)}`, [], body)).status === 200,
    }).then(
      (r) => {
        const after = threadCpuTicks();
        parentPort!.postMessage({ ...r, cpuTicks: before === undefined || after === undefined ? undefined : after - before } satisfies LoadAnswer);
      },
      (err: unknown) => parentPort!.postMessage({ error: String(err) } satisfies LoadAnswer),
    );
  });
}

/** The load thread, seen from the main thread: one job at a time. */
class LoadThread {
  private readonly worker: Worker;
  constructor(data: LoadThreadData) {
    // Under `node --import tsx` a worker does not get the TypeScript loader by itself: it registers
    // it, then imports this file, which sees it is not the main thread.
    const tsx = import.meta.resolve("tsx/esm/api");
    const code = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(import.meta.url)}); })`;
    this.worker = new Worker(code, { eval: true, workerData: data });
    this.worker.unref();
  }
  run(job: LoadJob): Promise<LoadResult & { cpuTicks: number | undefined }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.worker.once("error", onError);
      this.worker.once("message", (answer: LoadAnswer) => {
        this.worker.off("error", onError);
        if ("error" in answer) reject(new Error(`PUT load on ${job.bucket}: ${answer.error}`));
        else resolve(answer);
      });
      this.worker.postMessage(job);
    });
  }
  private stopped = false;
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.worker.terminate();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The main thread.

const note = (msg: string): void => void process.stderr.write(`${msg}\n`);

function flagsOf() {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean" },
      versions: { type: "string" },
      puts: { type: "string" },
      rounds: { type: "string" },
      concurrency: { type: "string" },
      changes: { type: "string" },
      only: { type: "string" },
      "data-dir": { type: "string" },
      metadata: { type: "string" },
    },
    strict: true,
  });
  const quick = values.quick === true || process.env.BENCH_QUICK === "1";
  const count = (v: string | undefined, fallback: number, min = 0): number => {
    const n = v === undefined ? fallback : Number(v.replace(/_/g, ""));
    if (!Number.isInteger(n) || n < min) throw new Error(`expected a whole number of at least ${min}, got ${v}`);
    return n;
  };
  const only = values.only ?? "both";
  if (!["both", "put", "backfill"].includes(only)) throw new Error(`--only takes put or backfill, not ${only}`);
  // The backfill's bucket is seeded through the embedded store's files, which PostgreSQL has not.
  if (values.metadata !== undefined && only !== "put") throw new Error("--metadata (PostgreSQL) measures the PUT overhead only: add --only put");
  return {
    quick,
    versions: count(values.versions, quick ? 100_000 : 1_000_000, 1),
    // Many short rounds rather than a few long ones: the cores are shared (a VM's), and how fast
    // they are drifts by 10% or more over seconds; a pair of runs a few seconds long sees the same.
    puts: count(values.puts, quick ? 3_000 : 5_000, 1),
    rounds: count(values.rounds, quick ? 10 : 16, 1),
    concurrency: count(values.concurrency, 32, 1),
    changes: count(values.changes, 1_000, 1),
    put: only !== "backfill",
    backfill: only !== "put",
    baseDir: values["data-dir"] ?? process.env.BENCH_DATA_DIR ?? tmpdir(),
    metadataUrl: values.metadata,
  };
}

/** utime + stime of the whole process, in µs. */
const processCpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** Resets the process's peak RSS (VmHWM) so that the next reading is the peak of what follows. */
function resetPeakRss(): boolean {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}
function peakRssBytes(): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** A full garbage collection, so that what a phase holds is not hidden in what the last one left. */
let gc: (() => void) | undefined;
function collectGarbage(): void {
  if (gc === undefined) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  gc();
}

interface Measured<T> {
  value: T;
  seconds: number;
  /** The whole process's CPU time (user + system) while it ran. */
  cpuSeconds: number;
  rssBefore: number;
  rssPeakSampled: number;
  /** VmHWM, reset as `fn` started: the true peak, also between two samples (Linux). */
  rssPeakKernel?: number;
  heapBefore: number;
  heapPeakSampled: number;
  /**
   * How long the server's event loop (this thread's) was held up at worst while `fn` ran, in ms: a
   * request arriving then waits that long. The engine runs in the server's process.
   */
  loopDelayMaxMs: number;
}

/**
 * Runs `fn` after a full GC, sampling the process's RSS (process.memoryUsage().rss) and V8 heap in
 * use every 50 ms, and reads the kernel's peak RSS when it ends.
 */
async function withMemory<T>(fn: () => Promise<T>): Promise<Measured<T>> {
  collectGarbage();
  const m0 = process.memoryUsage();
  const reset = resetPeakRss();
  let rssPeak = m0.rss;
  let heapPeak = m0.heapUsed;
  const sample = () => {
    const m = process.memoryUsage();
    rssPeak = Math.max(rssPeak, m.rss);
    heapPeak = Math.max(heapPeak, m.heapUsed);
  };
  const timer = setInterval(sample, 50);
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const cpu0 = processCpuUs();
  const t0 = performance.now();
  try {
    const value = await fn();
    const seconds = (performance.now() - t0) / 1000;
    const cpuSeconds = (processCpuUs() - cpu0) / 1e6;
    sample();
    return {
      value,
      seconds,
      cpuSeconds,
      rssBefore: m0.rss,
      rssPeakSampled: rssPeak,
      rssPeakKernel: reset ? peakRssBytes() : undefined,
      heapBefore: m0.heapUsed,
      heapPeakSampled: heapPeak,
      loopDelayMaxMs: loop.max / 1e6,
    };
  } finally {
    clearInterval(timer);
    loop.disable();
  }
}

interface Problems {
  list: string[];
}

/** A pass that stopped on an error or failed a table is a failed run. */
function checkPass(problems: Problems, what: string, report: MetadataTablesPass): void {
  if (report.errors > 0 || report.failed > 0) problems.list.push(`${what}: the pass reported ${report.errors} bucket error(s) and ${report.failed} FAILED table(s)`);
}

async function main(): Promise<number> {
  const cfg = flagsOf();
  const { startServer } = await import("../src/server/index.js");
  const { silentLogger } = await import("../src/log.js");
  const dataDir = mkdtempSync(join(cfg.baseDir, "stocktake-bench-metadata-"));
  const removeData = () => rmSync(dataDir, { recursive: true, force: true });
  process.once("SIGINT", () => {
    removeData();
    process.exit(130);
  });
  note(`[start] ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}; data directory ${dataDir}`);
  const server = await startServer({
    host: "127.0.0.1",
    port: 0,
    dataDir,
    region: REGION,
    rootAccessKey: ACCESS,
    rootSecretKey: SECRET,
    rootAccountId: ACCOUNT,
    log: silentLogger,
    logRequests: false,
    diskReserveBytes: 0,
    metadataUrl: cfg.metadataUrl,
    // The bench drives the passes itself.
    metadataJournalIntervalMs: HOUR,
    metadataInventoryIntervalMs: HOUR,
  });
  const client = new BenchS3Client({ endpoint: server.url, accessKey: ACCESS, secretKey: SECRET, region: REGION, connections: 16 });
  const problems: Problems = { list: [] };
  let put: PutFigures | undefined;
  let backfill: BackfillFigures | undefined;
  try {
    if (cfg.put) put = await putOverhead(cfg, server, client, problems);
    if (cfg.backfill) backfill = await backfillAndUpkeep(cfg, server, client, dataDir, problems);
  } finally {
    await client.close();
    await server.close();
    removeData();
  }
  print(cfg, put, backfill, problems);
  return problems.list.length === 0 ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------------------------
// S3 requests of the setup.

async function ok(client: BenchS3Client, what: string, method: string, path: string, query: [string, string][] = [], body?: string, md5 = false): Promise<string> {
  const buf = body === undefined ? undefined : Buffer.from(body);
  const headers: Record<string, string> = md5 && buf ? { "content-md5": createHash("md5").update(buf).digest("base64") } : {};
  const res = await client.request(method, path, query, buf, true, headers);
  if (res.status < 200 || res.status > 299) throw new Error(`${what}: ${method} ${path} answered ${res.status}: ${res.body.slice(0, 400)}`);
  return res.body;
}

const createBucket = (client: BenchS3Client, bucket: string) => ok(client, "CreateBucket", "PUT", `/${bucket}`);
// CreateBucketMetadataConfiguration requires an integrity check on its body (Content-MD5 here).
const configureMetadata = (client: BenchS3Client, bucket: string, inventory: boolean) =>
  ok(client, "CreateBucketMetadataConfiguration", "POST", `/${bucket}`, [["metadataConfiguration", ""]], metadataConfigurationXml(inventory), true);

/** Every object under `prefix` in `bucket`, paging ListObjectsV2. */
async function listAll(client: BenchS3Client, bucket: string, prefix: string): Promise<ListedObject[]> {
  const out: ListedObject[] = [];
  let token: string | undefined;
  do {
    const q: [string, string][] = [["list-type", "2"], ["prefix", prefix]];
    if (token !== undefined) q.push(["continuation-token", token]);
    const page = parseListing(await ok(client, "ListObjectsV2", "GET", `/${bucket}`, q));
    out.push(...page.objects);
    token = page.next;
  } while (token !== undefined);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// 1. Journal overhead on PUT.

interface PutFigures {
  concurrency: number;
  putsPerRound: number;
  rounds: { plain: RoundResult; journaled: RoundResult }[];
  overhead: ReturnType<typeof journalOverhead>;
  commit: { rows: number; seconds: number; cpuSeconds: number; rowsPerSec: number; rssPeakKernel?: number; loopDelayMaxMs: number };
}
interface RoundResult {
  putsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** The server's CPU per PUT: the process's CPU time less the load thread's. */
  serverCpuUs: number;
}

async function putOverhead(cfg: ReturnType<typeof flagsOf>, server: RunningServer, client: BenchS3Client, problems: Problems): Promise<PutFigures> {
  await createBucket(client, PLAIN);
  await createBucket(client, JOURNALED);
  await configureMetadata(client, JOURNALED, false);
  // The journal table is made by the first pass: made now, so the timed commit below only adds rows.
  const first = await server.metadataTables.runOnce();
  checkPass(problems, "first journal pass", first);
  if (first.buckets < 1) problems.list.push("the engine's first pass saw no bucket with a configuration (does this node hold the metadata-tables lease?)");

  const load = new LoadThread({ endpoint: server.url, concurrency: cfg.concurrency });
  try {
    const measure = async (bucket: string, prefix: string): Promise<RoundResult> => {
      const cpu0 = processCpuUs();
      const r = await load.run({ bucket, prefix, count: cfg.puts });
      const cpuUs = processCpuUs() - cpu0;
      if (r.errors > 0) problems.list.push(`PUT into ${bucket}/${prefix}: ${r.errors} failed (${r.firstError})`);
      return {
        putsPerSec: r.opsPerSec,
        p50Ms: r.p50Ms,
        p99Ms: r.p99Ms,
        serverCpuUs: r.cpuTicks === undefined ? NaN : (cpuUs - r.cpuTicks * TICK_US) / r.ops,
      };
    };
    note(`[put] warm-up: ${int(cfg.puts)} PUTs of ${OBJECT_BYTES} B into each bucket, ${cfg.concurrency} at a time`);
    await measure(PLAIN, "warmup");
    await measure(JOURNALED, "warmup");
    const rounds: PutFigures["rounds"] = [];
    for (let r = 0; r < cfg.rounds; r++) {
      const order = r % 2 === 0 ? [PLAIN, JOURNALED] : [JOURNALED, PLAIN];
      const got: Record<string, RoundResult> = {};
      for (const bucket of order) got[bucket] = await measure(bucket, `round-${r}`);
      const round = { plain: got[PLAIN]!, journaled: got[JOURNALED]! };
      rounds.push(round);
      note(
        `[put] round ${r + 1}/${cfg.rounds} (${order[0]} first): plain ${int(round.plain.putsPerSec)} PUT/s ${int(round.plain.serverCpuUs)} µs CPU each, ` +
          `journaled ${int(round.journaled.putsPerSec)} PUT/s ${int(round.journaled.serverCpuUs)} µs CPU each ` +
          `(${fixed((1 - round.journaled.putsPerSec / round.plain.putsPerSec) * 100, 1)}% fewer)`,
      );
    }
    await load.stop();

    // One pass commits every row the journaled bucket logged (the warm-up's and the rounds').
    const expected = cfg.puts * (cfg.rounds + 1);
    note(`[put] committing the journal: one engine pass over ${int(expected)} logged changes`);
    const commit = await withMemory(() => server.metadataTables.runOnce());
    checkPass(problems, "journal commit", commit.value);
    if (commit.value.journalRows !== expected) problems.list.push(`the journal commit took ${commit.value.journalRows} rows, expected ${expected}`);
    const rows = commit.value.journalRows;
    note(`[put] ${int(rows)} journal rows in ${fixed(commit.seconds, 2)} s (${int(rows / commit.seconds)} rows/s)`);
    const overhead = journalOverhead(
      rounds.map((r) => r.plain.putsPerSec),
      rounds.map((r) => r.journaled.putsPerSec),
      rounds.map((r) => r.plain.serverCpuUs),
      rounds.map((r) => r.journaled.serverCpuUs),
      rows > 0 ? commit.seconds / rows : 0,
    );
    return {
      concurrency: cfg.concurrency,
      putsPerRound: cfg.puts,
      rounds,
      overhead,
      commit: { rows, seconds: commit.seconds, cpuSeconds: commit.cpuSeconds, rowsPerSec: rows / commit.seconds, rssPeakKernel: commit.rssPeakKernel, loopDelayMaxMs: commit.loopDelayMaxMs },
    };
  } finally {
    await load.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 2. Backfill, then upkeep.

interface UpkeepFigures {
  mode: "spread" | "clustered";
  requests: number;
  requestSeconds: number;
  changes: number;
  seconds: number;
  changesPerSec: number;
  liveBefore: number;
  rewritten: number;
  written: number;
  liveAfter: number;
  rssPeakKernel?: number;
  heapBefore: number;
  heapPeakSampled: number;
  loopDelayMaxMs: number;
  maintenance: string;
}
interface BackfillFigures {
  versions: number;
  objects: number;
  seedSeconds: number;
  rows: number;
  seconds: number;
  cpuSeconds: number;
  rowsPerSec: number;
  files: number;
  fileBytes: number;
  rssBefore: number;
  rssPeakSampled: number;
  rssPeakKernel?: number;
  heapBefore: number;
  heapPeakSampled: number;
  loopDelayMaxMs: number;
  upkeep: UpkeepFigures[];
}

async function backfillAndUpkeep(cfg: ReturnType<typeof flagsOf>, server: RunningServer, client: BenchS3Client, dataDir: string, problems: Problems): Promise<BackfillFigures> {
  const { benchKey, seedBucket } = await import("./inventory-data.js");
  const { loadTable, liveFiles } = await import("../src/metadata-tables/table-store.js");
  await createBucket(client, BACKFILL);
  await ok(client, "PutBucketVersioning", "PUT", `/${BACKFILL}`, [["versioning", ""]], versioningXml(), true);
  note(`[seed] ${int(cfg.versions)} versions into ${BACKFILL} through the storage layer`);
  let shown = 0;
  const seeded = await seedBucket(dataDir, BACKFILL, ACCOUNT, 0, cfg.versions, (n) => {
    if (n - shown >= 250_000) note(`[seed]   ${int((shown = n))}`);
  });
  note(`[seed] ${int(seeded.rows)} versions of ${int(seeded.objects)} keys in ${fixed(seeded.seconds, 1)} s`);

  await configureMetadata(client, BACKFILL, true);
  const dataPrefix = `b_${BACKFILL}/inventory/data/`;
  const location = { bucket: TABLE_BUCKET, prefix: `b_${BACKFILL}/inventory/` };

  // The first pass starts the backfill beside itself (and makes the bucket's journal table); the
  // backfill's rows are told through onPass, which the server's metrics also listen on.
  let backfilledRows = 0;
  const told = server.metadataTables.onPass;
  server.metadataTables.onPass = (report, seconds) => {
    told?.(report, seconds);
    backfilledRows += report.backfilledRows;
    checkPass(problems, "backfill", report);
  };
  note(`[backfill] first pass: the inventory table of ${int(seeded.rows)} versions`);
  const filled = await withMemory(async () => {
    const pass = await server.metadataTables.runOnce();
    checkPass(problems, "first pass of the backfill bucket", pass);
    await server.metadataTables.backfillsDone();
  });
  server.metadataTables.onPass = told;
  if (backfilledRows !== seeded.rows) problems.list.push(`the backfill wrote ${backfilledRows} rows, the bucket has ${seeded.rows} versions`);
  const files = await listAll(client, TABLE_BUCKET, dataPrefix);
  const fileBytes = files.reduce((s, f) => s + f.size, 0);
  note(
    `[backfill] ${int(backfilledRows)} rows in ${fixed(filled.seconds, 1)} s (${int(backfilledRows / filled.seconds)} rows/s), ${files.length} data files (${mib(fileBytes)}), ` +
      `RSS ${mib(filled.rssBefore)} before, peak ${mib(filled.rssPeakKernel ?? filled.rssPeakSampled)}`,
  );

  const liveOf = async (): Promise<Set<string>> => {
    const table = await loadTable(server.context, location);
    if (!table) throw new Error(`no inventory table at s3://${TABLE_BUCKET}/${location.prefix}`);
    return new Set((await liveFiles(server.context, location, table.metadata)).map((f) => f.dataFile.file_path));
  };

  const upkeep: UpkeepFigures[] = [];
  for (const mode of ["spread", "clustered"] as const) {
    const plan = planChanges(seeded.objects, cfg.changes, mode, mode === "spread" ? 20 : 21);
    note(`[upkeep] ${int(plan.length)} changes (${mode}): ${plan.filter((c) => c.op === "PUT").length} PUTs of new versions, ${plan.filter((c) => c.op === "DELETE").length} DELETEs`);
    const body = randomBytes(OBJECT_BYTES);
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = next++; i < plan.length; i = next++) {
          const c = plan[i]!;
          const path = `/${BACKFILL}/${encodeKeyPath(benchKey(c.object))}`;
          const res = c.op === "PUT" ? await client.request("PUT", path, [], body) : await client.request("DELETE", path);
          if (res.status !== 200 && res.status !== 204) problems.list.push(`${c.op} ${path}: ${res.status} ${res.body.slice(0, 200)}`);
        }
      }),
    );
    const requestSeconds = (performance.now() - t0) / 1000;
    const before = await liveOf();
    const pass = await withMemory(() => server.metadataTables.runOnce({ inventory: true }));
    checkPass(problems, `upkeep (${mode})`, pass.value);
    const after = await liveOf();
    const rewritten = [...before].filter((f) => !after.has(f)).length;
    const written = [...after].filter((f) => !before.has(f)).length;
    const changes = pass.value.inventoryChanges;
    if (changes !== plan.length) problems.list.push(`the upkeep (${mode}) took ${changes} changes, ${plan.length} were made`);
    const r = pass.value;
    const maintenance = r.compacted + r.expiredRecords + r.expiredSnapshots + r.deletedFiles > 0 ? `maintenance ran too: ${r.compacted} compacted, ${r.expiredSnapshots} snapshots expired` : "";
    const u: UpkeepFigures = {
      mode,
      requests: plan.length,
      requestSeconds,
      changes,
      seconds: pass.seconds,
      changesPerSec: changes / pass.seconds,
      liveBefore: before.size,
      rewritten,
      written,
      liveAfter: after.size,
      rssPeakKernel: pass.rssPeakKernel,
      heapBefore: pass.heapBefore,
      heapPeakSampled: pass.heapPeakSampled,
      loopDelayMaxMs: pass.loopDelayMaxMs,
      maintenance,
    };
    upkeep.push(u);
    note(
      `[upkeep] ${mode}: ${int(changes)} changes in ${fixed(pass.seconds, 2)} s (${int(u.changesPerSec)} changes/s); ${rewritten} of ${before.size} data files rewritten as ${written}` +
        (maintenance ? `; ${maintenance}` : ""),
    );
  }
  return {
    versions: seeded.rows,
    objects: seeded.objects,
    seedSeconds: seeded.seconds,
    rows: backfilledRows,
    seconds: filled.seconds,
    cpuSeconds: filled.cpuSeconds,
    rowsPerSec: backfilledRows / filled.seconds,
    files: files.length,
    fileBytes,
    rssBefore: filled.rssBefore,
    rssPeakSampled: filled.rssPeakSampled,
    rssPeakKernel: filled.rssPeakKernel,
    heapBefore: filled.heapBefore,
    heapPeakSampled: filled.heapPeakSampled,
    loopDelayMaxMs: filled.loopDelayMaxMs,
    upkeep,
  };
}

// ---------------------------------------------------------------------------------------------------------------

function print(cfg: ReturnType<typeof flagsOf>, put: PutFigures | undefined, backfill: BackfillFigures | undefined, problems: Problems): void {
  const rows: string[][] = [["figure", "result", "target"]];
  if (put) {
    const o = put.overhead;
    const med = (f: (r: PutFigures["rounds"][number]) => number) => median(put.rounds.map(f));
    const verdict = (x: number) => (x <= TARGET_OVERHEAD_PERCENT ? "ok" : "MISS");
    rows.push(
      [`PUT ${OBJECT_BYTES} B c=${put.concurrency}, plain bucket`, `${int(med((r) => r.plain.putsPerSec))} PUT/s, p50 ${fixed(med((r) => r.plain.p50Ms), 1)} ms, p99 ${fixed(med((r) => r.plain.p99Ms), 1)} ms, server CPU ${int(med((r) => r.plain.serverCpuUs))} µs/PUT`, ""],
      [`PUT ${OBJECT_BYTES} B c=${put.concurrency}, journaled bucket`, `${int(med((r) => r.journaled.putsPerSec))} PUT/s, p50 ${fixed(med((r) => r.journaled.p50Ms), 1)} ms, p99 ${fixed(med((r) => r.journaled.p99Ms), 1)} ms, server CPU ${int(med((r) => r.journaled.serverCpuUs))} µs/PUT`, ""],
      ["journal overhead, PUT/s", `${fixed(o.throughput, 1)}% (rounds: ${fixed(o.throughputRange[0], 1)}% to ${fixed(o.throughputRange[1], 1)}%)`, `≤${TARGET_OVERHEAD_PERCENT}% ${verdict(o.throughput)}`],
      ["journal overhead, server CPU per PUT", `${fixed(o.cpu, 1)}%`, ""],
      ["journal overhead, commit's time spread over the PUTs (estimate)", `${fixed(o.withCommit, 1)}%`, `≤${TARGET_OVERHEAD_PERCENT}% ${verdict(o.withCommit)}`],
      ["journal commit (one pass)", `${int(put.commit.rows)} rows in ${fixed(put.commit.seconds, 2)} s: ${int(put.commit.rowsPerSec)} rows/s, CPU ${fixed((put.commit.cpuSeconds * 1e6) / put.commit.rows, 1)} µs/row, event loop held up to ${int(put.commit.loopDelayMaxMs)} ms, peak RSS ${mib(put.commit.rssPeakKernel)}`, ""],
    );
  }
  if (backfill) {
    const b = backfill;
    rows.push(
      [`seed (storage layer)`, `${int(b.versions)} versions of ${int(b.objects)} keys in ${fixed(b.seedSeconds, 1)} s`, ""],
      [`backfill of ${int(b.versions)} versions`, `${int(b.rowsPerSec)} rows/s: ${int(b.rows)} rows in ${fixed(b.seconds, 1)} s, CPU ${fixed((b.cpuSeconds * 1e6) / b.rows, 1)} µs/row, event loop held up to ${int(b.loopDelayMaxMs)} ms`, ""],
      ["backfill data files", `${b.files} (${mib(b.fileBytes)})`, ""],
      ["backfill memory (whole process)", `RSS ${mib(b.rssBefore)} before, peak ${mib(b.rssPeakKernel ?? b.rssPeakSampled)}; V8 heap ${mib(b.heapBefore)} before, peak ${mib(b.heapPeakSampled)}`, "flat in the bucket's size"],
    );
    for (const u of b.upkeep) {
      rows.push([
        `upkeep, ${int(u.requests)} changes ${u.mode === "spread" ? "spread over the bucket" : "to neighbouring keys"}`,
        `${int(u.changesPerSec)} changes/s: ${int(u.changes)} in ${fixed(u.seconds, 2)} s; ${u.rewritten} of ${u.liveBefore} data files rewritten (as ${u.written}); RSS ${mib(u.rssPeakKernel)} at peak, heap ${mib(u.heapBefore)} → ${mib(u.heapPeakSampled)}; event loop held up to ${int(u.loopDelayMaxMs)} ms${u.maintenance ? `; ${u.maintenance}` : ""}`,
        "",
      ]);
    }
  }
  const head = `S3 Metadata tables (${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(2)} at the end; ${cfg.rounds} rounds of ${int(cfg.puts)} PUTs per bucket)`;
  process.stdout.write(`\n${head}\n\n${textTable(rows)}\n`);
  if (problems.list.length > 0) process.stdout.write(`\nPROBLEMS:\n${problems.list.slice(0, 20).map((p) => `  - ${p}`).join("\n")}\n`);
  const round = (n: number | undefined, d = 1) => (n === undefined || !Number.isFinite(n) ? null : +n.toFixed(d));
  process.stdout.write(
    `\n${JSON.stringify({
      bench: "stocktake-metadata-tables",
      schema: 1,
      time: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      loadavg: loadavg().map((l) => round(l, 2)),
      config: { versions: cfg.versions, puts: cfg.puts, rounds: cfg.rounds, concurrency: cfg.concurrency, changes: cfg.changes, objectBytes: OBJECT_BYTES },
      put: put && {
        rounds: put.rounds.map((r) => ({ plain: round(r.plain.putsPerSec), journaled: round(r.journaled.putsPerSec), plainCpuUs: round(r.plain.serverCpuUs), journaledCpuUs: round(r.journaled.serverCpuUs) })),
        overheadPercent: { throughput: round(put.overhead.throughput, 2), cpu: round(put.overhead.cpu, 2), withCommit: round(put.overhead.withCommit, 2) },
        commit: { rows: put.commit.rows, seconds: round(put.commit.seconds, 3), rowsPerSec: round(put.commit.rowsPerSec), loopDelayMaxMs: round(put.commit.loopDelayMaxMs) },
      },
      backfill: backfill && {
        versions: backfill.versions,
        seedSeconds: round(backfill.seedSeconds, 2),
        rows: backfill.rows,
        seconds: round(backfill.seconds, 3),
        rowsPerSec: round(backfill.rowsPerSec),
        cpuUsPerRow: round((backfill.cpuSeconds * 1e6) / backfill.rows, 2),
        files: backfill.files,
        fileBytes: backfill.fileBytes,
        rssBeforeBytes: backfill.rssBefore,
        rssPeakBytes: backfill.rssPeakKernel ?? backfill.rssPeakSampled,
        heapBeforeBytes: backfill.heapBefore,
        heapPeakBytes: backfill.heapPeakSampled,
        loopDelayMaxMs: round(backfill.loopDelayMaxMs),
        upkeep: backfill.upkeep.map((u) => ({ mode: u.mode, changes: u.changes, seconds: round(u.seconds, 3), changesPerSec: round(u.changesPerSec), rewritten: u.rewritten, written: u.written, liveBefore: u.liveBefore, rssPeakBytes: u.rssPeakKernel ?? null, heapPeakBytes: u.heapPeakSampled, loopDelayMaxMs: round(u.loopDelayMaxMs) })),
      },
      problems: problems.list.length,
    })}\n`,
  );
}

if (isMainThread) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      note(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exitCode = 1;
    },
  );
} else {
  loadThread();
}
