// What the hostile-input tests share: run counts (short by default, long with FUZZ_RUNS), a raw
// HTTP/1.1 client over a plain socket (so paths, header bytes and body framing go out exactly as
// written, with nothing normalised), SigV4 signing of such raw requests, and the assertion every
// hostile request must meet: a 4xx answer carrying an S3 <Error> whose code is in the catalogue.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { createHash, createHmac } from "node:crypto";
import { canonicalQueryString, canonicalUri, signingKey } from "../../src/auth/sigv4.js";
import { isKnownCode } from "../../src/server/respond.js";
import { startTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import type { Logger } from "../../src/log.js";

/**
 * Number of cases for a property. The short form (the default, for `npm test`) uses `short`;
 * FUZZ_RUNS=N runs every unit-level property N times and every HTTP-level one N/50 times (at least
 * `short`), e.g. FUZZ_RUNS=100000 for the long form. FUZZ_SEED replays a reported failure.
 */
export function runs(short: number, kind: "unit" | "http" = "unit"): number {
  const long = Number(process.env.FUZZ_RUNS);
  if (!Number.isFinite(long) || long <= 0) return short;
  return Math.max(short, kind === "unit" ? long : Math.ceil(long / 50));
}

/** fast-check parameters: the run count, and the seed when FUZZ_SEED is set. */
export function params(short: number, kind: "unit" | "http" = "unit"): { numRuns: number; seed?: number } {
  const seed = Number(process.env.FUZZ_SEED);
  return { numRuns: runs(short, kind), ...(Number.isFinite(seed) && process.env.FUZZ_SEED ? { seed } : {}) };
}

export interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends raw bytes to the server and reads the answer until the server closes the connection
 * (requests carry Connection: close). Rejects when no answer arrives within `timeoutMs`, which is
 * how a hang shows. `bodyParts` are written one after another, `gapMs` apart (slow senders).
 */
export function sendRaw(port: number, head: string | Buffer, bodyParts: Buffer[] = [], opts: { timeoutMs?: number; gapMs?: number } = {}): Promise<RawReply> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const received: Buffer[] = [];
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const reply = parseReply(Buffer.concat(received));
      if (reply) resolve(reply);
      else reject(new Error(`no HTTP answer (got ${JSON.stringify(Buffer.concat(received).toString("latin1").slice(0, 200))})`));
    };
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("data", (d: Buffer) => {
      received.push(d);
      // A complete Content-Length-delimited answer is enough; the server may keep reading.
      const reply = parseReply(Buffer.concat(received));
      if (reply && reply.complete) {
        socket.destroy();
        finish();
      }
    });
    socket.on("error", () => finish());
    socket.on("close", () => finish());
    socket.on("connect", async () => {
      // Header bytes go out one byte per character, as node reads them (latin1).
      socket.write(typeof head === "string" ? Buffer.from(head, "latin1") : head);
      for (const part of bodyParts) {
        if (socket.destroyed) return;
        if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
        if (socket.destroyed) return;
        socket.write(part);
      }
    });
  });
}

/**
 * The first answer in `data`: status, headers and body (cut at its Content-Length when it has one).
 * `complete` when the whole Content-Length-delimited body is there; `length` is then the bytes the
 * answer took, so a reader of several answers on one connection can go on after it.
 */
export function parseReply(data: Buffer): (RawReply & { complete: boolean; length?: number }) | undefined {
  const end = data.indexOf("\r\n\r\n");
  if (end === -1) return undefined;
  const lines = data.subarray(0, end).toString("latin1").split("\r\n");
  const m = /^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? "");
  if (!m) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = data.subarray(end + 4);
  const declared = headers["content-length"] === undefined ? undefined : Number(headers["content-length"]);
  const complete = declared !== undefined && body.length >= declared;
  return {
    status: Number(m[1]),
    headers,
    body: (complete ? body.subarray(0, declared) : body).toString("utf8"),
    complete,
    ...(complete ? { length: end + 4 + declared } : {}),
  };
}

