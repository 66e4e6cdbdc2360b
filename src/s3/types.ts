// The typed request a capability module receives and the typed result it returns. Handlers never
// see node's req/res: the edge (src/server/http.ts) builds an S3Request and writes the S3Result.
import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import type { BucketRecord, ObjectVersionRecord } from "../storage/types.js";
import type { Tag } from "../core/tags.js";
import type { Principal } from "../auth/principal.js";
import type { InventoryContext } from "../inventory/run.js";

/**
 * What a handler receives: the domain's context (src/core/context.ts) and the inventory engine's
 * runs in progress, which ListBucketInventoryRuns reports live.
 */
export type ServerContext = InventoryContext;

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
  /**
   * The addressed version as the edge read it to decide the request, when the bucket policy names
   * an s3:ExistingObjectTag key (`version` undefined: there was none). Handlers act on this very
   * record (addressedVersion), so the tags the decision saw are those of the version served, and
   * changes check them again inside their write (checkDecidedTags).
   */
  addressed?: { version: ObjectVersionRecord | undefined };
  /**
   * Set when the bucket policy names an s3:RequestObjectTag key and only the handler learns the
   * tags the request sets (PutObjectTagging's body, the source tags a CopyObject keeps): the edge
   * has decided nothing yet, and the handler must call this with those tags before it acts.
   * Throws AccessDenied.
   */
  authorizeRequestTags?: (tags: readonly Tag[]) => Promise<void>;
  /** The caller's client address, for policy conditions (aws:SourceIp). */
  sourceIp: string;
  secureTransport: boolean;
  /** Whether SSE-C keys may arrive on this connection: over TLS, or from loopback with --allow-insecure-sse-c. */
  customerKeysAllowed: boolean;
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
