import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { S3Error } from "../errors.js";
import {
  cannedGrants,
  compactGrants,
  EC2_CANONICAL_ID,
  Groups,
  parseAccessControlPolicy,
  parseGrantHeader,
  requestedAclFromHeaders,
  resolveGrants,
} from "./acl.js";
import { ownershipHeader, parseOwnershipControls } from "./ownership.js";

const OWNER = "a".repeat(64);
const BUCKET_OWNER = "b".repeat(64);

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    if (err instanceof S3Error) return err.code;
    throw err;
  }
  return undefined;
}

describe("ACL request headers", () => {
  it("parses grant headers with quoted and bare values, several grantees per header", () => {
    assert.deepEqual(parseGrantHeader("x-amz-grant-read", `id="${OWNER}", uri=${Groups.AllUsers},emailAddress="x@example.com"`, "READ"), [
      { grantee: { id: OWNER }, permission: "READ" },
      { grantee: { uri: Groups.AllUsers }, permission: "READ" },
      { grantee: { email: "x@example.com" }, permission: "READ" },
    ]);
  });

  it("refuses malformed grant headers, unknown canned ACLs and canned ACLs with grants", () => {
    assert.equal(code(() => parseGrantHeader("x-amz-grant-read", "nobody", "READ")), "InvalidArgument");
    assert.equal(code(() => parseGrantHeader("x-amz-grant-read", 'id=""', "READ")), "InvalidArgument");
    assert.equal(code(() => requestedAclFromHeaders({ "x-amz-acl": "everyone" })), "InvalidArgument");
    assert.equal(code(() => requestedAclFromHeaders({ "x-amz-acl": "private", "x-amz-grant-read": `id="${OWNER}"` })), "InvalidRequest");
  });

  it("collects grants from every x-amz-grant-* header, or nothing without ACL headers", () => {
    assert.equal(requestedAclFromHeaders({ "content-type": "text/plain" }), undefined);
    assert.deepEqual(requestedAclFromHeaders({ "x-amz-acl": "public-read" }), { canned: "public-read" });
    assert.deepEqual(requestedAclFromHeaders({ "x-amz-grant-write-acp": `id="${OWNER}"`, "x-amz-grant-full-control": `uri="${Groups.LogDelivery}"` }), {
      grants: [
        { grantee: { uri: Groups.LogDelivery }, permission: "FULL_CONTROL" },
        { grantee: { id: OWNER }, permission: "WRITE_ACP" },
      ],
    });
  });
});

describe("canned ACLs", () => {
  it("expand to S3's grants, the bucket owner's only when it is not the owner", () => {
    const full = { id: OWNER, permission: "FULL_CONTROL" };
    assert.deepEqual(cannedGrants("private", OWNER, BUCKET_OWNER), [full]);
    assert.deepEqual(cannedGrants("public-read-write", OWNER, BUCKET_OWNER), [full, { uri: Groups.AllUsers, permission: "READ" }, { uri: Groups.AllUsers, permission: "WRITE" }]);
    assert.deepEqual(cannedGrants("authenticated-read", OWNER, BUCKET_OWNER), [full, { uri: Groups.AuthenticatedUsers, permission: "READ" }]);
    assert.deepEqual(cannedGrants("aws-exec-read", OWNER, BUCKET_OWNER), [full, { id: EC2_CANONICAL_ID, permission: "READ" }]);
    assert.deepEqual(cannedGrants("bucket-owner-read", OWNER, BUCKET_OWNER), [full, { id: BUCKET_OWNER, permission: "READ" }]);
    assert.deepEqual(cannedGrants("bucket-owner-full-control", OWNER, BUCKET_OWNER), [full, { id: BUCKET_OWNER, permission: "FULL_CONTROL" }]);
    assert.deepEqual(cannedGrants("bucket-owner-full-control", OWNER, OWNER), [full]);
    assert.deepEqual(cannedGrants("log-delivery-write", OWNER, OWNER), [full, { uri: Groups.LogDelivery, permission: "WRITE" }, { uri: Groups.LogDelivery, permission: "READ_ACP" }]);
  });

  it("are stored only when they differ from the owner's FULL_CONTROL alone", () => {
    assert.equal(compactGrants(cannedGrants("private", OWNER, OWNER), OWNER), undefined);
    assert.equal(compactGrants(cannedGrants("bucket-owner-full-control", OWNER, OWNER), OWNER), undefined);
    assert.equal(compactGrants([{ id: OWNER, permission: "READ" }], OWNER)?.length, 1);
    assert.deepEqual(compactGrants([], OWNER), []);
  });
});

