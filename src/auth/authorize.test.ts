// authorizeActions: every action a request needs is decided on its own, the operation's first; an
// ACL that allows the operation stands in for the extra actions ACLs cannot name, a Deny does not.
// authorize under RestrictPublicBuckets: a public policy allows only the owner and services.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { authorize, authorizeActions } from "./authorize.js";
import type { Principal } from "./principal.js";
import { compilePolicy } from "./policy.js";
import type { BucketPolicies } from "./bucket-policies.js";
import { KNOWN_ACTIONS } from "../server/operations.js";
import { S3Error } from "../errors.js";
import type { BucketRecord } from "../storage/types.js";

const OWNER = "111122223333";
const OTHER = "444455556666";
const bucket: BucketRecord = { name: "authz-unit", id: "b1", ownerAccountId: OWNER, region: "us-east-1", createdAt: new Date(0), versioning: undefined };

function policies(statements: object[] | undefined): BucketPolicies {
  const compiled = statements && compilePolicy(JSON.stringify({ Version: "2012-10-17", Statement: statements }), bucket.name, KNOWN_ACTIONS);
  return { get: async () => compiled } as unknown as BucketPolicies;
}

async function decide(opts: { statements?: object[]; acl?: (action: string) => boolean; actions: string[]; principal?: string }): Promise<"allowed" | "denied"> {
  const acl = opts.acl;
  try {
    await authorizeActions(
      {
        principal: { kind: "account", accountId: opts.principal ?? OTHER, accessKeyId: "AK" },
        bucket,
        key: "k",
        policies: policies(opts.statements),
        context: {},
        aclGrants: acl && (async (action: string) => acl(action)),
      },
      opts.actions,
    );
    return "allowed";
  } catch (err) {
    assert.ok(err instanceof S3Error && err.code === "AccessDenied");
    return "denied";
  }
}

const allow = (...Action: string[]) => ({ Effect: "Allow", Principal: { AWS: OTHER }, Action, Resource: `arn:aws:s3:::${bucket.name}/*` });
const deny = (...Action: string[]) => ({ Effect: "Deny", Principal: "*", Action, Resource: `arn:aws:s3:::${bucket.name}/*` });

describe("authorizeActions", () => {
  it("needs every action allowed by the policy", async () => {
    assert.equal(await decide({ statements: [allow("s3:PutObject")], actions: ["s3:PutObject", "s3:PutObjectTagging"] }), "denied");
    assert.equal(await decide({ statements: [allow("s3:PutObjectTagging")], actions: ["s3:PutObject", "s3:PutObjectTagging"] }), "denied");
    assert.equal(await decide({ statements: [allow("s3:PutObject", "s3:PutObjectTagging")], actions: ["s3:PutObject", "s3:PutObjectTagging"] }), "allowed");
  });

  it("lets an ACL that allows the operation stand in for the extra actions, unless a policy denies one", async () => {
    const writeAcl = (a: string) => a === "s3:PutObject";
    assert.equal(await decide({ acl: writeAcl, actions: ["s3:PutObject", "s3:PutObjectAcl", "s3:PutObjectTagging"] }), "allowed");
    assert.equal(await decide({ acl: () => false, actions: ["s3:PutObject", "s3:PutObjectAcl"] }), "denied");
    assert.equal(await decide({ statements: [deny("s3:PutObjectTagging")], acl: writeAcl, actions: ["s3:PutObject", "s3:PutObjectTagging"] }), "denied");
    // An ACL granting only the extra action does not grant the operation.
    assert.equal(await decide({ acl: (a) => a === "s3:PutObjectAcl", actions: ["s3:PutObject", "s3:PutObjectAcl"] }), "denied");
  });

  it("allows the bucket owner every action unless the policy denies one", async () => {
    assert.equal(await decide({ principal: OWNER, actions: ["s3:PutObject", "s3:PutObjectRetention"] }), "allowed");
    assert.equal(await decide({ principal: OWNER, statements: [deny("s3:PutObjectRetention")], actions: ["s3:PutObject", "s3:PutObjectRetention"] }), "denied");
  });
});

describe("authorize under RestrictPublicBuckets", () => {
  const anonymous: Principal = { kind: "anonymous" };
  const other: Principal = { kind: "account", accountId: OTHER, accessKeyId: "AK" };
  const owner: Principal = { kind: "account", accountId: OWNER, accessKeyId: "AK0" };
  const service: Principal = { kind: "service", service: "s3.amazonaws.com", sourceAccount: OWNER, sourceArn: "arn:aws:s3:::source" };
  const toAnyone = { Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: `arn:aws:s3:::${bucket.name}/*` };
  const toOther = { Effect: "Allow", Principal: { AWS: OTHER }, Action: "s3:GetObject", Resource: `arn:aws:s3:::${bucket.name}/*` };
  const toService = { Effect: "Allow", Principal: { Service: "s3.amazonaws.com" }, Action: "s3:GetObject", Resource: `arn:aws:s3:::${bucket.name}/*` };
  const denyAll = { Effect: "Deny", Principal: "*", Action: "s3:GetObject", Resource: `arn:aws:s3:::${bucket.name}/*` };

  async function decideRestricted(principal: Principal, statements: object[], restricted: boolean, acl = false): Promise<"allowed" | "denied"> {
    const compiled = compilePolicy(JSON.stringify({ Version: "2012-10-17", Statement: statements }), bucket.name, KNOWN_ACTIONS);
    const policies = { get: async () => compiled, restrictsPublicBuckets: async () => restricted } as unknown as BucketPolicies;
    try {
      await authorize({ principal, action: "s3:GetObject", bucket, key: "k", policies, context: {}, aclGrants: async () => acl });
      return "allowed";
    } catch (err) {
      assert.ok(err instanceof S3Error && err.code === "AccessDenied");
      return "denied";
    }
  }

  it("refuses anonymous callers and other accounts what a public policy grants them", async () => {
    assert.equal(await decideRestricted(anonymous, [toAnyone], false), "allowed");
    assert.equal(await decideRestricted(anonymous, [toAnyone], true), "denied");
    assert.equal(await decideRestricted(other, [toAnyone], true), "denied");
  });

  it("refuses even a statement naming another account once the policy is public", async () => {
    assert.equal(await decideRestricted(other, [toOther], true), "allowed");
    assert.equal(await decideRestricted(other, [toOther, toAnyone], true), "denied");
  });

  it("still lets the bucket owner and service principals in", async () => {
    assert.equal(await decideRestricted(owner, [toAnyone], true), "allowed");
    assert.equal(await decideRestricted(service, [toService, toAnyone], true), "allowed");
  });

  it("keeps Deny statements and leaves ACL grants to IgnorePublicAcls", async () => {
    assert.equal(await decideRestricted(owner, [denyAll], true), "denied");
    assert.equal(await decideRestricted(other, [toAnyone], true, true), "allowed");
  });
});
