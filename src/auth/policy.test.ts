// Bucket policy evaluation: a table of policies x requests x expected decisions, covering every
// principal form and condition operator, and the validation errors (MalformedPolicy).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { compilePolicy, evaluatePolicy, isPublicPolicy, namesConditionKey, type Decision, type PolicyRequest } from "./policy.js";
import { EXISTING_OBJECT_TAG, existingObjectTagConditions, REQUEST_OBJECT_TAG, requestObjectTagConditions } from "./authorize.js";
import { KNOWN_ACTIONS } from "../server/operations.js";
import { S3Error } from "../errors.js";

const BUCKET = "policy-bucket";
const OWNER = "111122223333";
const OTHER = "444455556666";
const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;

type Who = PolicyRequest["principal"];
const other: Who = { kind: "account", accountId: OTHER };
const owner: Who = { kind: "account", accountId: OWNER };
const anon: Who = { kind: "anonymous" };
const s3svc: Who = { kind: "service", service: "s3.amazonaws.com" };

function policy(statement: Record<string, unknown> | Record<string, unknown>[]): string {
  return JSON.stringify({ Version: "2012-10-17", Statement: statement });
}

const allow = (extra: Record<string, unknown>) => ({ Effect: "Allow", Principal: { AWS: OTHER }, Action: "s3:GetObject", Resource: `${BUCKET_ARN}/*`, ...extra });

interface Row {
  name: string;
  policy: string;
  who?: Who;
  action?: string;
  resource?: string;
  context?: PolicyRequest["context"];
  expect: Decision;
}

const NOW = "2026-11-25T12:00:00Z";
const cond = (c: Record<string, unknown>) => policy(allow({ Condition: c }));

