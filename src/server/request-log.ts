// The request line: one log line per request, written when its answer is done or its connection
// has closed, whichever comes first (docs/logging.md lists its fields and what they mean).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import type { Logger } from "../log.js";
import type { S3Error } from "../errors.js";
import type { Principal } from "../auth/principal.js";
import type { Address } from "./addressing.js";
import { classify } from "./classify.js";
import type { ResponseIds } from "./respond.js";

/**
 * nginx's "client closed request": the connection closed before any answer was sent, so there is
 * no HTTP status to log, and pipelines that count statuses already know this one.
 */
const CLOSED_UNANSWERED = 499;

/** What the edge learns of a request as it goes; what it never learns is left out of the line. */
export class RequestLine {
  address: Address | undefined;
  principal: Principal | undefined;
  operation: string | undefined;
  errorCode: string | undefined;
  /**
   * Set for the /_stocktake/ endpoints: an orchestrator probes health every few seconds and
   * Prometheus scrapes as often, which would bury the S3 traffic; the metrics count neither either.
   */
  skipped = false;
  private readonly socket: Socket;
  // Read now: a destroyed socket forgets its peer.
  private readonly remoteAddress: string | undefined;
  private readonly readAtStart: number;
  private readonly writtenAtStart: number;

  constructor(
    private readonly log: Logger,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly ids: ResponseIds,
    private readonly startedAt: number,
  ) {
    this.socket = req.socket;
    this.remoteAddress = this.socket.remoteAddress;
    this.readAtStart = this.socket.bytesRead;
    this.writtenAtStart = this.socket.bytesWritten;
    res.once("close", () => this.write());
  }

  /**
   * The body's length when it arrived whole with a Content-Length (exact); otherwise what the
   * connection read after the head, a lower bound (bytes that came with the head are not seen).
   */
  private bytesIn(): number {
    const { headers } = this.req;
    if (this.req.complete && headers["transfer-encoding"] === undefined) return Number(headers["content-length"] ?? 0) || 0;
    return this.socket.bytesRead - this.readAtStart;
  }

  /** The Content-Length of an answer sent whole; for one cut short, what the connection sent, head included. */
  private bytesOut(): number {
    const { res } = this;
    if (!res.writableFinished) return this.socket.bytesWritten - this.writtenAtStart;
    if (this.req.method === "HEAD" || res.statusCode === 204 || res.statusCode === 304) return 0;
    return Number(res.getHeader("content-length") ?? 0) || 0;
  }

  private write(): void {
    if (this.skipped) return;
    const { req, res, address } = this;
    const answered = res.headersSent;
    const status = answered ? res.statusCode : CLOSED_UNANSWERED;
    const method = req.method ?? "GET";
    // A request refused before it was classified (a bad signature, say) is still named.
    const operation =
      this.operation ?? (address && classify({ method, bucket: address.bucket, key: address.key, query: address.query, headers: req.headers }));
    const fields = {
      requestId: this.ids.requestId,
      hostId: this.ids.hostId,
      account: this.principal?.kind === "account" ? this.principal.accountId : "anonymous",
      operation,
      method,
      bucket: address?.bucket,
      key: address?.key,
      status,
      errorCode: this.errorCode,
      bytesIn: this.bytesIn(),
      bytesOut: this.bytesOut(),
      durationMs: Math.round((performance.now() - this.startedAt) * 100) / 100,
      remoteAddress: this.remoteAddress,
      aborted: res.writableFinished ? undefined : true,
    };
    // A 500 is a failure to look into; a deliberate 5xx (501 NotImplemented, 503 SlowDown under
    // load, 507 on a full disk) is the server coping, and alerting on "error" should not fire for it.
    if (status === 500) this.log.error("request", fields);
    else if (status > 500) this.log.warn("request", fields);
    else this.log.info("request", fields);
  }
}

/** The line of a request node's HTTP parser refused: no request object exists, only its connection. */
export function logUnparsedRequest(log: Logger, remoteAddress: string | undefined, ids: ResponseIds, answer: S3Error): void {
  log.info("request", {
    requestId: ids.requestId,
    hostId: ids.hostId,
    account: "anonymous",
    status: answer.status,
    errorCode: answer.code,
    remoteAddress,
  });
}
