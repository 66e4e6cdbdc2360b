// A read-only Iceberg REST catalog at /_stocktake/iceberg/ over the S3 Metadata tables (and any
// table laid out as src/metadata-tables/table-store.ts writes one): config, namespaces and tables
// listed and loaded, JSON in the shapes of the REST catalog's OpenAPI document; every write
// answers 405. Answered by the edge before S3 addressing, path-style on the service endpoint only
// (on a bucket's virtual host the same path is an object key).
//
// Who may read what: requests are SigV4-signed as S3 requests are (credential scope service `s3`,
// or `s3tables` as clients of S3 Tables sign),
// and each call is authorized as the S3 read that would learn the same thing, through the same
// policies, ACLs and Block Public Access: listing = s3:ListBucket on the warehouse bucket with the
// namespace's prefix, loading a table = s3:GetObject on its current metadata file.
// docs/metadata-tables.md, "The REST catalog", has the reasoning.
// https://github.com/apache/iceberg/blob/main/open-api/rest-catalog-open-api.yaml
import type { IncomingMessage, ServerResponse } from "node:http";
import { createHash } from "node:crypto";
import { S3Error } from "../errors.js";
import type { ServerContext } from "../s3/types.js";
import type { Principal } from "../auth/principal.js";
import type { BucketRecord } from "../storage/types.js";
import { authenticateClaimed, type AsyncSigningKeyLookup } from "../auth/sigv4.js";
import { authorize, checkExpectedOwner, existingObjectTagConditions, requestConditionContext } from "../auth/authorize.js";
import { tagsOf } from "../core/tags.js";
import { aclGrants } from "../s3/capability-hooks.js";
import { isSecureTransport } from "./tls.js";
import { isValidBucketName } from "../bucket-names.js";
import {
  isCatalogNamespaceName,
  isCatalogTableName,
  listNamespaces,
  listTables,
  locateCatalogTable,
  namespaceExists,
  namespacePrefix,
  warehouseNamed,
  warehouseOf,
  type NamePage,
  type PageRequest,
  type Warehouse,
} from "../metadata-tables/catalog.js";
import { managedTableBucketName } from "../metadata-tables/config.js";
import type { TableMetadata } from "../metadata-tables/iceberg-metadata.js";
import { readTable, type TableMetadataFile } from "../metadata-tables/table-store.js";

export const ICEBERG_CATALOG_PREFIX = "/_stocktake/iceberg";

/** The routes this catalog answers, as the OpenAPI document names them (CatalogConfig.endpoints). */
const ENDPOINTS = [
  "GET /v1/{prefix}/namespaces",
  "GET /v1/{prefix}/namespaces/{namespace}",
  "HEAD /v1/{prefix}/namespaces/{namespace}",
  "GET /v1/{prefix}/namespaces/{namespace}/tables",
  "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}",
  "HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}",
];

/** The spec's default namespace separator, the unit separator (%1F in a URL). */
const NAMESPACE_SEPARATOR = "\u001f";

/** An answer as the spec's IcebergErrorResponse: {"error": {"message", "type", "code"}}. */
class CatalogError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const badRequest = (message: string) => new CatalogError(400, "BadRequestException", message);
const noSuchNamespace = (ns: string) => new CatalogError(404, "NoSuchNamespaceException", `Namespace does not exist: ${ns}`);
const noSuchTable = (ns: string, table: string) => new CatalogError(404, "NoSuchTableException", `Table does not exist: ${ns}.${table}`);

/** True for a request the catalog answers: path-style on the service endpoint, under the prefix. */
export function claimsIcebergCatalog(rawUrl: string, hostBucket: string | undefined): boolean {
  if (hostBucket !== undefined || !rawUrl.startsWith(ICEBERG_CATALOG_PREFIX)) return false;
  const next = rawUrl.charAt(ICEBERG_CATALOG_PREFIX.length);
  return next === "" || next === "/" || next === "?";
}

type Route =
  | { kind: "config" }
  | { kind: "namespaces"; bucket: string }
  | { kind: "namespace"; bucket: string; namespace: string }
  | { kind: "tables"; bucket: string; namespace: string }
  | { kind: "table"; bucket: string; namespace: string; table: string };

function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw badRequest("The request path is not valid percent-encoding.");
  }
}