const ROWS: Row[] = [
  // Principals
  { name: "account id principal matches that account", policy: policy(allow({})), expect: "Allow" },
  { name: "account id principal does not match another", policy: policy(allow({})), who: { kind: "account", accountId: "999999999999" }, expect: "NotApplicable" },
  { name: "root ARN principal matches its account", policy: policy(allow({ Principal: { AWS: `arn:aws:iam::${OTHER}:root` } })), expect: "Allow" },
  { name: "principal list matches any member", policy: policy(allow({ Principal: { AWS: ["123456789012", OTHER] } })), expect: "Allow" },
  { name: "* principal matches anonymous", policy: policy(allow({ Principal: "*" })), who: anon, expect: "Allow" },
  { name: "* principal matches an account", policy: policy(allow({ Principal: "*" })), expect: "Allow" },
  { name: "* principal matches a service", policy: policy(allow({ Principal: "*" })), who: s3svc, expect: "Allow" },
  { name: "AWS * principal matches anonymous", policy: policy(allow({ Principal: { AWS: "*" } })), who: anon, expect: "Allow" },
  { name: "AWS * principal does not match a service", policy: policy(allow({ Principal: { AWS: "*" } })), who: s3svc, expect: "NotApplicable" },
  { name: "account principal does not match anonymous", policy: policy(allow({})), who: anon, expect: "NotApplicable" },
  { name: "service principal matches the S3 service", policy: policy(allow({ Principal: { Service: "s3.amazonaws.com" } })), who: s3svc, expect: "Allow" },
  { name: "service principal does not match an account", policy: policy(allow({ Principal: { Service: "s3.amazonaws.com" } })), expect: "NotApplicable" },
  { name: "NotPrincipal excludes the listed account", policy: policy({ Effect: "Deny", NotPrincipal: { AWS: OTHER }, Action: "s3:*", Resource: `${BUCKET_ARN}/*` }), expect: "NotApplicable" },
  { name: "NotPrincipal applies to everyone else", policy: policy({ Effect: "Deny", NotPrincipal: { AWS: OTHER }, Action: "s3:*", Resource: `${BUCKET_ARN}/*` }), who: owner, expect: "Deny" },
  // Actions and resources
  { name: "action wildcard s3:Get* matches GetObject", policy: policy(allow({ Action: "s3:Get*" })), expect: "Allow" },
  { name: "action wildcard does not match PutObject", policy: policy(allow({ Action: "s3:Get*" })), action: "s3:PutObject", expect: "NotApplicable" },
  { name: "action names are case-insensitive", policy: policy(allow({ Action: "S3:getobject" })), expect: "Allow" },
  { name: "action list matches any member", policy: policy(allow({ Action: ["s3:PutObject", "s3:GetObject"] })), expect: "Allow" },
  { name: "* action matches everything", policy: policy(allow({ Action: "*", Resource: [BUCKET_ARN, `${BUCKET_ARN}/*`] })), action: "s3:DeleteBucket", resource: BUCKET_ARN, expect: "Allow" },
  { name: "NotAction excludes the listed action", policy: policy(allow({ Action: undefined, NotAction: "s3:GetObject" })), expect: "NotApplicable" },
  { name: "NotAction applies to other actions", policy: policy(allow({ Action: undefined, NotAction: "s3:GetObject" })), action: "s3:PutObject", expect: "Allow" },
  { name: "object resource wildcard matches a nested key", policy: policy(allow({})), resource: `${BUCKET_ARN}/a/b/c.txt`, expect: "Allow" },
  { name: "object resource does not match the bucket itself", policy: policy(allow({ Action: "s3:ListBucket" })), action: "s3:ListBucket", resource: BUCKET_ARN, expect: "NotApplicable" },
  { name: "bucket resource matches the bucket", policy: policy(allow({ Action: "s3:ListBucket", Resource: BUCKET_ARN })), action: "s3:ListBucket", resource: BUCKET_ARN, expect: "Allow" },
  { name: "prefix resource limits keys", policy: policy(allow({ Resource: `${BUCKET_ARN}/public/*` })), resource: `${BUCKET_ARN}/private/x`, expect: "NotApplicable" },
  { name: "? in a resource matches one character", policy: policy(allow({ Resource: `${BUCKET_ARN}/file?.txt` })), resource: `${BUCKET_ARN}/file1.txt`, expect: "Allow" },
  { name: "NotResource excludes the listed keys", policy: policy(allow({ Resource: undefined, NotResource: `${BUCKET_ARN}/secret/*` })), resource: `${BUCKET_ARN}/secret/k`, expect: "NotApplicable" },
  { name: "NotResource applies elsewhere", policy: policy(allow({ Resource: undefined, NotResource: `${BUCKET_ARN}/secret/*` })), resource: `${BUCKET_ARN}/open/k`, expect: "Allow" },
  // Effects
  { name: "explicit Deny wins over Allow", policy: policy([allow({}), { ...allow({}), Effect: "Deny" }]), expect: "Deny" },
  { name: "Deny for another principal does not apply", policy: policy([allow({}), { ...allow({}), Effect: "Deny", Principal: { AWS: "999999999999" } }]), expect: "Allow" },
  { name: "Deny with * principal applies to the owner", policy: policy({ Effect: "Deny", Principal: "*", Action: "s3:DeleteObject", Resource: `${BUCKET_ARN}/*` }), who: owner, action: "s3:DeleteObject", expect: "Deny" },
  // String operators
  { name: "StringEquals matches", policy: cond({ StringEquals: { "s3:x-amz-acl": "bucket-owner-full-control" } }), context: { "s3:x-amz-acl": "bucket-owner-full-control" }, expect: "Allow" },
  { name: "StringEquals fails on another value", policy: cond({ StringEquals: { "s3:x-amz-acl": "bucket-owner-full-control" } }), context: { "s3:x-amz-acl": "private" }, expect: "NotApplicable" },
  { name: "StringEquals fails when the key is absent", policy: cond({ StringEquals: { "s3:x-amz-acl": "bucket-owner-full-control" } }), expect: "NotApplicable" },
  { name: "StringEqualsIfExists holds when the key is absent", policy: cond({ StringEqualsIfExists: { "s3:x-amz-acl": "private" } }), expect: "Allow" },
  { name: "StringEqualsIfExists still checks a present key", policy: cond({ StringEqualsIfExists: { "s3:x-amz-acl": "private" } }), context: { "s3:x-amz-acl": "public-read" }, expect: "NotApplicable" },
  { name: "StringNotEquals holds for another value", policy: cond({ StringNotEquals: { "s3:x-amz-acl": "public-read" } }), context: { "s3:x-amz-acl": "private" }, expect: "Allow" },
  { name: "StringNotEquals fails for the value", policy: cond({ StringNotEquals: { "s3:x-amz-acl": "public-read" } }), context: { "s3:x-amz-acl": "public-read" }, expect: "NotApplicable" },
  { name: "StringNotEquals holds when the key is absent", policy: cond({ StringNotEquals: { "s3:x-amz-acl": "public-read" } }), expect: "Allow" },
  { name: "StringEqualsIgnoreCase ignores case", policy: cond({ StringEqualsIgnoreCase: { "s3:x-amz-storage-class": "standard_ia" } }), context: { "s3:x-amz-storage-class": "STANDARD_IA" }, expect: "Allow" },
  { name: "StringNotEqualsIgnoreCase fails on a case variant", policy: cond({ StringNotEqualsIgnoreCase: { "s3:x-amz-storage-class": "glacier" } }), context: { "s3:x-amz-storage-class": "GLACIER" }, expect: "NotApplicable" },
  { name: "StringLike matches a wildcard", policy: cond({ StringLike: { "s3:prefix": ["home/*", "shared/"] } }), context: { "s3:prefix": "home/alice/" }, expect: "Allow" },
  { name: "StringLike fails outside the wildcard", policy: cond({ StringLike: { "s3:prefix": "home/*" } }), context: { "s3:prefix": "etc/" }, expect: "NotApplicable" },
  { name: "StringNotLike holds outside the wildcard", policy: cond({ StringNotLike: { "s3:prefix": "private/*" } }), context: { "s3:prefix": "public/" }, expect: "Allow" },
  { name: "StringNotLike fails inside the wildcard", policy: cond({ StringNotLike: { "s3:prefix": "private/*" } }), context: { "s3:prefix": "private/x" }, expect: "NotApplicable" },
  // ARN operators
  { name: "ArnLike matches the source bucket", policy: cond({ ArnLike: { "aws:SourceArn": "arn:aws:s3:::source-*" } }), context: { "aws:SourceArn": "arn:aws:s3:::source-bucket" }, expect: "Allow" },
  { name: "ArnLike fails for another bucket", policy: cond({ ArnLike: { "aws:SourceArn": "arn:aws:s3:::source-*" } }), context: { "aws:SourceArn": "arn:aws:s3:::other" }, expect: "NotApplicable" },
  { name: "ArnEquals needs the exact ARN", policy: cond({ ArnEquals: { "aws:SourceArn": "arn:aws:s3:::source" } }), context: { "aws:SourceArn": "arn:aws:s3:::source" }, expect: "Allow" },
  { name: "ArnNotEquals fails for the ARN", policy: cond({ ArnNotEquals: { "aws:SourceArn": "arn:aws:s3:::source" } }), context: { "aws:SourceArn": "arn:aws:s3:::source" }, expect: "NotApplicable" },
  { name: "ArnNotLike holds for another ARN", policy: cond({ ArnNotLike: { "aws:SourceArn": "arn:aws:s3:::source*" } }), context: { "aws:SourceArn": "arn:aws:s3:::x" }, expect: "Allow" },
  // Numeric operators
  { name: "NumericLessThanEquals holds at the bound", policy: cond({ NumericLessThanEquals: { "s3:max-keys": "10" } }), context: { "s3:max-keys": "10" }, expect: "Allow" },
  { name: "NumericLessThan fails at the bound", policy: cond({ NumericLessThan: { "s3:max-keys": "10" } }), context: { "s3:max-keys": "10" }, expect: "NotApplicable" },
  { name: "NumericGreaterThan holds above", policy: cond({ NumericGreaterThan: { "s3:max-keys": "10" } }), context: { "s3:max-keys": "11" }, expect: "Allow" },
  { name: "NumericGreaterThanEquals fails below", policy: cond({ NumericGreaterThanEquals: { "s3:max-keys": "10" } }), context: { "s3:max-keys": "9" }, expect: "NotApplicable" },
  { name: "NumericEquals compares numbers, not strings", policy: cond({ NumericEquals: { "s3:max-keys": "10" } }), context: { "s3:max-keys": "010" }, expect: "Allow" },
  { name: "NumericNotEquals fails for an equal number", policy: cond({ NumericNotEquals: { "s3:max-keys": "10" } }), context: { "s3:max-keys": "10" }, expect: "NotApplicable" },
  // Date operators
  { name: "DateLessThan holds before the date", policy: cond({ DateLessThan: { "aws:CurrentTime": "2027-01-01T00:00:00Z" } }), context: { "aws:CurrentTime": NOW }, expect: "Allow" },
  { name: "DateGreaterThan fails before the date", policy: cond({ DateGreaterThan: { "aws:CurrentTime": "2027-01-01T00:00:00Z" } }), context: { "aws:CurrentTime": NOW }, expect: "NotApplicable" },
  { name: "DateGreaterThanEquals accepts epoch seconds", policy: cond({ DateGreaterThanEquals: { "aws:CurrentTime": "1700000000" } }), context: { "aws:CurrentTime": NOW }, expect: "Allow" },
  { name: "DateEquals needs the same instant", policy: cond({ DateEquals: { "aws:CurrentTime": NOW } }), context: { "aws:CurrentTime": "2026-11-25T12:00:00.000Z" }, expect: "Allow" },
  { name: "DateNotEquals fails for the same instant", policy: cond({ DateNotEquals: { "aws:CurrentTime": NOW } }), context: { "aws:CurrentTime": NOW }, expect: "NotApplicable" },
  { name: "DateLessThanEquals holds at the instant", policy: cond({ DateLessThanEquals: { "aws:CurrentTime": NOW } }), context: { "aws:CurrentTime": NOW }, expect: "Allow" },
  // Bool, IP, Null
  { name: "Bool false matches plain HTTP", policy: cond({ Bool: { "aws:SecureTransport": "false" } }), context: { "aws:SecureTransport": "false" }, expect: "Allow" },
  { name: "Bool true fails on plain HTTP", policy: cond({ Bool: { "aws:SecureTransport": true } }), context: { "aws:SecureTransport": "false" }, expect: "NotApplicable" },
  { name: "IpAddress matches inside the CIDR", policy: cond({ IpAddress: { "aws:SourceIp": "127.0.0.0/8" } }), context: { "aws:SourceIp": "127.0.0.1" }, expect: "Allow" },
  { name: "IpAddress fails outside the CIDR", policy: cond({ IpAddress: { "aws:SourceIp": "10.0.0.0/8" } }), context: { "aws:SourceIp": "127.0.0.1" }, expect: "NotApplicable" },
  { name: "IpAddress matches IPv6", policy: cond({ IpAddress: { "aws:SourceIp": "::1/128" } }), context: { "aws:SourceIp": "::1" }, expect: "Allow" },
  // node's BlockList alone would match these: an IPv4 address against IPv4-mapped IPv6 ranges.
  { name: "IpAddress: an IPv6 range never matches an IPv4 address (::/32)", policy: cond({ IpAddress: { "aws:SourceIp": "::/32" } }), context: { "aws:SourceIp": "8.8.8.8" }, expect: "NotApplicable" },
  { name: "IpAddress: the IPv4-mapped IPv6 block never matches an IPv4 address", policy: cond({ IpAddress: { "aws:SourceIp": "::ffff:0.0.0.0/96" } }), context: { "aws:SourceIp": "127.0.0.1" }, expect: "NotApplicable" },
  { name: "NotIpAddress holds outside the CIDR", policy: cond({ NotIpAddress: { "aws:SourceIp": "10.0.0.0/8" } }), context: { "aws:SourceIp": "127.0.0.1" }, expect: "Allow" },
  { name: "NotIpAddress fails inside the CIDR", policy: cond({ NotIpAddress: { "aws:SourceIp": ["10.0.0.0/8", "127.0.0.1/32"] } }), context: { "aws:SourceIp": "127.0.0.1" }, expect: "NotApplicable" },
  { name: "Null true holds when the key is absent", policy: cond({ Null: { "s3:x-amz-server-side-encryption": "true" } }), expect: "Allow" },
  { name: "Null true fails when the key is present", policy: cond({ Null: { "s3:x-amz-server-side-encryption": "true" } }), context: { "s3:x-amz-server-side-encryption": "AES256" }, expect: "NotApplicable" },
  { name: "Null false holds when the key is present", policy: cond({ Null: { "s3:x-amz-server-side-encryption": "false" } }), context: { "s3:x-amz-server-side-encryption": "AES256" }, expect: "Allow" },
  // Set operators
  { name: "ForAnyValue matches one of many values", policy: cond({ "ForAnyValue:StringEquals": { "s3:RequestObjectTagKeys": ["team", "cost"] } }), context: { "s3:RequestObjectTagKeys": ["env", "team"] }, expect: "Allow" },
  { name: "ForAnyValue fails when none match", policy: cond({ "ForAnyValue:StringEquals": { "s3:RequestObjectTagKeys": ["team"] } }), context: { "s3:RequestObjectTagKeys": ["env"] }, expect: "NotApplicable" },
  { name: "ForAnyValue fails when the key is absent", policy: cond({ "ForAnyValue:StringEquals": { "s3:RequestObjectTagKeys": ["team"] } }), expect: "NotApplicable" },
  { name: "ForAllValues holds when every value is allowed", policy: cond({ "ForAllValues:StringEquals": { "s3:RequestObjectTagKeys": ["team", "env"] } }), context: { "s3:RequestObjectTagKeys": ["env", "team"] }, expect: "Allow" },
  { name: "ForAllValues fails when one value is not", policy: cond({ "ForAllValues:StringEquals": { "s3:RequestObjectTagKeys": ["team"] } }), context: { "s3:RequestObjectTagKeys": ["env", "team"] }, expect: "NotApplicable" },
  { name: "ForAllValues holds when the key is absent", policy: cond({ "ForAllValues:StringEquals": { "s3:RequestObjectTagKeys": ["team"] } }), expect: "Allow" },
  // Several conditions: all must hold
  {
    name: "every operator and key must hold",
    policy: cond({ StringEquals: { "aws:SourceAccount": OWNER, "s3:x-amz-acl": "bucket-owner-full-control" }, ArnLike: { "aws:SourceArn": "arn:aws:s3:::src" } }),
    context: { "aws:SourceAccount": OWNER, "s3:x-amz-acl": "private", "aws:SourceArn": "arn:aws:s3:::src" },
    expect: "NotApplicable",
  },
  { name: "PrincipalAccount condition matches the caller", policy: cond({ StringEquals: { "aws:PrincipalAccount": OTHER } }), context: { "aws:PrincipalAccount": OTHER }, expect: "Allow" },
  { name: "no statement for the action leaves the decision open", policy: policy(allow({})), action: "s3:PutObject", expect: "NotApplicable" },
];

