// The edge's decision on a bucket or object request: every action its row requires
// (requiredActions), by authorizeActions with the request's condition keys. The object tag keys
// cost more than reading a header, so they are supplied only while the bucket policy names them:
// - s3:ExistingObjectTag/<key>, for the actions S3 gives it (EXISTING_OBJECT_TAG_ACTIONS): the
//   addressed version is read here and handed to the handler, which acts on that very record.
// - s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys: the tags the request sets, from its
//   headers; when only the handler learns them, the decision waits for it (authorizeRequestTags).
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/tagging-and-policies.html
import type { IncomingHttpHeaders } from "node:http";
import {
  authorizeActions,
  EXISTING_OBJECT_TAG,
  EXISTING_OBJECT_TAG_ACTIONS,
  existingObjectTagConditions,
  pinPolicy,
  REQUEST_OBJECT_TAG,
  requestObjectTagConditions,
  type AuthorizationRequest,
} from "../auth/authorize.js";
import { namesConditionKey } from "../auth/policy.js";
import { S3Error } from "../errors.js";
import { tagsOf, type Tag } from "../core/tags.js";
import { lookupAddressed } from "../s3/request.js";
import type { S3Request, ServerContext } from "../s3/types.js";
import { requiredActions, type OperationRow } from "./operations.js";

/** What the decision hands the handler. */
export type EdgeDecision = Pick<S3Request, "addressed" | "authorizeRequestTags">;

/** Throws AccessDenied, or resolves with what the handler needs to keep to the decision. */
export async function authorizeRequest(
  ctx: ServerContext,
  row: OperationRow,
  query: URLSearchParams,
  headers: IncomingHttpHeaders,
  request: Omit<AuthorizationRequest, "action">,
): Promise<EdgeDecision> {
  const actions = requiredActions(row, query, headers);
  const { policy, source } = await pinPolicy(request.policies, request.bucket.name);
  request = { ...request, policies: source };
  const names = (prefix: string) => policy !== undefined && namesConditionKey(policy, prefix);
  let context = request.context;
  let addressed: EdgeDecision["addressed"];
  if (request.key !== undefined && EXISTING_OBJECT_TAG_ACTIONS.has(actions[0]!) && names(EXISTING_OBJECT_TAG)) {
    const version = await lookupAddressed(ctx, request.bucket.name, request.key, query.get("versionId"));
    addressed = { version };
    context = { ...context, ...existingObjectTagConditions(version ? tagsOf(version.extra) : []) };
  }
  if (row.requestTags && names(REQUEST_OBJECT_TAG)) {
    const tags = row.requestTags(headers);
    if (tags === "handler") {
      const known = context;
      const authorizeRequestTags = (set: readonly Tag[]) => authorizeActions({ ...request, context: { ...known, ...requestObjectTagConditions(set) } }, actions);
      return { addressed, authorizeRequestTags };
    }
    context = { ...context, ...requestObjectTagConditions(tags) };
  }
  try {
    await authorizeActions({ ...request, context }, actions);
  } catch (refusal) {
    if (request.key !== undefined && actions[0] === "s3:GetObject" && refusal instanceof S3Error && refusal.code === "AccessDenied") {
      await answerMissingKeyToLister(ctx, { ...request, context }, request.key);
    }
    throw refusal;
  }
  return { addressed };
}

/**
 * S3 tells a reader who may not read a key whether it exists only when the reader may list it:
 * a missing (or deleted) current version is 404 NoSuchKey to a caller allowed s3:ListBucket with
 * s3:prefix set to the key, and stays 403 to anyone else. Listing would reveal the same, so
 * nothing is learnt here that the caller's ListObjects could not tell.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html (Permissions)
 */
async function answerMissingKeyToLister(ctx: ServerContext, request: Omit<AuthorizationRequest, "action">, key: string): Promise<void> {
  if (request.context["s3:VersionId"] !== undefined) return;
  const latest = await ctx.metadata.getLatest(request.bucket.name, key);
  if (latest && !latest.isDeleteMarker) return;
  try {
    await authorizeActions({ ...request, key: undefined, context: { ...request.context, "s3:prefix": key } }, ["s3:ListBucket"]);
  } catch {
    return;
  }
  throw new S3Error("NoSuchKey", undefined, { Key: key });
}
