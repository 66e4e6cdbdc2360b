// S3's lifecycle day arithmetic and rule matching, as pure functions.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { compileLifecycle, currentExpiry, dueTransition, expirationWalker, markerCleanupApplies, noncurrentExpiry, uploadAbortDue } from "./expiration.js";
import { dueAfterDays } from "../core/days.js";
import type { LifecycleConfiguration, LifecycleRule } from "./rules.js";

const ms = (iso: string) => Date.parse(iso);
const noTags = () => [] as [string, string][];

function rule(over: Partial<LifecycleRule>): LifecycleRule {
  return { id: "r", enabled: true, filter: { kind: "filter", and: false, tags: [] }, transitions: [], noncurrentTransitions: [], ...over };
}
const config = (...rules: LifecycleRule[]): LifecycleConfiguration => ({ rules, minimumSizeMode: "all_storage_classes_128K" });

describe("dueAfterDays", () => {
  it("adds the days and rounds up to the next midnight UTC (S3's 2014-01-15 10:30 + 3 days example)", () => {
    assert.equal(new Date(dueAfterDays(ms("2014-01-15T10:30:00Z"), 3)).toISOString(), "2014-01-19T00:00:00.000Z");
  });
  it("one millisecond before midnight still rounds to that midnight", () => {
    assert.equal(new Date(dueAfterDays(ms("2014-01-15T23:59:59.999Z"), 1)).toISOString(), "2014-01-17T00:00:00.000Z");
  });
  it("a creation exactly at midnight goes to the following midnight", () => {
    assert.equal(new Date(dueAfterDays(ms("2014-01-15T00:00:00Z"), 1)).toISOString(), "2014-01-17T00:00:00.000Z");
  });
});

describe("currentExpiry", () => {
  it("takes the earliest of the matching rules and names it", () => {
    const c = compileLifecycle(config(rule({ id: "slow", expiration: { days: 30 } }), rule({ id: "fast", filter: { kind: "legacy", prefix: "logs/" }, expiration: { days: 2 } })));
    const at = ms("2024-03-01T12:00:00Z");
    assert.deepEqual(currentExpiry(c, { key: "logs/a", size: 1, tags: noTags }, at), { at: ms("2024-03-04T00:00:00Z"), ruleId: "fast" });
    assert.deepEqual(currentExpiry(c, { key: "data/a", size: 1, tags: noTags }, at), { at: ms("2024-04-01T00:00:00Z"), ruleId: "slow" });
  });
  it("a Date rule expires every matching object at that date", () => {
    const c = compileLifecycle(config(rule({ id: "d", expiration: { date: ms("2030-01-01T00:00:00Z") } })));
    assert.equal(currentExpiry(c, { key: "k", size: 1, tags: noTags }, 0)?.at, ms("2030-01-01T00:00:00Z"));
  });
  it("ignores disabled rules", () => {
    const c = compileLifecycle(config(rule({ enabled: false, expiration: { days: 1 } })));
    assert.equal(currentExpiry(c, { key: "k", size: 1, tags: noTags }, 0), undefined);
  });
  it("matches tags (all of them, exact values) and size bounds (exclusive)", () => {
    const c = compileLifecycle(
      config(rule({ expiration: { days: 1 }, filter: { kind: "filter", and: true, prefix: "p/", tags: [["a", "1"], ["b", "2"]], sizeGreaterThan: 10, sizeLessThan: 100 } })),
    );
    const due = (key: string, size: number, tags: [string, string][]) => currentExpiry(c, { key, size, tags: () => tags }, 0) !== undefined;
    assert.equal(due("p/x", 50, [["a", "1"], ["b", "2"], ["c", "3"]]), true);
    assert.equal(due("p/x", 50, [["a", "1"]]), false);
    assert.equal(due("p/x", 50, [["a", "1"], ["b", "3"]]), false);
    assert.equal(due("q/x", 50, [["a", "1"], ["b", "2"]]), false);
    assert.equal(due("p/x", 10, [["a", "1"], ["b", "2"]]), false);
    assert.equal(due("p/x", 100, [["a", "1"], ["b", "2"]]), false);
  });
});

