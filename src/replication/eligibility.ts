// Which destinations a version is replicated to, as S3 decides: the rules (config.ts) by key and
// tags, then what S3 leaves out whatever the rules say — replicas of another rule, archived
// storage classes, SSE-KMS objects unless the rule opts in.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-what-is-isnot-replicated.html
import type { ObjectVersionRecord, StoredEncryption } from "../storage/types.js";
import { tagsOf } from "../core/tags.js";
import { rulesFor, type ReplicationConfiguration, type ReplicationRule } from "./config.js";

export const ReplicationStatuses = ["PENDING", "COMPLETED", "FAILED", "REPLICA"] as const;
export type ReplicationStatus = (typeof ReplicationStatuses)[number];

type VersionFacts = Pick<ObjectVersionRecord, "key" | "isDeleteMarker" | "storageClass" | "extra">;

export function replicationStatusOf(extra: Record<string, unknown>): ReplicationStatus | undefined {
  const s = extra.replicationStatus;
  return typeof s === "string" && (ReplicationStatuses as readonly string[]).includes(s) ? (s as ReplicationStatus) : undefined;
}

/** S3 does not replicate objects in these storage classes. */
const ARCHIVED = new Set(["GLACIER", "DEEP_ARCHIVE"]);

/** The deciding rule per destination bucket for this version; empty when it is not replicated. */
export function replicationTargets(config: ReplicationConfiguration, v: VersionFacts): ReplicationRule[] {
  if (replicationStatusOf(v.extra) === "REPLICA") return [];
  const tags = v.isDeleteMarker ? {} : Object.fromEntries(tagsOf(v.extra));
  const rules = rulesFor(config, { key: v.key, tags, isDeleteMarker: v.isDeleteMarker });
  if (v.isDeleteMarker) return rules;
  if (ARCHIVED.has(v.storageClass)) return [];
  const kind = (v.extra.encryption as StoredEncryption | undefined)?.kind;
  if (kind === "SSE-KMS" || kind === "DSSE-KMS") return rules.filter((r) => r.sseKmsEncryptedObjects === "Enabled");
  return rules;
}
