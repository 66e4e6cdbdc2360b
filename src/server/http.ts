// The HTTP edge: every request passes addressing → authentication → classification → the
// operation row's checks (bucket exists, expected owner, authorization) → the handler → the
// responder. This is the only module that sees node's req/res.
import { maxHeaderSize, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { S3Error } from "../errors.js";
import { resolveAddress } from "./addressing.js";
import { classify } from "./classify.js";
import { OPERATIONS } from "./operations.js";
import { authorizeRequest, type EdgeDecision } from "./authorization.js";
import { rawErrorResponse, sendError, sendResult, type ResponseIds } from "./respond.js";
import type { S3Request, ServerContext } from "../s3/types.js";
import type { Principal } from "../auth/principal.js";
import { changeOrigins } from "../storage/change-log.js";
import { authenticateClaimed, decodeBody, type AsyncSigningKeyLookup } from "../auth/sigv4.js";
import { corsResponseHeaders, preflight } from "../s3/cors.js";
import { checkExpectedOwner, requestConditionContext } from "../auth/authorize.js";
import { aclGrants } from "../s3/capability-hooks.js";
import { isValidBucketName } from "../bucket-names.js";
import { refusedWhenDiskFull } from "./disk-full.js";
import { BodyRateGuard, ConnectionGate } from "./connections.js";
import { readOpenFileLimit } from "../config.js";
import type { AccessLogDelivery } from "../s3/access-log-delivery.js";
import { traceAccess, type AccessTrace } from "./access-log-trace.js";
import { EdgeServer, TlsEdgeServer, type EdgeLimits } from "./edge-server.js";
import { customerKeysMayArrive, isSecureTransport, type Certificate } from "./tls.js";
import { refuseCustomerKeysInTheClear } from "../crypto/sse.js";
import { logUnparsedRequest, RequestLine } from "./request-log.js";
import { answerObservability, observabilityEndpoint, type Observability } from "./observability.js";
import { CONSOLE_DIR, ConsoleFiles } from "./console.js";
import { answerIcebergCatalog, claimsIcebergCatalog } from "./iceberg-catalog.js";
import { UNKNOWN_OPERATION } from "./metrics.js";

export type SigningKeyLookup = AsyncSigningKeyLookup;

const ignore = () => undefined;

/**
 * After an error answered before the body was read, a remaining body up to this size is read and
 * discarded so the connection stays usable, if it arrives within DRAIN_MAX_MS; a larger one, or
 * one that does not arrive in time, closes the connection. Without the deadline a client that
 * trickles a small body would hold the connection, and a descriptor, for as long as it likes.
 */
const DRAIN_MAX_BYTES = 1024 * 1024;
const DRAIN_MAX_MS = 2_000;
/**
 * How long a connection closed after such an answer is still read from (and the bytes thrown
 * away): closing while request bytes are arriving sends a reset, and a client still sending its
 * body may then lose the answer before reading it.
 */
const LINGER_MS = 1_000;

/** Whether the rest of a request refused early is small enough to read and discard. */
function drainable(req: IncomingMessage): boolean {
  if (req.headers["transfer-encoding"] !== undefined) return false;
  const declared = Number(req.headers["content-length"]);
  return Number.isFinite(declared) && declared <= DRAIN_MAX_BYTES;
}

/** Discards the rest of the body; a body that has not all arrived within DRAIN_MAX_MS closes the connection. */
function drain(req: IncomingMessage, socket: Socket): void {
  req.unpipe();
  req.on("data", ignore);
  req.resume();
  const timer = setTimeout(() => {
    if (!req.complete) socket.destroy();
  }, DRAIN_MAX_MS);
  const stop = () => clearTimeout(timer);
  req.once("end", stop);
  socket.once("close", stop);
}

/**
 * Closes a connection whose answer (sent with Connection: close) is out: our side is shut at once,
 * and what the client still sends is read and thrown away for up to LINGER_MS.
 */
function lingerClose(gate: ConnectionGate, socket: Socket): void {
  if (socket.destroyed) return;
  gate.closing(socket);
  // Node's destroySoon(), run because of Connection: close, destroys the socket once the answer is
  // flushed; taking that listener off leaves the close to the timer and the client's own FIN.
  socket.removeListener("finish", socket.destroy);
  if (!socket.writableEnded) socket.end();
  if (socket.readableEnded) {
    socket.destroySoon();
    return;
  }
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  socket.once("end", () => socket.destroy());
  socket.once("close", () => clearTimeout(timer));
}

/** Errors of a process out of file descriptors: the server is at capacity, not broken. */
function outOfDescriptors(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EMFILE" || code === "ENFILE") return true;
  }
  return false;
}