/** The S3 documentation's example destination policy for inventory reports. */
const INVENTORY_DESTINATION = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "InventoryExamplePolicy",
      Effect: "Allow",
      Principal: { Service: "s3.amazonaws.com" },
      Action: "s3:PutObject",
      Resource: [`${BUCKET_ARN}/*`],
      Condition: {
        ArnLike: { "aws:SourceArn": "arn:aws:s3:::source-bucket" },
        StringEquals: { "aws:SourceAccount": OWNER, "s3:x-amz-acl": "bucket-owner-full-control" },
      },
    },
  ],
});
const delivery = { "aws:SourceArn": "arn:aws:s3:::source-bucket", "aws:SourceAccount": OWNER, "s3:x-amz-acl": "bucket-owner-full-control" };
ROWS.push(
  { name: "inventory example allows the service's delivery", policy: INVENTORY_DESTINATION, who: s3svc, action: "s3:PutObject", context: delivery, expect: "Allow" },
  { name: "inventory example refuses another source bucket", policy: INVENTORY_DESTINATION, who: s3svc, action: "s3:PutObject", context: { ...delivery, "aws:SourceArn": "arn:aws:s3:::other" }, expect: "NotApplicable" },
  { name: "inventory example refuses another source account", policy: INVENTORY_DESTINATION, who: s3svc, action: "s3:PutObject", context: { ...delivery, "aws:SourceAccount": OTHER }, expect: "NotApplicable" },
  { name: "inventory example refuses a write without the ACL", policy: INVENTORY_DESTINATION, who: s3svc, action: "s3:PutObject", context: { ...delivery, "s3:x-amz-acl": undefined }, expect: "NotApplicable" },
  { name: "inventory example grants the service nothing else", policy: INVENTORY_DESTINATION, who: s3svc, action: "s3:GetObject", context: delivery, expect: "NotApplicable" },
  { name: "inventory example grants accounts nothing", policy: INVENTORY_DESTINATION, who: other, action: "s3:PutObject", context: delivery, expect: "NotApplicable" },
);

