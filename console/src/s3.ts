// The console's only way to the server: S3 requests signed with SigV4 in the browser, exactly as
// any SDK sends them, so the server authorizes each one like any other request
// (docs/console.md, "Sign-in"). The standard operations go through the AWS SDK's S3 client;
// Stocktake's own inventory-run operations, which the SDK does not know, through signedFetch
// with the SDK's signer.
import { S3Client } from "@aws-sdk/client-s3";
import { SignatureV4 } from "@smithy/signature-v4";
import { Sha256Js } from "@smithy/core/checksum";

export interface Session {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

/** An S3 error document (or an HTTP failure) as the console shows it: code and message. */
export class S3ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

// WebCrypto exists only in secure contexts (HTTPS or localhost); a console opened over plain HTTP
// from another machine hashes in JavaScript instead. The secret never leaves the page either way.
const sha256 = globalThis.crypto?.subtle === undefined ? Sha256Js : undefined;

let cached: { session: Session; client: S3Client } | undefined;

/** The SDK client for a session: path-style against the origin that served the console. */
export function s3(session: Session): S3Client {
  if (cached?.session === session) return cached.client;
  const client = new S3Client({
    endpoint: location.origin,
    region: session.region,
    forcePathStyle: true,
    credentials: { accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey },
    ...(sha256 ? { sha256 } : {}),
  });
  cached = { session, client };
  return client;
}

/** "arn:aws:s3:::reports" -> "reports"; undefined for anything else. */
export function bucketOfArn(arn: string | undefined): string | undefined {
  return /^arn:[^:]+:s3:::([^/]+)$/.exec(arn ?? "")?.[1];
}

/** Percent-encodes a key for a path, keeping its slashes, as S3 canonical requests expect. */
export function encodeKey(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

export interface SignedRequest {
  method: "GET" | "POST" | "PUT" | "DELETE" | "HEAD";
  bucket: string;
  key?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
}

/** Sends one request signed with the session's keys; the caller reads the response. */
export async function signedFetch(session: Session, req: SignedRequest): Promise<Response> {
  const signer = new SignatureV4({
    service: "s3",
    region: session.region,
    credentials: { accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey },
    sha256: sha256 ?? s3(session).config.sha256,
    uriEscapePath: false,
  });
  const url = new URL(location.origin);
  const path = "/" + encodeURIComponent(req.bucket) + (req.key === undefined ? "" : "/" + encodeKey(req.key));
  const signed = await signer.sign({
    method: req.method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port === "" ? undefined : Number(url.port),
    path,
    query: req.query ?? {},
    headers: { host: url.host, ...(req.headers ?? {}) },
    body: req.body,
  });
  const search = new URLSearchParams(req.query ?? {}).toString().replace(/=(&|$)/g, "$1");
  const headers = { ...signed.headers };
  // The browser sets Host itself and refuses to be told.
  delete headers.host;
  return fetch(path + (search === "" ? "" : "?" + search), { method: req.method, headers, body: req.body });
}

/** Reads an S3 error document (XML) into an S3ApiError. */
export async function errorFrom(res: Response): Promise<S3ApiError> {
  const text = await res.text();
  const doc = text === "" ? null : new DOMParser().parseFromString(text, "application/xml");
  const field = (name: string) => doc?.querySelector(`Error > ${name}`)?.textContent ?? undefined;
  return new S3ApiError(field("Code") ?? `HTTP${res.status}`, field("Message") ?? res.statusText, res.status);
}

/** A signed request answered as JSON (Stocktake's inventory-run operations). */
export async function signedJson<T>(session: Session, req: SignedRequest): Promise<T> {
  const res = await signedFetch(session, { ...req, headers: { ...(req.headers ?? {}), accept: "application/json" } });
  if (!res.ok) throw await errorFrom(res);
  return (await res.json()) as T;
}

/** What to show for any failure: the S3 error code and message where there is one. */
export function describeError(err: unknown): string {
  if (err instanceof S3ApiError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) {
    // The SDK's service exceptions carry S3's code as their name.
    const name = err.name && err.name !== "Error" ? err.name + ": " : "";
    return name + err.message;
  }
  return String(err);
}
