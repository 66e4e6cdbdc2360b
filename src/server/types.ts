// The typed request a capability module receives and the typed result it returns. Handlers never
// see node's req/res: the edge (src/server/http.ts) builds an S3Request and writes the S3Result.
import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import type { Clock } from "../clock.js";
import type { BlobStore, BucketRecord, MetadataStore } from "../storage/types.js";
import type { ServerConfig } from "../config.js";
import type { Logger } from "../log.js";
import type { BucketPolicies } from "../auth/bucket-policies.js";
import type { InventoryRun } from "../inventory/run.js";
import type { KeyService } from "../crypto/kms.js";
import type { BucketSettings } from "../storage/bucket-settings.js";
import type { DiskSpace } from "../storage/disk-space.js";
import type { Principal } from "../auth/principal.js";

/** Who is making the request (defined in auth/, which depends on nothing above it). */
export type { Principal };

export interface ServerContext {
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
  /** Inventory runs in progress, by run id, with their live row and byte counts. */
  activeRuns: Map<string, InventoryRun>;
  /** The data disk's free space: whether it is full (writes refused, deletes served). */
  disk: DiskSpace;
}

export interface S3Request {
  requestId: string;
  method: string;
  bucket?: string;
  key?: string;
  /**
   * The addressed bucket, loaded (and checked to exist, match x-amz-expected-bucket-owner and
   * authorize the caller) by the edge for every bucket and object operation except CreateBucket.
   */
  bucketRecord?: BucketRecord;
  query: URLSearchParams;
  /** Lower-case header names, as node gives them. */
  headers: IncomingHttpHeaders;
  /**
   * The payload with any aws-chunked framing removed. Signature, x-amz-content-sha256 and trailing
   * checksums are verified as it streams: a failure surfaces as an S3Error 'error' event.
   */
  body: Readable;
  /** Trailing headers of an aws-chunked body (x-amz-checksum-*), known once `body` has ended. */
  trailers(): Record<string, string>;
  /** Length of the decoded payload when the client declared it. */
  contentLength?: number;
  principal: Principal;
  /** The caller's client address, for policy conditions (aws:SourceIp). */
  sourceIp: string;
  secureTransport: boolean;
}

export interface XmlBody {
  /** The root element's name, e.g. "ListBucketResult". */
  root: string;
  /** The element tree: objects are elements, arrays repeat an element, undefined is omitted. */
  value: Record<string, unknown>;
}

export interface S3Result {
  status?: number;
  headers?: Record<string, string | number | undefined>;
  xml?: XmlBody;
  body?: Readable | Buffer;
}

export type Handler = (req: S3Request, ctx: ServerContext) => Promise<S3Result>;