export function amzDateOf(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

export interface SignOptions {
  method: string;
  /** The path exactly as it goes on the wire (already percent-encoded as the test wants). */
  rawPath: string;
  rawQuery?: string;
  /** Extra headers to send and sign (lower-case names). */
  headers?: Record<string, string>;
  payloadHash?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  date?: Date;
  host?: string;
}

/** The request head (request line and headers, Connection: close) of a SigV4-signed request. */
export function signedHead(port: number, o: SignOptions): { head: string; signature: string; amzDate: string; scope: string; key: Buffer } {
  const date = o.date ?? new Date();
  const amzDate = amzDateOf(date);
  const host = o.host ?? `127.0.0.1:${port}`;
  const headers: Record<string, string> = {
    host,
    "x-amz-date": amzDate,
    "x-amz-content-sha256": o.payloadHash ?? "UNSIGNED-PAYLOAD",
    ...(o.headers ?? {}),
  };
  const names = Object.keys(headers).sort();
  const canonical = [
    o.method,
    canonicalUri(o.rawPath),
    canonicalQueryString(o.rawQuery ?? ""),
    names.map((n) => `${n}:${headers[n]!.trim().replace(/\s+/g, " ")}\n`).join(""),
    names.join(";"),
    headers["x-amz-content-sha256"],
  ].join("\n");
  const scope = `${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
  const sts = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash("sha256").update(canonical).digest("hex")}`;
  const key = signingKey(o.secretAccessKey ?? TEST_SECRET_KEY, amzDate.slice(0, 8), "us-east-1");
  const signature = createHmac("sha256", key).update(sts).digest("hex");
  const authorization = `AWS4-HMAC-SHA256 Credential=${o.accessKeyId ?? TEST_ACCESS_KEY}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`;
  const target = o.rawPath + (o.rawQuery ? "?" + o.rawQuery : "");
  const lines = [`${o.method} ${target} HTTP/1.1`, ...names.map((n) => `${n}: ${headers[n]}`), `authorization: ${authorization}`, "connection: close"];
  return { head: lines.join("\r\n") + "\r\n\r\n", signature, amzDate, scope, key };
}

/** An unsigned request head with the given headers (Connection: close added). */
export function plainHead(port: number, method: string, target: string, headers: Record<string, string> = {}): string {
  const lines = [`${method} ${target} HTTP/1.1`, `host: 127.0.0.1:${port}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), "connection: close"];
  return lines.join("\r\n") + "\r\n\r\n";
}

/** The error code of an S3 <Error> body, or undefined. */
export function errorCode(body: string): string | undefined {
  return /<Error>[\s\S]*?<Code>([^<]*)<\/Code>/.exec(body)?.[1];
}

/** A hostile request's answer: 4xx with an S3 <Error> whose code is in our catalogue (optionally one of `codes`). */
export function assertS3ClientError(reply: RawReply, codes?: string[], what = ""): string {
  assert.ok(reply.status >= 400 && reply.status < 500, `${what}: expected 4xx, got ${reply.status} ${reply.body.slice(0, 300)}`);
  const code = errorCode(reply.body);
  assert.ok(code !== undefined, `${what}: expected an S3 <Error> body, got ${reply.status} ${reply.body.slice(0, 300)}`);
  assert.ok(isKnownCode(code), `${what}: ${code} is not in the error catalogue`);
  if (codes) assert.ok(codes.includes(code), `${what}: expected one of ${codes.join(", ")}, got ${code} (${reply.body.slice(0, 300)})`);
  return code;
}

/**
 * A logger that remembers every error line: an "internal error" is a 500 even if a client never
 * saw it. Request lines are left out: a 5xx one restates a status (a deliberate 503 SlowDown or
 * 501 NotImplemented as well), and every 500 also has its own "internal error" line.
 */
export function recordingLogger(): Logger & { errors: string[] } {
  const errors: string[] = [];
  return {
    errors,
    info() {},
    warn() {},
    error(msg, fields) {
      if (msg !== "request") errors.push(`${msg} ${JSON.stringify(fields ?? {})}`);
    },
  };
}

export interface FuzzServer {
  server: TestServer;
  log: ReturnType<typeof recordingLogger>;
  port: number;
  /** Asserts the server still answers a signed ListBuckets with 200. */
  assertAlive(): Promise<void>;
  /** Asserts nothing was logged as an internal error. */
  assertNoInternalErrors(): void;
}

export async function startFuzzServer(options: Parameters<typeof startTestServer>[0] = {}): Promise<FuzzServer> {
  const log = recordingLogger();
  const server = await startTestServer({ log, ...options });
  const port = server.port;
  return {
    server,
    log,
    port,
    async assertAlive() {
      const reply = await sendRaw(port, signedHead(port, { method: "GET", rawPath: "/" }).head);
      assert.equal(reply.status, 200, `server no longer answers: ${reply.status} ${reply.body.slice(0, 200)}`);
    },
    assertNoInternalErrors() {
      assert.deepEqual(log.errors, [], "the server logged internal errors");
    },
  };
}

/** Creates a bucket through a signed raw request. */
export async function createBucket(port: number, name: string, creds?: { accessKeyId: string; secretAccessKey: string }): Promise<void> {
  const reply = await sendRaw(port, signedHead(port, { method: "PUT", rawPath: "/" + name, ...(creds ?? {}) }).head);
  assert.equal(reply.status, 200, reply.body);
}

/** A signed request with a body (x-amz-content-sha256 the body's digest unless given). */
export function sendSigned(port: number, o: SignOptions & { body?: Buffer | string }, timeoutMs?: number): Promise<RawReply> {
  const body = o.body === undefined ? undefined : Buffer.from(o.body);
  const headers = { ...(o.headers ?? {}) };
  if (body !== undefined) headers["content-length"] = String(body.length);
  const payloadHash = o.payloadHash ?? (body !== undefined ? createHash("sha256").update(body).digest("hex") : undefined);
  const { head } = signedHead(port, { ...o, headers, payloadHash });
  return sendRaw(port, head, body ? [body] : [], { timeoutMs });
}
