// Where the capabilities beyond bodies and listings join the bucket and object paths: object lock,
// ownership and ACLs, tagging, Intelligent-Tiering and archive restores, lifecycle and replication.
// PutObject, CopyObject, the multipart operations, GET/HEAD and deletes call these hooks and
// nothing else of those capabilities, so each capability stays in its own module and a newcomer
// finds every place one of them touches a write or a read here. `versionHooks` is the part the
// domain runs for every writer (src/core/hooks.ts); the rest reads a request's headers.
import type { S3Request, ServerContext } from "./types.js";
import type { Principal } from "../auth/principal.js";
import type { NewVersion, VersionHooks } from "../core/context.js";
import type { BucketConfigRow, BucketRecord, ObjectVersionRecord, UploadRecord } from "../storage/types.js";
import * as lock from "./object-lock.js";
import * as acl from "./acl.js";
import * as tagging from "./tagging.js";
import * as tiering from "../tiering/hooks.js";
import * as lifecycle from "../lifecycle/hooks.js";
import * as replication from "../replication/hooks.js";

/** What CreateBucket's headers ask of the new bucket beyond its name and region. */
export interface BucketCreation {
  /** Object lock forces versioning on from the start. */
  versioning?: "Enabled";
  /**
   * The settings the bucket starts with (lock configuration, ownership controls, ACL), stored in
   * the transaction that creates it: no request ever sees the bucket without them.
   */
  settings: BucketConfigRow[];
}

/** Validates CreateBucket's x-amz-bucket-object-lock-enabled, x-amz-object-ownership and ACL headers. */
export async function bucketCreation(req: S3Request, ctx: ServerContext): Promise<BucketCreation> {
  const fromLock = lock.lockOnCreateBucket(req);
  // Grants by id name accounts, which only the store can confirm.
  const fromAcl = await acl.aclOnCreateBucket(req, ctx);
  return { versioning: fromLock.versioning, settings: [...fromLock.settings, ...fromAcl.settings] };
}

/**
 * Before PutBucketVersioning changes the bucket's status: object lock and replication both need
 * versioning to stay enabled (InvalidBucketState otherwise).
 */
export async function checkVersioningChange(ctx: ServerContext, bucket: BucketRecord, status: "Enabled" | "Suspended"): Promise<void> {
  await lock.checkVersioningChange(ctx, bucket, status);
  await replication.checkVersioningChange(ctx, bucket, status);
}

/** What the request decides about a new version beyond its body and content headers. */
export interface RequestFacts {
  /** Merged into the version's `extra`. */
  extra: Record<string, unknown>;
  /** The account that will own the version (ownership controls decide: writer or bucket owner). */
  ownerAccountId: string;
}

/**
 * Reads and validates a write's x-amz-object-lock-*, x-amz-acl/x-amz-grant-* and x-amz-tagging
 * headers, before any body byte is read. `copySource` is the version CopyObject copies (its tags
 * are kept unless x-amz-tagging-directive is REPLACE). CreateMultipartUpload calls this too and
 * keeps the result for CompleteMultipartUpload.
 */
export async function requestFacts(req: S3Request, ctx: ServerContext, bucket: BucketRecord, copySource?: ObjectVersionRecord): Promise<RequestFacts> {
  const owned = await acl.aclFactsForWrite(req, ctx, bucket);
  return {
    extra: { ...(await lock.lockFactsForWrite(req, ctx, bucket)), ...owned.extra, ...tagging.tagFactsForWrite(req, copySource) },
    ownerAccountId: owned.ownerAccountId,
  };
}

/** Before UploadPart reads a part: an upload with object lock parameters needs a checksum on every part. */
export function beforePartUpload(req: S3Request, upload: UploadRecord): void {
  lock.checkPartChecksum(req, upload);
}

/**
 * What the domain runs on every version commit and body read, whoever makes them (src/core/hooks.ts):
 * replication status and Intelligent-Tiering facts fixed at commit, queueing for replication once
 * durable, and archived objects refused (and accesses noted) before their bytes are read.
 */
export const versionHooks: VersionHooks = {
  async commitFacts(ctx, bucket, record) {
    await replication.replicationFactsOnCommit(ctx, bucket, record);
    tiering.tieringFactsOnCommit(ctx, bucket, record);
  },
  versionCommitted(ctx, bucket, record) {
    replication.onVersionCommitted(ctx, bucket, record);
  },
  beforeBodyRead(ctx, bucket, v) {
    tiering.checkReadable(ctx, v);
    tiering.noteAccess(ctx, bucket, v);
  },
};

/** Headers a write's response adds for the new version (x-amz-expiration of a lifecycle rule). */
export function writeResponseHeaders(ctx: ServerContext, bucket: BucketRecord, record: NewVersion): Promise<Record<string, string>> {
  return lifecycle.expirationHeaders(ctx, bucket, record);
}

/**
 * Headers describing a version on GET and HEAD beyond content and encryption: object lock,
 * replication status, tag count, restore state, lifecycle expiration.
 */
export async function readResponseHeaders(ctx: ServerContext, bucket: BucketRecord, v: ObjectVersionRecord): Promise<Record<string, string>> {
  return {
    ...lock.lockHeaders(v),
    ...replication.replicationHeaders(v),
    ...tagging.taggingHeaders(v),
    ...tiering.restoreHeaders(v),
    ...(await lifecycle.expirationHeaders(ctx, bucket, v)),
  };
}

/**
 * For authorize(): whether the bucket's or the addressed object's ACL grants an action that
 * neither owning the bucket nor its policy allowed (false while ACLs are disabled).
 */
export function aclGrants(
  ctx: ServerContext,
  principal: Principal,
  bucket: BucketRecord,
  key: string | undefined,
  versionId: string | null | undefined,
): (action: string) => Promise<boolean> {
  return acl.aclGrants(ctx, principal, bucket, key, versionId);
}
