// Starts a real Stocktake server on a free loopback port with a fresh data directory, and an AWS
// SDK v3 client pointed at it with default settings (only endpoint, region, credentials and
// path-style addressing set). Tests call stop() in an after hook.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { startServer, type RunningServer, type StartOptions } from "../../src/server/index.js";
import { silentLogger } from "../../src/log.js";

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

export async function startTestServer(options: StartOptions = {}, dataDir?: string): Promise<TestServer> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), "stocktake-test-"));
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
      if (!stopped) await server.close();
      if (!dataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
