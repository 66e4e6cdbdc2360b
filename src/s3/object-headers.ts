// Object headers in both directions: which request headers are stored with an object, and the
// headers that describe a stored object in GET/HEAD responses. Also the conditional-request rules
// (If-Match & co.) shared by GetObject, HeadObject and CopyObject's x-amz-copy-source-if-*.
import { S3Error } from "../errors.js";
import { headerText } from "../utf8.js";
import type { ObjectVersionRecord, StoredEncryption } from "../storage/types.js";
import { ChecksumAlgorithms, type ChecksumAlgorithm } from "../crypto/checksums.js";

type Headers = Record<string, string | string[] | undefined>;

/** Content headers S3 stores verbatim and returns on GET/HEAD. */
export const STORED_CONTENT_HEADERS = [
  "cache-control",
  "content-disposition",
  "content-encoding",
  "content-language",
  "expires",
  "x-amz-website-redirect-location",
] as const;

const MAX_USER_METADATA_BYTES = 2 * 1024;

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(",") : v;
}

export interface DescribedContent {
  contentType: string;
  contentHeaders: Record<string, string>;
  userMetadata: Record<string, string>;
}

/** The content type, content headers and user metadata a PUT/COPY(REPLACE) request assigns. */
export function contentFromRequest(headers: Headers): DescribedContent {
  const contentHeaders: Record<string, string> = {};
  for (const name of STORED_CONTENT_HEADERS) {
    let value = single(headers[name]);
    if (value === undefined) continue;
    if (name === "content-encoding") {
      // aws-chunked is transfer framing, not a property of the object; the rest is kept as sent.
      const codings = value
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");
      const kept = codings.filter((s) => s.toLowerCase() !== "aws-chunked");
      if (kept.length === 0) continue;
      if (kept.length !== codings.length) value = kept.join(", ");
    }
    contentHeaders[name] = value;
  }
  const userMetadata: Record<string, string> = {};
  let metaBytes = 0;
  for (const [name, raw] of Object.entries(headers)) {
    if (!name.startsWith("x-amz-meta-")) continue;
    const key = name.slice("x-amz-meta-".length);
    const value = headerText(single(raw) ?? "");
    metaBytes += Buffer.byteLength(key) + Buffer.byteLength(value);
    userMetadata[key] = value;
  }
  if (metaBytes > MAX_USER_METADATA_BYTES) throw new S3Error("MetadataTooLarge");
  return {
    contentType: single(headers["content-type"]) ?? "binary/octet-stream",
    contentHeaders,
    userMetadata,
  };
}

/**
 * S3 answers a metadata value holding non-ASCII characters encoded per RFC 2047 ("mail-safe"), as
 * its user guide on object metadata says; ASCII values go out as stored.
 */
function mailSafe(value: string): string {
  return /[^\x00-\x7f]/.test(value) ? `=?UTF-8?B?${Buffer.from(value, "utf8").toString("base64")}?=` : value;
}

export function httpDate(d: Date): string {
  return d.toUTCString();
}

/** Headers describing an object version in GET/HEAD responses (Content-Length/Range excepted). */
export function objectResponseHeaders(
  v: ObjectVersionRecord,
  opts: { versioned: boolean; checksumMode: boolean },
): Record<string, string | number> {
  const out: Record<string, string | number> = {
    "Last-Modified": httpDate(v.lastModified),
    ETag: v.etag,
    "Content-Type": v.contentType ?? "binary/octet-stream",
    "Accept-Ranges": "bytes",
  };
  for (const [name, value] of Object.entries(v.contentHeaders)) out[name] = value;
  for (const [name, value] of Object.entries(v.userMetadata)) out["x-amz-meta-" + name] = mailSafe(value);
  if (v.storageClass !== "STANDARD") out["x-amz-storage-class"] = v.storageClass;
  if (opts.versioned) out["x-amz-version-id"] = v.versionId;
  if (v.partsCount > 0) out["x-amz-mp-parts-count"] = v.partsCount;
  if (opts.checksumMode) Object.assign(out, checksumHeaders(v));
  Object.assign(out, encryptionHeaders(v));
  return out;
}


const SSE_HEADER_VALUE: Record<StoredEncryption["kind"], string | undefined> = {
  "SSE-S3": "AES256",
  "SSE-KMS": "aws:kms",
  "DSSE-KMS": "aws:kms:dsse",
  // SSE-C answers with the customer-algorithm header instead.
  "SSE-C": undefined,
};

