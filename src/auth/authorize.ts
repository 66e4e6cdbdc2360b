// Authorization of a request against the bucket it addresses, as S3 decides: an explicit Deny in
// the bucket policy refuses anyone, the owner included; the bucket owner's account is otherwise
// allowed; any other account, an anonymous caller or a service principal needs a policy Allow
// (which RestrictPublicBuckets voids for all but service principals while the policy is public)
// or an ACL grant.
// The action name comes from the operation table's row.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/how-s3-evaluates-access-control.html
import { S3Error } from "../errors.js";
import { splitCopySource } from "../copy-source.js";
import type { BucketRecord } from "../storage/types.js";
import type { Principal } from "./principal.js";
import type { BucketPolicies } from "./bucket-policies.js";
import { evaluatePolicy, isPublicPolicy, type CompiledPolicy, type PolicyRequest } from "./policy.js";

/** Where authorization reads a bucket's policy: the server's cache, or one request's pinned read. */
export type PolicySource = Pick<BucketPolicies, "get" | "restrictsPublicBuckets">;

/**
 * The bucket's policy as one read of it, so that every check of a request sees the same policy:
 * the edge decides from the policy whether to look up object tags, and a policy written between
 * that decision and the checks (a Deny on a tag, say) must not be evaluated without the tags.
 */
export async function pinPolicy(policies: PolicySource, bucket: string): Promise<{ policy: CompiledPolicy | undefined; source: PolicySource }> {
  const policy = await policies.get(bucket);
  return {
    policy,
    source: {
      get: async (name) => (name === bucket ? policy : policies.get(name)),
      restrictsPublicBuckets: (name) => policies.restrictsPublicBuckets(name),
    },
  };
}

export interface AuthorizationRequest {
  principal: Principal;
  action: string;
  bucket: BucketRecord;
  key?: string;
  policies: PolicySource;
  /** Condition keys the request carries (aws:SourceIp, s3:prefix, ...). */
  context: Record<string, string | string[] | undefined>;
  /**
   * Whether the bucket's or object's ACL grants the action (src/s3/acl.ts). Asked last, only when
   * neither ownership nor the policy allowed and no Deny refused, so owners never read an ACL.
   */
  aclGrants?: (action: string) => Promise<boolean>;
}

function policyPrincipal(p: Principal): PolicyRequest["principal"] {
  switch (p.kind) {
    case "account":
      return { kind: "account", accountId: p.accountId };
    case "service":
      return { kind: "service", service: p.service };
    default:
      return { kind: "anonymous" };
  }
}

/** The owner can always mend its own policy, so a policy can never lock its owner out for good. */
const OWNER_ALWAYS = new Set(["s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"]);

export async function authorize(request: AuthorizationRequest): Promise<void> {
  const { principal, bucket } = request;
  const isOwner = principal.kind === "account" && principal.accountId === bucket.ownerAccountId;
  if (isOwner && OWNER_ALWAYS.has(request.action)) return;
  const policy = await request.policies.get(bucket.name);
  if (!policy) {
    if (isOwner || (await request.aclGrants?.(request.action))) return;
    throw new S3Error("AccessDenied");
  }
  const context = { ...request.context };
  if (principal.kind === "account") context["aws:PrincipalAccount"] = principal.accountId;
  if (principal.kind === "service") {
    context["aws:SourceAccount"] = principal.sourceAccount;
    context["aws:SourceArn"] = principal.sourceArn;
  }
  const decision = evaluatePolicy(policy, {
    principal: policyPrincipal(principal),
    action: request.action,
    resource: `arn:aws:s3:::${bucket.name}${request.key === undefined ? "" : "/" + request.key}`,
    context,
  });
  if (decision === "Deny") throw new S3Error("AccessDenied");
  if (isOwner) return;
  if (decision === "Allow" && !(await restrictedByPublicPolicy(request, policy))) return;
  if (await request.aclGrants?.(request.action)) return;
  throw new S3Error("AccessDenied");
}

/**
 * RestrictPublicBuckets (Block Public Access): while the bucket's policy is public, its Allows
 * count only for the bucket owner's account (allowed before this is asked) and service
 * principals; every other account and anonymous callers lose what the policy grants them, even
 * statements naming them. Deny statements and ACLs are unaffected (IgnorePublicAcls is the ACLs').
 */
async function restrictedByPublicPolicy(request: AuthorizationRequest, policy: CompiledPolicy): Promise<boolean> {
  if (request.principal.kind === "service" || !isPublicPolicy(policy)) return false;
  return request.policies.restrictsPublicBuckets(request.bucket.name);
}

/**
 * Authorizes a request that needs several actions on one resource, the operation's own first
 * (requiredActions in src/server/operations.ts). ACLs have no permission for the others (a write's
 * tags, ACL, lock), so a request its ACL allows is allowed them too, as before; a policy Deny of
 * any of them still refuses, and a policy-only caller needs each one allowed.
 */
export async function authorizeActions(request: Omit<AuthorizationRequest, "action">, actions: readonly string[]): Promise<void> {
  const [own, ...others] = actions;
  if (own === undefined) throw new Error("authorizeActions needs the operation's action");
  await authorize({ ...request, action: own });
  const acl = request.aclGrants;
  for (const action of others) await authorize({ ...request, action, aclGrants: acl && (async (a) => (await acl(a)) || (await acl(own))) });
}

type ConditionContext = PolicyRequest["context"];
type ObjectTags = readonly (readonly [key: string, value: string])[];

