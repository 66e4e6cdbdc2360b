// Bucket replication configuration: PutBucketReplication, GetBucketReplication,
// DeleteBucketReplication. The model and its validation are src/replication/config.ts; the copying
// is the Replicator's (src/replication/). Stored through ctx.settings as the validated model.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketReplication.html
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketReplication.html
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketReplication.html
import { S3Error } from "../errors.js";
import { parseXml } from "../xml/codec.js";
import type { Handler } from "./types.js";
import { REPLICATION_KIND, parseReplicationConfiguration, replicationConfigurationToXml, type ReplicationConfiguration } from "../replication/config.js";
import { readChecksummedBody } from "./checksummed-body.js";

/** S3's limit on a replication configuration document. */
const MAX_BODY_BYTES = 2 * 1024 * 1024;

export const putBucketReplication: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!;
  const body = await readChecksummedBody(req, MAX_BODY_BYTES);
  if (bucket.versioning !== "Enabled") {
    throw new S3Error("InvalidRequest", "Versioning must be 'Enabled' on the bucket to apply a replication configuration", { BucketName: bucket.name });
  }
  const config = parseReplicationConfiguration(parseXml(body, "ReplicationConfiguration"));
  for (const rule of config.rules) {
    const name = rule.destination.bucket;
    if (name === bucket.name) throw new S3Error("InvalidRequest", "Destination bucket cannot be the same as the source bucket.");
    const dest = await ctx.metadata.getBucket(name);
    if (!dest) throw new S3Error("InvalidRequest", "Destination bucket must exist.");
    if (dest.versioning !== "Enabled") throw new S3Error("InvalidRequest", "Destination bucket must have versioning enabled.");
  }
  await ctx.settings.put(bucket, REPLICATION_KIND, config);
  return {};
};

export const getBucketReplication: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!.name;
  const config = await ctx.settings.get<ReplicationConfiguration>(bucket, REPLICATION_KIND);
  if (!config) throw new S3Error("ReplicationConfigurationNotFoundError", undefined, { BucketName: bucket });
  return { xml: { root: "ReplicationConfiguration", value: replicationConfigurationToXml(config) } };
};

export const deleteBucketReplication: Handler = async (req, ctx) => {
  await ctx.settings.delete(req.bucketRecord!, REPLICATION_KIND);
  return { status: 204 };
};
