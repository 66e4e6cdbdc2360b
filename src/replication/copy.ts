// Writing one replica: a source version (or delete marker) copied into a destination bucket as the
// version with the same id, dates, content headers, user metadata, tags and lock facts, marked
// REPLICA, as S3 replication does. Tags need s3:ReplicateTags on the destination, and a source with
// Object Lock replicates only into a destination with Object Lock (S3's failure reasons). Bodies are
// read decrypted and sealed again for the destination (SSE-C bodies, whose key we never hold, are
// copied as stored and stay readable with the same key).
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-what-is-isnot-replicated.html
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html
import { createHash } from "node:crypto";
import { S3Error } from "../errors.js";
import type { Context } from "../core/context.js";
import type { BodyLocation, BodyPart, BucketRecord, ObjectVersionRecord, StoredEncryption } from "../storage/types.js";
import { authorize } from "../auth/authorize.js";
import { KmsKeyNotFound } from "../crypto/kms.js";
import type { KekResolver, Wrapping } from "../crypto/sse.js";
import { bucketEncryption, type WriteEncryption } from "../core/encryption.js";
import { openBody, receiveBody, releaseBodies } from "../core/bodies.js";
import { commitVersion } from "../core/versions.js";
import type { NewVersion } from "../core/context.js";
import { tagsOf } from "../core/tags.js";
import { hasObjectLock } from "../core/object-lock.js";
import type { ReplicationRule } from "./config.js";


/**
 * Why a replica cannot be written, named as S3's replication failure reasons: the source version
 * becomes FAILED. Transient failures (a read or write error) are thrown instead, and retried.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-failure-codes.html
 */
export type ReplicationFailure =
  | "DstBucketNotFound"
  | "DstBucketUnversioned"
  | "DstPutObjectNotPermitted"
  | "DstDelObjNotPermitted"
  | "DstKmsKeyNotFound"
  | "DstBucketObjectLockConfigMissing"
  | "DstPutTaggingNotPermitted"
  | "SrcObjectCorrupt";

/** Facts that describe the source bucket's handling of the version, not the object: not copied. */
const SOURCE_ONLY_FACTS = ["encryption", "replicationStatus", "accessTier", "tieringReferenceDate"];

