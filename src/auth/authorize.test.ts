// authorizeActions: every action a request needs is decided on its own, the operation's first; an
// ACL that allows the operation stands in for the extra actions ACLs cannot name, a Deny does not.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { authorizeActions } from "./authorize.js";
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
  return { get: () => compiled } as unknown as BucketPolicies;
}

function decide(opts: { statements?: object[]; acl?: (action: string) => boolean; actions: string[]; principal?: string }): "allowed" | "denied" {
  try {
    authorizeActions(
      {
        principal: { kind: "account", accountId: opts.principal ?? OTHER, accessKeyId: "AK" },
        bucket,
        key: "k",
        policies: policies(opts.statements),
        context: {},
        aclGrants: opts.acl,
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
  it("needs every action allowed by the policy", () => {
    assert.equal(decide({ statements: [allow("s3:PutObject")], actions: ["s3:PutObject", "s3:PutObjectTagging"] }), "denied");
    assert.equal(decide({ statements: [allow("s3:PutObjectTagging")], actions: ["s3:PutObject", "s3:PutObjectTagging"] }), "denied");
    assert.equal(decide({ statements: [allow("s3:PutObject", "s3:PutObjectTagging")], actions: ["s3:PutObject", "s3:PutObjectTagging"] }), "allowed");
  });

  it("lets an ACL that allows the operation stand in for the extra actions, unless a policy denies one", () => {
    const writeAcl = (a: string) => a === "s3:PutObject";
    assert.equal(decide({ acl: writeAcl, actions: ["s3:PutObject", "s3:PutObjectAcl", "s3:PutObjectTagging"] }), "allowed");
    assert.equal(decide({ acl: () => false, actions: ["s3:PutObject", "s3:PutObjectAcl"] }), "denied");
    assert.equal(decide({ statements: [deny("s3:PutObjectTagging")], acl: writeAcl, actions: ["s3:PutObject", "s3:PutObjectTagging"] }), "denied");
    // An ACL granting only the extra action does not grant the operation.
    assert.equal(decide({ acl: (a) => a === "s3:PutObjectAcl", actions: ["s3:PutObject", "s3:PutObjectAcl"] }), "denied");
  });

  it("allows the bucket owner every action unless the policy denies one", () => {
    assert.equal(decide({ principal: OWNER, actions: ["s3:PutObject", "s3:PutObjectRetention"] }), "allowed");
    assert.equal(decide({ principal: OWNER, statements: [deny("s3:PutObjectRetention")], actions: ["s3:PutObject", "s3:PutObjectRetention"] }), "denied");
  });
});
