// The report summary: what each row adds (with the report's own column derivations), the age bands'
// edges, and the merge of partial summaries, exact for the top prefixes whichever key the report is
// split at.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { VersionTuple } from "../storage/types.js";
import { reportColumns } from "./fields.js";
import { projector } from "./values.js";
import { mergeSummaries, summarize, SummaryAccumulator, type InventorySummary } from "./summary.js";

const DAY = 86_400_000;
const SNAPSHOT = Date.UTC(2026, 5, 1, 10, 15);

interface Row {
  key: string;
  size?: number;
  latest?: boolean;
  deleteMarker?: boolean;
  ageDays?: number;
  storageClass?: string;
  parts?: number;
  extra?: string;
}

const tuple = (r: Row): VersionTuple => [
  r.key,
  "v",
  r.latest === false ? 0 : 1,
  r.deleteMarker ? 1 : 0,
  r.deleteMarker ? 0 : (r.size ?? 0),
  r.deleteMarker ? "" : '"e"',
  SNAPSHOT - (r.ageDays ?? 0) * DAY,
  r.storageClass ?? "STANDARD",
  "111122223333",
  r.parts ?? 0,
  r.extra ?? "{}",
];

const SSE_S3 = '{"encryption":{"kind":"SSE-S3"}}';
const KMS_REPLICATED = '{"encryption":{"kind":"SSE-KMS","bucketKeyEnabled":true},"replicationStatus":"COMPLETED"}';

/** A summary by hand: the totals of the rows that are object versions, by whatever `by` names. */
function totals(rows: Row[], by: (r: Row) => string): Record<string, { count: number; bytes: number }> {
  const out: Record<string, { count: number; bytes: number }> = {};
  for (const r of rows.filter((r) => !r.deleteMarker)) {
    const t = (out[by(r)] ??= { count: 0, bytes: 0 });
    t.count++;
    t.bytes += r.size ?? 0;
  }
  return out;
}

