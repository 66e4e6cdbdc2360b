// The benchmarks' metadata engine (--metadata sqlite|postgres|URL). `postgres` starts a throwaway
// PostgreSQL like test/helpers/postgres.ts does, but durable: the test helper turns fsync off, and
// a benchmark that let PostgreSQL skip the flushes SQLite makes (WAL, synchronous=FULL: a flush
// per commit) would compare a durable store with one that is not.
import { execFile } from "node:child_process";
import { accessSync, chownSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, delimiter } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { redactMetadataUrl } from "../src/storage/open-metadata.js";
import { createDatabase, postgresUnavailable } from "../test/helpers/postgres.js";
import { freePort, onStopAll } from "./targets.js";

const run = promisify(execFile);

/** What --metadata asked for: SQLite under the data directory, a throwaway PostgreSQL, or a given database. */
export type MetadataChoice = { engine: "sqlite" } | { engine: "postgres"; url?: string };

export function parseMetadataFlag(raw: string | undefined): MetadataChoice {
  if (raw === undefined || raw === "" || raw === "sqlite") return { engine: "sqlite" };
  if (raw === "postgres" || raw === "postgresql") return { engine: "postgres" };
  if (/^postgres(ql)?:\/\//.test(raw)) return { engine: "postgres", url: raw };
  throw new Error(`--metadata must be sqlite, postgres or a postgres:// URL, got ${raw}`);
}

export function parseNodesFlag(raw: string | undefined, metadata: MetadataChoice): 1 | 2 {
  const n = raw === undefined || raw === "" ? 1 : Number(raw);
  if (n !== 1 && n !== 2) throw new Error(`--nodes must be 1 or 2, got ${raw}`);
  // SQLite is one process's file: a second node would need a store it cannot share.
  if (n === 2 && metadata.engine !== "postgres") throw new Error("--nodes 2 needs --metadata postgres (or a postgres:// URL)");
  return n;
}

/** For table headers and the JSON line. */
export function describeMetadata(m: MetadataChoice): { engine: string; source: string; url?: string } {
  if (m.engine === "sqlite") return { engine: "sqlite", source: "data-dir" };
  if (m.url === undefined) return { engine: "postgres", source: "throwaway (fsync on)" };
  return { engine: "postgres", source: "given URL", url: redactMetadataUrl(m.url) };
}

export interface BenchDatabase {
  /** The postgres:// URL a server is given; undefined for SQLite. */
  url: string | undefined;
  /** Stops a throwaway server (and removes its files); nothing for SQLite or a given URL. */
  stop(): Promise<void>;
}

/**
 * The database for one target's run: nothing for SQLite, a fresh throwaway server for `postgres`
 * (under `baseDir`, so on the same disk as the data directories), or the given URL, which must be
 * an empty database: the master key check and the buckets a previous run left would not match a
 * fresh data directory, and the bench never deletes anyone's data to make room.
 */
export async function openBenchDatabase(m: MetadataChoice, baseDir: string): Promise<BenchDatabase> {
  if (m.engine === "sqlite") return { url: undefined, stop: async () => undefined };
  if (m.url !== undefined) {
    await requireEmpty(m.url);
    return { url: m.url, stop: async () => undefined };
  }
  const server = await startDurablePostgres(baseDir);
  return { url: server.url, stop: server.stop };
}

async function requireEmpty(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const t = await c.query<{ n: string }>(
      "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN ('versions', 'buckets', 'settings')",
    );
    if (Number(t.rows[0]!.n) > 0) {
      throw new Error(
        `${redactMetadataUrl(url)} already holds Stocktake tables: give an empty database (each run starts a fresh data directory, ` +
          `whose master key would not match the one recorded there), or --metadata postgres for a throwaway server`,
      );
    }
  } finally {
    await c.end();
  }
}

function findProgram(name: string): string | undefined {
  const dirs = (process.env.PATH ?? "").split(delimiter).filter(Boolean);
  const debian = "/usr/lib/postgresql";
  if (existsSync(debian)) for (const v of readdirSync(debian).sort().reverse()) dirs.push(join(debian, v, "bin"));
  for (const dir of dirs) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

async function idOf(user: string, flag: "-u" | "-g"): Promise<number> {
  return Number((await run("id", [flag, user])).stdout.trim());
}

/** The non-default server settings, recorded in the JSON lines so runs can be compared. */
export const POSTGRES_SETTINGS = {
  fsync: "on",
  synchronous_commit: "on",
  full_page_writes: "on",
  // Two nodes' pools (20 each), their cluster pools and listeners, and report scans.
  max_connections: "200",
} as const;

/**
 * initdb + pg_ctl start on a free loopback port with PostgreSQL's durable defaults (see the
 * header); as root the server programs run as `nobody`, as in test/helpers/postgres.ts.
 */
export async function startDurablePostgres(
  baseDir: string,
  /** More server settings, for diagnosis (e.g. shared_preload_libraries: "pg_stat_statements"). */
  extra: Record<string, string> = {},
): Promise<{ url: string; dir: string; postmasterPid: number; stop(): Promise<void> }> {
  const unavailable = postgresUnavailable();
  if (unavailable) throw new Error(unavailable);
  const initdb = findProgram("initdb")!;
  const pgCtl = findProgram("pg_ctl")!;
  const dir = mkdtempSync(join(baseDir, "stocktake-bench-pg-"));
  const asRoot = process.getuid?.() === 0;
  const exec = (program: string, args: string[]) => (asRoot ? run("runuser", ["-u", "nobody", "--", program, ...args]) : run(program, args));
  if (asRoot) chownSync(dir, await idOf("nobody", "-u"), await idOf("nobody", "-g"));
  const data = join(dir, "data");
  try {
    // --no-sync only skips flushing the initial catalogue; the running server flushes every commit.
    await exec(initdb, ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"]);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (as root the server runs as nobody, which must be able to enter ${baseDir}): ${(err as { stderr?: string }).stderr ?? String(err)}`);
  }
  const settings = Object.entries({ ...POSTGRES_SETTINGS, ...extra }).map(([k, v]) => `-c ${k}=${v}`).join(" ");
  let port = 0;
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await exec(pgCtl, ["-D", data, "-l", join(dir, "server.log"), "-w", "-t", "60", "start", "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 ${settings}`]);
      break;
    } catch (err) {
      // The port was free when chosen; another process may have taken it first.
      if (attempt >= 2) {
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`pg_ctl start failed: ${(err as { stderr?: string }).stderr ?? String(err)}`);
      }
    }
  }
  // One promise for every caller: on Ctrl-C, stopAll must wait for a stop the bench already began.
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      try {
        await exec(pgCtl, ["-D", data, "-m", "fast", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
        unregister();
      }
    })());
  const unregister = onStopAll(stop);
  try {
    const url = await createDatabase(`postgres://postgres@127.0.0.1:${port}`);
    const postmasterPid = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
    return { url, dir, postmasterPid, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
