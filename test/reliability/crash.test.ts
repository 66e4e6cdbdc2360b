// kill -9 under concurrent PUT / COPY / DELETE / multipart traffic (an unversioned and a versioned
// bucket, inline-sized and blob-sized bodies, 1-3 part uploads), restart, check (harness.ts):
// every acknowledged write reads back with its bytes and ETag, an acknowledged DELETE stays
// deleted, nothing unacknowledged is visible (an operation in flight at the kill either landed
// whole or not at all), listings agree with GETs, acknowledged uploads and parts survive, and after
// the start-up sweep every blob file is referenced and tmp/ is empty.
//
// Runs on both metadata engines: SQLite under the data directory, and a throwaway PostgreSQL
// (the server child then gets STOCKTAKE_METADATA_URL, as `stocktake serve --metadata` would).
// Short form (npm test): 3 kills each. Long form: `npm run test:crash-long` (STOCKTAKE_CRASH_KILLS=25).
// STOCKTAKE_CRASH_SEED repeats a run's choices of operations, keys, sizes and kill times.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkOrphans, ChildServer, prng, TrafficModel } from "./harness.js";
import { postgresUnavailable, startPostgres, type TestPostgres } from "../helpers/postgres.js";

const KILLS = Number(process.env.STOCKTAKE_CRASH_KILLS ?? 3);
const SEED = Number(process.env.STOCKTAKE_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** The PostgreSQL child's node timeout: how long a killed node passes for alive. */
const NODE_TIMEOUT_MS = 1000;

const ENGINES = [
  { engine: "SQLite", skip: undefined },
  { engine: "PostgreSQL", skip: postgresUnavailable() },
] as const;

for (const { engine, skip } of ENGINES) describe(`crash safety (SIGKILL under mixed traffic), metadata in ${engine}`, { skip }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), "stocktake-crash-"));
  let postgres: TestPostgres | undefined;
  let metadataUrl: string | undefined;
  let server: ChildServer;
  before(async () => {
    if (engine === "PostgreSQL") {
      postgres = await startPostgres();
      metadataUrl = postgres.url;
    }
    // On PostgreSQL a killed node stays "alive" until its heartbeats are overdue, and while it does
    // the restarted node sweeps only old files (docs/scale-out.md). The child's short timeout, and
    // waiting it out before each restart, makes the restart a lone node's, which sweeps at once.
    server =
      metadataUrl === undefined
        ? new ChildServer(dataDir)
        : new ChildServer(dataDir, {
            entry: "test/reliability/serve-child.ts",
            env: { STOCKTAKE_METADATA_URL: metadataUrl, STOCKTAKE_TEST_CLUSTER_HEARTBEAT_MS: "200", STOCKTAKE_TEST_CLUSTER_NODE_TIMEOUT_MS: String(NODE_TIMEOUT_MS) },
          });
  });
  after(async () => {
    await server?.kill();
    await postgres?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`keeps every acknowledged write and shows nothing else across ${KILLS} kills (seed ${SEED})`, { timeout: 60_000 + KILLS * 30_000 }, async (t) => {
    const rand = prng(SEED);
    const model = new TrafficModel({
      buckets: [
        { name: "crash-plain", versioned: false },
        { name: "crash-versioned", versioned: true },
      ],
      workersPerBucket: 6,
      keysPerWorker: 6,
      seed: SEED,
    });
    await server.start();
    let s3 = server.client();
    await model.setup(s3);
    const started = Date.now();
    for (let kill = 1; kill <= KILLS; kill++) {
      const traffic = model.start(s3);
      // Kill at a random moment: 0.3-2.5 s into the round's traffic.
      await new Promise((r) => setTimeout(r, 300 + Math.floor(rand() * 2200)));
      const stopped = traffic.stop();
      await server.kill();
      await stopped;
      s3.destroy();
      if (metadataUrl !== undefined) await new Promise((r) => setTimeout(r, NODE_TIMEOUT_MS + 200));

      await server.start();
      s3 = server.client();
      const report = await model.verify(s3);
      // The server is idle (only reads since its start-up sweep): every blob must be referenced.
      const orphans = await checkOrphans(dataDir, metadataUrl);
      t.diagnostic(
        `kill ${kill}: ${report.keys} keys (${report.present} present), ${report.versions} new versions read, ` +
          `${report.openUploads} open uploads, in flight ${report.landed} landed / ${report.notLanded} not; ` +
          `${orphans.blobFiles} blob files, ${orphans.orphans.length} orphans, ${orphans.tmpFiles.length} in tmp`,
      );
      assert.deepEqual(model.violations, [], `violations after kill ${kill} (seed ${SEED})`);
      assert.deepEqual(orphans.orphans, [], `orphan blobs after kill ${kill}`);
      assert.deepEqual(orphans.tmpFiles, [], `files left in tmp/ after kill ${kill}`);
    }
    s3.destroy();
    await server.stop();
    const final = await checkOrphans(dataDir, metadataUrl);
    assert.deepEqual(final.orphans, []);
    const ack = Object.entries(model.stats.acknowledged).map(([k, v]) => `${k} ${v}`).join(", ");
    const inflight = Object.entries(model.stats.inFlightAtKill).map(([k, v]) => `${k} ${v}`).join(", ");
    t.diagnostic(`${KILLS} kills in ${((Date.now() - started) / 1000).toFixed(1)} s; acknowledged: ${ack}; reads ${model.stats.reads}; in flight at kills: ${inflight}`);
    const acked = Object.values(model.stats.acknowledged).reduce((a, b) => a + b, 0);
    assert.ok(acked > KILLS * 10, `enough traffic was acknowledged (${acked})`);
  });
});
