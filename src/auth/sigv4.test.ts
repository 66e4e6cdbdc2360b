// SigV4 verification: requests signed by @smithy/signature-v4 (the AWS SDK's signer) in header and
// presigned form, AWS's published aws-chunked example, each payload mode, and each error code.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { SignatureV4 } from "@smithy/signature-v4";
import { authenticate, claimedAccessKeyId, decodeBody, signingKey, type AuthInput, type AuthOutcome } from "./sigv4.js";
import { signV2, stringToSignV2 } from "./sigv2.js";
import { S3Error } from "../errors.js";
import { checksumBase64 } from "../crypto/checksums.js";
import { NodeSha256 } from "../../test/helpers/raw.js";

const AK = "AKIDSTOCKTAKETEST001";
const SK = "test/secret/key+with/slashes";
const lookup: AuthInput["lookup"] = (id) => (id === AK ? { secretAccessKey: SK, accountId: "111122223333" } : undefined);
const signer = new SignatureV4({ credentials: { accessKeyId: AK, secretAccessKey: SK }, region: "us-east-1", service: "s3", sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });

interface Signed {
  rawUrl: string;
  headers: Record<string, string>;
}

async function signRequest(opts: { method?: string; path: string; query?: Record<string, string>; headers?: Record<string, string>; payload?: string; date?: Date }): Promise<Signed> {
  const headers = { host: "127.0.0.1:9000", "x-amz-content-sha256": opts.payload ?? "UNSIGNED-PAYLOAD", ...(opts.headers ?? {}) };
  const signed = await signer.sign(
    { method: opts.method ?? "GET", protocol: "http:", hostname: "127.0.0.1", port: 9000, path: encodePath(opts.path), query: opts.query ?? {}, headers },
    { signingDate: opts.date ?? new Date() },
  );
  return { rawUrl: toRawUrl(opts.path, signed.query as Record<string, string>), headers: lower(signed.headers) };
}

async function presign(path: string, expiresIn: number, date = new Date()): Promise<Signed> {
  const req = await signer.presign(
    // As @aws-sdk/s3-request-presigner does: the payload is UNSIGNED-PAYLOAD and the header stays off the URL.
    { method: "GET", protocol: "http:", hostname: "127.0.0.1", port: 9000, path: encodePath(path), query: {}, headers: { host: "127.0.0.1:9000", "x-amz-content-sha256": "UNSIGNED-PAYLOAD" } },
    { expiresIn, signingDate: date, unhoistableHeaders: new Set(["x-amz-content-sha256"]), unsignableHeaders: new Set(["x-amz-content-sha256"]) },
  );
  return { rawUrl: toRawUrl(path, req.query as Record<string, string>), headers: { host: "127.0.0.1:9000" } };
}

/** The S3 client encodes each key segment (RFC 3986) before signing, and signs that path as is. */
function encodePath(path: string): string {
  return path
    .split("/")
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase()))
    .join("/");
}

/** What arrives on the wire: here a client that leaves !'()* unescaped, which S3 must still accept. */
function toRawUrl(path: string, query: Record<string, string>): string {
  const encodedPath = path.split("/").map((s) => encodeURIComponent(s)).join("/");
  const qs = Object.entries(query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
  return encodedPath + (qs ? "?" + qs : "");
}

function lower(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}

function auth(s: Signed, extra: Partial<AuthInput> = {}): AuthOutcome {
  return authenticate({ method: "GET", rawUrl: s.rawUrl, headers: s.headers, now: new Date(), region: "us-east-1", maxSkewMs: 15 * 60_000, lookup, ...extra });
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof S3Error) return e.code;
    throw e;
  }
  return "no error";
}

async function streamCode(body: Readable): Promise<string> {
  try {
    await buffer(body);
    return "no error";
  } catch (e) {
    if (e instanceof S3Error) return e.code;
    throw e;
  }
}

