// The responder: the one place that writes status, headers and bodies — results and S3 error
// documents alike. Handlers return data; this turns it into HTTP.
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { S3Error, S3Errors } from "../errors.js";
import { BucketGoneError } from "../storage/types.js";
import { DiskFullError, isDiskFullError } from "../storage/disk-space.js";
import { toXml } from "../xml/codec.js";
import type { S3Result } from "../s3/types.js";
import type { Logger } from "../log.js";

export interface ResponseIds {
  requestId: string;
  hostId: string;
}

function baseHeaders(res: ServerResponse, ids: ResponseIds): void {
  res.setHeader("x-amz-request-id", ids.requestId);
  res.setHeader("x-amz-id-2", ids.hostId);
  res.setHeader("Server", "Stocktake");
}

export async function sendResult(
  req: IncomingMessage,
  res: ServerResponse,
  result: S3Result,
  ids: ResponseIds,
): Promise<void> {
  baseHeaders(res, ids);
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    if (value === undefined) continue;
    // The edge may have set its own Vary (CORS): the result's adds to it.
    const vary = name.toLowerCase() === "vary" ? res.getHeader("Vary") : undefined;
    res.setHeader(name, vary === undefined ? value : `${String(vary)}, ${value}`);
  }
  res.statusCode = result.status ?? 200;
  const headOnly = req.method === "HEAD" || res.statusCode === 204 || res.statusCode === 304;
  if (result.xml) {
    const text = Buffer.from(toXml(result.xml.root, result.xml.value));
    res.setHeader("Content-Type", "application/xml");
    res.setHeader("Content-Length", text.length);
    res.end(headOnly ? undefined : text);
    return;
  }
  if (result.body === undefined || headOnly) {
    if (result.body instanceof Readable) result.body.destroy();
    if (!res.hasHeader("Content-Length") && res.statusCode !== 204 && res.statusCode !== 304) {
      res.setHeader("Content-Length", 0);
    }
    res.end();
    return;
  }
  if (Buffer.isBuffer(result.body)) {
    if (!res.hasHeader("Content-Length")) res.setHeader("Content-Length", result.body.length);
    res.end(result.body);
    return;
  }
  // A failure mid-body cannot become an error document any more: the client sees a short body.
  await pipeline(result.body, res);
}

/**
 * Writes S3's <Error> document for any thrown value; unknown failures become InternalError.
 * Returns the error answered (or, once the headers were sent, that would have been).
 */
export function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  err: unknown,
  ids: ResponseIds,
  resource: string,
  log: Logger,
): S3Error {
  let s3err: S3Error;
  if (err instanceof S3Error) {
    s3err = err;
  } else if (err instanceof BucketGoneError) {
    // The bucket was deleted while this request was in flight: the write was refused in its commit.
    s3err = new S3Error("NoSuchBucket", undefined, { BucketName: err.bucket });
  } else if (isDiskFullError(err)) {
    // The disk filled up under this request (ENOSPC, SQLITE_FULL), or it was refused because the
    // disk is full: not a fault to hide behind InternalError. Refusals are logged once, by the
    // disk-full state; a write that met the full disk is logged here.
    if (!(err instanceof DiskFullError)) {
      log.warn("a request met a full disk", { requestId: ids.requestId, method: req.method, url: req.url, error: String(err) });
    }
    s3err = new S3Error("InsufficientStorage");
  } else if (clientWentAway(req, err)) {
    // The client closed the connection (mid-body or mid-download): nobody reads an answer, and it
    // is not a server fault. S3 counts it as an incomplete body.
    log.warn("client closed the connection", { requestId: ids.requestId, method: req.method, url: req.url, error: String(err) });
    s3err = new S3Error("IncompleteBody");
  } else {
    log.error("internal error", {
      requestId: ids.requestId,
      method: req.method,
      url: req.url,
      error: err instanceof Error ? err.stack : String(err),
    });
    s3err = new S3Error("InternalError");
  }
  if (res.headersSent) {
    res.destroy();
    return s3err;
  }
  // Clear headers a handler may have set for a success it did not reach; the edge's CORS headers
  // stay, since S3 sends them on errors too and a browser needs them to read the error.
  for (const name of res.getHeaderNames()) if (name !== "connection" && name !== "vary" && !name.startsWith("access-control-")) res.removeHeader(name);
  baseHeaders(res, ids);
  for (const [name, value] of Object.entries(s3err.headers)) res.setHeader(name, value);
  res.statusCode = s3err.status;
  if (req.method === "HEAD" || s3err.status === 304) {
    res.end();
    return s3err;
  }
  const body = Buffer.from(
    toXml(
      "Error",
      {
        Code: s3err.code,
        Message: s3err.message,
        ...s3err.details,
        Resource: resource,
        RequestId: ids.requestId,
        HostId: ids.hostId,
      },
      null,
    ),
  );
  res.setHeader("Content-Type", "application/xml");
  res.setHeader("Content-Length", body.length);
  res.end(body);
  return s3err;
}

/** Errors node raises when the peer goes away, on a connection that is indeed closed. */
function clientWentAway(req: IncomingMessage, err: unknown): boolean {
  // A failed stream.pipeline() that included the request sets req.socket to null.
  if (!req.socket?.destroyed || !(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return err.message === "aborted" || code === "ECONNRESET" || code === "EPIPE" || code === "ERR_STREAM_PREMATURE_CLOSE";
}

export function isKnownCode(code: string): boolean {
  return Object.prototype.hasOwnProperty.call(S3Errors, code);
}

/**
 * A whole HTTP response carrying S3's <Error> document, for errors node's HTTP parser meets before
 * any request object exists (oversized headers, an unparseable request line, a header timeout):
 * it is written straight to the socket, and the connection closes after it.
 */
export function rawErrorResponse(err: S3Error, ids: ResponseIds): string {
  const body = toXml("Error", { Code: err.code, Message: err.message, ...err.details, RequestId: ids.requestId, HostId: ids.hostId }, null);
  return [
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? ""}`,
    `x-amz-request-id: ${ids.requestId}`,
    `x-amz-id-2: ${ids.hostId}`,
    "Server: Stocktake",
    "Content-Type: application/xml",
    `Content-Length: ${Buffer.byteLength(body)}`,
    "Connection: close",
    "",
    body,
  ].join("\r\n");
}
