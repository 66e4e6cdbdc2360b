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
