// `npm run bench`: PUT/GET/ListObjectsV2 throughput of Stocktake against s3rver in one run, printed as a table + JSON line.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { runLoad, percentile } from "./load.js";
import type { LoadResult } from "./load.js";
import { describeMetadata, openBenchDatabase, parseMetadataFlag, parseNodesFlag, POSTGRES_SETTINGS } from "./postgres.js";
import type { BenchDatabase, MetadataChoice } from "./postgres.js";
import { BenchS3Client, parseListPage } from "./sigv4-client.js";
import {
  buildStocktake,
  defaultBaseDir,
  repoRoot,
  startS3rver,
  startStocktake,
  stocktakeBuilt,
  stocktakeEntry,
  stopAll,
} from "./targets.js";
import type { Target, TargetName } from "./targets.js";

const OBJECT_SIZE = 4096;
const PAGE_SIZE = 1000;
const SEED_CONCURRENCY = 64;
const WARMUP_MS = 1000;
const TARGETS = { put: 2, get: 3, list: 10 } as const;
const BUCKET = "bench";
const LIST_BUCKET = "bench-list";

interface Config {
  durationMs: number;
  keys: number;
  concurrency: number;
  only: TargetName[];
  build: boolean;
  baseDir: string;
  metadata: MetadataChoice;
  /** Stocktake processes on one database and one data directory; requests alternate between them. */
  nodes: 1 | 2;
}

interface ListResult {
  keysListed: number;
  passes: number;
  elapsedMs: number;
  keysPerSec: number;
  pages: number;
  pageP50Ms: number;
  pageP99Ms: number;
}

interface TargetResult {
  put?: LoadResult;
  get?: LoadResult;
  seed?: LoadResult;
  list?: ListResult;
  peakRssBytes?: number;
  /** With several nodes, each node's peak RSS (peakRssBytes is then the largest). */
  nodePeakRssBytes?: (number | undefined)[];
  error?: string;
}