/** An account's id, or the service principal's name; undefined for an anonymous caller. */
function requesterOf(principal: Principal): string | undefined {
  if (principal.kind === "account") return principal.accountId;
  if (principal.kind === "service") return principal.service;
  return undefined;
}

function newIds(): ResponseIds {
  return {
    requestId: randomBytes(8).toString("hex").toUpperCase(),
    hostId: randomBytes(24).toString("base64"),
  };
}

/** What the edge keeps per server: the connection gate, the body rate guard, the access logs. */
interface Edge extends EdgeLimits {
  accessLogs?: AccessLogDelivery;
  /** Health, metrics and the /_stocktake/ endpoints that serve them. */
  observability?: Observability;
  /** The web console's files at /_stocktake/console/, unless turned off. */
  console?: ConsoleFiles;
}

/** Accept failures are logged at most this often, with counts. */
const ACCEPT_WARN_EVERY_MS = 10_000;

/** HTTPS with `certificate`, else plain HTTP. */
export function createHttpServer(
  ctx: ServerContext,
  lookup: SigningKeyLookup,
  accessLogs?: AccessLogDelivery,
  certificate?: Certificate,
  observability?: Observability,
): EdgeServer | TlsEdgeServer {
  const { maxConnections, minBodyBytesPerSecond, bodyRateWindowMs } = ctx.config;
  const edge: Edge = {
    gate: new ConnectionGate(maxConnections, () => rawErrorResponse(new S3Error("SlowDown"), newIds()), ctx.log),
    bodies: new BodyRateGuard(minBodyBytesPerSecond, bodyRateWindowMs),
    accessLogs,
    observability,
    console: ctx.config.console ? new ConsoleFiles(ctx.config.consoleDir ?? CONSOLE_DIR, ctx.config.region) : undefined,
  };
  if (observability) observability.metrics.openConnections = () => edge.gate.open;
  const fdLimit = readOpenFileLimit();
  if (fdLimit !== undefined && maxConnections * 2 > fdLimit) {
    ctx.log.warn("the connection limit is close to the open-file limit: requests may fail for want of descriptors", { maxConnections, openFileLimit: fdLimit });
  }
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    // handle() answers its own failures; one thrown while answering would otherwise be an
    // unhandled rejection, which stops the whole process.
    handle(ctx, edge, lookup, req, res).catch((err: unknown) => {
      ctx.log.error("internal error", { method: req.method, url: req.url, error: err instanceof Error ? err.stack : String(err) });
      socket.destroy();
    });
  };
  const server = certificate === undefined ? new EdgeServer(edge, handler) : new TlsEdgeServer(edge, certificate, handler);
  // A body that stalls longer than this is answered RequestTimeout and closed (see handle).
  server.timeout = ctx.config.bodyIdleTimeoutMs;
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) {
      socket.destroy(err);
      return;
    }
    const ids = newIds();
    const answer = parserError(err);
    if (ctx.config.logRequests) logUnparsedRequest(ctx.log, (socket as Socket).remoteAddress, ids, answer);
    socket.end(rawErrorResponse(answer, ids));
  });
  // Without a listener an 'error' event throws: a failed accept (EMFILE when descriptors run out)
  // would stop the whole server. libuv has already closed the connection it could not take; room
  // is made for the next ones by closing connections that can go. Errors before listening (such
  // as EADDRINUSE) are startServer's to report.
  let acceptWarnedAt = -Infinity;
  let acceptFailures = 0;
  server.on("error", (err: NodeJS.ErrnoException) => {
    if (err.syscall !== "accept") {
      if (server.listening) ctx.log.error("server error", { error: String(err) });
      return;
    }
    acceptFailures++;
    if (outOfDescriptors(err)) edge.gate.shed(8);
    if (Date.now() - acceptWarnedAt >= ACCEPT_WARN_EVERY_MS) {
      ctx.log.warn("could not accept connections", { error: err.code ?? String(err), count: acceptFailures, open: edge.gate.open });
      acceptWarnedAt = Date.now();
      acceptFailures = 0;
    }
  });
  server.on("close", () => edge.bodies.stop());
  // With a listener, node leaves "100 Continue" to us (handle sends it once the request has passed
  // authentication, authorization and the disk check), so a client that waits for it before
  // sending its body (boto3, the aws CLI, curl) sends nothing when it is refused.
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => {
    void handle(ctx, edge, lookup, req, res);
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

async function handle(ctx: ServerContext, edge: Edge, lookup: SigningKeyLookup, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const socket = req.socket;
  // A request pipelined behind one whose connection is closing (or was evicted) is not served.
  const standing = edge.gate.requestStarted(socket);
  if (standing === false) {
    socket.destroy();
    return;
  }
  // The connection is idle again once the answer is out and the body read; an answer sent while
  // the body is still arriving leaves it discarding that body, first in line for eviction.
  let settled = false;
  const settle = () => {
    if (settled || !res.writableFinished || !req.complete) return;
    settled = true;
    edge.gate.requestSettled(socket);
  };
  res.once("finish", () => {
    if (!req.complete) edge.gate.discarding(socket);
    settle();
  });
  req.once("end", settle);

  const ids = newIds();
  const secureTransport = isSecureTransport(socket);
  const receivedAt = ctx.clock.now();
  const startedAt = performance.now();
  // Set false for the /_stocktake/ endpoints: scrapes and probes are not S3 traffic.
  let metered = true;
  const metrics = edge.observability?.metrics;
  if (metrics) {
    const { bytesWritten } = socket;
    res.once("close", () => {
      const bytesRead = metrics.bytesReadFor(socket);
      if (metered) metrics.requestDone(op ?? UNKNOWN_OPERATION, res.statusCode, (performance.now() - startedAt) / 1000, bytesRead, socket.bytesWritten - bytesWritten);
    });
  }
  const line = ctx.config.logRequests ? new RequestLine(ctx.log, req, res, ids, startedAt) : undefined;
  const rawUrl = req.url ?? "/";
  // Expect: 100-continue (node emitted checkContinue): the client holds its body until told.
  let awaitingContinue = req.headers.expect?.toLowerCase() === "100-continue";
  let resource = rawUrl.split("?")[0] ?? "/";
  let op: string | undefined;
  // Set once the request's bucket is found, when that bucket logs its requests.
  let trace: AccessTrace | undefined;
  // A body that stalls past the idle timeout, or arrives slower than the minimum rate, gets S3's
  // RequestTimeout and the connection closes; the handler still reading it then fails on the
  // closed socket and answers nothing more. Node emits 'timeout' only while the request body is
  // incomplete, and without a listener it would drop the connection with no answer at all.
  const timedOut = () => {
    if (res.headersSent) {
      socket.destroy();
      return;
    }
    edge.gate.closing(socket);
    res.setHeader("Connection", "close");
    const answered = sendError(req, res, new S3Error("RequestTimeout"), ids, resource, ctx.log);
    trace?.answered(answered.code);
    if (line) line.errorCode = answered.code;
    res.once("finish", () => req.destroy());
  };
  req.on("timeout", timedOut);
  edge.bodies.watch(req, timedOut);
  try {
    const address = resolveAddress(rawUrl, req.headers.host, ctx.config.baseDomains);
    resource = address.bucket === undefined ? "/" : "/" + address.bucket + (address.key === undefined ? "" : "/" + address.key);
    if (line) line.address = address;

    const endpoint = edge.observability && observabilityEndpoint(rawUrl, address.hostBucket);
    if (endpoint) {
      metered = false;
      if (line) line.skipped = true;
      // Unsigned, so not served on a reserved slot (see ConnectionGate).
      if (standing === "reserved" && edge.gate.confirm(socket, false) === "refused") throw new S3Error("SlowDown");
      await answerObservability(ctx, edge.observability!, endpoint, req, res);
      return;
    }

    if (edge.console && ConsoleFiles.claims(rawUrl, address.hostBucket)) {
      metered = false;
      if (line) line.skipped = true;
      // Unsigned, so not served on a reserved slot (see ConnectionGate).
      if (standing === "reserved" && edge.gate.confirm(socket, false) === "refused") throw new S3Error("SlowDown");
      await edge.console.answer(req, res);
      return;
    }

    if (claimsIcebergCatalog(rawUrl, address.hostBucket)) {
      metered = false;
      if (line) line.skipped = true;
      // Not served on a reserved slot, as the console is not (see ConnectionGate).
      if (standing === "reserved" && edge.gate.confirm(socket, false) === "refused") throw new S3Error("SlowDown");
      await answerIcebergCatalog(ctx, lookup, req, res);
      return;
    }

    // A CORS preflight is never signed (a browser sends it before the request it asks about).
    if (req.method === "OPTIONS" && address.bucket !== undefined) {
      // Unsigned, so not served on a reserved slot (see ConnectionGate).
      if (standing === "reserved" && edge.gate.confirm(socket, false) === "refused") throw new S3Error("SlowDown");
      const answer = await preflight(ctx, address.bucket, req.headers);
      await sendResult(req, res, answer, ids);
      return;
    }

    const auth = await authenticateClaimed({
      method: req.method ?? "GET",
      rawUrl,
      headers: req.headers,
      now: ctx.clock.now(),
      region: ctx.config.region,
      maxSkewMs: ctx.config.maxClockSkewMs,
      hostBucket: address.hostBucket,
    }, lookup);
    if (auth.kind === "signed" && auth.queryHeaders) {
      // Signed with the URL, so they count as the request's own headers from here on: for choosing
      // the operation, for policy conditions and for the handler alike. A header sent as well wins
      // (authentication has checked that an unsigned one repeats the query's value).
      for (const [name, value] of Object.entries(auth.queryHeaders)) req.headers[name] ??= value;
    }
    const principal: Principal =
      auth.kind === "anonymous" ? { kind: "anonymous" } : { kind: "account", accountId: auth.accountId, accessKeyId: auth.accessKeyId };
    if (line) line.principal = principal;
    // Admitted on a reserved slot (the server is at its connection limit): served only if signed.
    if (standing === "reserved") {
      const outcome = edge.gate.confirm(socket, auth.kind === "signed");
      if (outcome === "refused") throw new S3Error("SlowDown");
      if (outcome === "once") {
        edge.gate.closing(socket);
        res.setHeader("Connection", "close");
      }
    }

    op = classify({ method: req.method ?? "GET", bucket: address.bucket, key: address.key, query: address.query, headers: req.headers });
    if (line) line.operation = op;
    const row = op === undefined ? undefined : OPERATIONS[op];
    if (op === undefined || row === undefined) {
      ctx.log.warn("unknown request", { method: req.method, url: rawUrl, requestId: ids.requestId });
      throw new S3Error("MethodNotAllowed");
    }
    if (!row.handler) {
      ctx.log.warn("operation not implemented", { op, method: req.method, url: rawUrl, requestId: ids.requestId });
      throw new S3Error("NotImplemented", `${op} is not implemented by Stocktake.`);
    }
    const customerKeysAllowed = customerKeysMayArrive(secureTransport, socket.remoteAddress, ctx.config.allowInsecureSseC);
    if (!customerKeysAllowed) refuseCustomerKeysInTheClear(Object.keys(req.headers));

    let bucketRecord;
    let decision: EdgeDecision = {};
    if (row.scope === "service") {
      if (principal.kind === "anonymous") throw new S3Error("AccessDenied");
    } else if (op !== "CreateBucket") {
      const name = address.bucket!;
      bucketRecord = isValidBucketName(name) ? await ctx.metadata.getBucket(name) : undefined;
      if (!bucketRecord) throw new S3Error("NoSuchBucket", undefined, { BucketName: name });
      trace = await traceAccess(edge.accessLogs, bucketRecord, req, res, {
        op,
        key: address.key,
        query: address.query,
        principal,
        signed: auth.kind === "signed",
        requestId: ids.requestId,
        hostId: ids.hostId,
        receivedAt,
        startedAt,
      });
      if (req.headers.origin !== undefined) {
        // On the answer whatever it is, errors included, as S3 does: the page can read why it failed.
        for (const [header, value] of Object.entries(await corsResponseHeaders(ctx, bucketRecord.name, req.method ?? "GET", req.headers))) res.setHeader(header, value);
      }
      checkExpectedOwner(req.headers["x-amz-expected-bucket-owner"], bucketRecord);
      // A per-key row's handler authorizes each object it names, so a caller allowed on some keys
      // only gets that far. Anonymous callers must still pass the bucket-level check first, as
      // before: we found no S3 documentation of anonymous multi-object delete to follow instead.
      // A form upload's handler authenticates the form and authorizes the key it writes.
      if (!row.signedInBody && (!row.perKey || principal.kind === "anonymous")) {
        const acl = aclGrants(ctx, principal, bucketRecord, address.key, address.query.get("versionId"));
        decision = await authorizeRequest(ctx, row, address.query, req.headers, {
          principal,
          bucket: bucketRecord,
          key: address.key,
          policies: ctx.policies,
          context: requestConditionContext(req.headers, address.query, socket.remoteAddress ?? "", secureTransport, ctx.clock.now(), auth.kind === "signed"),
          aclGrants: trace?.watchAcl(acl) ?? acl,
        });
      }
    } else if (principal.kind === "anonymous") {
      throw new S3Error("AccessDenied");
    }

    // After authorization (a stranger learns nothing of the disk), before a body byte is read.
    if (refusedWhenDiskFull(op)) ctx.disk.refuseWrites();
    if (awaitingContinue) {
      res.writeContinue();
      awaitingContinue = false;
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
      ...decision,
      sourceIp: socket.remoteAddress ?? "",
      secureTransport,
      customerKeysAllowed,
    };
    // The caller a bucket's change log names for what this request changes (S3 Metadata's journal).
    const origin = { requester: requesterOf(principal), sourceIp: s3req.sourceIp || undefined, requestId: ids.requestId, at: receivedAt };
    const result = await changeOrigins.run(origin, () => row.handler!(s3req, ctx));
    trace?.answered();
    await sendResult(req, res, result, ids);
  } catch (caught) {
    ctx.disk.noteError(caught);
    let err = caught;
    if (outOfDescriptors(caught)) {
      ctx.log.warn("out of file descriptors: answered SlowDown", { requestId: ids.requestId, method: req.method, url: rawUrl, error: String(caught) });
      err = new S3Error("SlowDown");
    }
    // A connection on a reserved slot closes after its one answer.
    const reserved = edge.gate.isReserved(socket);
    let answered: S3Error;
    if (res.headersSent || (req.complete && !reserved)) {
      answered = sendError(req, res, err, ids, resource, ctx.log);
    } else if (drainable(req) && !reserved && !awaitingContinue) {
      answered = sendError(req, res, err, ids, resource, ctx.log);
      drain(req, socket);
    } else {
      edge.gate.closing(socket);
      res.setHeader("Connection", "close");
      answered = sendError(req, res, err, ids, resource, ctx.log);
      res.once("finish", () => lingerClose(edge.gate, socket));
    }
    trace?.answered(answered.code);
    if (line) line.errorCode = answered.code;
  }
}