describe("bucket policy evaluation", () => {
  it("has a table of at least 60 cases", () => assert.ok(ROWS.length >= 60, `${ROWS.length} rows`));
  for (const row of ROWS) {
    it(row.name, () => {
      const compiled = compilePolicy(row.policy, BUCKET, KNOWN_ACTIONS);
      const decision = evaluatePolicy(compiled, {
        principal: row.who ?? other,
        action: row.action ?? "s3:GetObject",
        resource: row.resource ?? `${BUCKET_ARN}/photo.jpg`,
        context: row.context ?? {},
      });
      assert.equal(decision, row.expect);
    });
  }
});

function malformedMessage(text: string): string {
  try {
    compilePolicy(text, BUCKET, KNOWN_ACTIONS);
  } catch (e) {
    assert.ok(e instanceof S3Error);
    assert.equal(e.code, "MalformedPolicy");
    return e.message;
  }
  assert.fail("expected MalformedPolicy");
}

describe("bucket policy validation", () => {
  it("refuses JSON that does not parse", () => assert.match(malformedMessage("{not json"), /valid JSON/));
  it("refuses a policy over 20 KB", () => assert.match(malformedMessage(policy(allow({ Sid: "x".repeat(21 * 1024) }))), /exceed/));
  it("refuses an unknown action", () => assert.match(malformedMessage(policy(allow({ Action: "s3:FlyToTheMoon" }))), /invalid action/));
  it("refuses a non-S3 action", () => assert.match(malformedMessage(policy(allow({ Action: "ec2:RunInstances" }))), /invalid action/));
  it("refuses a resource in another bucket", () => assert.match(malformedMessage(policy(allow({ Resource: "arn:aws:s3:::someone-else/*" }))), /invalid resource/));
  it("refuses a principal that cannot apply", () => assert.match(malformedMessage(policy(allow({ Principal: { AWS: "not-an-account" } }))), /Invalid principal/));
  it("refuses a missing Effect, Principal, Action or Resource", () => {
    assert.match(malformedMessage(policy(allow({ Effect: undefined }))), /Effect/);
    assert.match(malformedMessage(policy(allow({ Principal: undefined }))), /Principal/);
    assert.match(malformedMessage(policy(allow({ Action: undefined }))), /Action/);
    assert.match(malformedMessage(policy(allow({ Resource: undefined }))), /Resource/);
  });
  it("refuses an unknown condition operator or key", () => {
    assert.match(malformedMessage(cond({ StringSortOf: { "s3:prefix": "a" } })), /Condition type/);
    assert.match(malformedMessage(cond({ StringEquals: { "s3:colour": "a" } })), /condition key/);
  });
  it("refuses a statement without statements", () => assert.match(malformedMessage(JSON.stringify({ Version: "2012-10-17", Statement: [] })), /Statement/));
  it("calls a policy public when anyone is allowed without conditions", () => {
    assert.equal(isPublicPolicy(compilePolicy(policy(allow({ Principal: "*" })), BUCKET, KNOWN_ACTIONS)), true);
    assert.equal(isPublicPolicy(compilePolicy(INVENTORY_DESTINATION, BUCKET, KNOWN_ACTIONS)), false);
    assert.equal(isPublicPolicy(compilePolicy(policy(allow({})), BUCKET, KNOWN_ACTIONS)), false);
  });
});

