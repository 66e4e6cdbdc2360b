// Replication configurations as the integration tests write them.
import type { ReplicationRule } from "@aws-sdk/client-s3";

/** The role a configuration names: Stocktake has no IAM and writes replicas as the source bucket's owner. */
export const ROLE = "arn:aws:iam::111122223333:role/replication";

/** An enabled rule replicating keys under `prefix` to `destination`, delete markers not. */
export function rule(id: string, priority: number, prefix: string, destination: string, extra: Partial<ReplicationRule> = {}): ReplicationRule {
  return {
    ID: id,
    Priority: priority,
    Status: "Enabled",
    Filter: { Prefix: prefix },
    DeleteMarkerReplication: { Status: "Disabled" },
    Destination: { Bucket: `arn:aws:s3:::${destination}` },
    ...extra,
  };
}
