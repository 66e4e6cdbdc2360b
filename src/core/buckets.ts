// How a bucket comes and goes: created with the settings it starts with in one transaction, and
// deleted only when empty, its unfinished uploads' parts freed and the caches over it dropped.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/creating-buckets-s3.html
import { randomBytes } from "node:crypto";
import type { BucketConfigRow, BucketRecord, BucketRef } from "../storage/types.js";
import { releaseBodies } from "./bodies.js";
import type { Context } from "./context.js";

export interface NewBucket {
  name: string;
  ownerAccountId: string;
  /** Object lock forces versioning on from the start. */
  versioning?: "Enabled";
  /** The settings the bucket starts with (lock, ownership controls, ACL): no reader sees it without them. */
  settings: BucketConfigRow[];
}

/** Creates the bucket in this server's region; undefined when the name is taken (by anyone). */
export async function createBucket(ctx: Context, input: NewBucket): Promise<BucketRecord | undefined> {
  const bucket: BucketRecord = {
    name: input.name,
    // A new id for every creation: writes begun against an older bucket of this name fail (BucketRef).
    id: randomBytes(16).toString("hex"),
    ownerAccountId: input.ownerAccountId,
    region: ctx.config.region,
    createdAt: ctx.clock.now(),
    versioning: input.versioning,
  };
  if (!(await ctx.metadata.createBucket(bucket, input.settings))) return undefined;
  await ctx.settings.changed(bucket.name);
  ctx.log.info("bucket created", { bucket: bucket.name, owner: bucket.ownerAccountId });
  return bucket;
}

/** Deletes the bucket if it holds no versions; false (nothing changed) when it does. */
export async function deleteBucket(ctx: Context, bucket: BucketRecord): Promise<boolean> {
  const { deleted, parts } = await ctx.metadata.deleteBucket(bucket);
  if (!deleted) return false;
  await ctx.policies.changed(bucket.name);
  await ctx.settings.changed(bucket.name);
  releaseBodies(ctx, parts.map((p) => ({ body: { kind: "blob" as const, blobId: p.blobId } })), 0);
  ctx.log.info("bucket deleted", { bucket: bucket.name });
  return true;
}

/** Whether `bucket` is still the bucket of its name: ids are never reused, so one deleted and made again (by anyone) is another. */
export async function isCurrentBucket(ctx: Context, bucket: BucketRef): Promise<boolean> {
  return (await ctx.metadata.getBucket(bucket.name))?.id === bucket.id;
}

/**
 * For a background pass that listed configurations (listConfigsOfKind) a while ago: the bucket the
 * row names now, with the configuration as that bucket has it now; undefined when either is gone.
 * The bucket is read first and checked again after the configuration: had the bucket been deleted
 * and made again under its name in between, the configuration read could be the new bucket's while
 * the record is the old one's, and the check refuses it. So a pass never applies one owner's
 * configuration to the next owner of the name; writes made with the record are refused by the store
 * once it is gone (BucketRef), and reads by name in a long walk are checked with isCurrentBucket.
 */
export async function configuredBucket(ctx: Context, row: { bucket: string; id: string }, kind: string): Promise<{ bucket: BucketRecord; json: string } | undefined> {
  const bucket = await ctx.metadata.getBucket(row.bucket);
  if (!bucket) return undefined;
  const json = await ctx.metadata.getBucketConfig(row.bucket, kind, row.id);
  if (json === undefined || !(await isCurrentBucket(ctx, bucket))) return undefined;
  return { bucket, json };
}
