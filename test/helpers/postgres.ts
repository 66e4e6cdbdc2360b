// A throwaway PostgreSQL for tests: initdb into a temporary directory (trust authentication, C
// locale, UTF-8), pg_ctl start on a free loopback port, one fresh database per newDatabase().
// Nothing is shared with any other PostgreSQL on the machine, and stop() leaves nothing behind.
//
// initdb and postgres refuse to run as root, and tests often do (containers, CI images). As root
// the server's programs run as the unprivileged `nobody` through runuser(1), in a directory
// chowned to it; the tests themselves connect over TCP with trust auth, so they need no
// credentials of that user. (--allow-group-access does not help: it is about file modes, not uid.)
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, chownSync, constants, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);

export interface TestPostgres {
  /** The server's first database. */
  url: string;
  /** The server without a database name, for createDatabase(). */
  serverUrl: string;
  /** Creates a fresh empty database and returns its URL: one per test suite keeps suites apart. */
  newDatabase(): Promise<string>;
  stop(): Promise<void>;
}

/** Directories where Debian and most images put the PostgreSQL server programs, besides PATH. */
function candidateDirs(): string[] {
  const dirs = (process.env.PATH ?? "").split(delimiter).filter(Boolean);
  const debian = "/usr/lib/postgresql";
  if (existsSync(debian)) {
    for (const v of readdirSync(debian).sort().reverse()) dirs.push(join(debian, v, "bin"));
  }
  return dirs;
}

function findProgram(name: string): string | undefined {
  for (const dir of candidateDirs()) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Why PostgreSQL tests cannot run here, or undefined when they can. Under CI a missing PostgreSQL
 * is a broken image, not a reason to skip: this throws so the suite fails loudly.
 */
export function postgresUnavailable(): string | undefined {
  if (findProgram("initdb") && findProgram("pg_ctl")) return undefined;
  const reason = "PostgreSQL server programs (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin; install postgresql to run these tests";
  if (process.env.CI) throw new Error(`${reason} (CI is set, so this is a failure, not a skip)`);
  return reason;
}

/**
 * A fresh empty database on the server at `serverUrl` (a URL without a database name), named at
 * random so that test processes sharing one server never collide; returns its URL.
 */
export async function createDatabase(serverUrl: string): Promise<string> {
  const name = `stocktake_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: `${serverUrl}/postgres` });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
  } finally {
    await admin.end();
  }
  return `${serverUrl}/${name}`;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function idOf(user: string, flag: "-u" | "-g"): Promise<number> {
  return Number((await run("id", [flag, user])).stdout.trim());
}

export async function startPostgres(): Promise<TestPostgres> {
  const unavailable = postgresUnavailable();
  if (unavailable) throw new Error(unavailable);
  const initdb = findProgram("initdb")!;
  const pgCtl = findProgram("pg_ctl")!;
  const dir = mkdtempSync(join(tmpdir(), "stocktake-pg-"));
  const asRoot = process.getuid?.() === 0;
  // As root: the same programs, run as nobody (see the header).
  const exec = (program: string, args: string[]) =>
    asRoot ? run("runuser", ["-u", "nobody", "--", program, ...args]) : run(program, args);
  if (asRoot) chownSync(dir, await idOf("nobody", "-u"), await idOf("nobody", "-g"));
  const data = join(dir, "data");
  try {
    await exec(initdb, ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"]);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(err as { stderr?: string }).stderr ?? String(err)}`);
  }
  let port = 0;
  // The port is free when chosen but another process may take it before the server binds it.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      // -l: without a log file the server keeps pg_ctl's stdout open and execFile never returns.
      // fsync off: the throwaway server's durability is not what these tests check.
      await exec(pgCtl, ["-D", data, "-l", join(dir, "server.log"), "-w", "-t", "60", "start",
        "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`]);
      break;
    } catch (err) {
      if (attempt >= 2) {
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`pg_ctl start failed: ${(err as { stderr?: string }).stderr ?? String(err)}`);
      }
    }
  }
  const base = `postgres://postgres@127.0.0.1:${port}`;
  const newDatabase = () => createDatabase(base);
  const url = await newDatabase();
  return {
    url,
    serverUrl: base,
    newDatabase,
    stop: async () => {
      try {
        await exec(pgCtl, ["-D", data, "-m", "fast", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