describe("grant resolution", () => {
  const known = (id: string) => id === OWNER;
  it("accepts known canonical ids, predefined groups and EC2's id", () => {
    assert.deepEqual(
      resolveGrants(
        [
          { grantee: { id: OWNER }, permission: "READ" },
          { grantee: { uri: Groups.AuthenticatedUsers }, permission: "WRITE" },
          { grantee: { id: EC2_CANONICAL_ID }, permission: "READ" },
        ],
        known,
      ),
      [
        { id: OWNER, permission: "READ" },
        { uri: Groups.AuthenticatedUsers, permission: "WRITE" },
        { id: EC2_CANONICAL_ID, permission: "READ" },
      ],
    );
  });

  it("refuses unknown ids and groups (InvalidArgument) and email grantees (UnresolvableGrantByEmailAddress)", () => {
    assert.equal(code(() => resolveGrants([{ grantee: { id: BUCKET_OWNER }, permission: "READ" }], known)), "InvalidArgument");
    assert.equal(code(() => resolveGrants([{ grantee: { uri: "http://acs.amazonaws.com/groups/global/Friends" }, permission: "READ" }], known)), "InvalidArgument");
    assert.equal(code(() => resolveGrants([{ grantee: { email: "a@example.com" }, permission: "READ" }], known)), "UnresolvableGrantByEmailAddress");
  });
});

describe("AccessControlPolicy documents", () => {
  const doc = (grants: string, owner = `<Owner><ID>${OWNER}</ID><DisplayName>me</DisplayName></Owner>`) =>
    Buffer.from(
      `<?xml version="1.0" encoding="UTF-8"?><AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${owner}<AccessControlList>${grants}</AccessControlList></AccessControlPolicy>`,
    );
  const xsi = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';

  it("reads the owner and each grant's grantee from what it carries", () => {
    const parsed = parseAccessControlPolicy(
      doc(
        `<Grant><Grantee ${xsi} xsi:type="CanonicalUser"><ID>${OWNER}</ID><DisplayName>me</DisplayName></Grantee><Permission>FULL_CONTROL</Permission></Grant>` +
          `<Grant><Grantee ${xsi} xsi:type="Group"><URI>${Groups.AllUsers}</URI></Grantee><Permission>READ</Permission></Grant>` +
          `<Grant><Grantee ${xsi} xsi:type="AmazonCustomerByEmail"><EmailAddress>x@example.com</EmailAddress></Grantee><Permission>WRITE_ACP</Permission></Grant>`,
      ),
    );
    assert.deepEqual(parsed, {
      ownerId: OWNER,
      grants: [
        { grantee: { id: OWNER }, permission: "FULL_CONTROL" },
        { grantee: { uri: Groups.AllUsers }, permission: "READ" },
        { grantee: { email: "x@example.com" }, permission: "WRITE_ACP" },
      ],
    });
    assert.deepEqual(parseAccessControlPolicy(doc("", "")), { ownerId: undefined, grants: [] });
  });

  it("answers MalformedACLError for grants S3's schema refuses and MalformedXML for broken XML", () => {
    assert.equal(code(() => parseAccessControlPolicy(doc(`<Grant><Grantee><ID>${OWNER}</ID></Grantee><Permission>ALL</Permission></Grant>`))), "MalformedACLError");
    assert.equal(code(() => parseAccessControlPolicy(doc(`<Grant><Permission>READ</Permission></Grant>`))), "MalformedACLError");
    assert.equal(code(() => parseAccessControlPolicy(doc(`<Grant><Grantee></Grantee><Permission>READ</Permission></Grant>`))), "MalformedACLError");
    assert.equal(code(() => parseAccessControlPolicy(Buffer.from("<AccessControlPolicy><Owner><ID>x</ID></Owner></AccessControlPolicy>"))), "MalformedACLError");
    const many = `<Grant><Grantee><URI>${Groups.AllUsers}</URI></Grantee><Permission>READ</Permission></Grant>`.repeat(101);
    assert.equal(code(() => parseAccessControlPolicy(doc(many))), "MalformedACLError");
    assert.equal(code(() => parseAccessControlPolicy(Buffer.from("<AccessControlPolicy><Owner>"))), "MalformedXML");
  });
});

describe("ownership controls", () => {
  it("parses one rule with a known ObjectOwnership", () => {
    const xml = (rules: string) => Buffer.from(`<OwnershipControls xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${rules}</OwnershipControls>`);
    assert.deepEqual(parseOwnershipControls(xml("<Rule><ObjectOwnership>BucketOwnerPreferred</ObjectOwnership></Rule>")), { objectOwnership: "BucketOwnerPreferred" });
    assert.equal(code(() => parseOwnershipControls(xml(""))), "MalformedXML");
    assert.equal(code(() => parseOwnershipControls(xml("<Rule><ObjectOwnership>Mine</ObjectOwnership></Rule>"))), "MalformedXML");
    assert.equal(code(() => parseOwnershipControls(xml("<Rule/>"))), "MalformedXML");
  });

  it("defaults CreateBucket to BucketOwnerEnforced and refuses an unknown header value", () => {
    assert.equal(ownershipHeader(undefined), "BucketOwnerEnforced");
    assert.equal(ownershipHeader("ObjectWriter"), "ObjectWriter");
    assert.equal(code(() => ownershipHeader("Anyone")), "InvalidArgument");
  });
});
