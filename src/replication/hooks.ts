// Where replication joins the write, read and versioning paths (called from
// src/s3/capability-hooks.ts): a new version a rule selects is marked PENDING when it is committed
// and queued for the Replicator once durable; GET and HEAD show x-amz-replication-status; and a
// bucket with a replication configuration keeps versioning enabled.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-status.html
import { S3Error } from "../errors.js";
import type { Context } from "../core/context.js";
import type { BucketRecord, ObjectVersionRecord } from "../storage/types.js";
import { REPLICATION_KIND, type ReplicationConfiguration } from "./config.js";
import { replicationStatusOf, replicationTargets } from "./eligibility.js";
import { replicatorOf } from "./replicator.js";
import { EXPIRED_BY_LIFECYCLE } from "../core/versions.js";

type NewVersion = Omit<ObjectVersionRecord, "isLatest">;

/**
 * A new version (or delete marker) that some enabled rule replicates becomes PENDING. A replica
 * the Replicator writes arrives already marked REPLICA and stays so: replicas are never
 * replicated again, which also keeps two buckets replicating to each other from looping.
 */
export async function replicationFactsOnCommit(ctx: Context, bucket: BucketRecord, record: NewVersion): Promise<void> {
  if (replicationStatusOf(record.extra) === "REPLICA") return;
  delete record.extra.replicationStatus;
  // https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-what-is-isnot-replicated.html
  if (record.isDeleteMarker && record.extra[EXPIRED_BY_LIFECYCLE] === true) return;
  const config = await ctx.settings.get<ReplicationConfiguration>(bucket.name, REPLICATION_KIND);
  if (!config || bucket.versioning !== "Enabled") return;
  if (replicationTargets(config, record).length > 0) record.extra.replicationStatus = "PENDING";
}

export function onVersionCommitted(ctx: Context, bucket: BucketRecord, record: NewVersion): void {
  if (replicationStatusOf(record.extra) !== "PENDING") return;
  replicatorOf(ctx)?.enqueue({ bucket: bucket.name, key: record.key, versionId: record.versionId });
}

/** x-amz-replication-status on GET and HEAD: the source's PENDING/COMPLETED/FAILED, or REPLICA. */
export function replicationHeaders(v: ObjectVersionRecord): Record<string, string> {
  const status = replicationStatusOf(v.extra);
  return status === undefined || v.isDeleteMarker ? {} : { "x-amz-replication-status": status };
}

/** S3 refuses to suspend versioning while the bucket has a replication configuration. */
export async function checkVersioningChange(ctx: Context, bucket: BucketRecord, status: "Enabled" | "Suspended"): Promise<void> {
  if (status !== "Suspended" || !(await ctx.settings.get(bucket.name, REPLICATION_KIND))) return;
  throw new S3Error(
    "InvalidBucketState",
    "A replication configuration is present on this bucket, so you cannot change the versioning state. To change the versioning state, first delete the replication configuration.",
    { BucketName: bucket.name },
  );
}
