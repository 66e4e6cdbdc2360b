// Object lock's pure rules: the configuration and retention documents as S3 validates them, the
// retain-until date formats clients send, default retention arithmetic and which retention
// changes S3 allows.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { S3Error } from "../errors.js";
import { ManualClock } from "../clock.js";
import type { ServerContext } from "./types.js";
import type { BucketRecord, ObjectVersionRecord } from "../storage/types.js";
import { deleteGuard } from "../core/object-lock.js";
import { defaultRetainUntil, parseIsoDate, parseLegalHold, parseLockConfiguration, parseRetention, retentionChangeAllowed } from "./object-lock.js";

const xml = (s: string) => Buffer.from(s);
const lockDoc = (inner: string) => xml(`<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</ObjectLockConfiguration>`);
const rule = (inner: string) => lockDoc(`<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>${inner}</DefaultRetention></Rule>`);

function throwsS3(fn: () => unknown, code: string, message?: string) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof S3Error);
    assert.equal(err.code, code);
    if (message !== undefined) assert.equal(err.message, message);
    return true;
  });
}

describe("parseLockConfiguration", () => {
  it("accepts the documented shapes: enabled alone, Days, Years", () => {
    assert.deepEqual(parseLockConfiguration(lockDoc("<ObjectLockEnabled>Enabled</ObjectLockEnabled>")), { enabled: true });
    assert.deepEqual(parseLockConfiguration(rule("<Mode>GOVERNANCE</Mode><Days>30</Days>")), { enabled: true, defaultRetention: { mode: "GOVERNANCE", days: 30 } });
    assert.deepEqual(parseLockConfiguration(rule("<Mode>COMPLIANCE</Mode><Years>2</Years>")), { enabled: true, defaultRetention: { mode: "COMPLIANCE", years: 2 } });
  });

  it("answers MalformedXML for a missing or other ObjectLockEnabled, a bad mode, both or neither period", () => {
    throwsS3(() => parseLockConfiguration(lockDoc("<ObjectLockEnabled>Disabled</ObjectLockEnabled>")), "MalformedXML");
    throwsS3(() => parseLockConfiguration(lockDoc("<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention></Rule>")), "MalformedXML");
    throwsS3(() => parseLockConfiguration(rule("<Mode>governance</Mode><Days>1</Days>")), "MalformedXML");
    throwsS3(() => parseLockConfiguration(rule("<Days>1</Days>")), "MalformedXML");
    throwsS3(() => parseLockConfiguration(rule("<Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years>")), "MalformedXML");
    throwsS3(() => parseLockConfiguration(rule("<Mode>GOVERNANCE</Mode>")), "MalformedXML");
    throwsS3(() => parseLockConfiguration(rule("<Mode>GOVERNANCE</Mode><Days>ten</Days>")), "MalformedXML");
    throwsS3(() => parseLockConfiguration(lockDoc("<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule></Rule>")), "MalformedXML");
    throwsS3(() => parseLockConfiguration(xml("not xml")), "MalformedXML");
  });

  it("answers InvalidArgument for a period that is not positive or too large", () => {
    throwsS3(() => parseLockConfiguration(rule("<Mode>GOVERNANCE</Mode><Days>0</Days>")), "InvalidArgument", "Default retention period must be a positive integer value.");
    throwsS3(() => parseLockConfiguration(rule("<Mode>GOVERNANCE</Mode><Years>-1</Years>")), "InvalidArgument", "Default retention period must be a positive integer value.");
    throwsS3(() => parseLockConfiguration(rule("<Mode>GOVERNANCE</Mode><Days>36501</Days>")), "InvalidArgument", "Default retention period too large.");
    throwsS3(() => parseLockConfiguration(rule("<Mode>GOVERNANCE</Mode><Years>101</Years>")), "InvalidArgument", "Default retention period too large.");
  });
});

describe("parseIsoDate", () => {
  it("reads the forms SDK v3 (no fraction), boto3 (microseconds) and offsets produce", () => {
    assert.equal(parseIsoDate("2030-01-02T03:04:05Z"), Date.UTC(2030, 0, 2, 3, 4, 5));
    assert.equal(parseIsoDate("2030-01-02T03:04:05.123456Z"), Date.UTC(2030, 0, 2, 3, 4, 5, 123));
    assert.equal(parseIsoDate("2030-01-02T03:04:05.5Z"), Date.UTC(2030, 0, 2, 3, 4, 5, 500));
    assert.equal(parseIsoDate("2030-01-02T05:04:05+02:00"), Date.UTC(2030, 0, 2, 3, 4, 5));
    assert.equal(parseIsoDate("2030-01-02T05:04:05+0200"), Date.UTC(2030, 0, 2, 3, 4, 5));
  });

  it("refuses dates without a zone, impossible days and other formats", () => {
    for (const bad of ["2030-01-02T03:04:05", "2030-02-30T00:00:00Z", "Wed, 02 Jan 2030 03:04:05 GMT", "1893456000", "", "2030-13-01T00:00:00Z"]) {
      assert.equal(parseIsoDate(bad), undefined, bad);
    }
  });
});

describe("defaultRetainUntil", () => {
  it("adds days as 24-hour days and years as calendar years", () => {
    const from = new Date("2028-02-29T12:00:00.000Z");
    assert.equal(new Date(defaultRetainUntil({ mode: "GOVERNANCE", days: 1 }, from)).toISOString(), "2028-03-01T12:00:00.000Z");
    assert.equal(new Date(defaultRetainUntil({ mode: "GOVERNANCE", years: 4 }, from)).toISOString(), "2032-02-29T12:00:00.000Z");
  });
});

