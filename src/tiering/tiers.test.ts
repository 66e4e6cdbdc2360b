import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { S3Error } from "../errors.js";
import {
  DAY_MS,
  HOUR_MS,
  MIN_MONITORED_BYTES,
  advance,
  decideRestore,
  dueTier,
  extraAfterAccess,
  restoreExpiry,
  restoreHeaderValues,
  unreadable,
  type TieringFacts,
} from "./tiers.js";

const T0 = Date.UTC(2026, 0, 1, 10, 30);
const BIG = MIN_MONITORED_BYTES;

const it_ = (extra: Record<string, unknown> = {}, size = BIG): TieringFacts => ({
  key: "k",
  size,
  storageClass: "INTELLIGENT_TIERING",
  lastModified: T0,
  extra: { accessTier: "FREQUENT", tieringReferenceDate: T0, ...extra },
});
const glacier = (extra: Record<string, unknown> = {}, storageClass = "GLACIER"): TieringFacts => ({ key: "k", size: 10, storageClass, lastModified: T0, extra });

function s3Code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof S3Error);
    return `${err.status} ${err.code}`;
  }
  return "no error";
}

describe("Intelligent-Tiering access tiers", () => {
  it("moves down after 30 and 90 days without access, and to opt-in tiers only when configured", () => {
    const f = it_();
    assert.equal(dueTier(f, T0 + 29 * DAY_MS, {}), "FREQUENT");
    assert.equal(dueTier(f, T0 + 30 * DAY_MS, {}), "INFREQUENT");
    assert.equal(dueTier(f, T0 + 90 * DAY_MS, {}), "ARCHIVE_INSTANT_ACCESS");
    assert.equal(dueTier(f, T0 + 800 * DAY_MS, {}), "ARCHIVE_INSTANT_ACCESS");
    assert.equal(dueTier(f, T0 + 120 * DAY_MS, { ARCHIVE_ACCESS: 120, DEEP_ARCHIVE_ACCESS: 200 }), "ARCHIVE_ACCESS");
    assert.equal(dueTier(f, T0 + 200 * DAY_MS, { ARCHIVE_ACCESS: 120, DEEP_ARCHIVE_ACCESS: 200 }), "DEEP_ARCHIVE_ACCESS");
  });

  it("never moves an object up, and leaves objects under 128 KiB in Frequent Access", () => {
    assert.equal(dueTier(it_({ accessTier: "ARCHIVE_ACCESS" }), T0 + 95 * DAY_MS, {}), "ARCHIVE_ACCESS");
    assert.equal(dueTier(it_({}, BIG - 1), T0 + 400 * DAY_MS, { ARCHIVE_ACCESS: 90 }), "FREQUENT");
  });

  it("writes an access only for a tier change or a reference date older than an hour", () => {
    assert.equal(extraAfterAccess(it_(), T0 + HOUR_MS - 1), undefined);
    assert.deepEqual(extraAfterAccess(it_(), T0 + HOUR_MS), { accessTier: "FREQUENT", tieringReferenceDate: T0 + HOUR_MS });
    assert.deepEqual(extraAfterAccess(it_({ accessTier: "INFREQUENT" }), T0 + 1), { accessTier: "FREQUENT", tieringReferenceDate: T0 + 1 });
    assert.equal(extraAfterAccess(it_({ accessTier: "ARCHIVE_ACCESS" }), T0 + DAY_MS), undefined);
    assert.equal(extraAfterAccess(it_({}, 10), T0 + DAY_MS), undefined);
    assert.equal(extraAfterAccess(glacier(), T0 + DAY_MS), undefined);
  });
});

describe("reads of archived objects", () => {
  it("refuses the opt-in archive tiers with the tier in the error, and GLACIER/DEEP_ARCHIVE unless restored", () => {
    const err = unreadable(it_({ accessTier: "DEEP_ARCHIVE_ACCESS" }), T0)!;
    assert.equal(err.code, "InvalidObjectState");
    assert.equal(err.status, 403);
    assert.deepEqual(err.details, { StorageClass: "INTELLIGENT_TIERING", AccessTier: "DEEP_ARCHIVE_ACCESS" });
    assert.equal(unreadable(it_({ accessTier: "ARCHIVE_INSTANT_ACCESS" }), T0), undefined);
    assert.deepEqual(unreadable(glacier({}, "DEEP_ARCHIVE"), T0)!.details, { StorageClass: "DEEP_ARCHIVE" });
    assert.equal(unreadable(glacier({}, "GLACIER_IR"), T0), undefined);
    const restored = glacier({ restore: { requestedAt: T0, readyAt: T0, tier: "Standard", days: 1, expiresAt: T0 + DAY_MS } });
    assert.equal(unreadable(restored, T0 + DAY_MS - 1), undefined);
    assert.ok(unreadable(restored, T0 + DAY_MS));
  });

  it("describes restores in x-amz-restore and archive tiers in x-amz-archive-status", () => {
    assert.deepEqual(restoreHeaderValues(glacier({ restore: { requestedAt: T0, readyAt: T0 + 1, tier: "Bulk", days: 2 } })), {
      "x-amz-restore": 'ongoing-request="true"',
    });
    const expiresAt = Date.UTC(2026, 0, 4);
    assert.deepEqual(restoreHeaderValues(glacier({ restore: { requestedAt: T0, readyAt: T0, tier: "Bulk", days: 2, expiresAt } })), {
      "x-amz-restore": 'ongoing-request="false", expiry-date="Sun, 04 Jan 2026 00:00:00 GMT"',
    });
    assert.deepEqual(restoreHeaderValues(it_({ accessTier: "ARCHIVE_ACCESS" })), { "x-amz-archive-status": "ARCHIVE_ACCESS" });
    assert.deepEqual(restoreHeaderValues(it_({ accessTier: "INFREQUENT" })), {});
    assert.deepEqual(restoreHeaderValues(glacier()), {});
  });
});