describe("inventory report summary", () => {
  const rows: Row[] = [
    { key: "README", size: 5, ageDays: 400 },
    { key: "logs/2026/a", size: 100, extra: SSE_S3, ageDays: 0.5 },
    { key: "logs/2026/a", size: 90, extra: SSE_S3, latest: false, ageDays: 3 },
    { key: "logs/2026/a", deleteMarker: true, latest: false, ageDays: 2 },
    { key: "logs/2026/b", size: 1000, parts: 3, storageClass: "GLACIER", ageDays: 45 },
    { key: "media/x.mp4", size: 5000, parts: 2, extra: KMS_REPLICATED, storageClass: "STANDARD_IA", ageDays: 10 },
    { key: "media/y", deleteMarker: true, ageDays: 1 },
    { key: "media0", size: 7, ageDays: 200 },
  ];

  it("counts and bytes by class, encryption, replication, age band, prefix; versions, delete markers and multipart", () => {
    const s = summarize(rows.map(tuple), SNAPSHOT);
    assert.deepEqual(s, {
      snapshotAt: "2026-06-01T10:15:00.000Z",
      rows: 8,
      objects: { count: 6, bytes: 6202 },
      current: { count: 5, bytes: 6112 },
      noncurrent: { count: 1, bytes: 90 },
      deleteMarkers: 2,
      multipart: { count: 2, bytes: 6000 },
      storageClasses: { GLACIER: { count: 1, bytes: 1000 }, STANDARD: { count: 4, bytes: 202 }, STANDARD_IA: { count: 1, bytes: 5000 } },
      encryption: { "NOT-SSE": { count: 3, bytes: 1012 }, "SSE-KMS": { count: 1, bytes: 5000 }, "SSE-S3": { count: 2, bytes: 190 } },
      replication: { COMPLETED: { count: 1, bytes: 5000 }, NONE: { count: 5, bytes: 1202 } },
      ageBands: [
        { band: "0-1d", count: 1, bytes: 100 },
        { band: "1-7d", count: 1, bytes: 90 },
        { band: "7-30d", count: 1, bytes: 5000 },
        { band: "30-90d", count: 1, bytes: 1000 },
        { band: "90-365d", count: 1, bytes: 7 },
        { band: "365d+", count: 1, bytes: 5 },
      ],
      prefixes: [
        { prefix: "media/", count: 1, bytes: 5000 },
        { prefix: "logs/", count: 3, bytes: 1190 },
        { prefix: "", count: 2, bytes: 12 },
      ],
      otherPrefixes: { count: 0, bytes: 0 },
      prefixBound: 100,
    });
  });

  it("agrees with the report's own EncryptionStatus, ReplicationStatus and IsMultipartUploaded columns", () => {
    const project = projector(reportColumns("All", ["Size", "StorageClass", "IsMultipartUploaded", "ReplicationStatus", "EncryptionStatus"]), {
      bucket: "b",
      canonicalId: (a) => a,
    });
    const columns = rows.map(tuple).map(project);
    const objects = columns.filter((c) => c[4] === false);
    const fromColumns = (i: number, name: (v: unknown) => string) => {
      const out: Record<string, number> = {};
      for (const c of objects) out[name(c[i])] = (out[name(c[i])] ?? 0) + 1;
      return out;
    };
    const s = summarize(rows.map(tuple), SNAPSHOT);
    const counts = (r: Record<string, { count: number }>) => Object.fromEntries(Object.entries(r).map(([k, t]) => [k, t.count]));
    assert.deepEqual(counts(s.encryption), fromColumns(9, String));
    assert.deepEqual(counts(s.replication), fromColumns(8, (v) => (v === null ? "NONE" : String(v))));
    assert.deepEqual(counts(s.storageClasses), fromColumns(6, String));
    assert.equal(s.multipart.count, objects.filter((c) => c[7] === true).length);
  });

  it("puts each band's edge in the older band: [0,1), [1,7), [7,30), [30,90), [90,365), 365 days and more", () => {
    const edges = [-1, 0, 1, 7, 30, 90, 365, 10_000];
    const s = summarize(edges.map((ageDays) => tuple({ key: `k${ageDays}`, size: 1, ageDays })), SNAPSHOT);
    assert.deepEqual(
      s.ageBands.map((b) => b.count),
      [2, 1, 1, 1, 1, 2],
      "a future date and a brand new version are under a day old",
    );
    const justUnder = summarize([tuple({ key: "k", size: 1, ageDays: 7 - 1 / DAY })], SNAPSHOT);
    assert.equal(justUnder.ageBands[1]!.count, 1);
  });

  it("keeps the prefixes with the most bytes up to the bound, deterministically, and adds up the rest", () => {
    const many = ["a/", "b/", "c/", "d/", "e/"].flatMap((p, i) => [tuple({ key: `${p}1`, size: 10 * (i % 3) }), tuple({ key: `${p}2`, size: 1 })]);
    const s = summarize(many, SNAPSHOT, 2);
    // c/ 21 bytes; b/ and e/ 11 each, 2 rows each: the tie goes by name.
    assert.deepEqual(s.prefixes, [
      { prefix: "c/", count: 2, bytes: 21 },
      { prefix: "b/", count: 2, bytes: 11 },
    ]);
    assert.deepEqual(s.otherPrefixes, { count: 6, bytes: 11 + 1 + 1 });
    assert.equal(s.prefixBound, 2);
  });

  it("an empty report has every band and no prefixes", () => {
    const s = summarize([], SNAPSHOT);
    assert.equal(s.rows, 0);
    assert.equal(s.ageBands.length, 6);
    assert.deepEqual(s.prefixes, []);
    assert.deepEqual(s.storageClasses, {});
  });

  it("merging the partial summaries of a report split at any key gives the whole report's summary, top prefixes exact", () => {
    const segment = fc.constantFrom("", "a", "b", "c", "d", "e", "f", "g");
    const row = fc.record({
      key: fc.tuple(segment, fc.boolean(), segment).map(([a, slash, b]) => (slash ? `${a}/${b}` : `${a}${b}`) || "x"),
      size: fc.nat(1000),
      deleteMarker: fc.boolean(),
      latest: fc.boolean(),
      ageDays: fc.integer({ min: -2, max: 800 }),
      storageClass: fc.constantFrom("STANDARD", "GLACIER"),
      parts: fc.constantFrom(0, 0, 2),
      extra: fc.constantFrom("{}", SSE_S3, KMS_REPLICATED),
    });
    fc.assert(
      fc.property(fc.array(row, { maxLength: 80 }), fc.nat(), fc.nat(), fc.integer({ min: 1, max: 4 }), (drawn, at1, at2, bound) => {
        // Scan order: keys in byte order (ASCII here, so JS order); a key's versions together.
        const sorted = drawn.map(tuple).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
        const whole = summarize(sorted, SNAPSHOT, bound);
        // Cut between keys, as the worker does (its ranges are key ranges), into up to three parts.
        const cuts = [at1, at2].map((n) => (sorted.length === 0 ? 0 : n % (sorted.length + 1))).sort((a, b) => a - b);
        const keyStart = (i: number) => {
          while (i > 0 && i < sorted.length && sorted[i - 1]![0] === sorted[i]![0]) i++;
          return i;
        };
        const [c1, c2] = [keyStart(cuts[0]!), keyStart(cuts[1]!)];
        const parts = [sorted.slice(0, c1), sorted.slice(c1, Math.max(c1, c2)), sorted.slice(Math.max(c1, c2))];
        const partials = parts.map((p) => {
          const acc = new SummaryAccumulator(SNAPSHOT, bound);
          for (const v of p) acc.add(v);
          return acc.summary();
        });
        assert.deepEqual(mergeSummaries(partials), whole);
        assert.deepEqual(mergeSummaries([...partials].reverse()), whole, "in any order");
        // And the top prefixes are the true ones: every prefix's total by hand.
        const byPrefix = totals(drawn, (r) => (r.key.includes("/") ? r.key.slice(0, r.key.indexOf("/") + 1) : ""));
        const ranked = Object.entries(byPrefix)
          .map(([prefix, t]) => ({ prefix, ...t }))
          .sort((a, b) => b.bytes - a.bytes || b.count - a.count || (a.prefix < b.prefix ? -1 : 1));
        assert.deepEqual(whole.prefixes, ranked.slice(0, bound));
        const rest = ranked.slice(bound);
        assert.deepEqual(whole.otherPrefixes, { count: rest.reduce((n, p) => n + p.count, 0), bytes: rest.reduce((n, p) => n + p.bytes, 0) });
      }),
      { numRuns: 300 },
    );
  });

  it("every breakdown adds up to the object versions", () => {
    const s: InventorySummary = summarize(rows.map(tuple), SNAPSHOT, 1);
    const add = (ts: { count: number; bytes: number }[]) => ts.reduce((a, t) => ({ count: a.count + t.count, bytes: a.bytes + t.bytes }), { count: 0, bytes: 0 });
    for (const breakdown of [Object.values(s.storageClasses), Object.values(s.encryption), Object.values(s.replication), s.ageBands, [...s.prefixes, s.otherPrefixes]]) {
      assert.deepEqual(add(breakdown.map(({ count, bytes }) => ({ count, bytes }))), s.objects);
    }
    assert.deepEqual(add([s.current, s.noncurrent]), s.objects);
    assert.equal(s.rows, s.objects.count + s.deleteMarkers);
  });
});