// S3's "The meaning of public": public unless every Allow is held to fixed values of a principal
// or of one of the limiting condition keys.
describe("public policies", () => {
  const anyone = (extra: Record<string, unknown> = {}) => allow({ Principal: "*", ...extra });
  const isPublic = (statements: Record<string, unknown> | Record<string, unknown>[]) => isPublicPolicy(compilePolicy(policy(statements), BUCKET, KNOWN_ACTIONS));
  const CASES: [string, Record<string, unknown> | Record<string, unknown>[], boolean][] = [
    ["an Allow to * without conditions is public", anyone(), true],
    ['an Allow to {"AWS": "*"} is public', allow({ Principal: { AWS: "*" } }), true],
    ["a public grant of any action, bucket-level ones included, is public", anyone({ Action: "s3:GetBucketLocation", Resource: BUCKET_ARN }), true],
    ["an Allow to a fixed account is not public", allow({}), false],
    ["an Allow to a service principal is not public", allow({ Principal: { Service: "s3.amazonaws.com" } }), false],
    ["a Deny to * is not public", { ...anyone(), Effect: "Deny" }, false],
    ["an Allow with NotPrincipal is public", { Effect: "Allow", NotPrincipal: { AWS: OTHER }, Action: "s3:GetObject", Resource: `${BUCKET_ARN}/*` }, true],
    ["one public statement makes the policy public", [allow({}), anyone()], true],
    ["a fixed aws:SourceAccount is not public", anyone({ Condition: { StringEquals: { "aws:SourceAccount": OTHER } } }), false],
    ["a fixed aws:PrincipalAccount is not public", allow({ Principal: { AWS: "*" }, Condition: { StringEquals: { "aws:PrincipalAccount": OTHER } } }), false],
    ["a fixed aws:SourceArn (ArnLike without wildcard) is not public", anyone({ Condition: { ArnLike: { "aws:SourceArn": "arn:aws:s3:::source" } } }), false],
    ["a fixed aws:SourceVpc is not public", anyone({ Condition: { StringEquals: { "aws:SourceVpc": "vpc-91237329" } } }), false],
    ["a wildcard aws:SourceVpc is public", anyone({ Condition: { StringLike: { "aws:SourceVpc": "vpc-*" } } }), true],
    ["a policy variable is not a fixed value", anyone({ Condition: { StringEquals: { "aws:SourceAccount": "${aws:PrincipalAccount}" } } }), true],
    ["one wildcard among the values is public", anyone({ Condition: { StringEquals: { "aws:SourceAccount": [OTHER, "*"] } } }), true],
    ["a negated operator limits nothing", anyone({ Condition: { StringNotEquals: { "aws:SourceAccount": OTHER } } }), true],
    ["an IfExists condition limits nothing", anyone({ Condition: { StringEqualsIfExists: { "aws:SourceAccount": OTHER } } }), true],
    ["ForAllValues limits nothing", anyone({ Condition: { "ForAllValues:StringEquals": { "aws:SourceAccount": OTHER } } }), true],
    ["ForAnyValue with fixed values is not public", anyone({ Condition: { "ForAnyValue:StringEquals": { "aws:SourceAccount": OTHER } } }), false],
    ["a condition on another key is public", anyone({ Condition: { Bool: { "aws:SecureTransport": "true" } } }), true],
    ["an aws:SourceIp /24 is not public", anyone({ Condition: { IpAddress: { "aws:SourceIp": "198.51.100.0/24" } } }), false],
    ["an aws:SourceIp /8 is not public", anyone({ Condition: { IpAddress: { "aws:SourceIp": "10.0.0.0/8" } } }), false],
    ["an aws:SourceIp wider than /8 is public", anyone({ Condition: { IpAddress: { "aws:SourceIp": "0.0.0.0/1" } } }), true],
    ["an IPv6 aws:SourceIp /32 is not public, wider is", anyone({ Condition: { IpAddress: { "aws:SourceIp": ["2001:db8::/32", "2001:db8::/31"] } } }), true],
    ["NotIpAddress limits nothing", anyone({ Condition: { NotIpAddress: { "aws:SourceIp": "198.51.100.0/24" } } }), true],
    ["a role's sessions (AROLEID:*) in aws:userid are not public", anyone({ Condition: { StringLike: { "aws:userid": "AROAEXAMPLEID:*" } } }), false],
    ["other wildcards in aws:userid are public", anyone({ Condition: { StringLike: { "aws:userid": "AIDA*" } } }), true],
    [
      "access points of a fixed account are not public",
      anyone({ Condition: { StringLike: { "s3:DataAccessPointArn": "arn:aws:s3:us-west-2:123456789012:accesspoint/*" } } }),
      false,
    ],
    ["access points of any account are public", anyone({ Condition: { StringLike: { "s3:DataAccessPointArn": "arn:aws:s3:us-west-2:*:accesspoint/*" } } }), true],
    ["a fixed KMS key id is not public", anyone({ Condition: { StringEquals: { "s3:x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:us-east-1:111122223333:key/k" } } }), false],
    ["a limiting condition beside others is not public", anyone({ Condition: { Bool: { "aws:SecureTransport": "true" }, StringEquals: { "aws:SourceAccount": OTHER } } }), false],
  ];
  for (const [name, statements, expected] of CASES) it(name, () => assert.equal(isPublic(statements), expected));
});

