// The edge's part of server access logging. For a request to a bucket that logs its requests it
// keeps what only the edge sees (the connection, how the request was signed, whether an ACL is
// what allowed it, the answer's status, error code, bytes and timing) and, once the answer is
// done or the connection has dropped, hands the record to the delivery (src/s3/access-log-delivery.ts).
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/LogFormat.html
import type { IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import type { BucketRecord } from "../storage/types.js";
import type { Principal } from "../auth/principal.js";
import { canonicalIdFor } from "../auth/accounts.js";
import { redactSecrets } from "../log.js";
import type { AccessLogDelivery } from "../s3/access-log-delivery.js";
import type { LoggingConfiguration } from "../s3/bucket-logging.js";
import { operationName, type AccessLogRecord } from "../s3/access-log-format.js";

/** What the edge knows of the request by the time its bucket is found. */
export interface TracedRequest {
  op: string;
  key?: string;
  query: URLSearchParams;
  principal: Principal;
  signed: boolean;
  requestId: string;
  hostId: string;
  /** When the request arrived, by the server's clock, and by performance.now() for durations. */
  receivedAt: Date;
  startedAt: number;
}

/** Reads whose object size is the object's, writes whose object size is the body's. */
const OBJECT_READS = new Set(["GetObject", "HeadObject"]);
const OBJECT_WRITES = new Set(["PutObject", "UploadPart"]);

function declaredLength(req: IncomingMessage): number | undefined {
  const declared = req.headers["x-amz-decoded-content-length"] ?? req.headers["content-length"];
  const n = Number(Array.isArray(declared) ? declared[0] : declared);
  return declared === undefined || !Number.isFinite(n) ? undefined : n;
}

export class AccessTrace {
  private aclRequired = false;
  private errorCode: string | undefined;
  private answeredAt: number | undefined;
  private bodyEndedAt: number | undefined;
  private readonly remoteIp: string | undefined;

  constructor(
    private readonly logs: AccessLogDelivery,
    private readonly bucket: BucketRecord,
    private readonly config: LoggingConfiguration,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly facts: TracedRequest,
  ) {
    // Read now: a destroyed socket forgets its peer.
    this.remoteIp = req.socket.remoteAddress?.replace(/^::ffff:/, "");
    req.once("end", () => (this.bodyEndedAt = performance.now()));
    res.once("close", () => this.finish());
  }

  /** The ACL check authorize() asks last, watched: a grant is then what allowed the request. */
  watchAcl(check: (action: string) => Promise<boolean>): (action: string) => Promise<boolean> {
    return async (action) => {
      const granted = await check(action);
      if (granted) this.aclRequired = true;
      return granted;
    };
  }

  /** The edge starts writing the answer (with this S3 error code, for an error). */
  answered(errorCode?: string): void {
    this.answeredAt ??= performance.now();
    this.errorCode ??= errorCode;
  }

  private signature(): Pick<AccessLogRecord, "signatureVersion" | "authType"> {
    if (!this.facts.signed) return {};
    const authorization = this.req.headers.authorization;
    if (authorization !== undefined) return { signatureVersion: authorization.startsWith("AWS4-") ? "SigV4" : "SigV2", authType: "AuthHeader" };
    return { signatureVersion: this.facts.query.has("X-Amz-Signature") ? "SigV4" : "SigV2", authType: "QueryString" };
  }

  private objectSize(contentLength: number | undefined): number | undefined {
    const { op } = this.facts;
    if (OBJECT_READS.has(op) && this.res.statusCode < 300) {
      const total = /\/(\d+)$/.exec(String(this.res.getHeader("content-range") ?? ""));
      return total ? Number(total[1]) : contentLength;
    }
    return OBJECT_WRITES.has(op) ? declaredLength(this.req) : undefined;
  }

  /**
   * Turn-around time runs from the request's last byte to the answer's first: a request without
   * a body has had its last byte when it arrived; one whose body was never read has none to count.
   */
  private turnAroundTime(): number | undefined {
    if (this.answeredAt === undefined) return undefined;
    const { headers } = this.req;
    const bodiless = headers["transfer-encoding"] === undefined && Number(headers["content-length"] ?? 0) === 0;
    const requestEnd = this.bodyEndedAt ?? (bodiless ? this.facts.startedAt : undefined);
    return requestEnd === undefined ? undefined : Math.max(0, Math.round(this.answeredAt - requestEnd));
  }

  private finish(): void {
    const { req, res, facts } = this;
    const length = Number(res.getHeader("content-length"));
    const contentLength = Number.isFinite(length) ? length : undefined;
    const { principal } = facts;
    this.logs.record(this.bucket, this.config, {
      bucketOwner: canonicalIdFor(this.bucket.ownerAccountId),
      bucket: this.bucket.name,
      time: facts.receivedAt,
      remoteIp: this.remoteIp,
      requester: principal.kind === "account" ? canonicalIdFor(principal.accountId) : undefined,
      requestId: facts.requestId,
      operation: operationName(facts.op, req.method ?? "GET"),
      key: facts.key,
      // A presigned URL's signature and credential stay out of the log, as out of the server's.
      requestUri: `${req.method ?? "GET"} ${String(redactSecrets(req.url ?? "/"))} HTTP/${req.httpVersion}`,
      status: res.statusCode,
      errorCode: this.errorCode,
      // Only an answer sent whole is known to have sent its Content-Length.
      bytesSent: res.writableFinished && req.method !== "HEAD" ? contentLength : undefined,
      objectSize: this.objectSize(contentLength),
      totalTimeMs: Math.round(performance.now() - facts.startedAt),
      turnAroundTimeMs: this.turnAroundTime(),
      // A page opened through a presigned URL sends that URL as the Referer of what it loads.
      referer: redactHeader(req.headers.referer),
      userAgent: redactHeader(req.headers["user-agent"]),
      versionId: facts.query.get("versionId") ?? undefined,
      hostId: facts.hostId,
      ...this.signature(),
      hostHeader: req.headers.host,
      aclRequired: this.aclRequired,
    });
  }
}

/** A trace of the request when its bucket logs requests; otherwise undefined, for a cache lookup. */
export async function traceAccess(
  logs: AccessLogDelivery | undefined,
  bucket: BucketRecord,
  req: IncomingMessage,
  res: ServerResponse,
  facts: TracedRequest,
): Promise<AccessTrace | undefined> {
  const config = logs && (await logs.configOf(bucket.name));
  return config ? new AccessTrace(logs!, bucket, config, req, res, facts) : undefined;
}

function redactHeader(value: string | undefined): string | undefined {
  return value === undefined ? undefined : String(redactSecrets(value));
}
