// Starts and stops the servers under test (Stocktake and s3rver) as child processes on free ports with fresh temp dirs.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export type TargetName = "stocktake" | "s3rver";

export interface Target {
  name: TargetName;
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  pid: number;
  dataDir: string;
  /** Peak resident set size of the server process so far (VmHWM), in bytes; undefined if unreadable. */
  peakRssBytes(): number | undefined;
  stop(): Promise<void>;
}

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);

const running = new Set<Target>();
/** What stopAll does once the servers are down, e.g. stop the PostgreSQL they used (bench/postgres.ts). */
const afterServers = new Set<() => Promise<void>>();

/** Stops every server still running; for Ctrl-C and crashes, so no child outlives the bench. */
export async function stopAll(): Promise<void> {
  await Promise.allSettled([...running].map((t) => t.stop()));
  await Promise.allSettled([...afterServers].map((fn) => fn()));
}

/** Has stopAll also run `fn` (after the servers stop); returns the function that takes it back. */
export function onStopAll(fn: () => Promise<void>): () => void {
  afterServers.add(fn);
  return () => afterServers.delete(fn);
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

/** Compiles src/ so Stocktake figures are for the code as it is now, not a stale dist/. */
export function buildStocktake(): { ok: boolean; output: string } {
  const tsc = require.resolve("typescript/bin/tsc");
  const r = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: repoRoot, encoding: "utf8" });
  return { ok: r.status === 0, output: `${r.stdout ?? ""}${r.stderr ?? ""}`.trim() };
}

/** BENCH_STOCKTAKE_ENTRY lets another build (e.g. an older checkout's dist/main.js) stand in as "stocktake". */
export function stocktakeEntry(): string {
  const override = process.env.BENCH_STOCKTAKE_ENTRY;
  return override ? resolve(override) : join(repoRoot, "dist", "main.js");
}

export function stocktakeBuilt(): boolean {
  return existsSync(stocktakeEntry());
}

interface SpawnSpec {
  name: TargetName;
  args: string[];
  env: NodeJS.ProcessEnv;
  port: number;
  dataDir: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** Runs the server under this open-file limit (soft and hard, through prlimit). */
  openFileLimit?: number;
  /** Whether stop() removes dataDir: not when another node still uses it. */
  removeDataDir: boolean;
}

export interface StocktakeOptions {
  /** Extra environment, e.g. STOCKTAKE_MAX_CONNECTIONS. */
  env?: Record<string, string>;
  /** The server's open-file limit (Linux, needs prlimit from util-linux); unset: this process's. */
  openFileLimit?: number;
  /** Metadata in this PostgreSQL database (STOCKTAKE_METADATA_URL) instead of SQLite in the data directory. */
  metadataUrl?: string;
  /**
   * Serve this existing data directory (another node's, for a cluster) instead of a fresh one;
   * stop() then leaves it for its owner to remove.
   */
  dataDir?: string;
}

export async function startStocktake(baseDir: string, options: StocktakeOptions = {}): Promise<Target> {
  const port = await freePort();
  const dataDir = options.dataDir ?? (await mkdtemp(join(baseDir, "stocktake-bench-")));
  const accessKey = "BENCHROOTACCESSKEY01";
  const secretKey = "bench/secret/key/for/stocktake/000000000";
  const region = "us-east-1";
  return launch({
    name: "stocktake",
    args: [stocktakeEntry(), "serve"],
    env: {
      ...process.env,
      STOCKTAKE_HOST: "127.0.0.1",
      STOCKTAKE_PORT: String(port),
      STOCKTAKE_DATA_DIR: dataDir,
      STOCKTAKE_REGION: region,
      STOCKTAKE_ROOT_ACCESS_KEY: accessKey,
      STOCKTAKE_ROOT_SECRET_KEY: secretKey,
      ...(options.metadataUrl === undefined ? {} : { STOCKTAKE_METADATA_URL: options.metadataUrl }),
      ...options.env,
    },
    port,
    dataDir,
    accessKey,
    secretKey,
    region,
    openFileLimit: options.openFileLimit,
    removeDataDir: options.dataDir === undefined,
  });
}