describe("SigV4 header authentication", () => {
  it("accepts a request the AWS SDK's signer signed, with keys and queries that need encoding", async () => {
    const s = await signRequest({ path: "/bucket/dir/a key+é~!*'()", query: { "list-type": "2", prefix: "a b/ü", "continuation-token": "x=y&z" } });
    const out = auth(s);
    assert.equal(out.kind, "signed");
    assert.equal(out.kind === "signed" && out.accountId, "111122223333");
  });

  it("treats a request with no credentials as anonymous", () => {
    assert.deepEqual(auth({ rawUrl: "/bucket/key", headers: { host: "h" } }), { kind: "anonymous" });
  });

  it("answers SignatureDoesNotMatch when a signed header, the path or the query is changed", async () => {
    const s = await signRequest({ path: "/bucket/key", headers: { "x-amz-meta-a": "1" } });
    assert.equal(code(() => auth({ ...s, headers: { ...s.headers, "x-amz-meta-a": "2" } })), "SignatureDoesNotMatch");
    assert.equal(code(() => auth({ ...s, rawUrl: "/bucket/other" })), "SignatureDoesNotMatch");
    assert.equal(code(() => auth({ ...s, rawUrl: "/bucket/key?acl" })), "SignatureDoesNotMatch");
    assert.equal(code(() => auth(s, { method: "DELETE" })), "SignatureDoesNotMatch");
  });

  it("verifies a non-ASCII header value whether its client sent UTF-8 bytes (botocore) or one byte per Latin-1 character", async () => {
    // Node reads header bytes as Latin-1: what the server sees for each client's wire bytes.
    const asNodeReads = (bytes: Buffer) => bytes.toString("latin1");
    const utf8Client = await signRequest({ path: "/bucket/key", headers: { "x-amz-meta-greeting": "Hello World\u00e9" } });
    const sentUtf8 = { ...utf8Client.headers, "x-amz-meta-greeting": asNodeReads(Buffer.from("Hello World\u00e9", "utf8")) };
    assert.equal(auth({ ...utf8Client, headers: sentUtf8 }).kind, "signed");
    const latin1Client = await signRequest({ path: "/bucket/key", headers: { "x-amz-meta-greeting": "\u00d9\u00a1" } });
    const sentLatin1 = { ...latin1Client.headers, "x-amz-meta-greeting": asNodeReads(Buffer.from("\u00d9\u00a1", "latin1")) };
    assert.equal(auth({ ...latin1Client, headers: sentLatin1 }).kind, "signed");
    assert.equal(code(() => auth({ ...utf8Client, headers: { ...sentUtf8, "x-amz-meta-greeting": asNodeReads(Buffer.from("Hello World\u00e8", "utf8")) } })), "SignatureDoesNotMatch");
  });

  it("answers InvalidAccessKeyId for an unknown key and SignatureDoesNotMatch for a wrong secret", async () => {
    const s = await signRequest({ path: "/bucket/key" });
    assert.equal(code(() => auth(s, { lookup: () => undefined })), "InvalidAccessKeyId");
    assert.equal(code(() => auth(s, { lookup: () => ({ secretAccessKey: "wrong", accountId: "1" }) })), "SignatureDoesNotMatch");
  });

  it("answers RequestTimeTooSkewed beyond 15 minutes either way", async () => {
    const old = await signRequest({ path: "/bucket/key", date: new Date(Date.now() - 16 * 60_000) });
    assert.equal(code(() => auth(old)), "RequestTimeTooSkewed");
    const recent = await signRequest({ path: "/bucket/key", date: new Date(Date.now() - 14 * 60_000) });
    assert.equal(auth(recent).kind, "signed");
    const future = await signRequest({ path: "/bucket/key", date: new Date(Date.now() + 16 * 60_000) });
    assert.equal(code(() => auth(future)), "RequestTimeTooSkewed");
  });

  it("answers AuthorizationHeaderMalformed for a wrong region or an unparseable header", async () => {
    const s = await signRequest({ path: "/bucket/key" });
    assert.equal(code(() => auth(s, { region: "eu-west-1" })), "AuthorizationHeaderMalformed");
    assert.equal(code(() => auth({ ...s, headers: { ...s.headers, authorization: "AWS4-HMAC-SHA256 Credential=AK/x" } })), "AuthorizationHeaderMalformed");
  });

  it("requires x-amz-content-sha256 and refuses values that are neither a digest nor a mode", async () => {
    const s = await signRequest({ path: "/bucket/key" });
    const { ["x-amz-content-sha256"]: _, ...without } = s.headers;
    assert.equal(code(() => auth({ ...s, headers: without })), "InvalidRequest");
    const bad = await signRequest({ path: "/bucket/key", payload: "not-a-hash" });
    assert.equal(code(() => auth(bad)), "InvalidArgument");
  });

  it("checks a hex payload digest against the body and answers XAmzContentSHA256Mismatch", async () => {
    const body = Buffer.from("the real body");
    const good = await signRequest({ method: "PUT", path: "/b/k", payload: createHash("sha256").update(body).digest("hex") });
    const out = auth(good, { method: "PUT" });
    const decoded = decodeBody(out, good.headers, Readable.from([body]));
    assert.ok((await buffer(decoded.body)).equals(body));
    const decodedBad = decodeBody(out, good.headers, Readable.from([Buffer.from("another body")]));
    assert.equal(await streamCode(decodedBad.body), "XAmzContentSHA256Mismatch");
  });
});

