// `npm run bench:inventory`: inventory reports over a big bucket, inside a Stocktake server child
// process (built dist/), triggered on demand with POST /{bucket}?inventory&id=ID&run&wait.
//  1. fills a bucket with --objects versions straight through the storage layer (quick), then times
//     a full report per registered format (WRITERS): rows/s, bytes written, the server's peak RSS;
//  2. times the naive way a user would do it today (page ListObjectsV2 with @aws-sdk/client-s3 and
//     write the same gzip CSV) against the same server, and against s3rver over a smaller bucket;
//  3. measures PUT/GET/LIST latency at low concurrency idle and while a report runs;
//  4. grows the bucket to --big versions and times every format again: memory must not grow.
// --metadata postgres|URL keeps the metadata in PostgreSQL (seeded with multi-row INSERTs), and
// --nodes 2 adds a second node on the same database and data directory that serves the latency
// probes while the first runs the reports.
// Progress on stderr; a table and one JSON line on stdout.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { cpus } from "node:os";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import { parseArgs } from "node:util";
import { createGzip } from "node:zlib";
import pg from "pg";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { Pool } from "undici";
import { WRITERS } from "../src/inventory/write-files.js";
import { benchKey, seedBucket, seedBucketPostgres } from "./inventory-data.js";
import { describeMetadata, openBenchDatabase, parseMetadataFlag, parseNodesFlag, POSTGRES_SETTINGS, type BenchDatabase } from "./postgres.js";
import { percentile, runLoad } from "./load.js";
import { BenchS3Client, canonicalQuery, SigV4Signer } from "./sigv4-client.js";
import { buildStocktake, defaultBaseDir, freePort, repoRoot, startS3rver, stocktakeBuilt, stocktakeEntry, stopAll, type Target } from "./targets.js";

/** The issue's targets; its peak RSS target is 300 MB, i.e. 286 MiB. */
const TARGETS = { rowsPerSec: 150_000, peakRssMiB: 286, naiveOwn: 3, naiveS3rver: 20, latency: 2 } as const;
const ACCOUNT = "123456789012";
const SOURCE = "inventory-bench";
const DEST = "inventory-bench-reports";
const LAT = "inventory-bench-latency";
/** A typical report: every version, with the fields most configurations ask for. */
const FIELDS = ["Size", "LastModifiedDate", "ETag", "StorageClass", "IsMultipartUploaded", "ReplicationStatus", "EncryptionStatus", "BucketKeyStatus", "ChecksumAlgorithm"];
/** The fields a ListObjectsV2 page has, for the like-for-like comparison with the naive script. */
const LIST_FIELDS = ["Size", "LastModifiedDate", "ETag", "StorageClass"];

