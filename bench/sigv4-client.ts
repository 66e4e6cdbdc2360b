// Minimal S3 client for the benchmark: undici Pool + a small SigV4 header signer, light enough not to be the bottleneck.
import { createHash, createHmac } from "node:crypto";
import { Pool } from "undici";

export interface S3ClientOptions {
  /** e.g. http://127.0.0.1:9000 */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** Keep-alive connections held by the pool; should be ≥ the load generator's concurrency. */
  connections: number;
}

export interface S3Response {
  status: number;
  /** Only filled in when the caller asked for the body or the status is not 2xx. */
  body: string;
  bodyBytes: number;
}

const UNSIGNED = "UNSIGNED-PAYLOAD";
const SIGNED_HEADERS = "host;x-amz-content-sha256;x-amz-date";

/** RFC 3986 encoding as SigV4 wants it; encodeURIComponent leaves !'()* alone. */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

/** Object keys keep their slashes in the path; S3 signs the path encoded once. */
export function encodeKeyPath(key: string): string {
  return key.split("/").map(uriEncode).join("/");
}

export function canonicalQuery(query: ReadonlyArray<readonly [string, string]>): string {
  return query
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

export class SigV4Signer {
  private keyDay = "";
  private key: Buffer = Buffer.alloc(0);
  // toISOString per request is measurable at tens of thousands of req/s, so the stamp is reused within a second.
  private stampSecond = -1;
  private amzDate = "";

  constructor(
    private readonly accessKey: string,
    private readonly secretKey: string,
    private readonly region: string,
    private readonly service = "s3",
  ) {}

  /** The derived key only changes with the date, and deriving it costs four HMACs. */
  private signingKey(day: string): Buffer {
    if (day !== this.keyDay) {
      const kDate = createHmac("sha256", "AWS4" + this.secretKey).update(day).digest();
      const kRegion = createHmac("sha256", kDate).update(this.region).digest();
      const kService = createHmac("sha256", kRegion).update(this.service).digest();
      this.key = createHmac("sha256", kService).update("aws4_request").digest();
      this.keyDay = day;
    }
    return this.key;
  }

  private now(nowMs: number): string {
    const sec = Math.floor(nowMs / 1000);
    if (sec !== this.stampSecond) {
      this.stampSecond = sec;
      this.amzDate = new Date(sec * 1000).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
    }
    return this.amzDate;
  }

  /**
   * Headers for a request signed with an unsigned payload.
   * `path` must already be URI-encoded (see encodeKeyPath); `rawQuery` is the canonical query string.
   */
  sign(method: string, host: string, path: string, rawQuery: string, nowMs = Date.now()): Record<string, string> {
    const amzDate = this.now(nowMs);
    const day = amzDate.slice(0, 8);
    const scope = `${day}/${this.region}/${this.service}/aws4_request`;
    const canonicalRequest =
      `${method}\n${path}\n${rawQuery}\n` +
      `host:${host}\nx-amz-content-sha256:${UNSIGNED}\nx-amz-date:${amzDate}\n\n` +
      `${SIGNED_HEADERS}\n${UNSIGNED}`;
    const stringToSign =
      `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n` + createHash("sha256").update(canonicalRequest).digest("hex");
    const signature = createHmac("sha256", this.signingKey(day)).update(stringToSign).digest("hex");
    return {
      host,
      "x-amz-content-sha256": UNSIGNED,
      "x-amz-date": amzDate,
      authorization: `AWS4-HMAC-SHA256 Credential=${this.accessKey}/${scope}, SignedHeaders=${SIGNED_HEADERS}, Signature=${signature}`,
    };
  }
}

export class BenchS3Client {
  readonly pool: Pool;
  private readonly signer: SigV4Signer;
  private readonly host: string;

  constructor(opts: S3ClientOptions) {
    const url = new URL(opts.endpoint);
    this.host = url.host;
    this.signer = new SigV4Signer(opts.accessKey, opts.secretKey, opts.region);
    this.pool = new Pool(url.origin, {
      connections: opts.connections,
      pipelining: 1,
      // Idle gaps between phases (e.g. seeding → listing) must not cost reconnects inside a measured phase.
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 600_000,
    });
  }

  async request(
    method: string,
    path: string,
    query: ReadonlyArray<readonly [string, string]> = [],
    body?: Buffer,
    wantBody = false,
    /** Sent as they are, unsigned: only headers S3 does not require to be signed (If-None-Match...). */
    extraHeaders: Record<string, string> = {},
  ): Promise<S3Response> {
    const rawQuery = query.length === 0 ? "" : canonicalQuery(query);
    const headers = { ...this.signer.sign(method, this.host, path, rawQuery), ...extraHeaders };
    const res = await this.pool.request({
      method: method as "GET",
      path: rawQuery === "" ? path : `${path}?${rawQuery}`,
      headers,
      body,
    });
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    if (wantBody || !ok) {
      const text = await res.body.text();
      return { status: res.statusCode, body: text, bodyBytes: Buffer.byteLength(text) };
    }
    // Counting bytes instead of buffering keeps GET cheap while still draining the socket so it is reused.
    let bytes = 0;
    for await (const chunk of res.body) bytes += (chunk as Buffer).length;
    return { status: res.statusCode, body: "", bodyBytes: bytes };
  }

  putObject(bucket: string, key: string, body: Buffer): Promise<S3Response> {
    return this.request("PUT", `/${bucket}/${encodeKeyPath(key)}`, [], body);
  }

  getObject(bucket: string, key: string): Promise<S3Response> {
    return this.request("GET", `/${bucket}/${encodeKeyPath(key)}`);
  }

  createBucket(bucket: string): Promise<S3Response> {
    return this.request("PUT", `/${bucket}`, [], undefined, true);
  }

  listObjectsV2(bucket: string, maxKeys: number, continuationToken?: string): Promise<S3Response> {
    const q: Array<[string, string]> = [
      ["list-type", "2"],
      ["max-keys", String(maxKeys)],
    ];
    if (continuationToken !== undefined) q.push(["continuation-token", continuationToken]);
    return this.request("GET", `/${bucket}`, q, undefined, true);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** Just enough of a ListObjectsV2 response to page through it; a full XML parser would cost more than the server. */
export function parseListPage(xml: string): { keys: number; truncated: boolean; next?: string } {
  let keys = 0;
  for (let i = xml.indexOf("<Contents>"); i !== -1; i = xml.indexOf("<Contents>", i + 10)) keys++;
  const truncated = /<IsTruncated>\s*true\s*<\/IsTruncated>/.test(xml);
  const m = /<NextContinuationToken>([^<]*)<\/NextContinuationToken>/.exec(xml);
  const next = m ? decodeXmlText(m[1]) : undefined;
  return { keys, truncated, next };
}

function decodeXmlText(s: string): string {
  return s
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCharCode(Number(d)))
    .replace(/&#x([0-9a-fA-F]+);/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    .replace(/&amp;/g, "&");
}