/** One level only: a multi-level namespace (parts joined by %1F) is refused, as is any name that is not one key segment. */
function namespaceOf(value: string): string {
  if (value.includes(NAMESPACE_SEPARATOR)) throw badRequest("Multi-level namespaces are not supported: Stocktake's namespaces have one level.");
  if (!isCatalogNamespaceName(value)) throw badRequest("A namespace name is 1 to 255 lowercase letters, digits, underscores, dots and hyphens, starting with a letter or digit.");
  return value;
}

function tableOf(value: string): string {
  if (!isCatalogTableName(value)) throw badRequest("A table name is 1 to 255 lowercase letters, digits and underscores, starting with a letter or digit.");
  return value;
}

function bucketOf(prefix: string): string {
  if (!isValidBucketName(prefix)) throw badRequest("The catalog prefix must be a warehouse bucket's name, as GET /v1/config answers it.");
  return prefix;
}

/**
 * The route a path names. Segments are split before they are decoded, so an encoded "/" stays
 * inside its segment (and fails the name rules); ".." and "." are never names.
 */
export function routeOf(path: string): Route {
  const rest = path.slice(ICEBERG_CATALOG_PREFIX.length);
  const parts = rest.split("/").slice(1).map(decodeSegment);
  if (rest === "" || parts[0] !== "v1") throw badRequest("No such route: the catalog's routes start with /v1/.");
  if (parts.length === 2 && parts[1] === "config") return { kind: "config" };
  if (parts.length >= 3 && parts[2] === "namespaces") {
    const bucket = bucketOf(parts[1]!);
    if (parts.length === 3) return { kind: "namespaces", bucket };
    const namespace = namespaceOf(parts[3]!);
    if (parts.length === 4) return { kind: "namespace", bucket, namespace };
    if (parts[4] === "tables") {
      if (parts.length === 5) return { kind: "tables", bucket, namespace };
      if (parts.length === 6) return { kind: "table", bucket, namespace, table: tableOf(parts[5]!) };
    }
  }
  throw badRequest("No such route: this catalog answers config, namespaces and tables (read-only).");
}

/** One request's caller and what authorization needs to know of it. */
interface Call {
  ctx: ServerContext;
  req: IncomingMessage;
  query: URLSearchParams;
  principal: Principal;
  signed: boolean;
}

/** The caller, from the SigV4 (or SigV2) signature; anonymous without one. A bad signature is 401. */
async function callerOf(ctx: ServerContext, lookup: AsyncSigningKeyLookup, req: IncomingMessage, rawUrl: string): Promise<Principal> {
  try {
    const auth = await authenticateClaimed({
      method: req.method ?? "GET",
      rawUrl,
      headers: req.headers,
      now: ctx.clock.now(),
      region: ctx.config.region,
      maxSkewMs: ctx.config.maxClockSkewMs,
      // Iceberg clients configured for S3 Tables sign with its name; plain S3 signatures work too.
      services: ["s3", "s3tables"],
    }, lookup);
    return auth.kind === "anonymous" ? { kind: "anonymous" } : { kind: "account", accountId: auth.accountId, accessKeyId: auth.accessKeyId };
  } catch (err) {
    // The S3 error's own message, never its details (the canonical request, the string to sign).
    if (err instanceof S3Error) throw new CatalogError(401, "NotAuthorizedException", `${err.code}: ${err.message}`);
    throw err;
  }
}

async function warehouse(call: Call, named: Warehouse): Promise<BucketRecord> {
  const bucket = await call.ctx.metadata.getBucket(named.bucket);
  // A bucket of another account than the name or ARN says (an aws-s3-<account> made before
  // CreateBucket refused such names) is not that warehouse: nothing of it is served as one.
  if (!bucket || (named.owner !== undefined && bucket.ownerAccountId !== named.owner)) {
    throw new CatalogError(404, "NoSuchWarehouseException", `Warehouse does not exist: ${named.bucket}`);
  }
  return bucket;
}

/**
 * Authorizes the S3 read the call stands for; refused, an anonymous caller gets 401 (sign the
 * request) and a signed one 403, both with the same message whatever the reason.
 */
