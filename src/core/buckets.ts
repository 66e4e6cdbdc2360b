// How a bucket comes and goes: created with the settings it starts with in one transaction, and
// deleted only when empty, its unfinished uploads' parts freed and the caches over it dropped.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/creating-buckets-s3.html
import { randomBytes } from "node:crypto";
import type { BucketConfigRow, BucketRecord } from "../storage/types.js";
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
