// authorizeRequest decides under one read of the bucket policy: whether it looks up object tags
// and every check after it see the same policy, even when the policy changes in between.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { authorizeRequest } from "./authorization.js";
import { KNOWN_ACTIONS, OPERATIONS } from "./operations.js";
import { compilePolicy, type CompiledPolicy } from "../auth/policy.js";
import type { PolicySource } from "../auth/authorize.js";
import { S3Error } from "../errors.js";
import type { ServerContext } from "../s3/types.js";
import type { BucketRecord } from "../storage/types.js";

const OWNER = "111122223333";
const READER = "444455556666";
const bucket: BucketRecord = { name: "pinned-policy", id: "b1", ownerAccountId: OWNER, region: "us-east-1", createdAt: new Date(0), versioning: undefined };

function compiled(effect: "Allow" | "Deny"): CompiledPolicy {
  const statement = { Effect: effect, Principal: { AWS: READER }, Action: "s3:GetObject", Resource: `arn:aws:s3:::${bucket.name}/*` };
  return compilePolicy(JSON.stringify({ Version: "2012-10-17", Statement: [statement] }), bucket.name, KNOWN_ACTIONS);
}

/** A policy source whose policy is replaced right after its first read, as by a concurrent PutBucketPolicy. */
function changingAfterFirstRead(first: CompiledPolicy, then: CompiledPolicy): PolicySource & { reads: number } {
  const source = {
    reads: 0,
    get: async () => (source.reads++ === 0 ? first : then),
    restrictsPublicBuckets: async () => false,
  };
  return source;
}

async function decide(policies: PolicySource): Promise<"allowed" | "denied"> {
  try {
    // A refused read asks the store whether the key exists (to answer a lister 404): it does.
    const ctx = { policies, metadata: { getLatest: async () => ({ isDeleteMarker: false }) } } as unknown as ServerContext;
    await authorizeRequest(ctx, OPERATIONS.GetObject!, new URLSearchParams(), {}, {
      principal: { kind: "account", accountId: READER, accessKeyId: "AK" },
      bucket,
      key: "k",
      policies,
      context: {},
    });
    return "allowed";
  } catch (err) {
    assert.ok(err instanceof S3Error && err.code === "AccessDenied", String(err));
    return "denied";
  }
}

describe("authorizeRequest", () => {
  it("decides under the policy it read first, not one written during the decision", async () => {
    const denyThenAllow = changingAfterFirstRead(compiled("Deny"), compiled("Allow"));
    assert.equal(await decide(denyThenAllow), "denied");
    assert.equal(denyThenAllow.reads, 1);
    const allowThenDeny = changingAfterFirstRead(compiled("Allow"), compiled("Deny"));
    assert.equal(await decide(allowThenDeny), "allowed");
    assert.equal(allowThenDeny.reads, 1);
  });
});
