import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { VersionTuple } from "../storage/types.js";
import { reportColumns, INVENTORY_FIELDS } from "./fields.js";
import { aclDocument, extraOf, projector } from "./values.js";

const tuple = (over: Partial<Record<number, unknown>> = {}): VersionTuple => {
  const t: VersionTuple = ["dir/key", "v1", 1, 0, 42, '"abc"', Date.UTC(2026, 0, 2), "STANDARD", "111122223333", 0, "{}"];
  for (const [i, v] of Object.entries(over)) (t as unknown[])[Number(i)] = v;
  return t;
};

describe("inventory projection", () => {
  let hashes = 0;
  const ctx = { bucket: "src", canonicalId: (a: string) => (hashes++, `canon-${a}`) };

  it("reads the fixed and optional columns of an object version", () => {
    const cols = reportColumns("All", ["Size", "LastModifiedDate", "ETag", "StorageClass", "IsMultipartUploaded", "EncryptionStatus", "ChecksumAlgorithm", "ObjectOwner"]);
    const row = projector(cols, ctx)(tuple({ 9: 3, 10: '{"encryption":{"kind":"SSE-KMS","bucketKeyEnabled":true},"checksum":{"algorithm":"CRC32C"}}' }));
    assert.deepEqual(row, ["src", "dir/key", "v1", true, false, 42, Date.UTC(2026, 0, 2), "abc", "STANDARD", true, "SSE-KMS", "CRC32C", "canon-111122223333"]);
  });

  it("the null version has no version id; a delete marker has no object fields", () => {
    const cols = reportColumns("All", ["Size", "ETag", "StorageClass", "EncryptionStatus", "ObjectOwner", "LastModifiedDate"]);
    const project = projector(cols, ctx);
    assert.equal(project(tuple({ 1: "null" }))[2], null);
    assert.deepEqual(project(tuple({ 2: 0, 3: 1, 5: "" })), ["src", "dir/key", "v1", false, true, null, Date.UTC(2026, 0, 2), null, null, null, "canon-111122223333"]);
  });

  it("BucketKeyStatus: ENABLED/DISABLED for KMS, DISABLED for SSE-S3 as real reports show, empty otherwise", () => {
    const project = projector(reportColumns("Current", ["EncryptionStatus", "BucketKeyStatus"]), ctx);
    const cases: [string, unknown[]][] = [
      ['{"encryption":{"kind":"SSE-S3"}}', ["SSE-S3", "DISABLED"]],
      ['{"encryption":{"kind":"SSE-KMS","bucketKeyEnabled":true}}', ["SSE-KMS", "ENABLED"]],
      ['{"encryption":{"kind":"SSE-KMS"}}', ["SSE-KMS", "DISABLED"]],
      ['{"encryption":{"kind":"DSSE-KMS"}}', ["DSSE-KMS", "DISABLED"]],
      ['{"encryption":{"kind":"SSE-C"}}', ["SSE-C", null]],
      ["{}", ["NOT-SSE", null]],
    ];
    for (const [extra, want] of cases) assert.deepEqual(project(tuple({ 10: extra })).slice(2), want, extra);
    assert.deepEqual(project(tuple({ 3: 1, 10: '{"encryption":{"kind":"SSE-S3"}}' })).slice(2), [null, null], "a delete marker has none");
  });

  it("ETags lose their quotes however they are stored", () => {
    const project = projector(reportColumns("Current", ["ETag"]), ctx);
    for (const [stored, shown] of [['"abc"', "abc"], ["abc", "abc"], ['"a"b"', "ab"], ['"', ""], ['""', ""], ['"abc-3"', "abc-3"]]) {
      assert.equal(project(tuple({ 5: stored }))[2], shown, stored);
    }
  });

  it("parses extra once per version, and only when a column needs it", () => {
    const t = tuple({ 10: '{"replicationStatus":"COMPLETED","lock":{"mode":"GOVERNANCE","retainUntil":5,"legalHold":"ON"}}' });
    projector(reportColumns("Current", ["Size", "ETag"]), ctx)(t);
    assert.equal(typeof t[10], "string", "no column read extra");
    const row = projector(reportColumns("Current", ["ReplicationStatus", "ObjectLockMode", "ObjectLockRetainUntilDate", "ObjectLockLegalHoldStatus"]), ctx)(t);
    assert.deepEqual(row.slice(2), ["COMPLETED", 5, "GOVERNANCE", "ON"]);
    assert.equal(typeof t[10], "object");
    assert.equal(extraOf(t), t[10]);
  });

  it("computes canonical ids and ACL documents once per owner", () => {
    const cols = reportColumns("Current", ["ObjectOwner", "ObjectAccessControlList"]);
    const project = projector(cols, ctx);
    hashes = 0;
    const rows = Array.from({ length: 100 }, (_, i) => project(tuple({ 8: i % 2 === 0 ? "111122223333" : "444455556666" })));
    assert.equal(hashes, 2);
    // Catalogue order: the ACL column comes before ObjectOwner.
    assert.equal(rows[1]![2], aclDocument("canon-444455556666"));
    assert.equal(rows[1]![3], "canon-444455556666");
    const doc = JSON.parse(Buffer.from(rows[0]![2] as string, "base64").toString());
    assert.equal(doc.grants[0].canonicalId, "canon-111122223333");
  });

  it("every catalogue field has a reader that accepts a packed version", () => {
    const row = projector(INVENTORY_FIELDS.slice(), ctx)(tuple({ 7: "INTELLIGENT_TIERING" }));
    assert.equal(row.length, INVENTORY_FIELDS.length);
    assert.equal(row[INVENTORY_FIELDS.findIndex((f) => f.name === "IntelligentTieringAccessTier")], "FREQUENT");
    assert.equal(row[INVENTORY_FIELDS.findIndex((f) => f.name === "IntelligentTieringReferenceDate")], Date.UTC(2026, 0, 2));
  });
});