describe("parseRetention and parseLegalHold", () => {
  const now = Date.UTC(2030, 0, 1);
  const retention = (inner: string) => xml(`<Retention xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</Retention>`);

  it("reads a mode and a future date, and an empty Retention as a removal", () => {
    assert.deepEqual(parseRetention(retention("<Mode>COMPLIANCE</Mode><RetainUntilDate>2030-01-02T00:00:00Z</RetainUntilDate>"), now), { mode: "COMPLIANCE", retainUntil: Date.UTC(2030, 0, 2) });
    assert.deepEqual(parseRetention(retention(""), now), {});
  });

  it("refuses a past date (InvalidArgument), a bad mode or half a retention (MalformedXML)", () => {
    throwsS3(() => parseRetention(retention("<Mode>GOVERNANCE</Mode><RetainUntilDate>2029-12-31T00:00:00Z</RetainUntilDate>"), now), "InvalidArgument", "The retain until date must be in the future!");
    throwsS3(() => parseRetention(retention("<Mode>LOCKED</Mode><RetainUntilDate>2030-01-02T00:00:00Z</RetainUntilDate>"), now), "MalformedXML");
    throwsS3(() => parseRetention(retention("<Mode>GOVERNANCE</Mode>"), now), "MalformedXML");
    throwsS3(() => parseRetention(retention("<RetainUntilDate>2030-01-02T00:00:00Z</RetainUntilDate>"), now), "MalformedXML");
  });

  it("reads ON and OFF and nothing else", () => {
    assert.equal(parseLegalHold(xml("<LegalHold><Status>ON</Status></LegalHold>")), "ON");
    assert.equal(parseLegalHold(xml("<LegalHold><Status>OFF</Status></LegalHold>")), "OFF");
    throwsS3(() => parseLegalHold(xml("<LegalHold><Status>on</Status></LegalHold>")), "MalformedXML");
    throwsS3(() => parseLegalHold(xml("<LegalHold></LegalHold>")), "MalformedXML");
  });
});

describe("retentionChangeAllowed", () => {
  const now = 1_000;
  const governance = { mode: "GOVERNANCE" as const, retainUntil: 5_000 };
  const compliance = { mode: "COMPLIANCE" as const, retainUntil: 5_000 };

  it("allows anything on a version without retention or with expired retention", () => {
    assert.ok(retentionChangeAllowed(undefined, { mode: "COMPLIANCE", retainUntil: 2_000 }, now, false));
    assert.ok(retentionChangeAllowed({ mode: "COMPLIANCE", retainUntil: 900 }, {}, now, false));
  });

  it("lets COMPLIANCE only be kept or extended, bypass or not", () => {
    assert.ok(retentionChangeAllowed(compliance, { mode: "COMPLIANCE", retainUntil: 6_000 }, now, false));
    assert.ok(retentionChangeAllowed(compliance, { mode: "COMPLIANCE", retainUntil: 5_000 }, now, false));
    assert.equal(retentionChangeAllowed(compliance, { mode: "COMPLIANCE", retainUntil: 4_000 }, now, true), false);
    assert.equal(retentionChangeAllowed(compliance, { mode: "GOVERNANCE", retainUntil: 6_000 }, now, true), false);
    assert.equal(retentionChangeAllowed(compliance, {}, now, true), false);
  });

  it("lets GOVERNANCE be extended freely, shortened, removed or made COMPLIANCE only with bypass", () => {
    assert.ok(retentionChangeAllowed(governance, { mode: "GOVERNANCE", retainUntil: 6_000 }, now, false));
    for (const next of [{ mode: "GOVERNANCE" as const, retainUntil: 4_000 }, {}, { mode: "COMPLIANCE" as const, retainUntil: 6_000 }]) {
      assert.equal(retentionChangeAllowed(governance, next, now, false), false);
      assert.ok(retentionChangeAllowed(governance, next, now, true));
    }
  });
});

describe("deleteGuard without a request (lifecycle expiration)", () => {
  const clock = new ManualClock(Date.UTC(2030, 0, 1));
  // Without a request there is no caller to authorize: the guard needs nothing but the clock.
  const ctx = { clock } as unknown as ServerContext;
  const bucket: BucketRecord = { name: "b", id: "b", ownerAccountId: "111122223333", region: "us-east-1", createdAt: new Date(0), versioning: "Enabled" };
  const version = (lock: Record<string, unknown> | undefined): ObjectVersionRecord => ({
    bucket: "b",
    key: "k",
    versionId: "v",
    isDeleteMarker: false,
    isLatest: true,
    size: 0,
    etag: '""',
    lastModified: new Date(0),
    storageClass: "STANDARD",
    contentHeaders: {},
    userMetadata: {},
    ownerAccountId: "111122223333",
    partsCount: 0,
    extra: lock ? { lock } : {},
    body: null,
  });
  const guard = deleteGuard(ctx, false);
  const later = Date.UTC(2030, 0, 2);

  it("never bypasses GOVERNANCE, refuses a legal hold, and lets unlocked or expired versions go", () => {
    throwsS3(() => guard(version({ mode: "GOVERNANCE", retainUntil: later })), "AccessDenied");
    throwsS3(() => guard(version({ mode: "COMPLIANCE", retainUntil: later })), "AccessDenied");
    throwsS3(() => guard(version({ legalHold: "ON" })), "AccessDenied");
    guard(version(undefined));
    guard(version({ legalHold: "OFF", mode: "COMPLIANCE", retainUntil: Date.UTC(2029, 11, 31) }));
  });
});