// s3:ExistingObjectTag/<key>, s3:RequestObjectTag/<key>, s3:RequestObjectTagKeys: the context a
// request's tags make, evaluated with the ordinary operators; a key the tags lack is absent.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/tagging-and-policies.html
describe("object tag condition keys", () => {
  const decide = (condition: Record<string, unknown>, context: PolicyRequest["context"], action = "s3:GetObject"): Decision =>
    evaluatePolicy(compilePolicy(policy(allow({ Action: action, Condition: condition })), BUCKET, KNOWN_ACTIONS), {
      principal: other,
      action,
      resource: `${BUCKET_ARN}/photo.jpg`,
      context,
    });
  const existing = (...tags: [string, string][]) => existingObjectTagConditions(tags);
  const requested = (...tags: [string, string][]) => requestObjectTagConditions(tags);
  const isPublicTag = { StringEquals: { "s3:ExistingObjectTag/security": "public" } };

  it("gives each existing tag its own key", () => {
    assert.deepEqual(existing(["security", "public"], ["team/a", "x y"]), { "s3:ExistingObjectTag/security": "public", "s3:ExistingObjectTag/team/a": "x y" });
    assert.deepEqual(existing(), {});
  });

  it("allows by the value of an existing tag, and only that tag's", () => {
    assert.equal(decide(isPublicTag, existing(["security", "public"], ["foo", "bar"])), "Allow");
    assert.equal(decide(isPublicTag, existing(["security", "private"])), "NotApplicable");
    assert.equal(decide(isPublicTag, existing(["security1", "public"])), "NotApplicable");
    assert.equal(decide(isPublicTag, existing()), "NotApplicable");
  });

  it("matches tag keys and values exactly, case included", () => {
    assert.equal(decide(isPublicTag, existing(["Security", "public"])), "NotApplicable");
    assert.equal(decide(isPublicTag, existing(["security", "Public"])), "NotApplicable");
  });

  it("treats an untagged object's key as absent: IfExists and negations hold, Null says so", () => {
    assert.equal(decide({ StringEqualsIfExists: { "s3:ExistingObjectTag/security": "public" } }, existing()), "Allow");
    assert.equal(decide({ StringEqualsIfExists: { "s3:ExistingObjectTag/security": "public" } }, existing(["security", "private"])), "NotApplicable");
    assert.equal(decide({ StringNotEquals: { "s3:ExistingObjectTag/security": "secret" } }, existing()), "Allow");
    assert.equal(decide({ Null: { "s3:ExistingObjectTag/security": "true" } }, existing(["other", "x"])), "Allow");
    assert.equal(decide({ Null: { "s3:ExistingObjectTag/security": "false" } }, existing(["security", "x"])), "Allow");
  });

  it("gives the request's tags their keys and the list of their keys, absent when there are none", () => {
    assert.deepEqual(requested(["Owner", "alice"], ["CreationDate", "2026"]), {
      "s3:RequestObjectTag/Owner": "alice",
      "s3:RequestObjectTag/CreationDate": "2026",
      "s3:RequestObjectTagKeys": ["Owner", "CreationDate"],
    });
    assert.deepEqual(requested(), {});
  });

  it("allows by a requested tag's value", () => {
    const cond = { StringEquals: { "s3:RequestObjectTag/security": "public" } };
    assert.equal(decide(cond, requested(["security", "public"]), "s3:PutObject"), "Allow");
    assert.equal(decide(cond, requested(["security", "private"]), "s3:PutObject"), "NotApplicable");
    assert.equal(decide(cond, requested(), "s3:PutObject"), "NotApplicable");
  });

  it("restricts the requested tag keys as S3's example does (ForAllValues), and requires one (ForAnyValue)", () => {
    const only = { "ForAllValues:StringLike": { "s3:RequestObjectTagKeys": ["Owner", "CreationDate"] } };
    assert.equal(decide(only, requested(["Owner", "a"]), "s3:PutObjectTagging"), "Allow");
    assert.equal(decide(only, requested(["Owner", "a"], ["Project", "b"]), "s3:PutObjectTagging"), "NotApplicable");
    const some = { "ForAnyValue:StringEquals": { "s3:RequestObjectTagKeys": ["Owner"] } };
    assert.equal(decide(some, requested(["Project", "b"], ["Owner", "a"]), "s3:PutObjectTagging"), "Allow");
    assert.equal(decide(some, requested(), "s3:PutObjectTagging"), "NotApplicable");
  });

  it("says which condition keys a policy names, so only those are looked up", () => {
    const compiled = compilePolicy(
      policy([allow({ Condition: isPublicTag }), allow({ Action: "s3:PutObject", Condition: { "ForAllValues:StringEquals": { "s3:RequestObjectTagKeys": ["a"] } } })]),
      BUCKET,
      KNOWN_ACTIONS,
    );
    assert.deepEqual([...compiled.conditionKeys].sort(), ["s3:ExistingObjectTag/security", "s3:RequestObjectTagKeys"]);
    assert.equal(namesConditionKey(compiled, EXISTING_OBJECT_TAG), true);
    assert.equal(namesConditionKey(compiled, REQUEST_OBJECT_TAG), true);
    const plain = compilePolicy(policy(allow({ Condition: { StringLike: { "s3:prefix": "s3:ExistingObjectTag/*" } } })), BUCKET, KNOWN_ACTIONS);
    assert.equal(namesConditionKey(plain, EXISTING_OBJECT_TAG), false);
    assert.equal(namesConditionKey(plain, REQUEST_OBJECT_TAG), false);
  });
});
