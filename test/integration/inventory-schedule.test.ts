// Scheduled inventory runs, driven by a ManualClock: reports appear at the due time (read back
// through S3 with their manifest.checksum), not before; Weekly only on Sunday; nothing while
// disabled; one catch-up run after days down; runs a crash left "running" become failed.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  CreateBucketCommand,
  DeleteBucketInventoryConfigurationCommand,
  PutBucketInventoryConfigurationCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  type InventoryConfiguration,
  type S3Client,
} from "@aws-sdk/client-s3";
import { ManualClock } from "../../src/clock.js";
import { ACTIVE_RUN_KIND, INTERRUPTED_ERROR, RUN_KIND, type InventoryRun } from "../../src/inventory/run.js";
import { SCHEDULE_KIND } from "../../src/inventory/scheduler.js";
import { startTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import { signedFetch } from "../helpers/raw.js";
import { getObjectBytes, reportDeliveryPolicy } from "../helpers/inventory.js";

const SOURCE = "sched-source";
const DEST = "sched-dest";
const HOUR = 3600_000;
const DAY = 24 * HOUR;
/** A Tuesday. */
const TUESDAY_10 = new Date("2026-03-03T10:00:00Z");
/** The clients sign with the real time while the server's clock is moved by hand. */
const options = (clock: ManualClock) => ({ clock, maxClockSkewMs: 100 * 365 * DAY });

function config(id: string, frequency: "Daily" | "Weekly", enabled = true): InventoryConfiguration {
  return {
    Id: id,
    IsEnabled: enabled,
    IncludedObjectVersions: "Current",
    Schedule: { Frequency: frequency },
    Destination: { S3BucketDestination: { Bucket: `arn:aws:s3:::${DEST}`, Format: "CSV", Prefix: "reports" } },
  };
}

interface ListedRun {
  runId: string;
  id: string;
  trigger: string;
  status: string;
  startedAt: string;
  manifestKey?: string;
  error?: string;
}

/** GET /{bucket}?inventory-runs, through the S3 endpoint. */
/** The bucket's runs, oldest first (the listing answers newest first). */
async function runs(server: TestServer, bucket = SOURCE): Promise<ListedRun[]> {
  const res = await signedFetch(server.url, { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY }, "GET", `/${bucket}`, { "inventory-runs": "" });
  assert.equal(res.status, 200, res.text);
  return [...res.text.matchAll(/<InventoryRun>(.*?)<\/InventoryRun>/gs)].map(([, body]) => {
    const tag = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(body!)?.[1];
    return { runId: tag("RunId")!, id: tag("Id")!, trigger: tag("Trigger")!, status: tag("Status")!, startedAt: tag("StartedAt")!, manifestKey: tag("ManifestKey"), error: tag("Error") };
  }).reverse();
}

/** What the timer does at a due time: look at the clock, then let started runs finish. */
async function tick(server: TestServer): Promise<void> {
  await server.scheduler.checkNow();
  await server.scheduler.settled();
}

describe("scheduled inventory runs", () => {
  const servers: TestServer[] = [];
  after(async () => {
    for (const s of servers.reverse()) await s.stop();
  });

  async function setup(clock: ManualClock, configs: InventoryConfiguration[]): Promise<TestServer> {
    const server = await startTestServer(options(clock));
    servers.push(server);
    const s3 = server.client;
    await s3.send(new CreateBucketCommand({ Bucket: SOURCE }));
    await s3.send(new CreateBucketCommand({ Bucket: DEST }));
    await s3.send(new PutBucketPolicyCommand({ Bucket: DEST, Policy: reportDeliveryPolicy(DEST, { sourceAccount: server.root.accountId }) }));
    for (const Key of ["a.txt", "b/c.txt"]) await s3.send(new PutObjectCommand({ Bucket: SOURCE, Key, Body: `body of ${Key}` }));
    for (const c of configs) await s3.send(new PutBucketInventoryConfigurationCommand({ Bucket: SOURCE, Id: c.Id, InventoryConfiguration: c }));
    return server;
  }

  it("delivers a Daily report at the due time, not before, once per due time", async () => {
    const clock = new ManualClock(TUESDAY_10);
    const server = await setup(clock, [config("daily", "Daily")]);
    await tick(server);
    assert.equal((await server.scheduler.stateOf(SOURCE, "daily"))?.nextDueAt, "2026-03-04T00:00:00.000Z", "the next midnight, not 48 hours later");

    clock.set(new Date("2026-03-03T23:59:59Z"));
    await tick(server);
    assert.deepEqual(await runs(server), [], "a second before the due time: nothing");

    clock.set(new Date("2026-03-04T00:00:05Z"));
    await tick(server);
    const [run, ...more] = await runs(server);
    assert.equal(more.length, 0);
    assert.equal(run!.trigger, "schedule");
    assert.equal(run!.status, "succeeded", run!.error);
    const manifestBytes = await getObjectBytes(server.client, DEST, run!.manifestKey!);
    const manifest = JSON.parse(manifestBytes.toString()) as { files: { key: string }[]; sourceBucket: string };
    assert.equal(manifest.sourceBucket, SOURCE);
    assert.equal(manifest.files.length, 1);
    const checksum = (await getObjectBytes(server.client, DEST, run!.manifestKey!.replace(/manifest\.json$/, "manifest.checksum"))).toString().trim();
    assert.equal(checksum, createHash("md5").update(manifestBytes).digest("hex"));

    clock.advance(HOUR);
    await tick(server);
    assert.equal((await runs(server)).length, 1, "no second run for the same due time");
    const state = (await server.scheduler.stateOf(SOURCE, "daily"))!;
    assert.equal(state.nextDueAt, "2026-03-05T00:00:00.000Z");
    assert.equal(state.lastStatus, "succeeded");
    assert.equal(state.running, undefined);

    clock.set(new Date("2026-03-05T00:00:01Z"));
    await tick(server);
    assert.equal((await runs(server)).length, 2, "and the next day another");
  });

  it("delivers a Weekly report only on Sunday, and nothing for a disabled configuration", async () => {
    const clock = new ManualClock(TUESDAY_10);
    const server = await setup(clock, [config("weekly", "Weekly"), config("off", "Daily", false)]);
    await tick(server);
    for (const day of ["2026-03-04", "2026-03-05", "2026-03-06", "2026-03-07"]) {
      clock.set(new Date(`${day}T00:00:01Z`));
      await tick(server);
      assert.deepEqual(await runs(server), [], `nothing on ${day}`);
    }
    clock.set(new Date("2026-03-07T23:59:59Z"));
    await tick(server);
    assert.deepEqual(await runs(server), []);
    clock.set(new Date("2026-03-08T00:00:01Z"));
    await tick(server);
    const listed = await runs(server);
    assert.deepEqual(listed.map((r) => [r.id, r.trigger, r.status]), [["weekly", "schedule", "succeeded"]]);
    assert.equal(new Date(listed[0]!.startedAt).getUTCDay(), 0, "a Sunday");
    assert.equal((await server.scheduler.stateOf(SOURCE, "weekly"))?.nextDueAt, "2026-03-15T00:00:00.000Z");
    assert.equal((await server.scheduler.stateOf(SOURCE, "off"))?.nextDueAt, "2026-03-09T00:00:00.000Z", "the disabled one let its due times pass");
  });

  it("a configuration created just after the due time waits for the next one", async () => {
    const clock = new ManualClock(new Date("2026-03-03T23:50:00Z"));
    const server = await setup(clock, []);
    clock.set(new Date("2026-03-04T00:00:00Z"));
    await tick(server); // the timer's check at the due time
    clock.set(new Date("2026-03-04T00:01:00Z"));
    await server.client.send(new PutBucketInventoryConfigurationCommand({ Bucket: SOURCE, Id: "late", InventoryConfiguration: config("late", "Daily") }));
    clock.set(new Date("2026-03-04T23:59:00Z"));
    await tick(server);
    assert.deepEqual(await runs(server), []);
    clock.set(new Date("2026-03-05T00:00:01Z"));
    await tick(server);
    assert.equal((await runs(server)).length, 1);
  });

  it("runs a missed report once after 5 days down, and drops the state of deleted configurations", async () => {
    const clock = new ManualClock(TUESDAY_10);
    let server = await setup(clock, [config("daily", "Daily")]);
    await tick(server);
    clock.set(new Date("2026-03-04T00:00:01Z"));
    await tick(server);
    assert.equal((await runs(server)).length, 1);

    // Down from Wednesday 01:00 to Monday 09:00: five midnights missed. (Nothing checks the clock
    // between its move and the restart, as nothing would while the server is down.)
    clock.set(new Date("2026-03-04T01:00:00Z"));
    server = await server.restart();
    servers.push(server);
    await server.scheduler.settled();
    assert.equal((await runs(server)).length, 1, "nothing owed at an immediate restart");
    clock.advance(5 * DAY + 8 * HOUR);
    server = await server.restart();
    servers.push(server);
    await server.scheduler.settled();
    let listed = await runs(server);
    assert.equal(listed.length, 2, "exactly one catch-up run");
    assert.equal(listed[1]!.trigger, "schedule");
    assert.equal(listed[1]!.status, "succeeded", listed[1]!.error);
    assert.equal(listed[1]!.startedAt, "2026-03-09T09:00:00.000Z");
    assert.equal((await server.scheduler.stateOf(SOURCE, "daily"))?.nextDueAt, "2026-03-10T00:00:00.000Z");
    await tick(server);
    listed = await runs(server);
    assert.equal(listed.length, 2, "still one after another check");

    await server.client.send(new DeleteBucketInventoryConfigurationCommand({ Bucket: SOURCE, Id: "daily" }));
    await tick(server);
    assert.equal(await server.context.metadata.getBucketConfig(SOURCE, SCHEDULE_KIND, "daily"), undefined);
  });

  it("fails runs a crash left running, sweeps their files, and owes a lost scheduled run once", async () => {
    const clock = new ManualClock(TUESDAY_10);
    const server = await setup(clock, [config("daily", "Daily"), config("other", "Daily")]);
    await tick(server);
    const { metadata, blobs } = server.context;
    // What a crash in the middle of runs leaves: records "running" with their markers, a written but
    // unpublished data file, and (for the scheduled one) a state naming the run.
    const stale = (runId: string, configId: string, trigger: InventoryRun["trigger"]): InventoryRun => ({
      runId,
      bucket: SOURCE,
      configId,
      trigger,
      status: "running",
      startedAt: "2026-03-04T00:00:01.000Z",
      rows: 0,
      bytes: 0,
      files: 0,
    });
    for (const run of [stale("20260304T000001000Z-aaaaaaaa", "daily", "schedule"), stale("20260304T000001000Z-bbbbbbbb", "other", "on-demand")]) {
      await metadata.putBucketConfig(SOURCE, RUN_KIND, run.runId, JSON.stringify(run));
      await metadata.putBucketConfig(SOURCE, ACTIVE_RUN_KIND, run.runId, "{}");
    }
    const state = (await server.scheduler.stateOf(SOURCE, "daily"))!;
    await metadata.putBucketConfig(
      SOURCE,
      SCHEDULE_KIND,
      "daily",
      JSON.stringify({ ...state, lastDueAt: "2026-03-04T00:00:00.000Z", running: { runId: "20260304T000001000Z-aaaaaaaa", dueAt: "2026-03-04T00:00:00.000Z" }, nextDueAt: "2026-03-05T00:00:00.000Z" }),
    );
    const orphan = blobs.create();
    orphan.stream.write("half a report");
    const orphanId = await orphan.commit();
    // "other" already had its 00:00 report; only "daily" owes one.
    const otherState = (await server.scheduler.stateOf(SOURCE, "other"))!;
    await metadata.putBucketConfig(SOURCE, SCHEDULE_KIND, "other", JSON.stringify({ ...otherState, lastDueAt: "2026-03-04T00:00:00.000Z", nextDueAt: "2026-03-05T00:00:00.000Z" }));

    clock.set(new Date("2026-03-04T00:30:00Z"));
    const restarted = await server.restart();
    servers.push(restarted);
    await restarted.scheduler.settled();
    const listed = await runs(restarted);
    const byId = new Map(listed.map((r) => [r.runId, r]));
    for (const id of ["20260304T000001000Z-aaaaaaaa", "20260304T000001000Z-bbbbbbbb"]) {
      assert.equal(byId.get(id)?.status, "failed");
      assert.equal(byId.get(id)?.error, INTERRUPTED_ERROR);
    }
    assert.equal((await restarted.context.metadata.listConfigsOfKind(ACTIVE_RUN_KIND, undefined, 10)).length, 0, "no markers left");
    const fresh = listed.filter((r) => !byId.get(r.runId)?.error);
    assert.deepEqual(fresh.map((r) => [r.id, r.trigger, r.status]), [["daily", "schedule", "succeeded"]], "the lost scheduled run is run once again");
    await assert.rejects(
      new Promise((resolve, reject) => restarted.context.blobs.read(orphanId).on("error", reject).on("data", resolve)),
      "the unpublished data file was swept",
    );
  });
});