async function mayRead(call: Call, bucket: BucketRecord, read: { action: "s3:ListBucket"; prefix: string } | { action: "s3:GetObject"; file: TableMetadataFile }): Promise<void> {
  const { ctx, req, principal } = call;
  const sourceIp = req.socket.remoteAddress ?? "";
  try {
    checkExpectedOwner(req.headers["x-amz-expected-bucket-owner"], bucket);
    if (read.action === "s3:ListBucket") {
      const query = new URLSearchParams({ prefix: read.prefix, delimiter: "/" });
      await authorize({
        principal,
        action: read.action,
        bucket,
        policies: ctx.policies,
        context: requestConditionContext(req.headers, query, sourceIp, isSecureTransport(req.socket), ctx.clock.now(), call.signed),
        aclGrants: aclGrants(ctx, principal, bucket, undefined, undefined),
      });
    } else {
      const { key, object } = read.file;
      await authorize({
        principal,
        action: read.action,
        bucket,
        key,
        policies: ctx.policies,
        context: {
          ...requestConditionContext(req.headers, new URLSearchParams(), sourceIp, isSecureTransport(req.socket), ctx.clock.now(), call.signed),
          ...existingObjectTagConditions(tagsOf(object.extra)),
        },
        aclGrants: aclGrants(ctx, principal, bucket, key, object.versionId),
      });
    }
  } catch (err) {
    if (!(err instanceof S3Error) || err.code !== "AccessDenied") throw err;
    if (principal.kind === "anonymous") throw new CatalogError(401, "NotAuthorizedException", "Access denied: sign the request with AWS Signature Version 4 (service s3).");
    throw new CatalogError(403, "ForbiddenException", "Access denied.");
  }
}

/** Names a page holds when the client asks for pages but not their size. */
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

/**
 * The page a list request asks for, or undefined when it asks for none (no pageToken, no pageSize:
 * everything at once). The token is opaque to the client: the last name of the page before.
 */
function pageAsked(query: URLSearchParams, validName: (name: string) => boolean): PageRequest | undefined {
  const token = query.get("pageToken");
  const size = query.get("pageSize");
  if (token === null && size === null) return undefined;
  const limit = size === null ? DEFAULT_PAGE_SIZE : Number(size);
  if (!/^[0-9]+$/.test(size ?? "1") || !Number.isSafeInteger(limit) || limit < 1) throw badRequest("pageSize must be a positive integer.");
  if (token === null || token === "") return { limit: Math.min(limit, MAX_PAGE_SIZE) };
  const after = Buffer.from(token, "base64url").toString("utf8");
  if (!validName(after) || Buffer.from(after).toString("base64url") !== token) throw badRequest("pageToken is not a token this catalog gave.");
  return { after, limit: Math.min(limit, MAX_PAGE_SIZE) };
}

/** What a paged answer adds: the token of the next page, or null after the last. */
function nextPage(asked: PageRequest | undefined, page: NamePage): { "next-page-token"?: string | null } {
  if (asked === undefined) return {};
  return { "next-page-token": page.more ? Buffer.from(page.names.at(-1)!).toString("base64url") : null };
}

/** The metadata as `snapshots` asks: all of them (the default), or only those a branch or tag names. */
function snapshotsAsAsked(metadata: TableMetadata, mode: string | null): TableMetadata {
  if (mode === null || mode === "all") return metadata;
  if (mode !== "refs") throw badRequest("snapshots must be all or refs.");
  const named = new Set(Object.values(metadata.refs).map((r) => r["snapshot-id"]));
  return { ...metadata, snapshots: metadata.snapshots.filter((s) => named.has(s["snapshot-id"])) };
}

function send(req: IncomingMessage, res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  res.statusCode = status;
  res.setHeader("Cache-Control", "no-store");
  for (const [name, v] of Object.entries(headers)) res.setHeader(name, v);
  if (value === undefined) {
    res.end();
    return;
  }
  const body = Buffer.from(JSON.stringify(value));
  res.setHeader("Content-Type", "application/json");
  res.setHeader("Content-Length", body.length);
  res.end(req.method === "HEAD" ? undefined : body);
}

