// What the domain and everything above it receive: the stores, the clock, the caches over the
// stores, the key service and the hooks the capabilities join the version paths with. Built once
// by startServer (src/server/index.ts); nothing here knows of HTTP.
import type { Clock } from "../clock.js";
import type { ServerConfig } from "../config.js";
import type { Logger } from "../log.js";
import type { BlobStore, BucketRecord, MetadataStore, ObjectVersionRecord } from "../storage/types.js";
import type { BucketSettings } from "./bucket-settings.js";
import type { DiskSpace } from "../storage/disk-space.js";
import type { BucketPolicies } from "../auth/bucket-policies.js";
import type { KeyService } from "../crypto/kms.js";

export interface Context {
  config: ServerConfig;
  metadata: MetadataStore;
  blobs: BlobStore;
  clock: Clock;
  log: Logger;
  policies: BucketPolicies;
  /** Single-instance bucket configurations (lock, ownership, ACL, lifecycle, replication), cached. */
  settings: BucketSettings;
  /** The master key and the local KMS, for server-side encryption. */
  keys: KeyService;
  /** The data disk's free space: whether it is full (writes refused, deletes served). */
  disk: DiskSpace;
  /** What the capabilities (replication, Intelligent-Tiering) add to every commit and read. */
  hooks: VersionHooks;
  /** An access key's secret and account, for checking a signature (SigV4, SigV2, a POST form's). */
  signingKeys: (accessKeyId: string) => Promise<{ secretAccessKey: string; accountId: string } | undefined>;
}

// ---- Hooks -------------------------------------------------------------------------------------
// Where capabilities above the domain join every version write and read, whoever makes it (a PUT,
// a copy, a multipart completion, a delete marker, a replica, a lifecycle expiration, an inventory
// report): the domain calls ctx.hooks, and startServer passes the implementation
// (src/s3/capability-hooks.ts, which names each capability's part). The domain never imports a
// capability, so a capability can use the domain without a cycle.

/** A version about to be stored: the store decides which version is latest. */
export type NewVersion = Omit<ObjectVersionRecord, "isLatest">;

export interface VersionHooks {
  /**
   * Facts fixed at the moment a version (or delete marker) is committed: its replication status,
   * its Intelligent-Tiering reference date. Changes `record.extra`.
   */
  commitFacts(ctx: Context, bucket: BucketRecord, record: NewVersion): Promise<void>;
  /** After the store has made the version durable (queue it for replication). */
  versionCommitted(ctx: Context, bucket: BucketRecord, record: NewVersion): void;
  /**
   * Before a version's bytes are read (a GET, a copy's source): refuses an archived object that is
   * not restored (InvalidObjectState) and records the access for Intelligent-Tiering.
   */
  beforeBodyRead(ctx: Context, bucket: BucketRecord, v: ObjectVersionRecord): void;
}
