// Bucket policy evaluation cost: decisions/s for a policy close to the 20 KB limit, evaluated the
// way every request is (compiled once, in memory), for requests that match early, late and never.
import { compilePolicy, evaluatePolicy, MAX_POLICY_BYTES, type PolicyRequest } from "../src/auth/policy.js";
import { KNOWN_ACTIONS } from "../src/server/operations.js";

const bucket = "bench-bucket";
const statements: unknown[] = [];
for (let i = 0; JSON.stringify({ Version: "2012-10-17", Statement: statements }).length < MAX_POLICY_BYTES - 600; i++) {
  statements.push({
    Sid: `Team${i}`,
    Effect: "Allow",
    Principal: { AWS: String(100000000000 + i) },
    Action: ["s3:GetObject", "s3:PutObject"],
    Resource: `arn:aws:s3:::${bucket}/teams/${i}/*`,
    Condition: { StringLike: { "s3:x-amz-acl": ["private", "bucket-owner-*"] }, IpAddress: { "aws:SourceIp": ["10.0.0.0/8", "127.0.0.0/8"] } },
  });
}
statements.push({ Effect: "Deny", Principal: "*", Action: "s3:DeleteObject", Resource: `arn:aws:s3:::${bucket}/protected/*` });
const text = JSON.stringify({ Version: "2012-10-17", Statement: statements });
const policy = compilePolicy(text, bucket, KNOWN_ACTIONS);

const requests: [string, PolicyRequest][] = [
  ["first statement matches", { principal: { kind: "account", accountId: "100000000000" }, action: "s3:GetObject", resource: `arn:aws:s3:::${bucket}/teams/0/x`, context: { "s3:x-amz-acl": "private", "aws:SourceIp": "127.0.0.1" } }],
  ["last statement matches", { principal: { kind: "account", accountId: String(100000000000 + statements.length - 2) }, action: "s3:GetObject", resource: `arn:aws:s3:::${bucket}/teams/${statements.length - 2}/x`, context: { "s3:x-amz-acl": "private", "aws:SourceIp": "127.0.0.1" } }],
  ["nothing matches", { principal: { kind: "account", accountId: "999999999999" }, action: "s3:GetObject", resource: `arn:aws:s3:::${bucket}/other`, context: {} }],
];

console.log(`policy: ${text.length.toLocaleString()} bytes, ${statements.length} statements`);
const results: Record<string, number> = {};
for (const [name, req] of requests) {
  const n = 20_000;
  for (let i = 0; i < 1000; i++) evaluatePolicy(policy, req);
  const start = performance.now();
  for (let i = 0; i < n; i++) evaluatePolicy(policy, req);
  const perSec = n / ((performance.now() - start) / 1000);
  results[name] = perSec;
  console.log(`  ${name.padEnd(26)} ${Math.round(perSec).toLocaleString()} decisions/s`);
}
console.log(JSON.stringify({ bench: "stocktake-policy-evaluation", policyBytes: text.length, statements: statements.length, decisionsPerSec: results }));
