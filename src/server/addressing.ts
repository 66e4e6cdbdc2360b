// Path-style (http://host/bucket/key) and virtual-hosted (http://bucket.base-domain/key)
// addressing: which bucket and key a request names. Keys stay strings; they never become paths.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html
import { S3Error } from "../errors.js";

export interface Address {
  bucket?: string;
  key?: string;
  /** The bucket when the Host header named it (virtual-hosted style). */
  hostBucket?: string;
  /** The raw path as sent, for signature verification. */
  rawPath: string;
  rawQuery: string;
  query: URLSearchParams;
}

export const MAX_KEY_BYTES = 1024;

function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new S3Error("InvalidURI");
  }
}

/** The bucket named by the Host header when it is `<bucket>.<base domain>`. */
function bucketFromHost(host: string | undefined, baseDomains: string[]): string | undefined {
  if (!host) return undefined;
  let hostname = host.toLowerCase();
  if (hostname.startsWith("[")) return undefined; // IPv6 literal
  const colon = hostname.lastIndexOf(":");
  if (colon !== -1) hostname = hostname.slice(0, colon);
  for (const base of baseDomains) {
    const suffix = "." + base.toLowerCase();
    if (hostname.endsWith(suffix) && hostname.length > suffix.length) {
      return hostname.slice(0, -suffix.length);
    }
  }
  return undefined;
}

export function resolveAddress(rawUrl: string, host: string | undefined, baseDomains: string[]): Address {
  const q = rawUrl.indexOf("?");
  const rawPath = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const rawQuery = q === -1 ? "" : rawUrl.slice(q + 1);
  if (!rawPath.startsWith("/")) throw new S3Error("InvalidURI");
  const query = new URLSearchParams(rawQuery);

  const hostBucket = bucketFromHost(host, baseDomains);
  let bucket: string | undefined;
  let rawKey: string | undefined;
  if (hostBucket !== undefined) {
    bucket = hostBucket;
    rawKey = rawPath.length > 1 ? rawPath.slice(1) : undefined;
  } else {
    const rest = rawPath.slice(1);
    if (rest === "") return { rawPath, rawQuery, query };
    const slash = rest.indexOf("/");
    bucket = decodeSegment(slash === -1 ? rest : rest.slice(0, slash));
    const keyPart = slash === -1 ? "" : rest.slice(slash + 1);
    rawKey = keyPart === "" ? undefined : keyPart;
  }
  const key = rawKey === undefined ? undefined : decodeSegment(rawKey);
  if (key !== undefined) {
    if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new S3Error("KeyTooLongError");
    if (!isWellFormedUtf16(key)) throw new S3Error("InvalidURI");
  }
  if (bucket === "") bucket = undefined;
  return { bucket, key, hostBucket, rawPath, rawQuery, query };
}

/** decodeURIComponent accepts only valid UTF-8, but guard lone surrogates from %ED%A0%80-style input. */
function isWellFormedUtf16(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const n = s.charCodeAt(i + 1);
      if (!(n >= 0xdc00 && n <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}