describe("SigV4 presigned URLs", () => {
  it("accepts a URL presigned by the AWS SDK's signer until it expires", async () => {
    const s = await presign("/bucket/key with space", 60);
    assert.equal(auth(s).kind, "signed");
    assert.equal(code(() => auth(s, { now: new Date(Date.now() + 61_000) })), "AccessDenied");
  });

  it("tells a negative expiry from one that is not a number, in S3's words", async () => {
    const s = await presign("/bucket/key", 60);
    const message = (expires: string) => {
      try {
        auth({ ...s, rawUrl: s.rawUrl.replace("X-Amz-Expires=60", `X-Amz-Expires=${expires}`) });
      } catch (e) {
        if (e instanceof S3Error && e.code === "AuthorizationQueryParametersError") return e.message;
        throw e;
      }
      return "accepted";
    };
    assert.equal(message("-1000"), "X-Amz-Expires must be non-negative");
    assert.equal(message("soon"), "X-Amz-Expires should be a number");
  });

  it("refuses tampering and expiry over a week", async () => {
    const s = await presign("/bucket/key", 60);
    assert.equal(code(() => auth({ ...s, rawUrl: s.rawUrl.replace("/key", "/kez") })), "SignatureDoesNotMatch");
    assert.equal(code(() => auth({ ...s, rawUrl: s.rawUrl.replace("X-Amz-Expires=60", "X-Amz-Expires=61") })), "SignatureDoesNotMatch");
    assert.equal(code(() => auth({ ...s, rawUrl: s.rawUrl.replace("X-Amz-Expires=60", "X-Amz-Expires=604801") })), "AuthorizationQueryParametersError");
    assert.equal(code(() => auth({ ...s, rawUrl: s.rawUrl.replace("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1") })), "AuthorizationQueryParametersError");
  });
});

