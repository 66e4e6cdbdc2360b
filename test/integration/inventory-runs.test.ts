// On-demand runs and S3's report layout: a report is named by the UTC minute of its snapshot, so a
// second run of one configuration within a minute waits for the next minute instead of replacing
// the first report's manifest and leaving its data files named by nothing. Other configurations,
// and failed runs (which published nothing), do not make a run wait.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { CreateBucketCommand, PutBucketInventoryConfigurationCommand, PutBucketPolicyCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { ManualClock } from "../../src/clock.js";
import { startTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import { signedFetch } from "../helpers/raw.js";
import { getObjectBytes, reportDeliveryPolicy, runInventory } from "../helpers/inventory.js";

const DAY = 86_400_000;

describe("inventory runs of one configuration within one minute", () => {
  const clock = new ManualClock(new Date("2026-06-01T10:15:20Z"));
  let server: TestServer;
  let s3: S3Client;
  const credentials = { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY };
  const tag = (text: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(text)?.[1];

  const configure = (Id: string, Bucket: string) =>
    s3.send(
      new PutBucketInventoryConfigurationCommand({
        Bucket: "runs-src",
        Id,
        InventoryConfiguration: {
          Id,
          IsEnabled: true,
          IncludedObjectVersions: "Current",
          Schedule: { Frequency: "Daily" },
          Destination: { S3BucketDestination: { Bucket: `arn:aws:s3:::${Bucket}`, Format: "CSV" } },
        },
      }),
    );

  before(async () => {
    server = await startTestServer({ clock, maxClockSkewMs: 365 * DAY });
    s3 = server.client;
    for (const Bucket of ["runs-src", "runs-dest"]) await s3.send(new CreateBucketCommand({ Bucket }));
    await s3.send(new PutBucketPolicyCommand({ Bucket: "runs-dest", Policy: reportDeliveryPolicy("runs-dest") }));
    await s3.send(new PutObjectCommand({ Bucket: "runs-src", Key: "a", Body: "a" }));
    await configure("daily", "runs-dest");
    await configure("other", "runs-dest");
    await configure("broken", "no-such-bucket");
  });
  after(() => server.stop());

  it("makes a second run in the same minute wait for the next one, so both reports stay whole", async () => {
    const first = await runInventory(server, "runs-src", "daily");
    assert.equal(first.status, "succeeded", first.error);
    assert.match(first.manifestKey!, /2026-06-01T10-15Z\/manifest\.json$/);

    clock.advance(30_000);
    const started = await signedFetch(server.url, credentials, "POST", "/runs-src", { inventory: "", id: "daily", run: "" });
    assert.equal(started.status, 202, started.text);
    const runId = tag(started.text, "RunId")!;
    const status = async () => tag((await signedFetch(server.url, credentials, "GET", "/runs-src", { "inventory-runs": "", "run-id": runId })).text, "Status");

    const other = await runInventory(server, "runs-src", "other");
    assert.equal(other.status, "succeeded", "another configuration does not wait");
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await status(), "running", "still waiting while the clock is in 10:15");

    clock.advance(15_000);
    for (let i = 0; i < 100 && (await status()) === "running"; i++) await new Promise((r) => setTimeout(r, 100));
    const done = (await signedFetch(server.url, credentials, "GET", "/runs-src", { "inventory-runs": "", "run-id": runId })).text;
    assert.equal(tag(done, "Status"), "succeeded", done);
    assert.match(tag(done, "ManifestKey")!, /2026-06-01T10-16Z\/manifest\.json$/);
    assert.equal(tag(done, "DestinationBucket"), "runs-dest", "a run names the bucket its report went to");
    // The first report is untouched: its manifest still names data files that exist.
    const manifest = JSON.parse((await getObjectBytes(s3, "runs-dest", first.manifestKey!)).toString()) as { files: { key: string }[] };
    for (const f of manifest.files) assert.ok((await getObjectBytes(s3, "runs-dest", f.key)).length > 0);
  });

  it("lists runs newest first, a page of max-runs at a time, with or without a configuration", async () => {
    for (let i = 0; i < 3; i++) assert.equal((await runInventory(server, "runs-src", "broken")).status, "failed");
    type Page = { runs: { runId: string; id: string }[]; isTruncated: boolean; nextContinuationToken?: string };
    const list = async (query: Record<string, string>) => {
      const res = await signedFetch(server.url, credentials, "GET", "/runs-src", { "inventory-runs": "", ...query }, undefined, { accept: "application/json" });
      assert.equal(res.status, 200, res.text);
      return JSON.parse(res.text) as Page;
    };
    const all = (await list({})).runs;
    assert.ok(all.length >= 6, `${all.length} runs`);
    assert.deepEqual(all.map((r) => r.runId), [...all.map((r) => r.runId)].sort().reverse(), "newest first");
    for (const filter of [{}, { id: "broken" }] as Record<string, string>[]) {
      const paged: string[] = [];
      let token: string | undefined;
      do {
        const page = await list({ ...filter, "max-runs": "2", ...(token ? { "continuation-token": token } : {}) });
        assert.ok(page.runs.length <= 2);
        assert.equal(page.isTruncated, page.nextContinuationToken !== undefined);
        paged.push(...page.runs.map((r) => r.runId));
        token = page.nextContinuationToken;
      } while (token !== undefined);
      assert.deepEqual(paged, all.filter((r) => filter.id === undefined || r.id === filter.id).map((r) => r.runId), JSON.stringify(filter));
    }
    const xml = await signedFetch(server.url, credentials, "GET", "/runs-src", { "inventory-runs": "", "max-runs": "1" });
    assert.equal(tag(xml.text, "IsTruncated"), "true");
    assert.equal(tag(xml.text, "NextContinuationToken"), all[0]!.runId);
    for (const bad of ["0", "1001", "x", "-1"]) {
      const refused = await signedFetch(server.url, credentials, "GET", "/runs-src", { "inventory-runs": "", "max-runs": bad });
      assert.equal(refused.status, 400, bad);
      assert.equal(tag(refused.text, "Code"), "InvalidArgument");
    }
  });

  it("does not make a run wait for a failed one: it published nothing", async () => {
    const failed = await runInventory(server, "runs-src", "broken");
    assert.equal(failed.status, "failed");
    const retried = await runInventory(server, "runs-src", "broken");
    assert.equal(retried.status, "failed");
    assert.match(retried.error ?? "", /no-such-bucket|does not exist/);
  });
});
