import { test } from "node:test";
import assert from "node:assert/strict";
import type { InventoryRun, InventorySummary } from "./api-types";
import {
  ALERT_COLOR,
  OTHER_PREFIXES,
  TOP_LEVEL,
  ageBandCategories,
  classTrend,
  defaultConfigId,
  encryptionCategories,
  formatSignedBytes,
  growthPerDay,
  growthSeries,
  latestSummarized,
  prefixCategories,
  replicationCategories,
  storageClassCategories,
  storageClassColor,
  summarizedRuns,
  trendPoints,
} from "./insight-data";

const DAY = 86_400_000;

function summary(over: Partial<InventorySummary> = {}): InventorySummary {
  return {
    snapshotAt: "2026-01-01T00:00:00.000Z",
    rows: 4,
    objects: { count: 3, bytes: 600 },
    current: { count: 2, bytes: 400 },
    noncurrent: { count: 1, bytes: 200 },
    deleteMarkers: 1,
    multipart: { count: 0, bytes: 0 },
    storageClasses: { GLACIER: { count: 1, bytes: 100 }, STANDARD: { count: 2, bytes: 500 } },
    encryption: { "SSE-S3": { count: 3, bytes: 600 } },
    replication: { FAILED: { count: 1, bytes: 100 }, NONE: { count: 2, bytes: 500 } },
    ageBands: [
      { band: "0-1d", count: 3, bytes: 600 },
      { band: "1-7d", count: 0, bytes: 0 },
      { band: "7-30d", count: 0, bytes: 0 },
      { band: "30-90d", count: 0, bytes: 0 },
      { band: "90-365d", count: 0, bytes: 0 },
      { band: "365d+", count: 0, bytes: 0 },
    ],
    prefixes: [
      { prefix: "logs/", count: 2, bytes: 500 },
      { prefix: "", count: 1, bytes: 100 },
    ],
    otherPrefixes: { count: 0, bytes: 0 },
    prefixBound: 100,
    ...over,
  };
}

function run(runId: string, snapshotAt: string, over: Partial<InventoryRun> = {}, s: Partial<InventorySummary> = {}): InventoryRun {
  return {
    runId,
    bucket: "b",
    id: "cfg",
    trigger: "on-demand",
    status: "succeeded",
    startedAt: snapshotAt,
    snapshotAt,
    finishedAt: snapshotAt,
    rows: 4,
    bytes: 100,
    files: 1,
    summary: summary({ snapshotAt, ...s }),
    ...over,
  };
}

test("storage classes come in tier order with a fixed colour each", () => {
  const cats = storageClassCategories(summary({ storageClasses: { ZZZ: { count: 1, bytes: 1 }, GLACIER: { count: 1, bytes: 100 }, STANDARD_IA: { count: 1, bytes: 2 }, STANDARD: { count: 2, bytes: 500 } } }));
  assert.deepEqual(
    cats.map((c) => c.label),
    ["STANDARD", "STANDARD_IA", "GLACIER", "ZZZ"],
  );
  assert.deepEqual(cats[0], { label: "STANDARD", count: 2, bytes: 500, color: storageClassColor("STANDARD") });
  assert.equal(storageClassColor("ZZZ"), storageClassColor("ZZZ"));
  assert.notEqual(storageClassColor("STANDARD"), storageClassColor("GLACIER"));
});

test("encryption and replication keep the summary's numbers; FAILED is the alert", () => {
  assert.deepEqual(
    encryptionCategories(summary()).map(({ label, count, bytes }) => ({ label, count, bytes })),
    [{ label: "SSE-S3", count: 3, bytes: 600 }],
  );
  const rep = replicationCategories(summary());
  assert.deepEqual(
    rep.map((c) => [c.label, c.count, c.bytes, c.alert ?? false]),
    [
      ["FAILED", 1, 100, true],
      ["NONE", 2, 500, false],
    ],
  );
  assert.equal(rep[0]!.color, ALERT_COLOR);
});

test("age bands come in band order whatever order they arrive in", () => {
  const s = summary();
  const cats = ageBandCategories({ ...s, ageBands: [...s.ageBands].reverse() });
  assert.deepEqual(
    cats.map((c) => c.label),
    ["0-1d", "1-7d", "7-30d", "30-90d", "90-365d", "365d+"],
  );
  assert.equal(cats[0]!.count, 3);
});

