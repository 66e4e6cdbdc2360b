import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { VersionTuple } from "../storage/types.js";
import { reportColumns } from "./fields.js";
import { projector } from "./values.js";

const ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers";
const tuple = (owner: string, extra: string, deleteMarker = 0): VersionTuple => ["k", "v", 1, deleteMarker, 1, '"e"', 0, "STANDARD", owner, 0, extra];
const decode = (value: unknown) => JSON.parse(Buffer.from(value as string, "base64").toString()) as { version: string; status: string; grants: unknown[] };

describe("inventory ObjectAccessControlList column", () => {
  const project = projector(reportColumns("Current", ["ObjectAccessControlList"]), { bucket: "b", canonicalId: (a) => `canon-${a}` });

  it("reports the owner's FULL_CONTROL for a version without stored grants, without parsing its extra", () => {
    const t = tuple("111122223333", '{"encryption":{"kind":"SSE-S3"}}');
    const doc = decode(project(t)[2]);
    assert.deepEqual(doc, { version: "2022-11-10", status: "AVAILABLE", grants: [{ canonicalId: "canon-111122223333", type: "CanonicalUser", permission: "FULL_CONTROL" }] });
    assert.equal(typeof t[10], "string");
  });

  it("reports stored grants: users by canonical id, groups by URI", () => {
    const extra = JSON.stringify({ acl: [{ id: "c".repeat(64), permission: "FULL_CONTROL" }, { uri: ALL_USERS, permission: "READ" }] });
    const doc = decode(project(tuple("111122223333", extra))[2]);
    assert.deepEqual(doc.grants, [
      { canonicalId: "c".repeat(64), type: "CanonicalUser", permission: "FULL_CONTROL" },
      { uri: ALL_USERS, type: "Group", permission: "READ" },
    ]);
    assert.equal(project(tuple("111122223333", extra))[2], project(tuple("444455556666", extra))[2], "the grants alone decide the document");
  });

  it("is null for a delete marker", () => {
    assert.equal(project(tuple("111122223333", "{}", 1))[2], null);
  });
});