describe("RestoreObject decisions", () => {
  it("rounds the expiry of a restored copy up to the midnight UTC after its days, and keeps the longest Days a valid date", () => {
    assert.equal(restoreExpiry(Date.UTC(2012, 9, 15, 10, 30), 3), Date.UTC(2012, 9, 19));
    // The largest Days RestoreObject takes runs past what a Date holds: the copy stays until then.
    assert.equal(new Date(restoreExpiry(Date.UTC(2012, 9, 15, 10, 30), 2_147_483_647)).toISOString(), "+275760-09-13T00:00:00.000Z");
  });

  it("starts a GLACIER restore (202), refuses a second while it runs (409), extends a finished one (200)", () => {
    const started = decideRestore(glacier(), { days: 2, tier: "Bulk" }, T0);
    assert.equal(started.status, 202);
    assert.deepEqual(started.extra.restore, { requestedAt: T0, readyAt: T0 + 12 * HOUR_MS, tier: "Bulk", days: 2 });
    const running = glacier({ restore: started.extra.restore });
    assert.equal(s3Code(() => decideRestore(running, { days: 2, tier: "Bulk" }, T0 + HOUR_MS)), "409 RestoreAlreadyInProgress");
    const done = glacier(advance(running, T0 + 12 * HOUR_MS, {}));
    assert.equal((done.extra.restore as { expiresAt: number }).expiresAt, Date.UTC(2026, 0, 4));
    const extended = decideRestore(done, { days: 5, tier: "Standard" }, T0 + DAY_MS);
    assert.equal(extended.status, 200);
    assert.equal((extended.extra.restore as { expiresAt: number }).expiresAt, Date.UTC(2026, 0, 8));
  });

  it("refuses what S3 refuses", () => {
    assert.equal(s3Code(() => decideRestore(glacier({}, "STANDARD"), { days: 1, tier: "Standard" }, T0)), "403 InvalidObjectState");
    assert.equal(s3Code(() => decideRestore(glacier({}, "GLACIER_IR"), { days: 1, tier: "Standard" }, T0)), "403 InvalidObjectState");
    assert.equal(s3Code(() => decideRestore(glacier(), { tier: "Standard" }, T0)), "400 MalformedXML");
    assert.equal(s3Code(() => decideRestore(glacier({}, "DEEP_ARCHIVE"), { days: 1, tier: "Expedited" }, T0)), "400 InvalidArgument");
    assert.equal(s3Code(() => decideRestore(it_({ accessTier: "ARCHIVE_ACCESS" }), { days: 1, tier: "Standard" }, T0)), "400 InvalidArgument");
    assert.equal(s3Code(() => decideRestore(it_({ accessTier: "INFREQUENT" }), { tier: "Standard" }, T0)), "403 InvalidObjectState");
  });

  it("restores an Intelligent-Tiering archive to Frequent Access once the retrieval time has passed", () => {
    const started = decideRestore(it_({ accessTier: "DEEP_ARCHIVE_ACCESS" }), { tier: "Standard" }, T0);
    assert.equal(started.status, 202);
    const running = it_(started.extra);
    assert.deepEqual(restoreHeaderValues(running), { "x-amz-archive-status": "DEEP_ARCHIVE_ACCESS", "x-amz-restore": 'ongoing-request="true"' });
    assert.equal(s3Code(() => decideRestore(running, { tier: "Standard" }, T0)), "409 RestoreAlreadyInProgress");
    assert.equal(advance(running, T0 + 12 * HOUR_MS - 1, {}), undefined);
    assert.deepEqual(advance(running, T0 + 12 * HOUR_MS, {}), { accessTier: "FREQUENT", tieringReferenceDate: T0 + 12 * HOUR_MS });
  });

  it("lets a restored GLACIER copy expire in the pass", () => {
    const restore = { requestedAt: T0, readyAt: T0, tier: "Standard", days: 1, expiresAt: T0 + DAY_MS };
    assert.equal(advance(glacier({ restore }), T0 + DAY_MS - 1, {}), undefined);
    assert.deepEqual(advance(glacier({ restore, other: 1 }), T0 + DAY_MS, {}), { other: 1 });
  });
});