async function answerRoute(call: Call, route: Route, res: ServerResponse): Promise<void> {
  const { ctx, req, query } = call;
  const head = req.method === "HEAD";
  if (route.kind === "config") {
    const asked = query.get("warehouse");
    let named: Warehouse | undefined;
    if (asked === null || asked === "") {
      // Without a warehouse, a signed caller's own V2 table bucket.
      if (call.principal.kind !== "account") throw badRequest("The warehouse query parameter is required.");
      named = { bucket: managedTableBucketName(call.principal.accountId), owner: call.principal.accountId };
    } else {
      named = warehouseOf(asked, ctx.config.region);
      if (named === undefined) throw badRequest("warehouse must be a bucket name, s3://<bucket>, or a table bucket ARN of this server's region.");
    }
    // As HeadBucket would: the caller learns the warehouse is there only if it may list it.
    await mayRead(call, await warehouse(call, named), { action: "s3:ListBucket", prefix: "" });
    return send(req, res, 200, { defaults: {}, overrides: { prefix: named.bucket }, endpoints: ENDPOINTS });
  }
  const bucket = await warehouse(call, warehouseNamed(route.bucket));
  switch (route.kind) {
    case "namespaces": {
      const parentText = query.get("parent");
      if (parentText === null || parentText === "") {
        await mayRead(call, bucket, { action: "s3:ListBucket", prefix: "" });
        const asked = pageAsked(query, isCatalogNamespaceName);
        const page = await listNamespaces(ctx, bucket.name, asked ?? {});
        return send(req, res, 200, { namespaces: page.names.map((n) => [n]), ...nextPage(asked, page) });
      }
      // Namespaces have one level: an existing parent has no children.
      const parent = namespaceOf(parentText);
      await mayRead(call, bucket, { action: "s3:ListBucket", prefix: namespacePrefix(parent) });
      if (!(await namespaceExists(ctx, bucket.name, parent))) throw noSuchNamespace(parent);
      return send(req, res, 200, { namespaces: [] });
    }
    case "namespace": {
      await mayRead(call, bucket, { action: "s3:ListBucket", prefix: namespacePrefix(route.namespace) });
      if (!(await namespaceExists(ctx, bucket.name, route.namespace))) throw noSuchNamespace(route.namespace);
      if (head) return send(req, res, 204, undefined);
      return send(req, res, 200, { namespace: [route.namespace], properties: {} });
    }
    case "tables": {
      await mayRead(call, bucket, { action: "s3:ListBucket", prefix: namespacePrefix(route.namespace) });
      if (!(await namespaceExists(ctx, bucket.name, route.namespace))) throw noSuchNamespace(route.namespace);
      const asked = pageAsked(query, isCatalogTableName);
      const page = await listTables(ctx, bucket.name, route.namespace, asked ?? {});
      return send(req, res, 200, { identifiers: page.names.map((name) => ({ namespace: [route.namespace], name })), ...nextPage(asked, page) });
    }
    case "table": {
      const located = await locateCatalogTable(ctx, bucket.name, route.namespace, route.table);
      if (!located) {
        // As GetObject of a missing key: 404 only to a caller that may list where it would be.
        await mayRead(call, bucket, { action: "s3:ListBucket", prefix: namespacePrefix(route.namespace) });
        throw noSuchTable(route.namespace, route.table);
      }
      // Authorized before the file is opened: what an unauthorized caller sees cannot depend on
      // what the owner's objects hold (or on whether they parse).
      await mayRead(call, bucket, { action: "s3:GetObject", file: located.file });
      const table = await readTable(ctx, located.location, located.file);
      const metadata = snapshotsAsAsked(table.metadata, query.get("snapshots"));
      const etag = `"${createHash("sha256").update(`${table.metadataUri}\n${query.get("snapshots") === "refs" ? "refs" : "all"}`).digest("hex")}"`;
      if (head) return send(req, res, 204, undefined);
      if (req.headers["if-none-match"] === etag) return send(req, res, 304, undefined, { ETag: etag });
      return send(req, res, 200, { "metadata-location": table.metadataUri, metadata, config: { "client.region": ctx.config.region } }, { ETag: etag });
    }
  }
}

/** Answers one request under /_stocktake/iceberg/. */
export async function answerIcebergCatalog(ctx: ServerContext, lookup: AsyncSigningKeyLookup, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const rawUrl = req.url ?? "/";
  const q = rawUrl.indexOf("?");
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  try {
    // Read-only for everyone: nothing to authorize before saying so.
    if (req.method !== "GET" && req.method !== "HEAD") {
      throw new CatalogError(405, "UnsupportedOperationException", "The Stocktake Iceberg catalog is read-only: only GET and HEAD are answered.", { Allow: "GET, HEAD" });
    }
    const route = routeOf(path);
    const principal = await callerOf(ctx, lookup, req, rawUrl);
    const call: Call = { ctx, req, query: new URLSearchParams(q === -1 ? "" : rawUrl.slice(q + 1)), principal, signed: principal.kind === "account" };
    await answerRoute(call, route, res);
  } catch (err) {
    if (err instanceof CatalogError) {
      send(req, res, err.status, { error: { message: err.message, type: err.type, code: err.status } }, err.headers);
      return;
    }
    ctx.log.error("the Iceberg catalog failed to answer", { method: req.method, url: rawUrl, error: String(err) });
    send(req, res, 500, { error: { message: "Internal server error.", type: "ServerErrorException", code: 500 } });
  }
}