/** Copies `v` to the destination `rule` names; undefined when the replica is there. */
export async function replicateVersion(ctx: Context, source: BucketRecord, v: ObjectVersionRecord, rule: ReplicationRule): Promise<ReplicationFailure | undefined> {
  const dest = await ctx.metadata.getBucket(rule.destination.bucket);
  if (!dest) return "DstBucketNotFound";
  if (dest.versioning !== "Enabled") return "DstBucketUnversioned";
  const denied: ReplicationFailure = v.isDeleteMarker ? "DstDelObjNotPermitted" : "DstPutObjectNotPermitted";
  if (rule.destination.account !== undefined && rule.destination.account !== dest.ownerAccountId) return denied;
  // We have no IAM role to assume: the write is authorized as the source bucket's owner against
  // the destination bucket (its owner, or a policy granting s3:ReplicateObject / s3:ReplicateDelete,
  // and s3:ReplicateTags when the version has tags: S3's DstPutTaggingNotPermitted).
  const allowed = async (action: string): Promise<boolean> => {
    try {
      await authorize({
        principal: { kind: "account", accountId: source.ownerAccountId, accessKeyId: "" },
        action,
        bucket: dest,
        key: v.key,
        policies: ctx.policies,
        context: {},
      });
      return true;
    } catch (err) {
      if (err instanceof S3Error) return false;
      throw err;
    }
  };
  if (!(await allowed(v.isDeleteMarker ? "s3:ReplicateDelete" : "s3:ReplicateObject"))) return denied;
  if (!v.isDeleteMarker && tagsOf(v.extra).length > 0 && !(await allowed("s3:ReplicateTags"))) return "DstPutTaggingNotPermitted";
  // S3: "To replicate objects from a source bucket with Object Lock enabled, the destination
  // bucket must also have Object Lock enabled." Otherwise the replica would carry a retention or
  // legal hold into a bucket whose owner never chose Object Lock, and could never delete it.
  const destLocked = await hasObjectLock(ctx, dest.name);
  if (!destLocked && (await hasObjectLock(ctx, source.name))) return "DstBucketObjectLockConfigMissing";
  // Written before a crash that came before the source's status was updated.
  if (await ctx.metadata.getVersion(dest.name, v.key, v.versionId)) return undefined;

  const base: NewVersion = {
    bucket: dest.name,
    key: v.key,
    versionId: v.versionId,
    isDeleteMarker: v.isDeleteMarker,
    size: v.size,
    etag: v.etag,
    lastModified: v.lastModified,
    storageClass: v.isDeleteMarker ? v.storageClass : (rule.destination.storageClass ?? v.storageClass),
    contentType: v.contentType,
    contentHeaders: v.contentHeaders,
    userMetadata: v.userMetadata,
    ownerAccountId: rule.destination.ownerOverride ? dest.ownerAccountId : v.ownerAccountId,
    partsCount: v.partsCount,
    extra: { replicationStatus: "REPLICA" },
    body: null,
  };
  let record = base;
  if (!v.isDeleteMarker) {
    const copied = await copyObjectBody(ctx, v, dest, rule);
    if (typeof copied === "string") return copied;
    // Lock facts go only to a destination with Object Lock enabled (never reached otherwise for a
    // lock-enabled source; this keeps any stray `lock` fact out of a bucket without Object Lock).
    const kept = Object.fromEntries(Object.entries(v.extra).filter(([name]) => !SOURCE_ONLY_FACTS.includes(name) && (destLocked || name !== "lock")));
    record = { ...base, extra: { ...kept, ...(copied.encryption ? { encryption: copied.encryption } : {}), replicationStatus: "REPLICA" }, body: copied.body };
  }
  try {
    await commitVersion(ctx, dest, record);
  } catch (err) {
    if (record.body) releaseBodies(ctx, [{ body: record.body }], 0);
    throw err;
  }
  return undefined;
}

/**
 * The encryption of a replica, as S3 chooses it: an unencrypted source takes the destination
 * bucket's default encryption; SSE-S3 stays SSE-S3; SSE-KMS and DSSE-KMS are sealed under the
 * rule's ReplicaKmsKeyID (eligibility.ts admits them only when the rule opts in).
 */
async function replicaEncryption(ctx: Context, enc: StoredEncryption | undefined, dest: BucketRecord, rule: ReplicationRule): Promise<WriteEncryption | undefined> {
  const sseS3: WriteEncryption = { stored: { kind: "SSE-S3" }, wrapping: { mode: "SSE-S3", kek: ctx.keys.masterKey } };
  if (enc?.kind === "SSE-S3") return sseS3;
  let kind: "SSE-KMS" | "DSSE-KMS";
  let keyName: string | undefined;
  let bucketKey: boolean;
  if (enc === undefined) {
    const byDefault = await bucketEncryption(ctx, dest.name);
    if (!byDefault) return undefined;
    if (byDefault.algorithm === "AES256") return sseS3;
    kind = byDefault.algorithm === "aws:kms" ? "SSE-KMS" : "DSSE-KMS";
    keyName = byDefault.kmsMasterKeyId;
    bucketKey = byDefault.bucketKeyEnabled;
  } else {
    kind = enc.kind === "DSSE-KMS" ? "DSSE-KMS" : "SSE-KMS";
    keyName = rule.destination.replicaKmsKeyId;
    bucketKey = enc.bucketKeyEnabled ?? false;
  }
  const key = keyName === undefined ? await ctx.keys.awsManagedKey(dest.ownerAccountId) : await ctx.keys.resolve(dest.ownerAccountId, keyName);
  return {
    stored: { kind, keyId: key.arn, ...(bucketKey && kind === "SSE-KMS" ? { bucketKeyEnabled: true } : {}) },
    wrapping: { mode: kind, kek: key.material, kmsKeyId: key.keyId },
  };
}

interface CopiedBody {
  body: BodyLocation;
  encryption?: StoredEncryption;
}

