// The HTTP edge: every request passes addressing → authentication → classification → the
// operation row's checks (bucket exists, expected owner, authorization) → the handler → the
// responder. This is the only module that sees node's req/res.
import { createServer, maxHeaderSize, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { randomBytes } from "node:crypto";
import { S3Error } from "../errors.js";
import { resolveAddress } from "./addressing.js";
import { classify } from "./classify.js";
import { OPERATIONS, requiredActions } from "./operations.js";
import { rawErrorResponse, sendError, sendResult, type ResponseIds } from "./respond.js";
import type { Principal, S3Request, ServerContext } from "./types.js";
import { authenticate, decodeBody } from "../auth/sigv4.js";
import { authorizeActions, checkExpectedOwner, requestConditionContext } from "../auth/authorize.js";
import { aclGrants } from "../s3/capability-hooks.js";
import { isValidBucketName } from "../bucket-names.js";

export type SigningKeyLookup = (accessKeyId: string) => { secretAccessKey: string; accountId: string } | undefined;

const ignore = () => undefined;

/** Bodies up to this size are read and discarded after an early error, so the client sees the answer. */
const DRAIN_MAX_BYTES = 8 * 1024 * 1024;

/**
 * After an error answered before the body was read: discard a small remaining body so the client,
 * still sending, reads the error and the connection stays usable. Returns false when the body is
 * too large (or of unknown size) to wait for; the connection is then closed after the answer.
 */
function drainRequest(req: IncomingMessage): boolean {
  const declared = Number(req.headers["content-length"]);
  if (!Number.isFinite(declared) || declared > DRAIN_MAX_BYTES) return false;
  req.unpipe();
  req.on("data", ignore);
  req.resume();
  return true;
}

function newIds(): ResponseIds {
  return {
    requestId: randomBytes(8).toString("hex").toUpperCase(),
    hostId: randomBytes(24).toString("base64"),
  };
}

export function createHttpServer(ctx: ServerContext, lookup: SigningKeyLookup): Server {
  const server = createServer({ requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 5_000 }, (req, res) => {
    void handle(ctx, lookup, req, res);
  });
  // A body that stalls longer than this is answered RequestTimeout and closed (see handle).
  server.timeout = ctx.config.bodyIdleTimeoutMs;
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) {
      socket.destroy(err);
      return;
    }
    socket.end(rawErrorResponse(parserError(err), newIds()));
  });
  return server;
}

/** The S3 error for a request node's HTTP parser refused. */
function parserError(err: NodeJS.ErrnoException): S3Error {
  switch (err.code) {
    case "HPE_HEADER_OVERFLOW":
      return new S3Error("RequestHeaderSectionTooLarge", undefined, { MaxSizeAllowed: String(maxHeaderSize) });
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return new S3Error("RequestTimeout");
    default:
      return new S3Error("InvalidRequest", "The HTTP request could not be parsed.");
  }
}

async function handle(ctx: ServerContext, lookup: SigningKeyLookup, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const ids = newIds();
  const rawUrl = req.url ?? "/";
  let resource = rawUrl.split("?")[0] ?? "/";
  let op: string | undefined;
  // A body that stalls past the idle timeout gets S3's RequestTimeout and the connection closes;
  // the handler still reading it then fails on the closed socket and answers nothing more. Node
  // emits this only while the request body is incomplete, and without a listener it would drop
  // the connection with no answer at all.
  req.on("timeout", () => {
    if (res.headersSent) {
      req.socket.destroy();
      return;
    }
    res.setHeader("Connection", "close");
    sendError(req, res, new S3Error("RequestTimeout"), ids, resource, ctx.log);
    res.once("finish", () => req.destroy());
  });
  try {
    const address = resolveAddress(rawUrl, req.headers.host, ctx.config.baseDomains);
    resource = address.bucket === undefined ? "/" : "/" + address.bucket + (address.key === undefined ? "" : "/" + address.key);

    const auth = authenticate({
      method: req.method ?? "GET",
      rawUrl,
      headers: req.headers,
      now: ctx.clock.now(),
      region: ctx.config.region,
      maxSkewMs: ctx.config.maxClockSkewMs,
      lookup,
      hostBucket: address.hostBucket,
    });
    const principal: Principal =
      auth.kind === "anonymous" ? { kind: "anonymous" } : { kind: "account", accountId: auth.accountId, accessKeyId: auth.accessKeyId };

    op = classify({ method: req.method ?? "GET", bucket: address.bucket, key: address.key, query: address.query, headers: req.headers });
    const row = op === undefined ? undefined : OPERATIONS[op];
    if (op === undefined || row === undefined) {
      throw new S3Error("MethodNotAllowed");
    }
    if (!row.handler) {
      ctx.log.warn("operation not implemented", { op, method: req.method, url: rawUrl, requestId: ids.requestId });
      throw new S3Error("NotImplemented", `${op} is not implemented by Stocktake.`);
    }

    let bucketRecord;
    if (row.scope === "service") {
      if (principal.kind === "anonymous") throw new S3Error("AccessDenied");
    } else if (op !== "CreateBucket") {
      const name = address.bucket!;
      bucketRecord = isValidBucketName(name) ? ctx.metadata.getBucket(name) : undefined;
      if (!bucketRecord) throw new S3Error("NoSuchBucket", undefined, { BucketName: name });
      checkExpectedOwner(req.headers["x-amz-expected-bucket-owner"], bucketRecord);
      // A per-key row's handler authorizes each object it names, so a caller allowed on some keys
      // only gets that far. Anonymous callers must still pass the bucket-level check first, as
      // before: we found no S3 documentation of anonymous multi-object delete to follow instead.
      if (!row.perKey || principal.kind === "anonymous") {
        authorizeActions(
          {
            principal,
            bucket: bucketRecord,
            key: address.key,
            policies: ctx.policies,
            context: requestConditionContext(req.headers, address.query, req.socket.remoteAddress ?? "", false, ctx.clock.now(), auth.kind === "signed"),
            aclGrants: aclGrants(ctx, principal, bucketRecord, address.key, address.query.get("versionId")),
          },
          requiredActions(row, address.query, req.headers),
        );
      }
    } else if (principal.kind === "anonymous") {
      throw new S3Error("AccessDenied");
    }

    const decoded = decodeBody(auth, req.headers, req);
    // A handler that answers without reading the body leaves its decoder to fail when the
    // connection closes; that failure is expected and must not become an uncaught error.
    decoded.body.on("error", ignore);

    const declared = req.headers["x-amz-decoded-content-length"] ?? req.headers["content-length"];
    const s3req: S3Request = {
      requestId: ids.requestId,
      method: req.method ?? "GET",
      bucket: address.bucket,
      key: address.key,
      bucketRecord,
      query: address.query,
      headers: req.headers,
      body: decoded.body,
      trailers: decoded.trailers,
      contentLength: declared === undefined ? undefined : Number(declared),
      principal,
      sourceIp: req.socket.remoteAddress ?? "",
      secureTransport: false,
    };
    const result = await row.handler(s3req, ctx);
    await sendResult(req, res, result, ids);
  } catch (err) {
    if (err instanceof S3Error && err.code === "NotImplemented" && op === undefined) {
      ctx.log.warn("unknown request", { method: req.method, url: rawUrl });
    }
    const closeAfter = !res.headersSent && !req.complete && !drainRequest(req);
    if (closeAfter) res.setHeader("Connection", "close");
    sendError(req, res, err, ids, resource, ctx.log);
    if (closeAfter) res.once("finish", () => req.destroy());
  }
}