/** The family of s3:ExistingObjectTag/<key>: the tags of the object version a request acts on. */
export const EXISTING_OBJECT_TAG = "s3:ExistingObjectTag/";
/** What s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys start with: the tags a request sets. */
export const REQUEST_OBJECT_TAG = "s3:RequestObjectTag";

/**
 * The actions the Service Authorization Reference lists with s3:ExistingObjectTag/<key>: reading a
 * version (its data, attributes, ACL, tags) and changing its ACL or tags. Not PutObject nor
 * DeleteObject: S3 lets no policy grant or deny overwriting or deleting an object by its tags.
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
 */
export const EXISTING_OBJECT_TAG_ACTIONS: ReadonlySet<string> = new Set([
  "s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAttributes", "s3:GetObjectVersionAttributes",
  "s3:GetObjectAcl", "s3:GetObjectVersionAcl", "s3:PutObjectAcl", "s3:PutObjectVersionAcl",
  "s3:GetObjectTagging", "s3:GetObjectVersionTagging", "s3:PutObjectTagging", "s3:PutObjectVersionTagging",
  "s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging",
]);

/** s3:ExistingObjectTag/<key> for each tag of the addressed version (a missing version has none). */
export function existingObjectTagConditions(tags: ObjectTags): ConditionContext {
  return Object.fromEntries(tags.map(([key, value]) => [EXISTING_OBJECT_TAG + key, value]));
}

/** s3:RequestObjectTag/<key> for each tag the request sets, and s3:RequestObjectTagKeys listing them; absent when it sets none. */
export function requestObjectTagConditions(tags: ObjectTags): ConditionContext {
  const context: ConditionContext = Object.fromEntries(tags.map(([key, value]) => [`${REQUEST_OBJECT_TAG}/${key}`, value]));
  if (tags.length > 0) context["s3:RequestObjectTagKeys"] = tags.map(([key]) => key);
  return context;
}

/** x-amz-expected-bucket-owner: a mismatch is AccessDenied, checked before any policy. */
export function checkExpectedOwner(expected: string | string[] | undefined, bucket: BucketRecord): void {
  if (expected === undefined) return;
  const value = Array.isArray(expected) ? expected[0] : expected;
  if (value !== bucket.ownerAccountId) throw new S3Error("AccessDenied");
}

type Headers = Record<string, string | string[] | undefined>;

const HEADER_KEYS: [string, string][] = [
  ["s3:x-amz-acl", "x-amz-acl"],
  ["s3:x-amz-server-side-encryption", "x-amz-server-side-encryption"],
  ["s3:x-amz-server-side-encryption-aws-kms-key-id", "x-amz-server-side-encryption-aws-kms-key-id"],
  ["s3:x-amz-server-side-encryption-customer-algorithm", "x-amz-server-side-encryption-customer-algorithm"],
  ["s3:x-amz-storage-class", "x-amz-storage-class"],
  ["s3:x-amz-copy-source", "x-amz-copy-source"],
  ["s3:x-amz-metadata-directive", "x-amz-metadata-directive"],
  ["s3:x-amz-content-sha256", "x-amz-content-sha256"],
  ["s3:x-amz-grant-full-control", "x-amz-grant-full-control"],
  ["s3:x-amz-grant-read", "x-amz-grant-read"],
  ["s3:if-match", "if-match"],
  ["s3:if-none-match", "if-none-match"],
  ["aws:Referer", "referer"],
  ["aws:UserAgent", "user-agent"],
];

/** The condition keys a request carries, from its headers, query and connection. */
export function requestConditionContext(
  headers: Headers,
  query: URLSearchParams,
  sourceIp: string,
  secureTransport: boolean,
  now: Date,
  signed: boolean,
): Record<string, string | string[] | undefined> {
  const ctx: Record<string, string | string[] | undefined> = {
    "aws:SourceIp": sourceIp.replace(/^::ffff:/, ""),
    "aws:SecureTransport": String(secureTransport),
    "aws:CurrentTime": now.toISOString(),
    "aws:EpochTime": String(Math.floor(now.getTime() / 1000)),
    "s3:authType": signed ? (query.has("X-Amz-Signature") || query.has("Signature") ? "REST-QUERY-STRING" : "REST-HEADER") : undefined,
    "s3:prefix": query.get("prefix") ?? undefined,
    "s3:delimiter": query.get("delimiter") ?? undefined,
    "s3:max-keys": query.get("max-keys") ?? undefined,
    "s3:VersionId": query.get("versionId") ?? undefined,
  };
  for (const [key, header] of HEADER_KEYS) {
    const v = headers[header];
    if (v !== undefined) ctx[key] = Array.isArray(v) ? v.join(",") : v;
  }
  const copySource = ctx["s3:x-amz-copy-source"];
  if (typeof copySource === "string") ctx["s3:x-amz-copy-source"] = copySourcePath(copySource);
  return ctx;
}

/**
 * x-amz-copy-source as "bucket/key", the form policies name it in: without the optional leading
 * slash, the ?versionId and the percent-encoding. Compared raw, "/secret/k" or "secr%65t/k" would
 * copy the same object yet slip past a Deny on "secret/*".
 */
function copySourcePath(raw: string): string {
  const { path } = splitCopySource(raw);
  try {
    return decodeURIComponent(path);
  } catch {
    // Undecodable: CopyObject refuses it with InvalidArgument before copying anything.
    return path;
  }
}