describe("noncurrentExpiry", () => {
  const c = compileLifecycle(config(rule({ noncurrentExpiration: { noncurrentDays: 5, newerNoncurrentVersions: 2 } })));
  it("counts the days from when the version became noncurrent", () => {
    assert.equal(noncurrentExpiry(c, { key: "k", size: 1, tags: noTags }, ms("2024-01-01T08:00:00Z"), 2), ms("2024-01-07T00:00:00Z"));
  });
  it("keeps the NewerNoncurrentVersions newest noncurrent versions", () => {
    assert.equal(noncurrentExpiry(c, { key: "k", size: 1, tags: noTags }, 0, 1), undefined);
  });
});

describe("transitions, uploads and delete markers", () => {
  it("moves an object to the lowest due class, never back up, and not below 128 KiB by default", () => {
    const c = compileLifecycle(config(rule({ transitions: [{ days: 30, storageClass: "STANDARD_IA" }, { days: 90, storageClass: "GLACIER" }] })));
    const start = ms("2024-01-01T00:00:00Z");
    const big = { key: "k", size: 1 << 20, tags: noTags };
    assert.equal(dueTransition(c, big, "STANDARD", start, start + 40 * 86_400_000), "STANDARD_IA");
    assert.equal(dueTransition(c, big, "STANDARD", start, start + 100 * 86_400_000), "GLACIER");
    assert.equal(dueTransition(c, big, "GLACIER", start, start + 100 * 86_400_000), undefined);
    assert.equal(dueTransition(c, { ...big, size: 1000 }, "STANDARD", start, start + 100 * 86_400_000), undefined);
  });
  it("aborts uploads older than DaysAfterInitiation under the rule's prefix", () => {
    const c = compileLifecycle(config(rule({ filter: { kind: "filter", and: false, prefix: "up/", tags: [] }, abortIncompleteMultipartUploadDays: 7 })));
    const start = ms("2024-01-01T10:00:00Z");
    assert.equal(uploadAbortDue(c, "up/x", start, ms("2024-01-08T23:59:59Z")), false);
    assert.equal(uploadAbortDue(c, "up/x", start, ms("2024-01-09T00:00:00Z")), true);
    assert.equal(uploadAbortDue(c, "other", start, ms("2024-01-20T00:00:00Z")), false);
  });
  it("ExpiredObjectDeleteMarker rules cover markers by prefix", () => {
    const c = compileLifecycle(config(rule({ filter: { kind: "legacy", prefix: "m/" }, expiration: { expiredObjectDeleteMarker: true } })));
    assert.equal(markerCleanupApplies(c, "m/1"), true);
    assert.equal(markerCleanupApplies(c, "x/1"), false);
  });
});

describe("expirationWalker", () => {
  it("dates the current object by Expiration and each noncurrent version by its successor", () => {
    const c = compileLifecycle(config(rule({ expiration: { days: 10 }, noncurrentExpiration: { noncurrentDays: 3, newerNoncurrentVersions: 1 } })));
    const walk = expirationWalker(c);
    const t = (iso: string) => ms(iso);
    // key a: latest, then two noncurrent versions (newest first); key b: a delete marker on top.
    assert.equal(walk("a", true, false, 1, t("2024-05-10T09:00:00Z"), noTags), t("2024-05-21T00:00:00Z"));
    assert.equal(walk("a", false, false, 1, t("2024-05-05T09:00:00Z"), noTags), null, "the newest noncurrent version is kept");
    assert.equal(walk("a", false, false, 1, t("2024-05-01T09:00:00Z"), noTags), t("2024-05-09T00:00:00Z"));
    assert.equal(walk("b", true, true, 0, t("2024-06-01T00:00:00Z"), noTags), null);
    assert.equal(walk("b", false, false, 1, t("2024-05-01T00:00:00Z"), noTags), null, "kept as the newest noncurrent");
  });
});
