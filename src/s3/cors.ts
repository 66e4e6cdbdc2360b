// Cross-origin resource sharing: Put/Get/DeleteBucketCors, the preflight OPTIONS request, and the
// Access-Control-* headers of actual requests that carry an Origin, matched as S3 matches them:
// the first rule whose AllowedOrigin (one * wildcard at most) matches the Origin, whose
// AllowedMethod has the method (for a preflight, Access-Control-Request-Method), and, for a
// preflight, whose AllowedHeader patterns cover every header it asks for.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketCors.html
import type { IncomingHttpHeaders } from "node:http";
import { S3Error } from "../errors.js";
import { asArray, parseXml, textOf, type XmlNode } from "../xml/codec.js";
import type { Context } from "../core/context.js";
import type { Handler } from "./types.js";
import { readChecksummedBody } from "./checksummed-body.js";
import { header } from "./request.js";

export const CORS_KIND = "cors";
const CORS_BODY_LIMIT = 64 * 1024;
const MAX_RULES = 100;
const METHODS = ["GET", "PUT", "HEAD", "POST", "DELETE"];

export interface CorsRule {
  id?: string;
  allowedOrigins: string[];
  allowedMethods: string[];
  allowedHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds?: number;
}

function texts(node: Record<string, XmlNode | XmlNode[]>, name: string): string[] {
  return asArray(node[name] as XmlNode | XmlNode[] | undefined).map((v) => {
    if (typeof v === "object") throw new S3Error("MalformedXML");
    return String(v);
  });
}

function atMostOneWildcard(values: string[], element: string): void {
  for (const value of values) {
    if (value.indexOf("*") !== value.lastIndexOf("*")) throw new S3Error("InvalidRequest", `${element} "${value}" can not have more than one wildcard.`);
  }
}

export function parseCorsConfiguration(body: Buffer): CorsRule[] {
  const doc = parseXml(body, "CORSConfiguration");
  const nodes = asArray(doc.CORSRule as XmlNode | XmlNode[] | undefined);
  if (nodes.length === 0 || nodes.length > MAX_RULES) throw new S3Error("MalformedXML");
  return nodes.map((node): CorsRule => {
    if (typeof node !== "object" || Array.isArray(node)) throw new S3Error("MalformedXML");
    const rule = node as Record<string, XmlNode | XmlNode[]>;
    const allowedOrigins = texts(rule, "AllowedOrigin");
    const allowedMethods = texts(rule, "AllowedMethod");
    if (allowedOrigins.length === 0 || allowedMethods.length === 0) throw new S3Error("MalformedXML");
    for (const method of allowedMethods) {
      if (!METHODS.includes(method)) throw new S3Error("InvalidRequest", `Found unsupported HTTP method in CORS config. Unsupported method is ${method}`);
    }
    const allowedHeaders = texts(rule, "AllowedHeader");
    atMostOneWildcard(allowedOrigins, "AllowedOrigin");
    atMostOneWildcard(allowedHeaders, "AllowedHeader");
    const id = textOf(rule, "ID");
    if (id !== undefined && id.length > 255) throw new S3Error("InvalidArgument", "The ID of a CORS rule can be up to 255 characters.");
    const maxAge = textOf(rule, "MaxAgeSeconds");
    if (maxAge !== undefined && !/^\d{1,10}$/.test(maxAge.trim())) throw new S3Error("MalformedXML");
    return {
      ...(id !== undefined ? { id } : {}),
      allowedOrigins,
      allowedMethods,
      allowedHeaders,
      exposeHeaders: texts(rule, "ExposeHeader"),
      ...(maxAge !== undefined ? { maxAgeSeconds: Number(maxAge.trim()) } : {}),
    };
  });
}

export const putBucketCors: Handler = async (req, ctx) => {
  const rules = parseCorsConfiguration(await readChecksummedBody(req, CORS_BODY_LIMIT));
  await ctx.settings.put(req.bucketRecord!, CORS_KIND, rules);
  return {};
};

export const getBucketCors: Handler = async (req, ctx) => {
  const rules = await ctx.settings.get<CorsRule[]>(req.bucketRecord!.name, CORS_KIND);
  if (rules === undefined) throw new S3Error("NoSuchCORSConfiguration", undefined, { BucketName: req.bucketRecord!.name });
  return {
    xml: {
      root: "CORSConfiguration",
      value: {
        CORSRule: rules.map((r) => ({
          ID: r.id,
          AllowedHeader: r.allowedHeaders,
          AllowedMethod: r.allowedMethods,
          AllowedOrigin: r.allowedOrigins,
          ExposeHeader: r.exposeHeaders,
          MaxAgeSeconds: r.maxAgeSeconds,
        })),
      },
    },
  };
};