test("prefixes: the top ones named, the rest and the summary's others as (other), the top level labelled", () => {
  assert.deepEqual(
    prefixCategories(summary())!.map((c) => [c.label, c.count, c.bytes]),
    [
      ["logs/", 2, 500],
      [TOP_LEVEL, 1, 100],
    ],
  );
  const many = summary({
    prefixes: Array.from({ length: 25 }, (_, i) => ({ prefix: `p${String(i).padStart(2, "0")}/`, count: 1, bytes: 100 - i })),
    otherPrefixes: { count: 7, bytes: 70 },
  });
  const cats = prefixCategories(many)!;
  assert.equal(cats.length, 21);
  assert.equal(cats[19]!.label, "p19/");
  // p20..p24: 5 objects of 80+79+78+77+76 bytes, plus the summary's own others.
  assert.deepEqual(cats[20], { label: OTHER_PREFIXES, count: 12, bytes: 460, color: cats[20]!.color });
  assert.equal(prefixCategories(summary({ prefixes: undefined, otherPrefixes: undefined })), undefined);
});

test("runs: only succeeded ones with a summary, by snapshot time; the latest is the last", () => {
  const runs = [
    run("r3", "2026-01-03T00:00:00.000Z"),
    run("r1", "2026-01-01T00:00:00.000Z"),
    run("r4", "2026-01-04T00:00:00.000Z", { status: "failed", error: "boom" }),
    run("r5", "2026-01-05T00:00:00.000Z", { status: "running", summary: undefined }),
    run("r2", "2026-01-02T00:00:00.000Z"),
  ];
  assert.deepEqual(
    summarizedRuns(runs).map((r) => r.runId),
    ["r1", "r2", "r3"],
  );
  assert.equal(latestSummarized(runs)?.runId, "r3");
  assert.equal(latestSummarized([]), undefined);
});

test("trend points and bytes per class, 0 where a run had none of a class", () => {
  const runs = [
    run("r2", "2026-01-03T00:00:00.000Z", {}, { objects: { count: 5, bytes: 1000 }, storageClasses: { GLACIER: { count: 5, bytes: 1000 } } }),
    run("r1", "2026-01-01T00:00:00.000Z"),
  ];
  const points = trendPoints(runs);
  assert.deepEqual(
    points.map((p) => [p.runId, p.time, p.count, p.bytes]),
    [
      ["r1", Date.parse("2026-01-01T00:00:00.000Z"), 3, 600],
      ["r2", Date.parse("2026-01-03T00:00:00.000Z"), 5, 1000],
    ],
  );
  assert.deepEqual(classTrend(points), { classes: ["STANDARD", "GLACIER"], bytes: { STANDARD: [500, 0], GLACIER: [100, 1000] } });
});

test("growth per day: the change between consecutive runs over the days between them", () => {
  const points = trendPoints([
    run("r1", "2026-01-01T00:00:00.000Z", {}, { objects: { count: 3, bytes: 600 } }),
    run("r2", "2026-01-03T00:00:00.000Z", {}, { objects: { count: 5, bytes: 1000 } }),
    run("r3", "2026-01-03T12:00:00.000Z", {}, { objects: { count: 4, bytes: 900 } }),
  ]);
  const growth = growthPerDay(points);
  assert.deepEqual(
    growth.map((g) => [g.from.runId, g.to.runId, g.days, g.bytesChange, g.bytesPerDay, g.countChange, g.countPerDay]),
    [
      ["r1", "r2", 2, 400, 200, 2, 1],
      ["r2", "r3", 0.5, -100, -200, -1, -2],
    ],
  );
  assert.deepEqual(growthSeries(growth), {
    times: [points[0]!.time, points[1]!.time, points[2]!.time],
    bytesPerDay: [200, 200, -200],
  });
  assert.deepEqual(growthPerDay(points.slice(0, 1)), []);
  assert.deepEqual(growthSeries([]), { times: [], bytesPerDay: [] });
  // A minute apart: the rate is per day, not per interval.
  const minute = trendPoints([run("a", "2026-01-01T00:00:00.000Z"), run("b", "2026-01-01T00:01:00.000Z", {}, { objects: { count: 4, bytes: 700 } })]);
  assert.equal(growthPerDay(minute)[0]!.bytesPerDay, 100 * (DAY / 60_000));
});

test("signed bytes", () => {
  assert.equal(formatSignedBytes(0), "0 B");
  assert.equal(formatSignedBytes(-200), "-200 B");
  assert.equal(formatSignedBytes(1536), "+1.50 KiB");
  assert.equal(formatSignedBytes(12.4), "+12 B");
});

test("the default configuration is the first with a succeeded run", () => {
  const runs = [run("r1", "2026-01-01T00:00:00.000Z", { id: "c" }), run("r2", "2026-01-02T00:00:00.000Z", { id: "b", status: "failed" })];
  assert.equal(defaultConfigId(["a", "b", "c"], runs), "c");
  assert.equal(defaultConfigId(["a", "b"], runs), "a");
  assert.equal(defaultConfigId([], runs), undefined);
});