async function copyObjectBody(ctx: Context, v: ObjectVersionRecord, dest: BucketRecord, rule: ReplicationRule): Promise<CopiedBody | ReplicationFailure> {
  const enc = v.extra.encryption as StoredEncryption | undefined;
  if (enc?.kind === "SSE-C") return { body: await copyStored(ctx, v.body!), encryption: enc };
  let target: WriteEncryption | undefined;
  try {
    target = await replicaEncryption(ctx, enc, dest, rule);
  } catch (err) {
    if (err instanceof KmsKeyNotFound) return "DstKmsKeyNotFound";
    throw err;
  }
  const keys = enc ? await ctx.keys.kekFor(enc) : undefined;
  const { body, md5 } = await reseal(ctx, v, keys, target?.wrapping);
  // S3's ETag is the MD5 of the plaintext (of the parts' MD5s for multipart) for unencrypted and
  // SSE-S3 objects: a replica that does not match would copy a damaged body.
  if ((enc === undefined || enc.kind === "SSE-S3") && md5 !== v.etag) {
    releaseBodies(ctx, [{ body }], 0);
    ctx.log.error("replication source body does not match its ETag", { bucket: v.bucket, key: v.key, versionId: v.versionId });
    return "SrcObjectCorrupt";
  }
  return { body, encryption: target?.stored };
}

/**
 * The plaintext of `v` sealed again under `wrapping`, with its ETag as computed from the bytes. A
 * multipart body is copied part by part, so the replica keeps its parts (GET ?partNumber=N).
 */
async function reseal(ctx: Context, v: ObjectVersionRecord, keys: KekResolver | undefined, wrapping: Wrapping | undefined): Promise<{ body: BodyLocation; md5: string }> {
  const source = v.body!;
  if (source.kind !== "parts") {
    const stored = await receiveBody(openBody(ctx.blobs, source, v.size, undefined, keys), {
      blobs: ctx.blobs,
      inlineMaxBytes: ctx.config.inlineObjectMaxBytes,
      expectedSize: v.size,
      seal: wrapping,
    });
    return { body: stored.body, md5: `"${stored.md5.toString("hex")}"` };
  }
  const parts: BodyPart[] = [];
  const etagOfParts = createHash("md5");
  let offset = 0;
  try {
    for (const part of source.parts) {
      const range = { start: offset, end: offset + part.size - 1 };
      offset += part.size;
      const stored = await receiveBody(openBody(ctx.blobs, source, v.size, range, keys), {
        blobs: ctx.blobs,
        inlineMaxBytes: 0,
        toBlob: true,
        expectedSize: part.size,
        seal: wrapping,
      });
      if (stored.body.kind !== "blob") throw new Error("a part copy must be a blob");
      parts.push({ partNumber: part.partNumber, blobId: stored.body.blobId, size: part.size, ...(part.checksum === undefined ? {} : { checksum: part.checksum }) });
      etagOfParts.update(stored.md5);
    }
  } catch (err) {
    releaseBodies(ctx, [{ body: { kind: "parts", parts } }], 0);
    throw err;
  }
  return { body: { kind: "parts", parts }, md5: `"${etagOfParts.digest("hex")}-${parts.length}"` };
}

/** A body's stored (sealed) bytes copied as they are. */
async function copyStored(ctx: Context, body: BodyLocation): Promise<BodyLocation> {
  const copyBlob = async (blobId: string) => {
    const stored = await receiveBody(ctx.blobs.read(blobId), { blobs: ctx.blobs, inlineMaxBytes: 0, toBlob: true, maxBytes: Number.MAX_SAFE_INTEGER });
    if (stored.body.kind !== "blob") throw new Error("a blob copy must be a blob");
    return stored.body.blobId;
  };
  switch (body.kind) {
    case "inline":
      return { kind: "inline", data: Buffer.from(body.data) };
    case "blob":
      return { kind: "blob", blobId: await copyBlob(body.blobId) };
    case "parts": {
      const parts: BodyPart[] = [];
      try {
        for (const part of body.parts) parts.push({ ...part, blobId: await copyBlob(part.blobId) });
      } catch (err) {
        releaseBodies(ctx, [{ body: { kind: "parts", parts } }], 0);
        throw err;
      }
      return { kind: "parts", parts };
    }
  }
}
