// A server child for the crash tests that need a setting the CLI does not expose: like
// `stocktake serve` (settings from STOCKTAKE_* variables, "listening on" once ready, a clean stop
// on SIGTERM), plus STOCKTAKE_TEST_INVENTORY_MAX_FILE_BYTES, so that a report rolls over into many
// small data files and a kill finds some already committed as (unpublished) blobs,
// STOCKTAKE_TEST_CLUSTER_HEARTBEAT_MS and _NODE_TIMEOUT_MS, so that on PostgreSQL a killed node is
// known dead within a second (its restart then sweeps what it left, as a lone node), and
// STOCKTAKE_TEST_KILL_AFTER_PUBLISH=1: the process kills itself (SIGKILL) the moment the commit
// that publishes an inventory report is durable, before any code after that commit runs: what a
// kill -9 in that instant leaves on disk.
import { startServer } from "../../src/server/index.js";
import { SqliteMetadataStore } from "../../src/storage/sqlite-metadata.js";

const env = process.env;
if (env.STOCKTAKE_TEST_KILL_AFTER_PUBLISH === "1") {
  const putVersions = SqliteMetadataStore.prototype.putVersions;
  SqliteMetadataStore.prototype.putVersions = function (this: SqliteMetadataStore, ...args: Parameters<typeof putVersions>) {
    const committed = putVersions.apply(this, args);
    if (args[1].some((r) => r.key.endsWith("/manifest.checksum"))) {
      // Runs before the continuation of whoever awaits the commit.
      void committed.then(() => process.kill(process.pid, "SIGKILL"));
    }
    return committed;
  };
}
const maxFileBytes = env.STOCKTAKE_TEST_INVENTORY_MAX_FILE_BYTES;
const optionalNumber = (v: string | undefined) => (v === undefined ? undefined : Number(v));
const server = await startServer({
  metadataUrl: env.STOCKTAKE_METADATA_URL,
  clusterHeartbeatMs: optionalNumber(env.STOCKTAKE_TEST_CLUSTER_HEARTBEAT_MS),
  clusterNodeTimeoutMs: optionalNumber(env.STOCKTAKE_TEST_CLUSTER_NODE_TIMEOUT_MS),
  host: env.STOCKTAKE_HOST ?? "127.0.0.1",
  port: Number(env.STOCKTAKE_PORT ?? 0),
  dataDir: env.STOCKTAKE_DATA_DIR,
  rootAccessKey: env.STOCKTAKE_ROOT_ACCESS_KEY,
  rootSecretKey: env.STOCKTAKE_ROOT_SECRET_KEY,
  rootAccountId: env.STOCKTAKE_ROOT_ACCOUNT_ID,
  inventoryMaxFileBytes: maxFileBytes === undefined ? undefined : Number(maxFileBytes),
});
process.stdout.write(`Stocktake (test child) listening on ${server.url}\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
