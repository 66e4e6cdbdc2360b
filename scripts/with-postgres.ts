// Runs a command with a throwaway PostgreSQL server (test/helpers/postgres.ts) named in
// STOCKTAKE_TEST_POSTGRES, then stops the server: `npm test` runs the integration suite a second
// time this way, so that every test of it also checks the PostgreSQL metadata store.
// Without PostgreSQL's server programs the pass is skipped with a message (a failure under CI).
import { spawn } from "node:child_process";
import { postgresUnavailable, startPostgres } from "../test/helpers/postgres.js";

const [command, ...args] = process.argv.slice(2);
if (command === undefined) {
  process.stderr.write("usage: with-postgres <command> [args...]\n");
  process.exit(2);
}
const unavailable = postgresUnavailable();
if (unavailable) {
  process.stderr.write(`skipping the PostgreSQL pass: ${unavailable}\n`);
  process.exit(0);
}
const server = await startPostgres();
const code = await new Promise<number>((resolve) => {
  const child = spawn(command, args, { stdio: "inherit", env: { ...process.env, STOCKTAKE_TEST_POSTGRES: server.serverUrl } });
  child.on("exit", (status, signal) => resolve(status ?? (signal ? 1 : 0)));
});
await server.stop();
process.exit(code);