/** The x-amz-server-side-encryption* headers S3 returns for a version on PUT, GET and HEAD. */
export function encryptionHeaders(v: Pick<ObjectVersionRecord, "extra">): Record<string, string> {
  const enc = v.extra.encryption as StoredEncryption | undefined;
  if (!enc) return {};
  const out: Record<string, string> = {};
  const value = SSE_HEADER_VALUE[enc.kind];
  if (value) out["x-amz-server-side-encryption"] = value;
  if (enc.kind === "SSE-C") {
    out["x-amz-server-side-encryption-customer-algorithm"] = "AES256";
    if (enc.customerKeyMd5 !== undefined) out["x-amz-server-side-encryption-customer-key-MD5"] = enc.customerKeyMd5;
  }
  if (enc.keyId !== undefined) out["x-amz-server-side-encryption-aws-kms-key-id"] = enc.keyId;
  if (enc.bucketKeyEnabled) out["x-amz-server-side-encryption-bucket-key-enabled"] = "true";
  return out;
}

export interface StoredChecksum {
  algorithm: ChecksumAlgorithm;
  value: string;
  type: "FULL_OBJECT" | "COMPOSITE";
}

export function storedChecksum(v: ObjectVersionRecord): StoredChecksum | undefined {
  return v.extra.checksum as StoredChecksum | undefined;
}

export function checksumHeaders(v: ObjectVersionRecord): Record<string, string> {
  const sum = storedChecksum(v);
  if (!sum) return {};
  return { [ChecksumAlgorithms[sum.algorithm].header]: sum.value, "x-amz-checksum-type": sum.type };
}

function parseHttpDate(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** True when a comma-separated list of entity tags (or *) names `etag`; W/ and quotes are ignored. */
export function etagMatches(list: string, etag: string): boolean {
  const bare = etag.replace(/"/g, "");
  return list.split(",").some((raw) => {
    const t = raw.trim();
    return t === "*" || t.replace(/^W\//, "").replace(/"/g, "") === bare;
  });
}

/** Seconds precision: HTTP dates have no milliseconds. */
function seconds(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

export interface Preconditions {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
}

/**
 * Evaluates preconditions in S3's (RFC 7232) order. `notModified` selects what a failed
 * If-None-Match / If-Modified-Since means: 304 for GET/HEAD, 412 for copy sources.
 */
export function checkPreconditions(v: ObjectVersionRecord, p: Preconditions, notModified: "304" | "412"): void {
  const lastModified = seconds(v.lastModified);
  const failNotModified = () => {
    if (notModified === "304") throw new S3Error("NotModified", undefined, {}, { ETag: v.etag, "Last-Modified": httpDate(v.lastModified) });
    throw new S3Error("PreconditionFailed", undefined, { Condition: "x-amz-copy-source-If-None-Match" });
  };
  if (p.ifMatch !== undefined) {
    if (!etagMatches(p.ifMatch, v.etag)) throw new S3Error("PreconditionFailed", undefined, { Condition: "If-Match" });
  } else {
    const since = parseHttpDate(p.ifUnmodifiedSince);
    if (since && lastModified > seconds(since)) throw new S3Error("PreconditionFailed", undefined, { Condition: "If-Unmodified-Since" });
  }
  if (p.ifNoneMatch !== undefined) {
    if (etagMatches(p.ifNoneMatch, v.etag)) failNotModified();
  } else {
    const since = parseHttpDate(p.ifModifiedSince);
    if (since && lastModified <= seconds(since)) failNotModified();
  }
}

export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a Range header against an object size. Returns undefined for no range (or one S3
 * ignores: syntax it does not understand, several ranges); throws InvalidRange when unsatisfiable.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  const [, a, b] = m;
  if (a === "" && b === "") return undefined;
  const unsatisfiable = () => new S3Error("InvalidRange", undefined, { RangeRequested: header, ActualObjectSize: size });
  if (a === "") {
    const suffix = Number(b);
    if (suffix === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(a);
  let end = b === "" ? size - 1 : Number(b);
  if (b !== "" && end < start) return undefined;
  if (start >= size) throw unsatisfiable();
  if (end >= size) end = size - 1;
  return { start, end };
}
