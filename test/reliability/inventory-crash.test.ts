// kill -9 in the middle of an inventory run. The source bucket is seeded straight through the
// storage layer while the server is stopped (bench/inventory-data.ts), so a run takes a while; a
// run is started on demand (signed POST ?inventory&id=…&run), the server is killed once the run
// has written a random share of its rows, and restarted. Then: nothing of that run is visible in
// the destination (no data file, manifest.json, symlink.txt or manifest.checksum), the run record
// is "failed" ("interrupted by a server restart"), no blob file is an orphan and tmp/ is empty,
// and the next on-demand run completes with every row. Data files roll over at 512 KiB, so a kill
// finds some already committed as blobs that no record references yet.
//
// Short form (npm test): one kill. Long form (STOCKTAKE_CRASH_KILLS > 3, `npm run test:crash-long`):
// six kills at different points of the run, the same data directory throughout.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutBucketInventoryConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { seedBucket } from "../../bench/inventory-data.js";
import { reportDeliveryPolicy } from "../helpers/inventory.js";
import { signedFetch } from "../helpers/raw.js";
import { TEST_ACCESS_KEY, TEST_ACCOUNT_ID, TEST_SECRET_KEY } from "../helpers/server.js";
import { checkOrphans, ChildServer, listAllObjects, prng } from "./harness.js";

