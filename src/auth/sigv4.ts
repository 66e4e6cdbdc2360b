// AWS Signature Version 4 verification, as S3 performs it: the Authorization header and presigned
// query forms, the 15-minute skew window, presigned expiry, and the payload modes named by
// x-amz-content-sha256 (a hex digest, UNSIGNED-PAYLOAD, or one of the aws-chunked streaming modes
// decoded by ./chunked.ts).
// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { PassThrough, Transform, type Readable } from "node:stream";
import { S3Error } from "../errors.js";
import { headerText } from "../utf8.js";
import { ChunkedDecoder, type ChunkSigning } from "./chunked.js";
import { stringToSignV2, v2SignedPaths, verifyV2 } from "./sigv2.js";

export type SigningKeyLookup = (accessKeyId: string) => { secretAccessKey: string; accountId: string } | undefined;
/** Where the edge finds an access key's secret (the store, behind a cache). */
export type AsyncSigningKeyLookup = (accessKeyId: string) => Promise<{ secretAccessKey: string; accountId: string } | undefined>;

export interface AuthInput {
  method: string;
  /** The request target exactly as received: path and query, percent-encoded as sent. */
  rawUrl: string;
  headers: IncomingHttpHeaders;
  now: Date;
  region: string;
  maxSkewMs: number;
  lookup: SigningKeyLookup;
  /** The bucket named by the Host header (virtual-hosted style), which SigV2 signs. */
  hostBucket?: string;
  /**
   * The signing names the credential scope may carry: "s3" alone unless the endpoint is not S3
   * itself (the Iceberg catalog also takes S3 Tables' "s3tables", as Iceberg clients sign for it).
   */
  services?: readonly string[];
}

const S3_SIGNING_NAMES: readonly string[] = ["s3"];

export const PAYLOAD_MODES = {
  UNSIGNED: "UNSIGNED-PAYLOAD",
  STREAMING_SIGNED: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
  STREAMING_SIGNED_TRAILER: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
  STREAMING_UNSIGNED_TRAILER: "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
} as const;

const ALGORITHM = "AWS4-HMAC-SHA256";
const MAX_PRESIGNED_EXPIRY_S = 604_800;
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

export type AuthOutcome =
  | { kind: "anonymous" }
  | {
      kind: "signed";
      accessKeyId: string;
      accountId: string;
      /** The x-amz-content-sha256 value (UNSIGNED-PAYLOAD for presigned URLs). */
      payloadHash: string;
      signature: string;
      signingKey: Buffer;
      amzDate: string;
      scope: string;
      /**
       * x-amz-* headers a SigV4 presigned URL carries in its signed query (the JS SDK v3 presigner
       * hoists metadata, tagging, ACL, storage class and Object Lock settings there), by lower-case
       * name, checksums left out (NOT_HOISTED). S3 applies them as if they were sent as headers, so
       * the edge does too.
       */
      queryHeaders?: Record<string, string>;
    };

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(",") : v;
}

/** RFC 3986 encoding as SigV4 defines it: everything but A-Z a-z 0-9 - . _ ~ is %XX. */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

