// Starts a real Stocktake server on a free loopback port with a fresh data directory, and an AWS
// SDK v3 client pointed at it with default settings (only endpoint, region, credentials and
// path-style addressing set). Tests call stop() in an after hook.
//
// With STOCKTAKE_TEST_POSTGRES set to a PostgreSQL server's URL (scripts/with-postgres.ts sets it
// for the suite's second pass), each fresh server keeps its metadata in a new database there
// instead of SQLite: the same tests then check the PostgreSQL store.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { startServer, type RunningServer, type StartOptions } from "../../src/server/index.js";
import { silentLogger } from "../../src/log.js";
import { createDatabase } from "./postgres.js";

export const TEST_ACCESS_KEY = "STKTESTACCESSKEY0001";
export const TEST_SECRET_KEY = "test-secret-key-0001/abcdefghijklmnopqrstu";
export const TEST_ACCOUNT_ID = "111122223333";

export interface TestServer extends RunningServer {
  dataDir: string;
  client: S3Client;
  clientFor(accessKeyId: string, secretAccessKey: string): S3Client;
  /** Stops and starts the server again on the same data directory. */
  restart(): Promise<TestServer>;
  stop(): Promise<void>;
}

/** On PostgreSQL: each data directory's database. */
const databaseOf = new Map<string, string>();

/** The engine the suite runs on: "postgres" in the second pass (STOCKTAKE_TEST_POSTGRES), else "sqlite". */
export const TEST_METADATA_ENGINE = process.env.STOCKTAKE_TEST_POSTGRES ? "postgres" : "sqlite";

/** The environment for a `stocktake` command run against this server's data (and its database, on PostgreSQL). */
export function cliEnv(server: { dataDir: string; context: { config: { metadataUrl?: string } } }): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, STOCKTAKE_DATA_DIR: server.dataDir };
  if (server.context.config.metadataUrl !== undefined) env.STOCKTAKE_METADATA_URL = server.context.config.metadataUrl;
  return env;
}

export async function startTestServer(options: StartOptions = {}, dataDir?: string): Promise<TestServer> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), "stocktake-test-"));
  const postgres = process.env.STOCKTAKE_TEST_POSTGRES;
  if (options.metadataUrl === undefined && postgres) {
    // A data directory started on again (a restart, a second server on it) has its database still.
    let url = databaseOf.get(dir);
    if (url === undefined) databaseOf.set(dir, (url = await createDatabase(postgres)));
    options = { ...options, metadataUrl: url };
  }
  const server = await startServer({
    host: "127.0.0.1",
    port: 0,
    dataDir: dir,
    rootAccessKey: TEST_ACCESS_KEY,
    rootSecretKey: TEST_SECRET_KEY,
    rootAccountId: TEST_ACCOUNT_ID,
    log: silentLogger,
    // The default 64 MiB reserve would cost every test server a 64 MiB write; the disk-full tests
    // choose their own.
    diskReserveBytes: 4 * 1024 * 1024,
    // The suites send SSE-C to a plain-HTTP loopback server; test/integration/tls.test.ts covers the refusal.
    allowInsecureSseC: true,
    ...options,
  });
  const clientFor = (accessKeyId: string, secretAccessKey: string) =>
    new S3Client({
      endpoint: server.url,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId, secretAccessKey },
    });
  const client = clientFor(TEST_ACCESS_KEY, TEST_SECRET_KEY);
  let stopped = false;
  return {
    ...server,
    dataDir: dir,
    client,
    clientFor,
    async restart() {
      client.destroy();
      await server.close();
      stopped = true;
      return startTestServer(options, dir);
    },
    async stop() {
      client.destroy();
      if (!stopped) {
        stopped = true;
        await server.close();
      }
      if (!dataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