const KILLS = Number(process.env.STOCKTAKE_CRASH_KILLS ?? 3) > 3 ? 6 : 1;
const SEED = Number(process.env.STOCKTAKE_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const SOURCE = "inv-crash-src";
const DEST = "inv-crash-dst";
const CONFIG = "crash";
const SEEDED = Number(process.env.STOCKTAKE_INVENTORY_CRASH_ROWS ?? (KILLS > 1 ? 300_000 : 150_000));
const credentials = { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY };
const tag = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

describe("crash safety of inventory runs (SIGKILL mid-run)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "stocktake-inv-crash-"));
  const server = new ChildServer(dataDir, {
    entry: "test/reliability/serve-child.ts",
    env: { STOCKTAKE_TEST_INVENTORY_MAX_FILE_BYTES: String(512 * 1024) },
  });
  after(async () => {
    await server.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  // Each kill may also wait up to a minute: a run after a successful one in the same minute waits
  // for the next minute (reports are named by the minute).
  it(`publishes nothing of a killed run, marks it failed, sweeps its files, and the next run completes (${KILLS} kill(s), seed ${SEED})`, { timeout: 120_000 + KILLS * 90_000 }, async (t) => {
    const rand = prng(SEED);
    await server.start();
    let s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: SOURCE }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: SOURCE, VersioningConfiguration: { Status: "Enabled" } }));
    await s3.send(new CreateBucketCommand({ Bucket: DEST }));
    await s3.send(new PutBucketPolicyCommand({ Bucket: DEST, Policy: reportDeliveryPolicy(DEST) }));
    await s3.send(
      new PutBucketInventoryConfigurationCommand({
        Bucket: SOURCE,
        Id: CONFIG,
        InventoryConfiguration: {
          Id: CONFIG,
          IsEnabled: true,
          IncludedObjectVersions: "All",
          Schedule: { Frequency: "Daily" },
          OptionalFields: ["Size", "LastModifiedDate", "ETag", "StorageClass", "IsMultipartUploaded", "EncryptionStatus"],
          Destination: { S3BucketDestination: { Bucket: `arn:aws:s3:::${DEST}`, Format: "CSV", Prefix: "reports" } },
        },
      }),
    );
    // A few real objects (one blob-sized) that every restart must keep.
    const real = new Map<string, string>();
    for (let i = 0; i < 5; i++) {
      const body = randomBytes(i === 0 ? 200 * 1024 : 1000 + i);
      await s3.send(new PutObjectCommand({ Bucket: SOURCE, Key: `zz-real/${i}`, Body: body }));
      real.set(`zz-real/${i}`, createHash("md5").update(body).digest("hex"));
    }
    s3.destroy();
    await server.stop();
    const seeded = await seedBucket(dataDir, SOURCE, TEST_ACCOUNT_ID, 0, SEEDED);
    t.diagnostic(`seeded ${seeded.rows} versions in ${seeded.seconds.toFixed(1)} s`);
    const totalRows = seeded.rows + real.size;

    await server.start();
    s3 = server.client();
    // What the destination lists: only successful runs add to it.
    let published = new Set<string>();
    for (let kill = 1; kill <= KILLS; kill++) {
      // Kill once the run has written this share of its rows (the last kills close to the end).
      // A run that finishes between two looks is no kill mid-run: then another run, aiming earlier.
      let share = kill === KILLS && KILLS > 1 ? 0.9 : 0.05 + rand() * 0.85;
      let runId = "";
      let rows = 0;
      for (let attempt = 1; ; attempt++) {
        const started = await signedFetch(server.url, credentials, "POST", `/${SOURCE}`, { inventory: "", id: CONFIG, run: "" });
        assert.equal(started.status, 202, started.text);
        runId = tag(started.text, "RunId")!;
        let status = "running";
        for (;;) {
          const res = await signedFetch(server.url, credentials, "GET", `/${SOURCE}`, { "inventory-runs": "", "run-id": runId });
          status = tag(res.text, "Status")!;
          rows = Number(tag(res.text, "Rows"));
          if (status !== "running" || rows >= share * totalRows) break;
          await new Promise((r) => setTimeout(r, 15));
        }
        if (status === "running") break;
        assert.equal(status, "succeeded");
        assert.ok(attempt < 4, "runs keep finishing before the kill; seed more rows (STOCKTAKE_INVENTORY_CRASH_ROWS)");
        t.diagnostic(`kill ${kill}: the run finished before ${Math.round(share * 100)}% could be seen; another run, aiming at half that`);
        published = new Set((await listAllObjects(s3, DEST)).keys());
        share /= 2;
      }
      const killedAt = Date.now();
      s3.destroy();
      await server.kill();
      await server.start();
      const restartMs = Date.now() - killedAt;
      s3 = server.client();

      // The run failed and nothing of it is visible: the destination lists exactly what it listed
      // before the run. (Unless the run finished in the instant between the last look and the
      // kill: then its report must be complete and its record must say so.)
      const run = (await signedFetch(server.url, credentials, "GET", `/${SOURCE}`, { "inventory-runs": "", "run-id": runId })).text;
      const listed = await listAllObjects(s3, DEST);
      if (tag(run, "Status") === "succeeded") {
        t.diagnostic(`kill ${kill}: the run had published its report just before the kill`);
        const manifestKey = tag(run, "ManifestKey")!;
        assert.ok(listed.has(manifestKey) && listed.has(manifestKey.replace(/manifest\.json$/, "manifest.checksum")), "a succeeded run's report is complete");
      } else {
        assert.equal(tag(run, "Status"), "failed", run);
        assert.equal(tag(run, "Error"), "interrupted by a server restart");
        assert.deepEqual([...listed.keys()].sort(), [...published].sort(), "the destination lists exactly what it listed before the killed run");
      }

      // Its files were swept: no orphan blob, nothing in tmp/.
      const orphans = await checkOrphans(dataDir);
      assert.deepEqual(orphans.orphans, [], "orphan blobs");
      assert.deepEqual(orphans.tmpFiles, [], "files in tmp/");

      // The real objects are intact.
      for (const [key, md5] of real) {
        const got = await s3.send(new GetObjectCommand({ Bucket: SOURCE, Key: key }));
        assert.equal(createHash("md5").update(await got.Body!.transformToByteArray()).digest("hex"), md5);
      }

      // The next run completes, with every row, and its report is complete.
      const next = await signedFetch(server.url, credentials, "POST", `/${SOURCE}`, { inventory: "", id: CONFIG, run: "", wait: "" });
      assert.equal(next.status, 200, next.text);
      assert.equal(tag(next.text, "Status"), "succeeded", next.text);
      assert.equal(Number(tag(next.text, "Rows")), totalRows);
      const manifestKey = tag(next.text, "ManifestKey")!;
      const manifest = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: DEST, Key: manifestKey }))).Body!.transformToString()) as {
        files: { key: string; size: number; MD5checksum: string }[];
      };
      const afterRun = await listAllObjects(s3, DEST);
      assert.ok(afterRun.has(manifestKey.replace(/manifest\.json$/, "manifest.checksum")), "the new run's manifest.checksum is there");
      for (const f of manifest.files) assert.equal(afterRun.get(f.key)?.size, f.size, `data file ${f.key}`);
      published = new Set(afterRun.keys());
      assert.deepEqual((await checkOrphans(dataDir)).orphans, [], "orphans after the next run");
      t.diagnostic(
        `kill ${kill}: killed at ${rows}/${totalRows} rows (${Math.round((rows / totalRows) * 100)}%), restarted in ${(restartMs / 1000).toFixed(1)} s; ` +
          `next run: ${manifest.files.length} data files; ${orphans.blobFiles} blob files after the sweep`,
      );
    }
    s3.destroy();
    await server.stop();
  });

  it("after a kill in the instant the report's commit is durable, the report and the run record agree", { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "stocktake-inv-publish-"));
    const dying = new ChildServer(dir, { entry: "test/reliability/serve-child.ts", env: { STOCKTAKE_TEST_KILL_AFTER_PUBLISH: "1" } });
    const normal = new ChildServer(dir, { entry: "test/reliability/serve-child.ts" });
    try {
      await dying.start();
      let s3 = dying.client();
      await s3.send(new CreateBucketCommand({ Bucket: SOURCE }));
      await s3.send(new CreateBucketCommand({ Bucket: DEST }));
      await s3.send(new PutBucketPolicyCommand({ Bucket: DEST, Policy: reportDeliveryPolicy(DEST) }));
      await s3.send(
        new PutBucketInventoryConfigurationCommand({
          Bucket: SOURCE,
          Id: CONFIG,
          InventoryConfiguration: {
            Id: CONFIG,
            IsEnabled: true,
            IncludedObjectVersions: "Current",
            Schedule: { Frequency: "Daily" },
            Destination: { S3BucketDestination: { Bucket: `arn:aws:s3:::${DEST}`, Format: "CSV", Prefix: "reports" } },
          },
        }),
      );
      for (let i = 0; i < 20; i++) await s3.send(new PutObjectCommand({ Bucket: SOURCE, Key: `k${i}`, Body: `body ${i}` }));
      const started = await signedFetch(dying.url, credentials, "POST", `/${SOURCE}`, { inventory: "", id: CONFIG, run: "" });
      assert.equal(started.status, 202, started.text);
      const runId = tag(started.text, "RunId")!;
      s3.destroy();
      await dying.waitForExit();

      await normal.start();
      s3 = normal.client();
      const listed = await listAllObjects(s3, DEST);
      const checksum = [...listed.keys()].find((k) => k.endsWith("/manifest.checksum"));
      assert.ok(checksum, "the report's commit was durable before the kill: the report is published");
      const run = (await signedFetch(normal.url, credentials, "GET", `/${SOURCE}`, { "inventory-runs": "", "run-id": runId })).text;
      assert.equal(tag(run, "Status"), "succeeded", `a published report's run must not say otherwise: ${run}`);
      assert.equal(tag(run, "ManifestKey"), checksum.replace(/manifest\.checksum$/, "manifest.json"));
      assert.equal(Number(tag(run, "Rows")), 20);
      assert.deepEqual((await checkOrphans(dir)).orphans, []);
      s3.destroy();
    } finally {
      await dying.kill();
      await normal.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