function parseConfig(): Config {
  const { values } = parseArgs({
    options: {
      duration: { type: "string" },
      keys: { type: "string" },
      concurrency: { type: "string" },
      only: { type: "string" },
      "no-build": { type: "boolean" },
      "data-dir": { type: "string" },
      metadata: { type: "string" },
      nodes: { type: "string" },
    },
    strict: true,
  });
  const env = process.env;
  const num = (flag: string | undefined, envVal: string | undefined, dflt: number, name: string): number => {
    const raw = flag ?? envVal;
    if (raw === undefined || raw === "") return dflt;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${raw}`);
    return n;
  };
  const onlyRaw = values.only ?? env.BENCH_ONLY;
  let only: TargetName[] = ["stocktake", "s3rver"];
  if (onlyRaw !== undefined && onlyRaw !== "") {
    if (onlyRaw !== "stocktake" && onlyRaw !== "s3rver") throw new Error(`--only must be stocktake or s3rver`);
    only = [onlyRaw];
  }
  const metadata = parseMetadataFlag(values.metadata ?? env.BENCH_METADATA);
  return {
    durationMs: num(values.duration, env.BENCH_DURATION, 10, "duration") * 1000,
    keys: Math.floor(num(values.keys, env.BENCH_KEYS, 100_000, "keys")),
    concurrency: Math.floor(num(values.concurrency, env.BENCH_CONCURRENCY, 32, "concurrency")),
    only,
    build: !(values["no-build"] ?? env.BENCH_NO_BUILD === "1"),
    baseDir: values["data-dir"] ?? env.BENCH_DATA_DIR ?? defaultBaseDir(),
    metadata,
    nodes: parseNodesFlag(values.nodes ?? env.BENCH_NODES, metadata),
  };
}

// Progress goes to stderr so stdout stays the table and the JSON line.
function note(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

const keyOf = (prefix: string, i: number): string => `${prefix}-${String(i).padStart(8, "0")}`;

async function ensureBucket(client: BenchS3Client, bucket: string): Promise<void> {
  const r = await client.createBucket(bucket);
  // A rerun against a kept data dir is fine; anything else means the target is not usable.
  if (r.status !== 200 && !r.body.includes("BucketAlreadyOwnedByYou")) {
    throw new Error(`CreateBucket ${bucket} answered ${r.status}: ${r.body.slice(0, 300)}`);
  }
}

/**
 * One client per node. Requests go round robin, per request: operation i (and page i of a listing)
 * goes to node i mod n, as an HTTP load balancer spreading requests would send them, so a GET often
 * reads what the other node wrote and a listing's continuation token crosses nodes.
 */
class NodeClients {
  private readonly clients: BenchS3Client[];
  private turn = 0;
  constructor(targets: Target[], connections: number) {
    this.clients = targets.map(
      (t) => new BenchS3Client({ endpoint: t.endpoint, accessKey: t.accessKey, secretKey: t.secretKey, region: t.region, connections }),
    );
  }
  of(i: number): BenchS3Client {
    return this.clients[i % this.clients.length]!;
  }
  next(): BenchS3Client {
    return this.of(this.turn++);
  }
  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }
}

async function benchTarget(targets: Target[], cfg: Config): Promise<TargetResult> {
  const result: TargetResult = {};
  const tag = `[${targets[0]!.name}]`;
  // Each node's pool can take every worker, so splitting the load never queues a request client-side.
  const clients = new NodeClients(targets, Math.max(cfg.concurrency, SEED_CONCURRENCY));
  try {
    await ensureBucket(clients.of(0), BUCKET);
    await ensureBucket(clients.of(0), LIST_BUCKET);
    // Random bytes so neither side can win by compressing or deduplicating.
    const body = randomBytes(OBJECT_SIZE);
    const put = (prefix: string) => async (i: number) => (await clients.of(i).putObject(BUCKET, keyOf(prefix, i), body)).status === 200;

    note(`${tag} PUT ${OBJECT_SIZE} B, c=${cfg.concurrency}, warm-up ${WARMUP_MS} ms + ${cfg.durationMs / 1000} s`);
    await runLoad({ concurrency: cfg.concurrency, durationMs: WARMUP_MS, op: put("w") });
    result.put = await runLoad({ concurrency: cfg.concurrency, durationMs: cfg.durationMs, op: put("p") });
    const written = result.put.ops + result.put.errors;

    // Reads visit every key the PUT phase wrote, in a scattered order, rather than hammering one hot object.
    // 2654435761 is prime, so i*stride mod written is a permutation of the keys.
    const get = async (i: number) => {
      const r = await clients.of(i).getObject(BUCKET, keyOf("p", (i * 2654435761) % written));
      return r.status === 200 && r.bodyBytes === OBJECT_SIZE;
    };
    note(`${tag} GET ${OBJECT_SIZE} B over ${written.toLocaleString("en-US")} keys, c=${cfg.concurrency}`);
    await runLoad({ concurrency: cfg.concurrency, durationMs: WARMUP_MS, op: get });
    result.get = await runLoad({ concurrency: cfg.concurrency, durationMs: cfg.durationMs, op: get });

    note(`${tag} seeding ${cfg.keys.toLocaleString("en-US")} empty objects for listing, c=${SEED_CONCURRENCY}`);
    const empty = Buffer.alloc(0);
    result.seed = await runLoad({
      concurrency: SEED_CONCURRENCY,
      count: cfg.keys,
      op: async (i) => (await clients.of(i).putObject(LIST_BUCKET, keyOf("k", i), empty)).status === 200,
      onProgress: (done, errors, ms) => {
        if (Math.round(ms / 1000) % 5 === 0) {
          const rate = Math.round((done / ms) * 1000).toLocaleString("en-US");
          note(`${tag}   ${done.toLocaleString("en-US")}/${cfg.keys.toLocaleString("en-US")} (${rate}/s, ${errors} errors)`);
        }
      },
    });
    if (result.seed.errors > 0) throw new Error(`seeding failed for ${result.seed.errors} keys: ${result.seed.firstError}`);

    note(`${tag} ListObjectsV2 ${PAGE_SIZE}/page over ${cfg.keys.toLocaleString("en-US")} keys, full passes for ≥${cfg.durationMs / 1000} s`);
    result.list = await listPasses(clients, cfg, tag);
    peakRss(result, targets);
  } finally {
    await clients.close();
  }
  return result;
}

function peakRss(result: TargetResult, targets: Target[]): void {
  const each = targets.map((t) => t.peakRssBytes());
  const known = each.filter((b): b is number => b !== undefined);
  result.peakRssBytes = known.length === 0 ? undefined : Math.max(...known);
  if (targets.length > 1) result.nodePeakRssBytes = each;
}

/**
 * Pages are inherently sequential (each needs the previous token), so one lister walks the whole bucket;
 * only whole passes count, because a server's cost per page may depend on how deep into the listing it is.
 */
async function listPasses(clients: NodeClients, cfg: Config, tag: string): Promise<ListResult> {
  const pagesPerPass = Math.ceil(cfg.keys / PAGE_SIZE);
  // Room for many quick passes over a small bucket; the loop stops early rather than overflow it.
  const pageLat = new Float64Array(Math.max(pagesPerPass * 64, 1 << 16));
  let pages = 0;
  let keysListed = 0;
  let passes = 0;
  const start = performance.now();
  do {
    let token: string | undefined;
    let passKeys = 0;
    const passStart = performance.now();
    for (;;) {
      const t0 = performance.now();
      const r = await clients.next().listObjectsV2(LIST_BUCKET, PAGE_SIZE, token);
      const dt = performance.now() - t0;
      if (r.status !== 200) throw new Error(`ListObjectsV2 answered ${r.status}: ${r.body.slice(0, 300)}`);
      pageLat[pages] = dt;
      pages++;
      const page = parseListPage(r.body);
      passKeys += page.keys;
      if (!page.truncated) break;
      if (page.next === undefined) throw new Error("truncated listing without NextContinuationToken");
      token = page.next;
    }
    // A listing that loses or repeats keys would make any speed meaningless.
    if (passKeys !== cfg.keys) throw new Error(`listing returned ${passKeys} keys, expected ${cfg.keys}`);
    keysListed += passKeys;
    passes++;
    note(`${tag}   pass ${passes}: ${((performance.now() - passStart) / 1000).toFixed(2)} s`);
  } while (performance.now() - start < cfg.durationMs && pages + pagesPerPass <= pageLat.length);
  const elapsedMs = performance.now() - start;
  const sorted = pageLat.slice(0, pages).sort();
  return {
    keysListed,
    passes,
    elapsedMs,
    keysPerSec: (keysListed / elapsedMs) * 1000,
    pages,
    pageP50Ms: percentile(sorted, 0.5),
    pageP99Ms: percentile(sorted, 0.99),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Output

const int = (n: number): string => Math.round(n).toLocaleString("en-US");
const ms = (n: number): string => (Number.isNaN(n) ? "-" : n < 10 ? `${n.toFixed(2)}ms` : `${n.toFixed(1)}ms`);
const mib = (b: number | undefined): string => (b === undefined ? "-" : `${(b / 1048576).toFixed(0)} MiB`);

/** The Stocktake column's name: which metadata engine and how many nodes, so tables of different runs compare. */
function stocktakeLabel(cfg: Config): string {
  return `stocktake (${describeMetadata(cfg.metadata).engine}, ${cfg.nodes} node${cfg.nodes === 1 ? "" : "s"})`;
}

function loadCell(r: LoadResult | undefined, unit: string): string {
  if (r === undefined) return "-";
  const errs = r.errors > 0 ? ` (${r.errors} errors)` : "";
  return `${int(r.opsPerSec)} ${unit} p50 ${ms(r.p50Ms)} p99 ${ms(r.p99Ms)}${errs}`;
}

function listCell(r: ListResult | undefined): string {
  if (r === undefined) return "-";
  return `${int(r.keysPerSec)} keys/s page p50 ${ms(r.pageP50Ms)} p99 ${ms(r.pageP99Ms)} (${r.passes} pass${r.passes === 1 ? "" : "es"})`;
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

function ratioCell(r: number | undefined, target?: number): string {
  if (r === undefined) return target === undefined ? "" : `ratio -     (target ≥${target}x)`;
  const fig = `${r.toFixed(r < 10 ? 2 : 1)}x`;
  if (target === undefined) return `ratio ${fig}`;
  return `ratio ${fig.padEnd(5)} (target ≥${target}x) ${r >= target ? "ok" : "MISS"}`;
}

function printTable(cfg: Config, results: Partial<Record<TargetName, TargetResult>>): Record<string, number | undefined> {
  const st = results.stocktake;
  const s3 = results.s3rver;
  const rows: Array<[string, string, string, string]> = [];
  const ratios = {
    put: ratio(st?.put?.opsPerSec, s3?.put?.opsPerSec),
    get: ratio(st?.get?.opsPerSec, s3?.get?.opsPerSec),
    list: ratio(st?.list?.keysPerSec, s3?.list?.keysPerSec),
    seed: ratio(st?.seed?.opsPerSec, s3?.seed?.opsPerSec),
  };
  const c = cfg.concurrency;
  rows.push([`PUT 4KiB c=${c}`, loadCell(st?.put, "req/s"), loadCell(s3?.put, "req/s"), ratioCell(ratios.put, TARGETS.put)]);
  rows.push([`GET 4KiB c=${c}`, loadCell(st?.get, "req/s"), loadCell(s3?.get, "req/s"), ratioCell(ratios.get, TARGETS.get)]);
  rows.push([
    `LIST v2 ${PAGE_SIZE}/page, ${int(cfg.keys)} keys`,
    listCell(st?.list),
    listCell(s3?.list),
    ratioCell(ratios.list, TARGETS.list),
  ]);
  rows.push([`seed PUT 0B c=${SEED_CONCURRENCY}`, loadCell(st?.seed, "req/s"), loadCell(s3?.seed, "req/s"), ratioCell(ratios.seed)]);
  const stRss = st?.nodePeakRssBytes === undefined ? mib(st?.peakRssBytes) : st.nodePeakRssBytes.map(mib).join(" + ");
  rows.push([cfg.nodes === 1 ? "server peak RSS" : "server peak RSS (each node)", stRss, mib(s3?.peakRssBytes), ""]);

  const show = (name: TargetName): boolean => cfg.only.includes(name);
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const stName = stocktakeLabel(cfg);
  const w1 = Math.max(stName.length, ...rows.map((r) => r[1].length));
  const w2 = Math.max("s3rver".length, ...rows.map((r) => r[2].length));
  const lines: string[] = [];
  const header = ["".padEnd(w0)];
  if (show("stocktake")) header.push(stName.padEnd(w1));
  if (show("s3rver")) header.push("s3rver".padEnd(w2));
  lines.push(header.join(" | ").trimEnd());
  for (const [label, a, b, r] of rows) {
    const cells = [label.padEnd(w0)];
    if (show("stocktake")) cells.push(a.padEnd(w1));
    if (show("s3rver")) cells.push(b.padEnd(w2));
    if (cfg.only.length === 2 && r !== "") cells.push(r);
    lines.push(cells.join(" | ").trimEnd());
  }
  for (const name of cfg.only) {
    const err = results[name]?.error;
    if (err !== undefined) lines.push(`${name} FAILED: ${err.split("\n")[0]}${err.includes("\n") ? " (details on stderr)" : ""}`);
  }
  process.stdout.write(`\n${lines.join("\n")}\n\n`);
  return ratios;
}

function gitInfo(): { commit?: string; dirty?: boolean } {
  const rev = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: repoRoot, encoding: "utf8" });
  if (rev.status !== 0) return {};
  const st = spawnSync("git", ["status", "--porcelain", "--", "src"], { cwd: repoRoot, encoding: "utf8" });
  return { commit: rev.stdout.trim(), dirty: st.stdout.trim() !== "" };
}

function round(r: LoadResult | undefined) {
  if (r === undefined) return undefined;
  return {
    ops: r.ops,
    errors: r.errors,
    seconds: +(r.elapsedMs / 1000).toFixed(3),
    perSec: +r.opsPerSec.toFixed(1),
    p50Ms: +r.p50Ms.toFixed(3),
    p99Ms: +r.p99Ms.toFixed(3),
    maxMs: +r.maxMs.toFixed(3),
  };
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const cfg = parseConfig();
  const onSignal = (): void => {
    note("interrupted; stopping servers");
    void stopAll().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const git = gitInfo();
  note(
    `stocktake bench: node ${process.version}, ${cpus().length} CPUs, ${git.commit ?? "no git"}${git.dirty ? " (src dirty)" : ""}, ` +
      `duration ${cfg.durationMs / 1000}s/phase, ${cfg.keys} list keys, c=${cfg.concurrency}, data under ${cfg.baseDir}, ` +
      `metadata ${Object.values(describeMetadata(cfg.metadata)).join(" ")}, ${cfg.nodes} node(s)`,
  );

  const results: Partial<Record<TargetName, TargetResult>> = {};
  for (const name of cfg.only) {
    const res: TargetResult = {};
    results[name] = res;
    let target: Target | undefined;
    const others: Target[] = [];
    let db: BenchDatabase | undefined;
    try {
      if (name === "stocktake") {
        if (cfg.build && process.env.BENCH_STOCKTAKE_ENTRY === undefined) {
          note("[stocktake] building (tsc -p tsconfig.build.json)");
          const b = buildStocktake();
          if (!b.ok) throw new Error(`build failed (use --no-build to bench the existing dist/):\n${b.output.split("\n").slice(0, 20).join("\n")}`);
        }
        if (!stocktakeBuilt()) throw new Error(`${stocktakeEntry()} does not exist; the CLI is not built`);
        if (cfg.metadata.engine === "postgres") note(`[stocktake] ${cfg.metadata.url === undefined ? "starting a throwaway PostgreSQL (fsync on)" : "checking the given database is empty"}`);
        db = await openBenchDatabase(cfg.metadata, cfg.baseDir);
        // An empty URL overrides a STOCKTAKE_METADATA_URL in this shell: a SQLite run must be one.
        const metadata = db.url === undefined ? { env: { STOCKTAKE_METADATA_URL: "" } } : { metadataUrl: db.url };
        target = await startStocktake(cfg.baseDir, metadata);
        // One after the other: the first node creates the schema, the master key and the root account.
        for (let n = 1; n < cfg.nodes; n++) {
          const other = await startStocktake(cfg.baseDir, { ...metadata, dataDir: target.dataDir });
          note(`[stocktake] node ${n + 1} listening on ${other.endpoint}, pid ${other.pid}, same data and database`);
          others.push(other);
        }
      } else {
        target = await startS3rver(cfg.baseDir);
      }
      note(`[${name}] listening on ${target.endpoint}, pid ${target.pid}, data ${target.dataDir}`);
      Object.assign(res, await benchTarget([target, ...others], cfg));
    } catch (err) {
      res.error = err instanceof Error ? err.message : String(err);
      note(`[${name}] FAILED: ${res.error}`);
      if (target !== undefined) peakRss(res, [target, ...others]);
    } finally {
      // The first node owns the shared data directory and removes it, so it stops last.
      for (const other of others) await other.stop();
      await target?.stop();
      await db?.stop();
      // Writeback of the previous server's files (and their deletion) would otherwise land in the next
      // server's measurements; flushing here gives each target a quiet disk.
      spawnSync("sync");
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  const ratios = printTable(cfg, results);
  const json = {
    bench: "stocktake-core",
    schema: 1,
    time: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    git,
    config: {
      durationSec: cfg.durationMs / 1000,
      keys: cfg.keys,
      concurrency: cfg.concurrency,
      objectBytes: OBJECT_SIZE,
      pageSize: PAGE_SIZE,
      seedConcurrency: SEED_CONCURRENCY,
      metadata: describeMetadata(cfg.metadata),
      nodes: cfg.nodes,
      balancing: cfg.nodes > 1 ? "round robin per request" : undefined,
      postgres: cfg.metadata.engine === "postgres" && cfg.metadata.url === undefined ? POSTGRES_SETTINGS : undefined,
    },
    results: Object.fromEntries(
      Object.entries(results).map(([name, r]) => [
        name,
        {
          put: round(r.put),
          get: round(r.get),
          seed: round(r.seed),
          list: r.list && {
            ...r.list,
            elapsedMs: +r.list.elapsedMs.toFixed(1),
            keysPerSec: +r.list.keysPerSec.toFixed(1),
            pageP50Ms: +r.list.pageP50Ms.toFixed(3),
            pageP99Ms: +r.list.pageP99Ms.toFixed(3),
          },
          peakRssBytes: r.peakRssBytes,
          nodePeakRssBytes: r.nodePeakRssBytes,
          error: r.error,
        },
      ]),
    ),
    ratios: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, v === undefined ? null : +v.toFixed(3)])),
    targets: TARGETS,
  };
  process.stdout.write(`${JSON.stringify(json)}\n`);
  return Object.values(results).some((r) => r.error !== undefined) ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (err: unknown) => {
    note(err instanceof Error ? (err.stack ?? err.message) : String(err));
    await stopAll();
    process.exitCode = 1;
  },
);