export const deleteBucketCors: Handler = async (req, ctx) => {
  await ctx.settings.delete(req.bucketRecord!, CORS_KIND);
  return { status: 204 };
};

/** `pattern` with at most one `*` standing for any run of characters. */
function wildcardMatch(pattern: string, value: string): boolean {
  const star = pattern.indexOf("*");
  if (star === -1) return pattern === value;
  const head = pattern.slice(0, star);
  const tail = pattern.slice(star + 1);
  return value.length >= head.length + tail.length && value.startsWith(head) && value.endsWith(tail);
}

function matchingRule(rules: CorsRule[], origin: string, method: string, requestedHeaders: string[]): CorsRule | undefined {
  return rules.find(
    (r) =>
      r.allowedOrigins.some((o) => wildcardMatch(o, origin)) &&
      r.allowedMethods.includes(method) &&
      requestedHeaders.every((h) => r.allowedHeaders.some((a) => wildcardMatch(a.toLowerCase(), h))),
  );
}

function allowHeaders(rule: CorsRule, origin: string): Record<string, string> {
  const any = rule.allowedOrigins.includes("*");
  return {
    "Access-Control-Allow-Origin": any ? "*" : origin,
    "Access-Control-Allow-Methods": rule.allowedMethods.join(", "),
    ...(any ? {} : { "Access-Control-Allow-Credentials": "true" }),
    ...(rule.exposeHeaders.length > 0 ? { "Access-Control-Expose-Headers": rule.exposeHeaders.join(", ") } : {}),
    ...(rule.maxAgeSeconds !== undefined ? { "Access-Control-Max-Age": String(rule.maxAgeSeconds) } : {}),
  };
}

const VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method";

/**
 * The Access-Control-* headers of an actual request to `bucket` that carries an Origin (none
 * without one, or when no rule allows it). The method matched is Access-Control-Request-Method
 * when the request has one, as S3 does, else the request's own.
 */
export async function corsResponseHeaders(ctx: Context, bucket: string, method: string, headers: IncomingHttpHeaders): Promise<Record<string, string>> {
  const origin = header(headers, "origin");
  if (origin === undefined) return {};
  const rules = await ctx.settings.get<CorsRule[]>(bucket, CORS_KIND);
  if (rules === undefined) return {};
  const rule = matchingRule(rules, origin, header(headers, "access-control-request-method") ?? method, []);
  return rule ? { ...allowHeaders(rule, origin), Vary: VARY } : {};
}

/**
 * The answer to a preflight OPTIONS on a bucket or object: unauthenticated, as browsers send it.
 * 400 without Origin or Access-Control-Request-Method; 403 when the bucket has no CORS
 * configuration or no rule allows the origin, method and headers asked for.
 */
export async function preflight(ctx: Context, bucketName: string, headers: IncomingHttpHeaders): Promise<{ status: number; headers: Record<string, string> }> {
  const origin = header(headers, "origin");
  if (origin === undefined) throw new S3Error("BadRequest", "Insufficient information. Origin request header needed.");
  const method = header(headers, "access-control-request-method");
  if (method === undefined) throw new S3Error("BadRequest", "Invalid Access-Control-Request-Method: null");
  const bucket = await ctx.metadata.getBucket(bucketName);
  if (!bucket) throw new S3Error("NoSuchBucket", undefined, { BucketName: bucketName });
  const rules = await ctx.settings.get<CorsRule[]>(bucket.name, CORS_KIND);
  if (rules === undefined) throw new S3Error("AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.", { Method: method, ResourceType: "BUCKET" });
  const requested = (header(headers, "access-control-request-headers") ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== "");
  const rule = matchingRule(rules, origin, method, requested);
  if (!rule) {
    throw new S3Error(
      "AccessForbidden",
      "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
      { Method: method, ResourceType: "OBJECT" },
    );
  }
  return {
    status: 200,
    headers: {
      ...allowHeaders(rule, origin),
      ...(requested.length > 0 ? { "Access-Control-Allow-Headers": requested.join(", ") } : {}),
      Vary: VARY,
    },
  };
}