// AWS's published example of a signed aws-chunked upload: 66,560 bytes of "a" in 64 KiB chunks.
const EXAMPLE = {
  secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  headers: {
    host: "s3.amazonaws.com",
    "x-amz-date": "20130524T000000Z",
    "x-amz-storage-class": "REDUCED_REDUNDANCY",
    authorization:
      "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
    "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    "content-encoding": "aws-chunked",
    "x-amz-decoded-content-length": "66560",
    "content-length": "66824",
  } as Record<string, string>,
  chunks: [
    [65536, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"],
    [1024, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"],
    [0, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"],
  ] as [number, string][],
};

function exampleBody(): Buffer {
  return Buffer.concat(
    EXAMPLE.chunks.map(([size, sig]) => Buffer.concat([Buffer.from(`${size.toString(16)};chunk-signature=${sig}\r\n`), Buffer.alloc(size, "a"), Buffer.from("\r\n")])),
  );
}

function exampleAuth(): AuthOutcome {
  return authenticate({
    method: "PUT",
    rawUrl: "/examplebucket/chunkObject.txt",
    headers: EXAMPLE.headers,
    now: new Date("2013-05-24T00:00:00Z"),
    region: "us-east-1",
    maxSkewMs: 15 * 60_000,
    lookup: () => ({ secretAccessKey: EXAMPLE.secret, accountId: "111122223333" }),
  });
}

/** Feeds `data` to the decoder in pieces cut at `cuts`. */
function pieces(data: Buffer, cuts: number[]): Readable {
  const out: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, data.length]) {
    out.push(data.subarray(at, c));
    at = c;
  }
  return Readable.from(out.filter((b) => b.length > 0));
}

describe("the access key a request names, looked up before authentication", () => {
  it("is the key authenticate() verifies, in every form a request can be signed", async () => {
    const date = new Date().toUTCString();
    const v2 = stringToSignV2({ method: "GET", rawPath: "/bucket/key", rawQuery: "", headers: { date }, hostBucket: undefined }, date);
    const expires = String(Math.floor(Date.now() / 1000) + 60);
    const v2Query = stringToSignV2({ method: "GET", rawPath: "/bucket/key", rawQuery: "", headers: {}, hostBucket: undefined }, expires);
    const forms: Signed[] = [
      await signRequest({ path: "/bucket/key" }),
      await presign("/bucket/key", 60),
      { rawUrl: "/bucket/key", headers: { host: "127.0.0.1:9000", date, authorization: `AWS ${AK}:${signV2(SK, v2)}` } },
      { rawUrl: `/bucket/key?AWSAccessKeyId=${AK}&Expires=${expires}&Signature=${encodeURIComponent(signV2(SK, v2Query))}`, headers: { host: "127.0.0.1:9000" } },
    ];
    for (const s of forms) {
      assert.equal(claimedAccessKeyId(s.rawUrl, s.headers), AK, s.rawUrl);
      const outcome = auth(s);
      assert.equal(outcome.kind === "signed" && outcome.accessKeyId, AK, s.rawUrl);
    }
  });

  it("accepts a SigV2 request for a bucket alone signed as /bucket/ (botocore's form), and not one signed for another path", () => {
    const date = new Date().toUTCString();
    const signed = (path: string) => signV2(SK, stringToSignV2({ method: "PUT", rawPath: path, rawQuery: "", headers: { date }, hostBucket: undefined }, date));
    const request = (signature: string): Signed => ({ rawUrl: "/bucket", headers: { host: "127.0.0.1:9000", date, authorization: `AWS ${AK}:${signature}` } });
    for (const path of ["/bucket", "/bucket/"]) {
      const outcome = auth(request(signed(path)), { method: "PUT" });
      assert.equal(outcome.kind === "signed" && outcome.accessKeyId, AK, path);
    }
    assert.throws(() => auth(request(signed("/other/")), { method: "PUT" }), (e: unknown) => e instanceof S3Error && e.code === "SignatureDoesNotMatch");
  });

  it("is undefined for an anonymous request", () => {
    assert.equal(claimedAccessKeyId("/bucket/key?versionId=1", { host: "127.0.0.1:9000" }), undefined);
  });
});

describe("aws-chunked bodies", () => {
  it("verifies AWS's published signed-chunk example and yields the decoded bytes", async () => {
    const out = exampleAuth();
    assert.equal(out.kind, "signed");
    const body = exampleBody();
    assert.equal(body.length, 66824);
    const decoded = await buffer(decodeBody(out, EXAMPLE.headers, Readable.from([body])).body);
    assert.ok(decoded.equals(Buffer.alloc(66560, "a")));
  });

  it("decodes the same whatever the network cuts the framing into", async () => {
    const out = exampleAuth();
    const body = exampleBody();
    for (const cut of [1, 2, 80, 84, 85, 86, 65620, 65621, 65622, 65623, 66700, 66800, 66823]) {
      const decoded = await buffer(decodeBody(out, EXAMPLE.headers, pieces(body, [cut])).body);
      assert.equal(decoded.length, 66560, `cut at ${cut}`);
    }
    const oneByteAtATime = Readable.from(Array.from({ length: 400 }, (_, i) => body.subarray(i, i + 1)).concat([body.subarray(400)]));
    assert.equal((await buffer(decodeBody(out, EXAMPLE.headers, oneByteAtATime).body)).length, 66560);
  });

  it("answers SignatureDoesNotMatch when a chunk byte or a chunk signature is changed", async () => {
    const out = exampleAuth();
    const changedByte = exampleBody();
    changedByte[100] = 0x62;
    assert.equal(await streamCode(decodeBody(out, EXAMPLE.headers, Readable.from([changedByte])).body), "SignatureDoesNotMatch");
    const swapped = Buffer.from(exampleBody().toString("latin1").replace("ad80c730", "ad80c731"), "latin1");
    assert.equal(await streamCode(decodeBody(out, EXAMPLE.headers, Readable.from([swapped])).body), "SignatureDoesNotMatch");
  });

  it("answers IncompleteBody when the body is cut short, and InvalidRequest for broken framing", async () => {
    const out = exampleAuth();
    const body = exampleBody();
    assert.equal(await streamCode(decodeBody(out, EXAMPLE.headers, Readable.from([body.subarray(0, 40000)])).body), "IncompleteBody");
    assert.equal(await streamCode(decodeBody(out, EXAMPLE.headers, Readable.from([Buffer.from("zz;chunk-signature=00\r\n")])).body), "InvalidRequest");
    assert.equal(await streamCode(decodeBody(out, EXAMPLE.headers, Readable.from([Buffer.alloc(10_000, "1")])).body), "InvalidRequest");
  });

  function unsignedTrailerBody(data: Buffer, trailerValue: string): Buffer {
    return Buffer.concat([
      Buffer.from(`${data.length.toString(16)}\r\n`),
      data,
      Buffer.from(`\r\n0\r\nx-amz-checksum-crc32:${trailerValue}\r\n\r\n`),
    ]);
  }

  it("checks the trailing checksum of STREAMING-UNSIGNED-PAYLOAD-TRAILER (the SDK's default for PutObject)", async () => {
    const data = Buffer.from("hello trailer");
    const headers = { "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "x-amz-trailer": "x-amz-checksum-crc32", "x-amz-decoded-content-length": String(data.length) };
    const signed = { kind: "signed", payloadHash: headers["x-amz-content-sha256"] } as AuthOutcome;
    const good = decodeBody(signed, headers, Readable.from([unsignedTrailerBody(data, checksumBase64("CRC32", data))]));
    assert.ok((await buffer(good.body)).equals(data));
    assert.equal(good.trailers()["x-amz-checksum-crc32"], checksumBase64("CRC32", data));
    const bad = decodeBody(signed, headers, Readable.from([unsignedTrailerBody(data, checksumBase64("CRC32", Buffer.from("other")))]));
    assert.equal(await streamCode(bad.body), "BadDigest");
  });

  it("checks chunk and trailer signatures of STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", async () => {
    const date = new Date();
    const data = Buffer.from("signed with a trailer");
    const s = await signRequest({
      method: "PUT",
      path: "/b/k",
      payload: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
      headers: { "x-amz-trailer": "x-amz-checksum-crc32c", "x-amz-decoded-content-length": String(data.length), "content-encoding": "aws-chunked" },
      date,
    });
    const out = auth(s, { method: "PUT" });
    assert.equal(out.kind, "signed");
    if (out.kind !== "signed") return;
    const key = signingKey(SK, out.amzDate.slice(0, 8), "us-east-1");
    const sign = (sts: string) => createHmac("sha256", key).update(sts).digest("hex");
    const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
    const empty = sha("");
    const sig1 = sign(["AWS4-HMAC-SHA256-PAYLOAD", out.amzDate, out.scope, out.signature, empty, sha(data)].join("\n"));
    const sig0 = sign(["AWS4-HMAC-SHA256-PAYLOAD", out.amzDate, out.scope, sig1, empty, sha("")].join("\n"));
    const trailer = `x-amz-checksum-crc32c:${checksumBase64("CRC32C", data)}\n`;
    const trailerSig = sign(["AWS4-HMAC-SHA256-TRAILER", out.amzDate, out.scope, sig0, sha(trailer)].join("\n"));
    const frame = (trailerSignature: string) =>
      Buffer.concat([
        Buffer.from(`${data.length.toString(16)};chunk-signature=${sig1}\r\n`),
        data,
        Buffer.from(`\r\n0;chunk-signature=${sig0}\r\n${trailer.trim()}\r\nx-amz-trailer-signature:${trailerSignature}\r\n\r\n`),
      ]);
    const decoded = decodeBody(out, s.headers, Readable.from([frame(trailerSig)]));
    assert.ok((await buffer(decoded.body)).equals(data));
    const forged = decodeBody(out, s.headers, Readable.from([frame("0".repeat(64))]));
    assert.equal(await streamCode(forged.body), "SignatureDoesNotMatch");
  });
});
