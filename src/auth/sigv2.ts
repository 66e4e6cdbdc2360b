// AWS Signature Version 2, which S3 still accepts and which boto3 uses by default for presigned
// URLs (AWSAccessKeyId, Signature, Expires). Header form ("Authorization: AWS AK:sig") too, for
// clients configured with signature_version "s3". Payloads are not signed in this scheme.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { S3Error } from "../errors.js";
import { headerText } from "../utf8.js";

/** Query parameters that are part of the signed resource, as S3 lists them. */
const SIGNED_SUBRESOURCES = new Set([
  "accelerate", "acl", "analytics", "cors", "delete", "encryption", "intelligent-tiering", "inventory", "legal-hold",
  "lifecycle", "location", "logging", "metrics", "notification", "object-lock", "ownershipControls", "partNumber",
  "policy", "policyStatus", "publicAccessBlock", "replication", "requestPayment", "response-cache-control",
  "response-content-disposition", "response-content-encoding", "response-content-language", "response-content-type",
  "response-expires", "restore", "retention", "select", "select-type", "tagging", "torrent", "uploadId", "uploads",
  "versionId", "versioning", "versions", "website", "attributes",
]);

function header(headers: IncomingHttpHeaders, name: string): string {
  const v = headers[name];
  return Array.isArray(v) ? v.join(",") : (v ?? "");
}

export interface V2Request {
  method: string;
  rawPath: string;
  rawQuery: string;
  headers: IncomingHttpHeaders;
  /** The bucket when addressed through the Host header (virtual-hosted style). */
  hostBucket?: string;
}

/** `asSent` reads non-ASCII header bytes as UTF-8 (see canonicalHeaders in sigv4.ts for the two readings). */
export function stringToSignV2(req: V2Request, dateOrExpires: string, asSent = true): string {
  const amz = Object.keys(req.headers)
    .filter((name) => name.startsWith("x-amz-"))
    .sort()
    .map((name) => `${name}:${(asSent ? headerText(header(req.headers, name)) : header(req.headers, name)).trim()}\n`)
    .join("");
  const sub = req.rawQuery
    .split("&")
    .filter(Boolean)
    .map((part) => {
      const eq = part.indexOf("=");
      const name = decodeLenient(eq === -1 ? part : part.slice(0, eq));
      const value = eq === -1 ? undefined : decodeLenient(part.slice(eq + 1));
      return { name, value };
    })
    .filter((p) => SIGNED_SUBRESOURCES.has(p.name))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((p) => (p.value === undefined ? p.name : `${p.name}=${p.value}`))
    .join("&");
  const resource = (req.hostBucket !== undefined ? "/" + req.hostBucket : "") + req.rawPath + (sub ? "?" + sub : "");
  // With x-amz-date the Date line stays empty: the signed date travels among the x-amz headers.
  const date = req.headers["x-amz-date"] !== undefined ? "" : dateOrExpires;
  return `${req.method}\n${header(req.headers, "content-md5")}\n${header(req.headers, "content-type")}\n${date}\n${amz}${resource}`;
}

function decodeLenient(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function signV2(secret: string, stringToSign: string): string {
  return createHmac("sha1", secret).update(stringToSign, "utf8").digest("base64");
}

/** Verifies a SigV2 signature over any of the strings to sign a request can have (the first is reported on failure). */
export function verifyV2(secret: string, stringsToSign: string[], provided: string, accessKeyId: string): void {
  // Compare bytes, not characters: a same-length signature in multi-byte characters must not throw.
  const providedBytes = Buffer.from(provided);
  const ok = stringsToSign.some((sts) => {
    const computed = Buffer.from(signV2(secret, sts));
    return providedBytes.length === computed.length && timingSafeEqual(computed, providedBytes);
  });
  if (!ok) {
    throw new S3Error("SignatureDoesNotMatch", undefined, { AWSAccessKeyId: accessKeyId, StringToSign: stringsToSign[0], SignatureProvided: provided });
  }
}

/**
 * The resource paths a SigV2 client may have signed: a path-style request for a bucket alone is
 * signed as "/bucket/" by botocore (and accepted so by S3) though sent as "/bucket".
 */
export function v2SignedPaths(rawPath: string): string[] {
  return /^\/[^/]+$/.test(rawPath) ? [rawPath, rawPath + "/"] : [rawPath];
}