export async function startS3rver(baseDir: string): Promise<Target> {
  const port = await freePort();
  const dataDir = await mkdtemp(join(baseDir, "s3rver-bench-"));
  const bin = join(dirname(require.resolve("s3rver/package.json")), "bin", "s3rver.js");
  const env = { ...process.env };
  // s3rver's continuation tokens use DES, which Node 20's OpenSSL 3 only offers via the legacy provider;
  // without it every paged listing answers 500.
  env.NODE_OPTIONS = [env.NODE_OPTIONS, "--openssl-legacy-provider"].filter(Boolean).join(" ");
  return launch({
    name: "s3rver",
    args: [bin, "-d", dataDir, "-a", "127.0.0.1", "-p", String(port), "--silent", "--no-vhost-buckets"],
    env,
    port,
    dataDir,
    // s3rver's built-in account; it does not verify SigV4 signatures, only that the key exists.
    accessKey: "S3RVER",
    secretKey: "S3RVER",
    region: "us-east-1",
    removeDataDir: true,
  });
}

async function launch(spec: SpawnSpec): Promise<Target> {
  // Spawned directly (no npm/npx/shell wrapper) so child.pid is the server itself, whose RSS we
  // report; prlimit sets the limit on itself and then execs node, keeping the pid.
  const [command, args] =
    spec.openFileLimit === undefined
      ? [process.execPath, spec.args]
      : ["prlimit", [`--nofile=${spec.openFileLimit}:${spec.openFileLimit}`, "--", process.execPath, ...spec.args]];
  const child = spawn(command, args, { cwd: repoRoot, env: spec.env, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const keep = (chunk: Buffer): void => {
    // Only the tail matters for diagnosing a failed start; a chatty server must not grow our heap.
    log = (log + chunk.toString("utf8")).slice(-8192);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<void>((res) =>
    child.once("exit", (code, signal) => {
      exited = { code, signal };
      res();
    }),
  );

  let lastHwm: number | undefined;
  const readHwm = (): number | undefined => {
    if (child.pid === undefined || exited !== undefined) return lastHwm;
    try {
      const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
      if (m) lastHwm = Number(m[1]) * 1024;
    } catch {
      // Not Linux, or the process just went away: keep the last reading.
    }
    return lastHwm;
  };

  let stopped = false;
  const target: Target = {
    name: spec.name,
    endpoint: `http://127.0.0.1:${spec.port}`,
    accessKey: spec.accessKey,
    secretKey: spec.secretKey,
    region: spec.region,
    pid: child.pid ?? -1,
    dataDir: spec.dataDir,
    peakRssBytes: readHwm,
    async stop() {
      if (stopped) return;
      stopped = true;
      running.delete(target);
      readHwm();
      if (exited === undefined) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exitPromise;
        clearTimeout(timer);
      }
      if (spec.removeDataDir) await rm(spec.dataDir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
  running.add(target);

  try {
    await waitForPort(spec.port, 30_000, () => exited);
  } catch (err) {
    await target.stop();
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(`${spec.name} did not start: ${why}\n--- ${spec.name} output (tail) ---\n${log.trim()}`);
  }
  return target;
}

async function waitForPort(
  port: number,
  timeoutMs: number,
  exited: () => { code: number | null; signal: NodeJS.Signals | null } | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const e = exited();
    if (e !== undefined) throw new Error(`process exited early (code ${e.code}, signal ${e.signal})`);
    if (await canConnect(port)) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on port ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((res) => {
    const sock = connect({ host: "127.0.0.1", port });
    sock.once("connect", () => {
      sock.destroy();
      res(true);
    });
    sock.once("error", () => res(false));
  });
}

export function defaultBaseDir(): string {
  return tmpdir();
}
