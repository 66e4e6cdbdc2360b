// The encryption the domain records and applies: a bucket's default encryption (stored as a
// bucket configuration) and how a new body is sealed. Requests choose among these through their
// SSE headers (src/s3/encryption.ts); reports and replicas are sealed by the same rules.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-encryption.html
import type { Wrapping } from "../crypto/sse.js";
import type { StoredEncryption } from "../storage/types.js";
import type { Context } from "./context.js";

export const SseAlgorithms = ["AES256", "aws:kms", "aws:kms:dsse"] as const;
export type SseAlgorithm = (typeof SseAlgorithms)[number];

/** A bucket's default encryption (one rule, as S3 allows). */
export interface BucketEncryption {
  algorithm: SseAlgorithm;
  kmsMasterKeyId?: string;
  bucketKeyEnabled: boolean;
}

/** The bucket configuration kind and id the default encryption is stored under. */
export const ENCRYPTION_CONFIG_KIND = "encryption";

/** The bucket's stored default encryption, or the server's default (SSE-S3 unless turned off). */
export async function bucketEncryption(ctx: Context, bucket: string): Promise<BucketEncryption | undefined> {
  // Read on every PUT: through the settings cache, which every node drops on a change.
  const configured = await ctx.settings.get<BucketEncryption>(bucket, ENCRYPTION_CONFIG_KIND);
  if (configured !== undefined) return configured;
  return ctx.config.defaultEncryption === "SSE-S3" ? { algorithm: "AES256", bucketKeyEnabled: false } : undefined;
}

/** How a new body is encrypted: what to record with the version, and what seals its data keys. */
export interface WriteEncryption {
  stored: StoredEncryption;
  wrapping: Wrapping;
}
