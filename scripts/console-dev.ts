// A server for working on the console: `node --import tsx scripts/console-dev.ts [port] [consoleDir]`
// starts Stocktake on 127.0.0.1 with the test root keys and a fresh data directory, serving the
// console built into consoleDir (default dist/console). Build with
// `npx vite build --config console/vite.config.ts --outDir <consoleDir>`; the server reads the built
// files once, so restart it after a rebuild.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startServer } from "../src/server/index.js";
import { createLogger } from "../src/log.js";
import { TEST_ACCESS_KEY, TEST_SECRET_KEY, TEST_ACCOUNT_ID } from "../test/helpers/server.js";

const port = Number(process.argv[2] ?? 9400);
const consoleDir = process.argv[3] === undefined ? undefined : resolve(process.argv[3]);
const dataDir = mkdtempSync(join(tmpdir(), "stocktake-console-dev-"));
const server = await startServer({
  host: "127.0.0.1",
  port,
  dataDir,
  rootAccessKey: TEST_ACCESS_KEY,
  rootSecretKey: TEST_SECRET_KEY,
  rootAccountId: TEST_ACCOUNT_ID,
  diskReserveBytes: 0,
  consoleDir,
  log: createLogger({ format: "json", level: "warn" }),
});
process.stdout.write(`${server.url}/_stocktake/console/ keys ${TEST_ACCESS_KEY} ${TEST_SECRET_KEY} data ${dataDir}\n`);
const stop = () => void server.close({ graceMs: 1000 }).then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
