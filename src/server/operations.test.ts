// The actions the edge authorizes for a request: the row's own (its version-specific name when the
// request names a version) and those the request's headers add. One table row per case S3 names.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { KNOWN_ACTIONS, OPERATIONS, requiredActions } from "./operations.js";

const V = "versionId=3HL4kqtJvjVBH40Nrjfkd";

const CASES: [op: string, query: string, headers: Record<string, string>, expected: string[]][] = [
  ["GetObject", V, {}, ["s3:GetObjectVersion"]],
  ["HeadObject", V, {}, ["s3:GetObjectVersion"]],
  ["DeleteObject", V, {}, ["s3:DeleteObjectVersion"]],
  ["GetObjectTagging", `tagging&${V}`, {}, ["s3:GetObjectVersionTagging"]],
  ["PutObjectTagging", `tagging&${V}`, {}, ["s3:PutObjectVersionTagging"]],
  ["DeleteObjectTagging", `tagging&${V}`, {}, ["s3:DeleteObjectVersionTagging"]],
  ["GetObjectAcl", `acl&${V}`, {}, ["s3:GetObjectVersionAcl"]],
  ["PutObjectAcl", `acl&${V}`, {}, ["s3:PutObjectVersionAcl"]],
  ["PutObjectTagging", "tagging", {}, ["s3:PutObjectTagging"]],
  ["PutObjectAcl", "acl", {}, ["s3:PutObjectAcl"]],
  ["GetObjectAttributes", "attributes", {}, ["s3:GetObjectAttributes", "s3:GetObject"]],
  ["GetObjectAttributes", `attributes&${V}`, {}, ["s3:GetObjectVersionAttributes", "s3:GetObjectVersion"]],
  // S3 has no Version variant of these: the name stays with a versionId.
  ["PutObjectRetention", `retention&${V}`, {}, ["s3:PutObjectRetention"]],
  ["GetObjectRetention", `retention&${V}`, {}, ["s3:GetObjectRetention"]],
  ["PutObjectLegalHold", `legal-hold&${V}`, {}, ["s3:PutObjectLegalHold"]],
  ["GetObjectLegalHold", `legal-hold&${V}`, {}, ["s3:GetObjectLegalHold"]],
  ["RestoreObject", `restore&${V}`, {}, ["s3:RestoreObject"]],
  ["PutObject", "", {}, ["s3:PutObject"]],
  ["PutObject", "", { "x-amz-tagging": "a=1" }, ["s3:PutObject", "s3:PutObjectTagging"]],
  ["PutObject", "", { "x-amz-acl": "public-read" }, ["s3:PutObject", "s3:PutObjectAcl"]],
  ["PutObject", "", { "x-amz-grant-write-acp": 'id="abc"' }, ["s3:PutObject", "s3:PutObjectAcl"]],
  ["PutObject", "", { "x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": "2030-01-01T00:00:00Z" }, ["s3:PutObject", "s3:PutObjectRetention"]],
  ["PutObject", "", { "x-amz-object-lock-legal-hold": "ON" }, ["s3:PutObject", "s3:PutObjectLegalHold"]],
  ["CopyObject", "", { "x-amz-copy-source": "b/k", "x-amz-tagging": "a=1", "x-amz-acl": "private" }, ["s3:PutObject", "s3:PutObjectTagging", "s3:PutObjectAcl"]],
  ["CreateMultipartUpload", "uploads", { "x-amz-object-lock-legal-hold": "OFF", "x-amz-tagging": "" }, ["s3:PutObject", "s3:PutObjectTagging", "s3:PutObjectLegalHold"]],
  // The parts and the completion carry no such headers of their own: Create decided them.
  ["UploadPart", "partNumber=1&uploadId=u", { "x-amz-tagging": "a=1" }, ["s3:PutObject"]],
  ["CompleteMultipartUpload", "uploadId=u", { "x-amz-acl": "public-read" }, ["s3:PutObject"]],
];

describe("operation table: required actions", () => {
  for (const [op, query, headers, expected] of CASES) {
    it(`${op}${query ? " ?" + query : ""}${Object.keys(headers).length ? " with " + Object.keys(headers).join(", ") : ""}: ${expected.join(" + ")}`, () => {
      assert.deepEqual(requiredActions(OPERATIONS[op]!, new URLSearchParams(query), headers), expected);
    });
  }

  it("authorizes DeleteObjects key by key in its handler, not once for the bucket", () => {
    assert.equal(OPERATIONS.DeleteObjects!.perKey, true);
    assert.equal(Object.entries(OPERATIONS).filter(([, r]) => r.perKey).length, 1);
  });

  it("names only actions a policy may grant", () => {
    const everything = {
      "x-amz-tagging": "a=1",
      "x-amz-acl": "private",
      "x-amz-object-lock-mode": "GOVERNANCE",
      "x-amz-object-lock-retain-until-date": "2030-01-01T00:00:00Z",
      "x-amz-object-lock-legal-hold": "ON",
    };
    for (const [op, row] of Object.entries(OPERATIONS)) {
      for (const query of ["", V]) {
        for (const action of requiredActions(row, new URLSearchParams(query), everything)) assert.ok(KNOWN_ACTIONS.has(action), `${op}: ${action}`);
      }
    }
  });
});