const { values: flags } = parseArgs({
  options: {
    objects: { type: "string" },
    big: { type: "string" },
    "s3rver-objects": { type: "string" },
    "latency-seconds": { type: "string" },
    formats: { type: "string" },
    quick: { type: "boolean" },
    "no-build": { type: "boolean" },
    "no-s3rver": { type: "boolean" },
    "no-naive": { type: "boolean" },
    "data-dir": { type: "string" },
    metrics: { type: "boolean" },
    metadata: { type: "string" },
    nodes: { type: "string" },
  },
  strict: true,
});
const count = (v: string | undefined, quick: number, full: number): number => {
  const n = v === undefined ? (flags.quick ? quick : full) : Number(v.replace(/_/g, ""));
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a whole number, got ${v}`);
  return n;
};
const metadata = parseMetadataFlag(flags.metadata ?? process.env.BENCH_METADATA);
const cfg = {
  metadata,
  nodes: parseNodesFlag(flags.nodes ?? process.env.BENCH_NODES, metadata),
  objects: count(flags.objects, 20_000, 1_000_000),
  big: count(flags.big, 60_000, 3_000_000),
  s3rverObjects: count(flags["s3rver-objects"], 2_000, 50_000),
  latencySeconds: count(flags["latency-seconds"], 2, 5),
  formats: (flags.formats?.split(",") ?? Object.keys(WRITERS)).filter((f) => f in WRITERS),
  build: !flags["no-build"],
  s3rver: !flags["no-s3rver"],
  naive: !flags["no-naive"],
  baseDir: flags["data-dir"] ?? defaultBaseDir(),
};

const note = (msg: string): void => void process.stderr.write(`${msg}\n`);
const int = (n: number | undefined): string => (n === undefined || Number.isNaN(n) ? "-" : Math.round(n).toLocaleString("en-US"));
const mib = (b: number | undefined): string => (b === undefined ? "-" : `${(b / 1048576).toFixed(0)} MiB`);
const ms = (n: number): string => (Number.isNaN(n) ? "-" : n < 10 ? `${n.toFixed(2)}ms` : `${n.toFixed(1)}ms`);

// ---------------------------------------------------------------------------------------------------------------
// Talking to the server: our SigV4 signer over an undici pool with no timeouts (a report with
// &wait answers when it is done, which can take minutes).

class Api {
  private readonly pool: Pool;
  private readonly signer: SigV4Signer;
  private readonly host: string;
  constructor(readonly target: Server) {
    const url = new URL(target.endpoint);
    this.host = url.host;
    this.signer = new SigV4Signer(target.accessKey, target.secretKey, target.region);
    this.pool = new Pool(url.origin, { connections: 4, headersTimeout: 0, bodyTimeout: 0 });
  }
  async call(method: string, path: string, query: [string, string][], body?: string): Promise<{ status: number; text: string }> {
    const raw = canonicalQuery(query);
    const res = await this.pool.request({ method: method as "GET", path: raw === "" ? path : `${path}?${raw}`, headers: this.signer.sign(method, this.host, path, raw), body });
    return { status: res.statusCode, text: await res.body.text() };
  }
  async ok(method: string, path: string, query: [string, string][], body?: string): Promise<string> {
    const r = await this.call(method, path, query, body);
    if (r.status < 200 || r.status > 299) throw new Error(`${method} ${path}?${canonicalQuery(query)} answered ${r.status}: ${r.text.slice(0, 400)}`);
    return r.text;
  }
  close(): Promise<void> {
    return this.pool.close();
  }
}

function inventoryXml(id: string, format: string, versions: "All" | "Current", fields: string[]): string {
  return (
    `<InventoryConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Id>${id}</Id><IsEnabled>true</IsEnabled>` +
    `<Destination><S3BucketDestination><Bucket>arn:aws:s3:::${DEST}</Bucket><Format>${format}</Format><Prefix>${id}</Prefix></S3BucketDestination></Destination>` +
    `<Schedule><Frequency>Daily</Frequency></Schedule><IncludedObjectVersions>${versions}</IncludedObjectVersions>` +
    `<OptionalFields>${fields.map((f) => `<Field>${f}</Field>`).join("")}</OptionalFields></InventoryConfiguration>`
  );
}

function destinationPolicy(): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: "s3.amazonaws.com" },
        Action: "s3:PutObject",
        Resource: [`arn:aws:s3:::${DEST}/*`],
        Condition: { ArnLike: { "aws:SourceArn": `arn:aws:s3:::${SOURCE}` }, StringEquals: { "aws:SourceAccount": ACCOUNT, "s3:x-amz-acl": "bucket-owner-full-control" } },
      },
    ],
  });
}

/**
 * A Stocktake server child (built dist/) on one data directory that outlives it: each report runs
 * in a freshly started process, so its peak RSS (VmHWM) is that report's alone, not what earlier
 * reports of other formats left behind.
 */
class Server implements Target {
  readonly name = "stocktake" as const;
  readonly accessKey = "INVENTORYBENCHKEY001";
  readonly secretKey = "inventory/bench/secret/key/0000000000000";
  readonly region = "us-east-1";
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private lastHwm: number | undefined;
  constructor(
    readonly dataDir: string,
    private readonly port: number,
    /** PostgreSQL metadata; undefined: SQLite in dataDir. */
    private readonly metadataUrl: string | undefined,
  ) {}
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get pid(): number {
    return this.child?.pid ?? -1;
  }
  async start(): Promise<void> {
    const child = spawn(process.execPath, [stocktakeEntry(), "serve"], {
      cwd: repoRoot,
      env: {
        ...process.env,
        STOCKTAKE_HOST: "127.0.0.1",
        STOCKTAKE_PORT: String(this.port),
        STOCKTAKE_DATA_DIR: this.dataDir,
        STOCKTAKE_REGION: this.region,
        STOCKTAKE_ROOT_ACCESS_KEY: this.accessKey,
        STOCKTAKE_ROOT_SECRET_KEY: this.secretKey,
        STOCKTAKE_ROOT_ACCOUNT_ID: ACCOUNT,
        // Empty (SQLite) overrides a STOCKTAKE_METADATA_URL in this shell.
        STOCKTAKE_METADATA_URL: this.metadataUrl ?? "",
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let log = "";
    child.stderr!.on("data", (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
    this.child = child;
    this.lastHwm = undefined;
    let dead = false;
    this.exited = new Promise((resolve) => child.once("exit", () => ((dead = true), resolve())));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (dead) throw new Error(`stocktake exited at start:\n${log}`);
      const up = await new Promise<boolean>((resolve) => {
        const sock = connect({ host: "127.0.0.1", port: this.port });
        sock.once("connect", () => (sock.destroy(), resolve(true)));
        sock.once("error", () => resolve(false));
      });
      if (up) return;
      if (Date.now() > deadline) throw new Error(`stocktake did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  peakRssBytes(): number | undefined {
    const m = this.child === undefined ? null : /^VmHWM:\s+(\d+)\s+kB/m.exec(safeRead(`/proc/${this.pid}/status`));
    if (m) this.lastHwm = Number(m[1]) * 1024;
    return this.lastHwm;
  }
  rssBytes(): number | undefined {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(safeRead(`/proc/${this.pid}/status`));
    return m ? Number(m[1]) * 1024 : undefined;
  }
  async stop(): Promise<void> {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGTERM");
      const timer = setTimeout(() => this.child?.kill("SIGKILL"), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
    this.child = undefined;
  }
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

interface ReportResult {
  format: string;
  versions: "All" | "Current";
  bucketRows: number;
  rows: number;
  bytes: number;
  files: number;
  seconds: number;
  rowsPerSec: number;
  peakRssBytes?: number;
  /** The server's RSS once the run is over: what the run left behind. */
  rssAfterBytes?: number;
  error?: string;
}

async function runReport(api: Api, id: string, format: string, versions: "All" | "Current", bucketRows: number, peakReset: boolean): Promise<ReportResult> {
  const t0 = performance.now();
  const text = await api.ok("POST", `/${SOURCE}`, [["inventory", ""], ["id", id], ["run", ""], ["wait", ""]]);
  const seconds = (performance.now() - t0) / 1000;
  const tag = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(text)?.[1];
  const rows = Number(tag("Rows") ?? 0);
  const status = tag("Status");
  return {
    format,
    versions,
    bucketRows,
    rows,
    bytes: Number(tag("Bytes") ?? 0),
    files: Number(tag("Files") ?? 0),
    seconds,
    rowsPerSec: rows / seconds,
    peakRssBytes: peakReset ? api.target.peakRssBytes() : undefined,
    rssAfterBytes: (api.target as Server).rssBytes(),
    error: status === "succeeded" ? undefined : `${status}: ${tag("Error") ?? text.slice(0, 300)}`,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The naive way: page ListObjectsV2 through the AWS SDK and write the same gzip CSV (default SDK settings).

interface NaiveResult {
  target: string;
  rows: number;
  seconds: number;
  rowsPerSec: number;
  bytes: number;
}

async function naiveReport(target: Target, bucket: string, dir: string): Promise<NaiveResult> {
  const s3 = new S3Client({
    endpoint: target.endpoint,
    region: target.region,
    forcePathStyle: true,
    credentials: { accessKeyId: target.accessKey, secretAccessKey: target.secretKey },
  });
  const file = join(dir, `naive-${target.name}.csv.gz`);
  const gzip = createGzip();
  const out = createWriteStream(file);
  gzip.pipe(out);
  let bytes = 0;
  gzip.on("data", (c: Buffer) => (bytes += c.length));
  const t0 = performance.now();
  let rows = 0;
  let token: string | undefined;
  try {
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token, MaxKeys: 1000 }));
      let text = "";
      for (const o of page.Contents ?? []) {
        const key = encodeURIComponent(o.Key!).replace(/%20/g, "+");
        text += `"${bucket}","${key}","${o.Size}","${o.LastModified!.toISOString()}","${(o.ETag ?? "").replace(/"/g, "")}","${o.StorageClass ?? ""}"\n`;
      }
      rows += page.Contents?.length ?? 0;
      if (!gzip.write(text)) await once(gzip, "drain");
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    gzip.end();
    await finished(out);
  } finally {
    s3.destroy();
  }
  const seconds = (performance.now() - t0) / 1000;
  rmSync(file, { force: true });
  return { target: target.name, rows, seconds, rowsPerSec: rows / seconds, bytes };
}

// ---------------------------------------------------------------------------------------------------------------
// Latency of ordinary traffic: one PUT, one GET and one LIST loop (concurrency 1 each, together).

interface OpLatency {
  ops: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
}
type Latency = Record<"put" | "get" | "list", OpLatency>;

async function probeLatency(client: BenchS3Client, listKeys: number, stop: () => boolean): Promise<Latency> {
  const body = randomBytes(4096);
  const loop = async (op: (i: number) => Promise<boolean>): Promise<OpLatency> => {
    const lat: number[] = [];
    let errors = 0;
    for (let i = 0; !stop(); i++) {
      const t0 = performance.now();
      const ok = await op(i).catch(() => false);
      if (ok) lat.push(performance.now() - t0);
      else errors++;
    }
    const sorted = Float64Array.from(lat).sort();
    return { ops: lat.length, errors, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99) };
  };
  const [put, get, list] = await Promise.all([
    loop(async (i) => (await client.putObject(LAT, `put/${i % 1000}`, body)).status === 200),
    loop(async (i) => {
      const r = await client.getObject(LAT, `get/${(i * 7919) % 1000}`);
      return r.status === 200 && r.bodyBytes === 4096;
    }),
    loop(async (i) => {
      const after = benchKey(Math.floor(((i * 2654435761) % 1_000_003) / 1_000_003 * listKeys));
      const r = await client.request("GET", `/${SOURCE}`, [["list-type", "2"], ["max-keys", "100"], ["start-after", after]], undefined, true);
      return r.status === 200;
    }),
  ]);
  return { put, get, list };
}

function timed(seconds: number): () => boolean {
  const end = performance.now() + seconds * 1000;
  return () => performance.now() >= end;
}

// ---------------------------------------------------------------------------------------------------------------

async function seed(target: Target, metadataUrl: string | undefined, firstObject: number, rows: number): Promise<number> {
  note(`[seed] adding ${rows.toLocaleString("en-US")} versions to ${SOURCE} ${metadataUrl === undefined ? "through the storage layer" : "with multi-row INSERTs into PostgreSQL"}`);
  let last = 0;
  const progress = (done: number): void => {
    if (done - last >= 250_000) {
      last = done;
      note(`[seed]   ${done.toLocaleString("en-US")}`);
    }
  };
  const stats =
    metadataUrl === undefined
      ? await seedBucket(target.dataDir, SOURCE, ACCOUNT, firstObject, rows, progress)
      : await seedBucketPostgres(metadataUrl, SOURCE, ACCOUNT, firstObject, rows, progress);
  note(`[seed] ${stats.rows.toLocaleString("en-US")} versions (${stats.objects.toLocaleString("en-US")} keys) in ${stats.seconds.toFixed(1)} s`);
  if (metadataUrl !== undefined) await settlePostgres(metadataUrl);
  return firstObject + stats.objects;
}

/**
 * After a bulk load, what autovacuum would long have done to a bucket filled through the API over
 * time: statistics for the planner, hint bits and the visibility map set. Left to autovacuum, it
 * would run within a minute of the load, in the middle of the next report. The checkpoint writes
 * the load out now rather than during the report.
 */
async function settlePostgres(url: string): Promise<void> {
  const t0 = performance.now();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query("VACUUM (ANALYZE) versions");
    await c.query("VACUUM (ANALYZE) bucket_counts");
    // CHECKPOINT needs superuser (or pg_checkpoint, PostgreSQL 15) in a given database: skip it there.
    await c.query("CHECKPOINT").catch(() => undefined);
  } finally {
    await c.end();
  }
  note(`[seed] VACUUM (ANALYZE) and CHECKPOINT in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** The bench's data (the server's data directory, ~3 GB at 3M versions, and the naive script's file). */
let scratchDir: string | undefined;
function removeScratch(): void {
  if (scratchDir !== undefined) rmSync(scratchDir, { recursive: true, force: true });
  scratchDir = undefined;
}

/**
 * With --metrics: the Stocktake lines of GET /_stocktake/metrics (open to loopback) from the server
 * as the bench ends, i.e. the process that ran the last report, on stderr (stdout keeps its JSON
 * line). Histogram buckets are left out; their _sum and _count stay.
 */
async function printMetrics(endpoint: string): Promise<void> {
  const res = await fetch(`${endpoint}/_stocktake/metrics`);
  if (res.status !== 200) throw new Error(`GET /_stocktake/metrics answered ${res.status}`);
  const lines = (await res.text()).split("\n").filter((l) => l.startsWith("stocktake_") && !/_bucket\{/.test(l));
  note(`[metrics] ${endpoint}/_stocktake/metrics, Stocktake series of the last server process:\n${lines.join("\n")}`);
}

async function main(): Promise<number> {
  process.once("SIGINT", () => void stopAll().finally(() => (removeScratch(), process.exit(130))));
  const git = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: repoRoot, encoding: "utf8" }).stdout?.trim();
  const dirty = spawnSync("git", ["status", "--porcelain", "--", "src"], { cwd: repoRoot, encoding: "utf8" }).stdout?.trim() !== "";
  note(
    `inventory bench: node ${process.version}, ${cpus().length} CPUs, ${git}${dirty ? " (src dirty)" : ""}, ${cfg.objects.toLocaleString("en-US")} then ` +
      `${cfg.big.toLocaleString("en-US")} versions, formats ${cfg.formats.join(", ")}, metadata ${Object.values(describeMetadata(cfg.metadata)).join(" ")}, ${cfg.nodes} node(s)`,
  );
  if (cfg.build && process.env.BENCH_STOCKTAKE_ENTRY === undefined) {
    note("[stocktake] building (tsc -p tsconfig.build.json)");
    const b = buildStocktake();
    if (!b.ok) throw new Error(`build failed (use --no-build to bench the existing dist/):\n${b.output.split("\n").slice(0, 20).join("\n")}`);
  }
  if (!stocktakeBuilt()) throw new Error("dist/main.js does not exist; build first");

  const scratch = mkdtempSync(join(cfg.baseDir, "inventory-bench-"));
  scratchDir = scratch;
  if (cfg.metadata.engine === "postgres") note(`[stocktake] ${cfg.metadata.url === undefined ? "starting a throwaway PostgreSQL (fsync on)" : "checking the given database is empty"}`);
  const db: BenchDatabase = await openBenchDatabase(cfg.metadata, cfg.baseDir);
  const server = new Server(join(scratch, "data"), await freePort(), db.url);
  // The second node serves the latency probes while the first runs reports (and restarts for each).
  let other: Server | undefined;
  let otherClient: BenchS3Client | undefined;
  try {
    await server.start();
    note(`[stocktake] pid ${server.pid} on ${server.endpoint}, data ${server.dataDir}`);
    if (cfg.nodes === 2) {
      other = new Server(server.dataDir, await freePort(), db.url);
      await other.start();
      otherClient = new BenchS3Client({ endpoint: other.endpoint, accessKey: other.accessKey, secretKey: other.secretKey, region: other.region, connections: 8 });
      note(`[stocktake] node 2: pid ${other.pid} on ${other.endpoint}, same data and database; it serves the latency probes`);
    }
  } catch (err) {
    await server.stop();
    await db.stop();
    throw err;
  }
  let api = new Api(server);
  let client = new BenchS3Client({ endpoint: server.endpoint, accessKey: server.accessKey, secretKey: server.secretKey, region: server.region, connections: 8 });
  /** A fresh server process, so the next report's peak RSS is its own; returns its RSS once idle. */
  const restart = async (): Promise<number | undefined> => {
    await api.close();
    await client.close();
    await server.stop();
    await server.start();
    api = new Api(server);
    client = new BenchS3Client({ endpoint: server.endpoint, accessKey: server.accessKey, secretKey: server.secretKey, region: server.region, connections: 8 });
    await api.ok("GET", `/${SOURCE}`, [["list-type", "2"], ["max-keys", "1"]]);
    return server.rssBytes();
  };
  const reports: ReportResult[] = [];
  const naive: NaiveResult[] = [];
  let latency: { idle: Latency; during: Latency; runSeconds: number; runRowsPerSec: number; runFiles: number } | undefined;
  let idleRss: number | undefined;
  try {
    for (const b of [SOURCE, DEST, LAT]) await api.ok("PUT", `/${b}`, []);
    await api.ok("PUT", `/${SOURCE}`, [["versioning", ""]], `<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`);
    await api.ok("PUT", `/${DEST}`, [["policy", ""]], destinationPolicy());
    // One configuration per format and phase: a second report of one configuration within a
    // minute would wait for the next minute (reports are named by the minute).
    for (const id of cfg.formats.flatMap((f) => [`all-${f}`, `big-${f}`])) {
      await api.ok("PUT", `/${SOURCE}`, [["inventory", ""], ["id", id]], inventoryXml(id, id.slice(id.indexOf("-") + 1), "All", FIELDS));
    }
    await api.ok("PUT", `/${SOURCE}`, [["inventory", ""], ["id", "current-CSV"]], inventoryXml("current-CSV", "CSV", "Current", LIST_FIELDS));
    await api.ok("PUT", `/${SOURCE}`, [["inventory", ""], ["id", "latency-CSV"]], inventoryXml("latency-CSV", "CSV", "All", FIELDS));
    const body = randomBytes(4096);
    for (let i = 0; i < 1000; i++) await client.putObject(LAT, `get/${i}`, body);

    let nextObject = await seed(server, db.url, 0, cfg.objects);
    let bucketRows = cfg.objects;
    const one = async (id: string, format: string, versions: "All" | "Current"): Promise<ReportResult> => {
      const idle = await restart();
      idleRss = Math.max(idleRss ?? 0, idle ?? 0);
      note(`[report] ${format}, ${versions === "All" ? "all versions" : "current versions, the columns of a ListObjectsV2 page (the naive script's)"}, ${bucketRows.toLocaleString("en-US")} in the bucket (fresh server, RSS ${mib(idle)})`);
      const r: ReportResult = await runReport(api, id, format, versions, bucketRows, true).catch((err: unknown) => ({
        format, versions, bucketRows, rows: 0, bytes: 0, files: 0, seconds: 0, rowsPerSec: 0, error: String(err),
      }));
      note(`[report]   ${r.error ?? `${int(r.rows)} rows in ${r.seconds.toFixed(2)} s: ${int(r.rowsPerSec)} rows/s, ${mib(r.bytes)} in ${r.files} file(s), peak RSS ${mib(r.peakRssBytes)}`}`);
      reports.push(r);
      return r;
    };

    for (const format of cfg.formats) await one(`all-${format}`, format, "All");
    const current = await one("current-CSV", "CSV", "Current");

    if (cfg.naive) {
      note(`[naive] ListObjectsV2 via @aws-sdk/client-s3 -> gzip CSV, against Stocktake (${int(current.rows)} objects)`);
      const n = await naiveReport(server, SOURCE, scratch);
      note(`[naive]   ${int(n.rows)} rows in ${n.seconds.toFixed(1)} s: ${int(n.rowsPerSec)} rows/s`);
      naive.push(n);
    }

    const prober = otherClient ?? client;
    const where = other === undefined ? "" : ", against node 2";
    note(`[latency] idle: PUT/GET/LIST at concurrency 1 each for ${cfg.latencySeconds} s${where}`);
    await probeLatency(prober, nextObject, timed(1));
    const idle = await probeLatency(prober, nextObject, timed(cfg.latencySeconds));
    note(`[latency] during a CSV report over ${bucketRows.toLocaleString("en-US")} versions${other === undefined ? "" : " on node 1, probes against node 2"}`);
    let done = false;
    const t0 = performance.now();
    const run = runReport(api, "latency-CSV", "CSV", "All", bucketRows, false).finally(() => (done = true));
    const during = await probeLatency(prober, nextObject, () => done);
    const runResult = await run;
    if (runResult.error) throw new Error(`the report under load failed: ${runResult.error}`);
    latency = { idle, during, runSeconds: (performance.now() - t0) / 1000, runRowsPerSec: runResult.rowsPerSec, runFiles: runResult.files };

    if (cfg.big > cfg.objects) {
      nextObject = await seed(server, db.url, nextObject, cfg.big - cfg.objects);
      bucketRows = cfg.big;
      for (const format of cfg.formats) await one(`big-${format}`, format, "All");
    }
    if (flags.metrics) await printMetrics(server.endpoint);
  } finally {
    await api.close();
    await client.close();
    await otherClient?.close();
    await other?.stop();
    await server.stop();
    await db.stop();
  }

  if (cfg.s3rver && cfg.naive) {
    const s3rver = await startS3rver(cfg.baseDir);
    const c = new BenchS3Client({ endpoint: s3rver.endpoint, accessKey: s3rver.accessKey, secretKey: s3rver.secretKey, region: s3rver.region, connections: 32 });
    try {
      note(`[s3rver] seeding ${cfg.s3rverObjects.toLocaleString("en-US")} empty objects with PUT (c=32; a million would take hours)`);
      if ((await c.createBucket(SOURCE)).status !== 200) throw new Error("s3rver CreateBucket failed");
      const empty = Buffer.alloc(0);
      const s = await runLoad({ concurrency: 32, count: cfg.s3rverObjects, op: async (i) => (await c.putObject(SOURCE, benchKey(i), empty)).status === 200 });
      if (s.errors > 0) throw new Error(`s3rver seeding: ${s.errors} errors, first ${s.firstError}`);
      note(`[naive] ListObjectsV2 via @aws-sdk/client-s3 -> gzip CSV, against s3rver (${int(cfg.s3rverObjects)} objects)`);
      const n = await naiveReport(s3rver, SOURCE, scratch);
      note(`[naive]   ${int(n.rows)} rows in ${n.seconds.toFixed(1)} s: ${int(n.rowsPerSec)} rows/s`);
      naive.push(n);
    } finally {
      await c.close();
      await s3rver.stop();
    }
  }
  removeScratch();
  return report(reports, naive, latency, idleRss, { git, dirty });
}

function report(
  reports: ReportResult[],
  naive: NaiveResult[],
  latency: { idle: Latency; during: Latency; runSeconds: number; runRowsPerSec: number; runFiles: number } | undefined,
  idleRss: number | undefined,
  git: { git?: string; dirty: boolean },
): number {
  const lines: string[][] = [["report", "bucket", "rows", "seconds", "rows/s", "written", "peak RSS", "target"]];
  const engine = `metadata: ${describeMetadata(cfg.metadata).engine}, ${cfg.nodes} node${cfg.nodes === 1 ? "" : "s"}`;
  let failed = false;
  for (const r of reports) {
    const rssOk = r.peakRssBytes === undefined || r.peakRssBytes < TARGETS.peakRssMiB * 1048576;
    const rateTarget = r.versions === "All";
    const rateOk = !rateTarget || r.rowsPerSec >= TARGETS.rowsPerSec;
    // ORC files must be smaller than the gzip CSV of the same report.
    const csv = r.format === "ORC" ? reports.find((c) => c.format === "CSV" && c.versions === r.versions && c.bucketRows === r.bucketRows && !c.error) : undefined;
    const sizeNote = csv ? `, < CSV ${r.bytes < csv.bytes ? "ok" : "MISS"}` : "";
    if (r.error) failed = true;
    lines.push([
      `${r.format} ${r.versions === "All" ? "all versions" : "current (ListObjectsV2 columns)"}`,
      int(r.bucketRows),
      int(r.rows),
      r.seconds.toFixed(2),
      int(r.rowsPerSec),
      mib(r.bytes),
      mib(r.peakRssBytes),
      r.error ? `FAILED ${r.error.slice(0, 80)}` : `${rateTarget ? `≥${int(TARGETS.rowsPerSec)}/s ${rateOk ? "ok" : "MISS"}, ` : ""}RSS <${TARGETS.peakRssMiB} MiB ${rssOk ? "ok" : "MISS"}${sizeNote}`,
    ]);
  }
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  const out = lines.map((l) => l.map((c, i) => c.padEnd(widths[i]!)).join(" | ").trimEnd());
  out.splice(1, 0, widths.map((w) => "-".repeat(w)).join("-|-"));
  out.unshift(engine + (cfg.nodes === 2 ? " (reports run on node 1; the latency probes go to node 2)" : ""), "");
  out.push("", `each report ran in a freshly started server (peak RSS = VmHWM of that process); idle RSS before a report: up to ${mib(idleRss)}`);

  const current = reports.find((r) => r.versions === "Current" && !r.error);
  const ratios: Record<string, number | undefined> = {};
  for (const n of naive) {
    const ratio = current ? current.rowsPerSec / n.rowsPerSec : undefined;
    const target = n.target === "stocktake" ? TARGETS.naiveOwn : TARGETS.naiveS3rver;
    ratios[`naive_${n.target}`] = ratio;
    out.push(
      `naive ListObjectsV2 (@aws-sdk/client-s3) -> gzip CSV against ${n.target}, ${int(n.rows)} objects: ${int(n.rowsPerSec)} rows/s; ` +
        `report ${int(current?.rowsPerSec)} rows/s is ${ratio === undefined ? "-" : ratio.toFixed(1)}x (target ≥${target}x) ${ratio !== undefined && ratio >= target ? "ok" : "MISS"}` +
        (n.target === "s3rver" ? ` [s3rver bucket is smaller: rates compared, not times]` : ""),
    );
  }
  if (latency) {
    out.push(
      "",
      `latency at concurrency 1 per operation, idle vs during a ${latency.runSeconds.toFixed(1)} s CSV report ` +
        `(${int(latency.runRowsPerSec)} rows/s under this load, ${latency.runFiles} file(s)) (target: within ${TARGETS.latency}x of idle):`,
    );
    for (const op of ["put", "get", "list"] as const) {
      const i = latency.idle[op];
      const d = latency.during[op];
      const r50 = d.p50Ms / i.p50Ms;
      const r99 = d.p99Ms / i.p99Ms;
      ratios[`${op}_p50`] = r50;
      ratios[`${op}_p99`] = r99;
      const label = { put: "PUT 4KiB", get: "GET 4KiB", list: "LIST 100 keys" }[op];
      out.push(
        `  ${label.padEnd(13)} idle p50 ${ms(i.p50Ms)} p99 ${ms(i.p99Ms)} (${i.ops} ops) | during p50 ${ms(d.p50Ms)} p99 ${ms(d.p99Ms)} (${d.ops} ops${d.errors ? `, ${d.errors} errors` : ""}) | ` +
          `ratio p50 ${r50.toFixed(2)}x ${r50 <= TARGETS.latency ? "ok" : "MISS"}, p99 ${r99.toFixed(2)}x ${r99 <= TARGETS.latency ? "ok" : "MISS"}`,
      );
    }
  }
  process.stdout.write(`\n${out.join("\n")}\n\n`);
  const round = (n: number | undefined, d = 1) => (n === undefined || !Number.isFinite(n) ? null : +n.toFixed(d));
  process.stdout.write(
    JSON.stringify({
      bench: "stocktake-inventory",
      schema: 1,
      time: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      git: { commit: git.git, dirty: git.dirty },
      config: {
        objects: cfg.objects,
        big: cfg.big,
        s3rverObjects: cfg.s3rverObjects,
        formats: cfg.formats,
        fields: FIELDS,
        metadata: describeMetadata(cfg.metadata),
        nodes: cfg.nodes,
        postgres: cfg.metadata.engine === "postgres" && cfg.metadata.url === undefined ? POSTGRES_SETTINGS : undefined,
      },
      reports: reports.map((r) => ({ ...r, seconds: round(r.seconds, 3), rowsPerSec: round(r.rowsPerSec) })),
      idleRssBytes: idleRss,
      naive: naive.map((n) => ({ ...n, seconds: round(n.seconds, 3), rowsPerSec: round(n.rowsPerSec) })),
      latency,
      ratios: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, round(v, 3)])),
      targets: TARGETS,
    }) + "\n",
  );
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (err: unknown) => {
    note(err instanceof Error ? (err.stack ?? err.message) : String(err));
    await stopAll();
    removeScratch();
    process.exitCode = 1;
  },
);