function decodeLenient(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** S3 signs the path encoded once; normalise whatever encoding the client chose to that form. */
export function canonicalUri(rawPath: string): string {
  if (rawPath === "") return "/";
  return rawPath
    .split("/")
    .map((segment) => uriEncode(decodeLenient(segment)))
    .join("/");
}

export function canonicalQueryString(rawQuery: string, omit?: string): string {
  if (rawQuery === "") return "";
  const pairs: [string, string][] = [];
  for (const part of rawQuery.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = decodeLenient(eq === -1 ? part : part.slice(0, eq));
    if (name === omit) continue;
    const value = eq === -1 ? "" : decodeLenient(part.slice(eq + 1));
    pairs.push([uriEncode(name), uriEncode(value)]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}

/**
 * Non-ASCII header bytes have two readings: botocore signs the UTF-8 text it sends as UTF-8 bytes,
 * while a client that hands Node's http a string of Latin-1 characters sends one byte each but
 * signs their UTF-8 encoding. Either reading must verify; `asSent` picks the UTF-8 one.
 */
function canonicalHeaders(headers: IncomingHttpHeaders, signed: string[], asSent: boolean): string {
  return signed
    .map((name) => {
      const raw = header(headers, name) ?? "";
      const value = asSent ? headerText(raw) : raw;
      return `${name}:${value.trim().replace(/\s+/g, " ")}\n`;
    })
    .join("");
}

const NON_ASCII = /[^\x00-\x7f]/;

/** Every string a SigV2 request may have signed: per signed path, both readings when they differ. */
function distinctV2Strings(rawPath: string, readings: (path: string) => string[]): string[] {
  return [...new Set(v2SignedPaths(rawPath).flatMap(readings))];
}

const sha256Hex = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();

/** Derived signing keys change once a day per secret and region; deriving costs four HMACs. */
const signingKeyCache = new Map<string, Buffer>();
export function signingKey(secret: string, date: string, region: string, service = "s3"): Buffer {
  const cacheKey = `${secret}\u0000${date}\u0000${region}\u0000${service}`;
  let key = signingKeyCache.get(cacheKey);
  if (!key) {
    key = hmac(hmac(hmac(hmac("AWS4" + secret, date), region), service), "aws4_request");
    if (signingKeyCache.size > 1000) signingKeyCache.clear();
    signingKeyCache.set(cacheKey, key);
  }
  return key;
}

/** Parses an ISO 8601 basic timestamp (20130524T000000Z). */
function parseAmzDate(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const d = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

interface Credential {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  terminator: string;
}

function parseCredential(value: string, onError: (msg: string) => S3Error): Credential {
  const parts = value.split("/");
  if (parts.length !== 5 || parts.some((p) => p === "")) throw onError(`the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`);
  const [accessKeyId, date, region, service, terminator] = parts as [string, string, string, string, string];
  return { accessKeyId, date, region, service, terminator };
}

function checkScope(cred: Credential, amzDate: string, region: string, services: readonly string[], onError: (msg: string) => S3Error): void {
  if (!/^\d{8}$/.test(cred.date)) throw onError(`Invalid credential date "${cred.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`);
  if (cred.date !== amzDate.slice(0, 8)) throw onError(`Invalid credential date "${cred.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`);
  if (cred.region !== region) throw onError(`the region '${cred.region}' is wrong; expecting '${region}'`);
  if (!services.includes(cred.service)) throw onError(`the service '${cred.service}' is wrong; expecting ${services.map((n) => `'${n}'`).join(" or ")}`);
  if (cred.terminator !== "aws4_request") throw onError(`the credential terminator '${cred.terminator}' is wrong; expecting 'aws4_request'`);
}

function verifySignature(
  expectedKey: Buffer,
  stringToSign: string,
  provided: string,
  details: { accessKeyId: string; canonicalRequest: string },
): string {
  const computed = createHmac("sha256", expectedKey).update(stringToSign).digest("hex");
  // Compare bytes, not characters: a same-length signature in multi-byte characters must not throw.
  const providedBytes = Buffer.from(provided);
  const ok = providedBytes.length === computed.length && timingSafeEqual(providedBytes, Buffer.from(computed));
  if (!ok) {
    throw new S3Error("SignatureDoesNotMatch", undefined, {
      AWSAccessKeyId: details.accessKeyId,
      StringToSign: stringToSign,
      SignatureProvided: provided,
      CanonicalRequest: details.canonicalRequest,
    });
  }
  return computed;
}

/** Builds the canonical request and string to sign, and checks the signature against them. */
function verifyRequest(
  input: AuthInput,
  rawPath: string,
  canonicalQuery: string,
  signedHeadersText: string,
  payloadHash: string,
  cred: Credential,
  amzDate: string,
  signature: string,
  secret: string,
): { signingKey: Buffer; signature: string; scope: string } {
  const signed = signedHeadersText.split(";");
  const scope = `${cred.date}/${cred.region}/${cred.service}/aws4_request`;
  const sk = signingKey(secret, cred.date, cred.region, cred.service);
  const verify = (asSent: boolean) => {
    const canonicalRequest = [input.method, canonicalUri(rawPath), canonicalQuery, canonicalHeaders(input.headers, signed, asSent), signedHeadersText, payloadHash].join("\n");
    const stringToSign = `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
    return verifySignature(sk, stringToSign, signature, { accessKeyId: cred.accessKeyId, canonicalRequest });
  };
  const twoReadings = signed.some((name) => NON_ASCII.test(header(input.headers, name) ?? ""));
  if (!twoReadings) return { signingKey: sk, signature: verify(true), scope };
  try {
    return { signingKey: sk, signature: verify(true), scope };
  } catch {
    return { signingKey: sk, signature: verify(false), scope };
  }
}

const HEX_DIGEST = /^[0-9a-fA-F]{64}$/;

function isValidPayloadHash(value: string): boolean {
  return /^[0-9a-f]{64}$/.test(value) || (Object.values(PAYLOAD_MODES) as string[]).includes(value);
}

/**
 * S3's rule: an x-amz-* header changes what a request does (a copy source, a lock, tags,
 * metadata, encryption keys), so one the signature does not cover would let whoever holds a
 * signed request (a presigned URL above all) make it do something else. Every x-amz-* header
 * present must be named in SignedHeaders or, for a presigned URL, be carried by its signed query
 * under the same name with the same value. x-amz-content-sha256 is exempt, as on S3: its value is
 * in the canonical request anyway and a hex digest is checked against the body.
 *
 * Names are compared exactly: node hands headers over in lower case, so a SignedHeaders entry in
 * other letters canonicalises to an empty value and signs nothing of the header's content.
 */
function refuseUnsignedHeaders(headers: IncomingHttpHeaders, signedHeaders: string[], carried?: Map<string, string[]>): void {
  const signed = new Set(signedHeaders);
  const unsigned: string[] = [];
  for (const name of Object.keys(headers)) {
    if (!name.startsWith("x-amz-") || name === "x-amz-content-sha256" || signed.has(name)) continue;
    const value = (header(headers, name) ?? "").trim();
    if (carried?.get(name)?.some((v) => v.trim() === value)) continue;
    unsigned.push(name);
  }
  if (unsigned.length > 0) {
    throw new S3Error("AccessDenied", "There were headers present in the request which were not signed", { HeadersNotSigned: unsigned.sort().join(", ") });
  }
}

/** The query parameters a presigned URL signs, by lower-case name: headers hoisted into it. */
function queryParameters(rawQuery: string): Map<string, string[]> {
  const params = new Map<string, string[]>();
  for (const part of rawQuery.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = decodeLenient(eq === -1 ? part : part.slice(0, eq)).toLowerCase();
    const value = eq === -1 ? "" : decodeLenient(part.slice(eq + 1));
    params.set(name, [...(params.get(name) ?? []), value]);
  }
  return params;
}

/**
 * The access key id a request names (Authorization header, SigV4 or SigV2 presigned query), read
 * the way authenticate() reads it, or undefined. The metadata store is asynchronous and
 * authenticate() is not: the edge looks this key up first and hands authenticate() the answer.
 */
export function claimedAccessKeyId(rawUrl: string, headers: IncomingHttpHeaders): string | undefined {
  const authorization = header(headers, "authorization");
  if (authorization !== undefined) {
    if (authorization.startsWith("AWS ")) return /^AWS ([^:\s]+):/.exec(authorization.trim())?.[1];
    for (const part of authorization.slice(ALGORITHM.length + 1).split(",")) {
      const eq = part.indexOf("=");
      if (eq !== -1 && part.slice(0, eq).trim() === "Credential") return part.slice(eq + 1).trim().split("/")[0];
    }
    return undefined;
  }
  const q = rawUrl.indexOf("?");
  if (q === -1) return undefined;
  const query = new URLSearchParams(rawUrl.slice(q + 1));
  return query.get("X-Amz-Credential")?.split("/")[0] ?? query.get("AWSAccessKeyId") ?? undefined;
}

/**
 * authenticate() with the key the request claims found first: the one key lookup a request
 * costs, whichever endpoint it reaches (S3, the metrics, the Iceberg catalog).
 */
export async function authenticateClaimed(input: Omit<AuthInput, "lookup">, findKey: AsyncSigningKeyLookup): Promise<AuthOutcome> {
  const claimed = claimedAccessKeyId(input.rawUrl, input.headers);
  const key = claimed === undefined ? undefined : await findKey(claimed);
  return authenticate({ ...input, lookup: (accessKeyId) => (accessKeyId === claimed ? key : undefined) });
}

export function authenticate(input: AuthInput): AuthOutcome {
  const { headers } = input;
  const q = input.rawUrl.indexOf("?");
  const rawPath = q === -1 ? input.rawUrl : input.rawUrl.slice(0, q);
  const rawQuery = q === -1 ? "" : input.rawUrl.slice(q + 1);
  const authorization = header(headers, "authorization");
  if (authorization !== undefined) return authenticateHeader(input, authorization, rawPath, rawQuery);
  const query = new URLSearchParams(rawQuery);
  if (query.has("X-Amz-Algorithm") || query.has("X-Amz-Signature") || query.has("X-Amz-Credential")) {
    return authenticatePresigned(input, query, rawPath, rawQuery);
  }
  if (query.has("AWSAccessKeyId") || query.has("Signature")) return authenticatePresignedV2(input, query, rawPath, rawQuery);
  return { kind: "anonymous" };
}

/** SigV2 carries no signing key for chunk signatures: its payloads are unsigned. */
function v2Outcome(accessKeyId: string, accountId: string): AuthOutcome {
  return { kind: "signed", accessKeyId, accountId, payloadHash: PAYLOAD_MODES.UNSIGNED, signature: "", signingKey: Buffer.alloc(0), amzDate: "", scope: "" };
}

function authenticateHeaderV2(input: AuthInput, authorization: string, rawPath: string, rawQuery: string): AuthOutcome {
  const m = /^AWS ([^:\s]+):(\S+)$/.exec(authorization.trim());
  if (!m) throw new S3Error("InvalidArgument", "Authorization header is invalid -- one and only one ' ' (space) required", { ArgumentName: "Authorization" });
  const [, accessKeyId, signature] = m as unknown as [string, string, string];
  const dateText = header(input.headers, "x-amz-date") ?? header(input.headers, "date");
  const when = dateText ? new Date(dateText) : undefined;
  if (!when || Number.isNaN(when.getTime())) throw new S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header");
  if (Math.abs(input.now.getTime() - when.getTime()) > input.maxSkewMs) {
    throw new S3Error("RequestTimeTooSkewed", undefined, { RequestTime: dateText, ServerTime: input.now.toISOString(), MaxAllowedSkewMilliseconds: input.maxSkewMs });
  }
  const key = input.lookup(accessKeyId);
  if (!key) throw new S3Error("InvalidAccessKeyId", undefined, { AWSAccessKeyId: accessKeyId });
  const sts = distinctV2Strings(rawPath, (path) =>
    [true, false].map((asSent) => stringToSignV2({ method: input.method, rawPath: path, rawQuery, headers: input.headers, hostBucket: input.hostBucket }, header(input.headers, "date") ?? "", asSent)),
  );
  verifyV2(key.secretAccessKey, sts, signature, accessKeyId);
  return v2Outcome(accessKeyId, key.accountId);
}

function authenticatePresignedV2(input: AuthInput, query: URLSearchParams, rawPath: string, rawQuery: string): AuthOutcome {
  const accessKeyId = query.get("AWSAccessKeyId");
  const signature = query.get("Signature");
  const expires = query.get("Expires");
  if (!accessKeyId || !signature || !expires || !/^\d+$/.test(expires)) {
    throw new S3Error("AccessDenied", "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters");
  }
  if (input.now.getTime() > Number(expires) * 1000) {
    throw new S3Error("AccessDenied", "Request has expired", { Expires: new Date(Number(expires) * 1000).toISOString(), ServerTime: input.now.toISOString() });
  }
  const key = input.lookup(accessKeyId);
  if (!key) throw new S3Error("InvalidAccessKeyId", undefined, { AWSAccessKeyId: accessKeyId });
  const sts = distinctV2Strings(rawPath, (path) =>
    [true, false].map((asSent) => stringToSignV2({ method: input.method, rawPath: path, rawQuery, headers: input.headers, hostBucket: input.hostBucket }, expires, asSent)),
  );
  verifyV2(key.secretAccessKey, sts, signature, accessKeyId);
  return v2Outcome(accessKeyId, key.accountId);
}

function authenticateHeader(input: AuthInput, authorization: string, rawPath: string, rawQuery: string): AuthOutcome {
  const { headers } = input;
  const malformed = (msg: string) => new S3Error("AuthorizationHeaderMalformed", `The authorization header is malformed; ${msg}`);
  if (!authorization.startsWith(ALGORITHM + " ")) {
    if (authorization.startsWith("AWS ")) return authenticateHeaderV2(input, authorization, rawPath, rawQuery);
    if (authorization.startsWith("AWS4-")) throw malformed(`the authorization header requires AWS4-HMAC-SHA256.`);
    throw new S3Error("InvalidRequest", "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.");
  }
  const fields = new Map<string, string>();
  for (const part of authorization.slice(ALGORITHM.length + 1).split(",")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credentialText = fields.get("Credential");
  const signedHeadersText = fields.get("SignedHeaders");
  const signature = fields.get("Signature");
  if (!credentialText || !signedHeadersText || !signature) {
    throw malformed("the authorization header must contain Credential, SignedHeaders and Signature.");
  }
  const cred = parseCredential(credentialText, malformed);

  const amzDate = header(headers, "x-amz-date");
  let when = parseAmzDate(amzDate);
  let dateText = amzDate;
  if (!when) {
    const date = header(headers, "date");
    const parsed = date ? new Date(date) : undefined;
    if (!parsed || Number.isNaN(parsed.getTime())) throw new S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header");
    when = parsed;
    dateText = parsed.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  }
  checkScope(cred, dateText!, input.region, input.services ?? S3_SIGNING_NAMES, malformed);
  if (Math.abs(input.now.getTime() - when.getTime()) > input.maxSkewMs) {
    throw new S3Error("RequestTimeTooSkewed", undefined, {
      RequestTime: dateText,
      ServerTime: input.now.toISOString(),
      MaxAllowedSkewMilliseconds: input.maxSkewMs,
    });
  }
  const payloadHash = header(headers, "x-amz-content-sha256");
  if (payloadHash === undefined) throw new S3Error("InvalidRequest", "Missing required header for this request: x-amz-content-sha256");
  if (!isValidPayloadHash(payloadHash)) {
    throw new S3Error("InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.", {
      ArgumentName: "x-amz-content-sha256",
      ArgumentValue: payloadHash,
    });
  }
  const signedHeaders = signedHeadersText.split(";");
  if (!signedHeaders.includes("host")) throw malformed("the SignedHeaders must include host.");

  const key = input.lookup(cred.accessKeyId);
  if (!key) throw new S3Error("InvalidAccessKeyId", undefined, { AWSAccessKeyId: cred.accessKeyId });

  const { signingKey: sk, signature: verified, scope } = verifyRequest(input, rawPath, canonicalQueryString(rawQuery), signedHeadersText, payloadHash, cred, dateText!, signature, key.secretAccessKey);
  // After the signature: a request that does not verify learns nothing about its headers.
  refuseUnsignedHeaders(headers, signedHeaders);
  return {
    kind: "signed",
    accessKeyId: cred.accessKeyId,
    accountId: key.accountId,
    payloadHash,
    signature: verified,
    signingKey: sk,
    amzDate: dateText!,
    scope,
  };
}

function authenticatePresigned(input: AuthInput, query: URLSearchParams, rawPath: string, rawQuery: string): AuthOutcome {
  const bad = (msg: string) => new S3Error("AuthorizationQueryParametersError", msg);
  const algorithm = query.get("X-Amz-Algorithm");
  if (algorithm !== ALGORITHM) throw bad("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
  const credentialText = query.get("X-Amz-Credential");
  const amzDate = query.get("X-Amz-Date");
  const expiresText = query.get("X-Amz-Expires");
  const signedHeadersText = query.get("X-Amz-SignedHeaders");
  const signature = query.get("X-Amz-Signature");
  if (!credentialText || !amzDate || !expiresText || !signedHeadersText || !signature) {
    throw bad(
      "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
    );
  }
  const cred = parseCredential(credentialText, (msg) => bad(`Error parsing the X-Amz-Credential parameter; ${msg}`));
  const when = parseAmzDate(amzDate);
  if (!when) throw bad("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
  if (!/^-?\d+$/.test(expiresText)) throw bad("X-Amz-Expires should be a number");
  const expires = Number(expiresText);
  if (expires < 1) throw bad("X-Amz-Expires must be non-negative");
  if (expires > MAX_PRESIGNED_EXPIRY_S) throw bad("X-Amz-Expires must be less than a week (in seconds) that is 604800");
  checkScope(cred, amzDate, input.region, input.services ?? S3_SIGNING_NAMES, (msg) => bad(`Error parsing the X-Amz-Credential parameter; ${msg}`));
  const now = input.now.getTime();
  if (when.getTime() - now > input.maxSkewMs) throw new S3Error("AccessDenied", "Request is not valid yet");
  if (now > when.getTime() + expires * 1000) {
    throw new S3Error("AccessDenied", "Request has expired", {
      "X-Amz-Expires": expires,
      Expires: new Date(when.getTime() + expires * 1000).toISOString(),
      ServerTime: input.now.toISOString(),
    });
  }
  const signedHeaders = signedHeadersText.split(";");
  if (!signedHeaders.includes("host")) throw bad("X-Amz-SignedHeaders must include host.");
  const key = input.lookup(cred.accessKeyId);
  if (!key) throw new S3Error("InvalidAccessKeyId", undefined, { AWSAccessKeyId: cred.accessKeyId });

  const payloadHash = query.get("X-Amz-Content-Sha256") ?? header(input.headers, "x-amz-content-sha256") ?? PAYLOAD_MODES.UNSIGNED;
  const { signingKey: sk, signature: verified, scope } = verifyRequest(
    input,
    rawPath,
    canonicalQueryString(rawQuery, "X-Amz-Signature"),
    signedHeadersText,
    payloadHash,
    cred,
    amzDate,
    signature,
    key.secretAccessKey,
  );
  const carried = queryParameters(rawQuery);
  refuseUnsignedHeaders(input.headers, signedHeaders, carried);
  return {
    kind: "signed",
    accessKeyId: cred.accessKeyId,
    accountId: key.accountId,
    // A digest signed in upper case still states the body: it is checked like any other.
    payloadHash: isValidPayloadHash(payloadHash) ? payloadHash : HEX_DIGEST.test(payloadHash) ? payloadHash.toLowerCase() : PAYLOAD_MODES.UNSIGNED,
    signature: verified,
    signingKey: sk,
    amzDate,
    scope,
    queryHeaders: hoistedHeaders(carried),
  };
}

/**
 * Never taken from a presigned URL's query as headers: the URL's own parameters, values that decide
 * how the body is read, and checksums of the body. A URL is signed before any body exists, so the
 * JS SDK v3 (since 3.729, by default) signs the CRC32 of an empty body into every PutObject URL; S3
 * ignores checksums in a presigned URL (its user guide on presigned uploads; LocalStack, which
 * checks itself against S3, ignores them for that reason: localstack/localstack#12169).
 */
const NOT_HOISTED = new Set([
  "x-amz-algorithm",
  "x-amz-credential",
  "x-amz-date",
  "x-amz-expires",
  "x-amz-signedheaders",
  "x-amz-signature",
  "x-amz-security-token",
  "x-amz-content-sha256",
  "x-amz-decoded-content-length",
  "x-amz-trailer",
  "x-amz-sdk-checksum-algorithm",
]);

function hoistedHeaders(params: Map<string, string[]>): Record<string, string> | undefined {
  let hoisted: Record<string, string> | undefined;
  for (const [name, values] of params) {
    if (!name.startsWith("x-amz-") || NOT_HOISTED.has(name)) continue;
    if (name.startsWith("x-amz-checksum-") && name !== "x-amz-checksum-mode") continue;
    (hoisted ??= {})[name] = values.join(",");
  }
  return hoisted;
}

/** Checks the hex SHA-256 digests a request states (lower case) against the body as it streams. */
class Sha256Verifier extends Transform {
  private readonly hash = createHash("sha256");
  constructor(private readonly expected: string[]) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null, data?: Buffer) => void): void {
    this.hash.update(chunk);
    done(null, chunk);
  }
  override _flush(done: (err?: Error | null) => void): void {
    const computed = this.hash.digest("hex");
    const wrong = this.expected.find((e) => e !== computed);
    if (wrong !== undefined) {
      done(new S3Error("XAmzContentSHA256Mismatch", undefined, { ClientComputedContentSHA256: wrong, S3ComputedContentSHA256: computed }));
    } else {
      done();
    }
  }
}

export interface DecodedBody {
  body: Readable;
  trailers(): Record<string, string>;
}

/**
 * Wraps the raw request stream in the decoder its payload mode needs. Verification failures
 * surface as an S3Error 'error' event on the returned body.
 */
export function decodeBody(outcome: AuthOutcome, headers: IncomingHttpHeaders, raw: Readable): DecodedBody {
  const none = () => ({});
  const declared = header(headers, "x-amz-content-sha256");
  const payload = outcome.kind === "signed" ? outcome.payloadHash : declared;
  // Every hex digest the request states must hold, whatever let it in: the one it was signed with,
  // and the header too, which SigV2 and anonymous requests do not sign as a payload hash and which
  // a presigned URL naming its payload mode in the query leaves aside.
  const digests = [...new Set([payload, declared].filter((d): d is string => d !== undefined && HEX_DIGEST.test(d)).map((d) => d.toLowerCase()))];
  const fromRaw = <T extends Transform | PassThrough>(t: T): T => {
    raw.on("error", (err) => t.destroy(err));
    raw.on("aborted", () => t.destroy(new S3Error("IncompleteBody")));
    raw.pipe(t);
    return t;
  };
  const verified = digests.length > 0 ? fromRaw(new Sha256Verifier(digests)) : undefined;
  const pipeInto = <T extends Transform | PassThrough>(t: T): T => {
    if (!verified) return fromRaw(t);
    verified.on("error", (err) => t.destroy(err));
    verified.pipe(t);
    return t;
  };
  if (payload !== undefined && payload.startsWith("STREAMING-")) {
    const signing: ChunkSigning | undefined =
      outcome.kind === "signed" && (payload === PAYLOAD_MODES.STREAMING_SIGNED || payload === PAYLOAD_MODES.STREAMING_SIGNED_TRAILER)
        ? { key: outcome.signingKey, amzDate: outcome.amzDate, scope: outcome.scope, seedSignature: outcome.signature }
        : undefined;
    const decodedLength = header(headers, "x-amz-decoded-content-length");
    const decoder = pipeInto(
      new ChunkedDecoder({
        signing,
        trailer: payload.endsWith("-TRAILER") ? (header(headers, "x-amz-trailer") ?? "").trim().toLowerCase() || undefined : undefined,
        expectTrailer: payload.endsWith("-TRAILER"),
        decodedLength: decodedLength === undefined ? undefined : Number(decodedLength),
      }),
    );
    return { body: decoder, trailers: () => decoder.trailers };
  }
  return { body: verified ?? raw, trailers: none };
}
