// The operator's endpoints under /_stocktake/ (docs/observability.md): health and Prometheus
// metrics, answered by the edge before S3 addressing. Bucket names cannot start with "_", so the
// path-style prefix never names a bucket; on a bucket's virtual host it is an object key and these
// endpoints are not answered there.
import type { IncomingMessage, ServerResponse } from "node:http";
import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import type { Health } from "./health.js";
import type { ServerMetrics } from "./metrics.js";
import type { ServerContext } from "../s3/types.js";
import { authenticateClaimed } from "../auth/sigv4.js";

export const OBSERVABILITY_PREFIX = "/_stocktake/";

export interface Observability {
  health: Health;
  metrics: ServerMetrics;
  /** The root account's id: a request it signs (SigV4 or SigV2) may read the metrics when a token is set. */
  rootAccountId: string;
}

type Endpoint = "live" | "ready" | "metrics";

const ENDPOINTS: Record<string, Endpoint> = {
  "/_stocktake/health/live": "live",
  "/_stocktake/health/ready": "ready",
  "/_stocktake/metrics": "metrics",
};

/**
 * The endpoint a request names, or undefined for an S3 request. Only path-style requests to the
 * service endpoint qualify: on a bucket's virtual host (`hostBucket`) the same path is a key.
 */
export function observabilityEndpoint(rawUrl: string, hostBucket: string | undefined): Endpoint | undefined {
  if (hostBucket !== undefined || !rawUrl.startsWith(OBSERVABILITY_PREFIX)) return undefined;
  const q = rawUrl.indexOf("?");
  return ENDPOINTS[q === -1 ? rawUrl : rawUrl.slice(0, q)];
}

/** True for an address of this host: 127.0.0.0/8, ::1, and IPv4 loopback mapped into IPv6. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith("127.");
  return address === "::1";
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Compares in constant time: digests first, so neither the length nor a prefix of the token leaks. */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const m = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return m !== null && timingSafeEqual(digest(m[1]!), digest(token));
}

export type MetricsAccess = "allowed" | "unauthorized" | "forbidden";

/**
 * Who may read the metrics. With a token (`--metrics-auth`): a request bearing it, or one signed
 * by the root account (`signedByRoot`, decided by the caller); anyone else is unauthorized (401).
 * Without one: loopback clients only (403 otherwise), so a server listening on every interface
 * does not publish its bucket names.
 */
export function metricsAccess(opts: { token: string | undefined; authorization: string | undefined; remoteAddress: string | undefined; signedByRoot: boolean }): MetricsAccess {
  if (opts.token === undefined) return isLoopback(opts.remoteAddress) ? "allowed" : "forbidden";
  if (bearerMatches(opts.authorization, opts.token) || opts.signedByRoot) return "allowed";
  return "unauthorized";
}

/** True when the request carries a valid SigV4 or SigV2 signature of the root account. */
async function signedByRoot(ctx: ServerContext, obs: Observability, req: IncomingMessage, rawUrl: string): Promise<boolean> {
  try {
    // Only the root account's keys are looked up: any other claimed key cannot read the metrics.
    const rootKey = async (id: string) => {
      const key = await ctx.signingKeys(id);
      return key?.accountId === obs.rootAccountId ? key : undefined;
    };
    const auth = await authenticateClaimed({ method: req.method ?? "GET", rawUrl, headers: req.headers, now: ctx.clock.now(), region: ctx.config.region, maxSkewMs: ctx.config.maxClockSkewMs }, rootKey);
    return auth.kind === "signed" && auth.accountId === obs.rootAccountId;
  } catch {
    return false;
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  res.statusCode = status;
  res.setHeader("Content-Type", contentType);
  res.setHeader("Cache-Control", "no-store");
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader("Content-Length", Buffer.byteLength(body));
  res.end(body);
}

const json = (res: ServerResponse, status: number, value: unknown, headers?: Record<string, string>) =>
  send(res, status, "application/json", JSON.stringify(value) + "\n", headers);

/** Answers one of the endpoints; the request has no body worth reading. */
export async function answerObservability(ctx: ServerContext, obs: Observability, endpoint: Endpoint, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    json(res, 405, { status: "error", reason: "only GET and HEAD are answered here" }, { Allow: "GET, HEAD" });
    return;
  }
  if (endpoint === "live") {
    json(res, 200, { status: "ok" });
    return;
  }
  if (endpoint === "ready") {
    const r = await obs.health.readiness();
    json(res, r.ready ? 200 : 503, r.ready ? { status: "ok" } : { status: "unavailable", check: r.check, reason: r.reason });
    return;
  }
  const rawUrl = req.url ?? "/";
  const token = ctx.config.metricsAuth;
  const access = metricsAccess({
    token,
    authorization: req.headers.authorization,
    remoteAddress: req.socket.remoteAddress,
    signedByRoot: token !== undefined && !bearerMatches(req.headers.authorization, token) && (await signedByRoot(ctx, obs, req, rawUrl)),
  });
  if (access === "unauthorized") {
    json(res, 401, { status: "error", reason: "a bearer token or the root account's signature is required" }, { "WWW-Authenticate": 'Bearer realm="stocktake-metrics"' });
    return;
  }
  if (access === "forbidden") {
    json(res, 403, { status: "error", reason: "metrics are served to loopback clients only unless --metrics-auth is set" });
    return;
  }
  send(res, 200, obs.metrics.registry.contentType, await obs.metrics.registry.metrics());
}
