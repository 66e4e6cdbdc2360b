// Fuzzing the authentication edge: the SigV4 Authorization header and presigned query parsers,
// SigV2 (header and query), tampering with requests the AWS SDK's own signer signed, the skew
// window and presigned expiry. Unit properties call authenticate() directly (many runs); the HTTP
// properties send the same hostile headers to a real server (fewer runs) and expect a 4xx S3 error.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { SignatureV4 } from "@smithy/signature-v4";
import { authenticate, canonicalQueryString, canonicalUri, type AuthInput } from "../../src/auth/sigv4.js";
import { S3Error } from "../../src/errors.js";
import { NodeSha256 } from "../helpers/raw.js";
import { amzDateOf, assertS3ClientError, params, plainHead, sendRaw, signedHead, startFuzzServer, type FuzzServer } from "./fuzz-helpers.js";

const AK = "AKIDSTOCKTAKEFUZZ001";
const SK = "fuzz/secret+key/0001";
const REGION = "us-east-1";
const SKEW = 15 * 60_000;
const lookup: AuthInput["lookup"] = (id) => (id === AK ? { secretAccessKey: SK, accountId: "111122223333" } : undefined);
const NOW = new Date("2026-11-25T12:00:00Z");
const AMZ = amzDateOf(NOW);

/** What node hands us for header values and the request target: one character per byte. */
const latin1Char = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));
const latin1 = (maxLength = 80) => fc.string({ unit: latin1Char, maxLength });
const hex64 = fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 64, maxLength: 64 });
/** A signature-shaped field: right length and alphabet, or anything at all (multi-byte characters included). */
const signatureLike = fc.oneof(hex64, latin1(100), fc.string({ unit: "grapheme", minLength: 60, maxLength: 70 }), fc.string({ unit: latin1Char, minLength: 64, maxLength: 64 }));

/** Runs authenticate and returns "ok", "anonymous" or the S3 error code; any other throw fails the property. */
function outcome(input: Partial<AuthInput> & { rawUrl: string; headers: AuthInput["headers"] }): string {
  try {
    const r = authenticate({ method: "GET", now: NOW, region: REGION, maxSkewMs: SKEW, lookup, ...input });
    return r.kind === "anonymous" ? "anonymous" : "ok";
  } catch (err) {
    if (err instanceof S3Error) return err.code;
    throw err;
  }
}

const credentialArb = fc.oneof(
  fc.constant(`${AK}/${AMZ.slice(0, 8)}/${REGION}/s3/aws4_request`),
  fc
    .tuple(fc.oneof(fc.constant(AK), latin1(24)), fc.oneof(fc.constant(AMZ.slice(0, 8)), latin1(10)), fc.oneof(fc.constant(REGION), latin1(12)), fc.oneof(fc.constant("s3"), latin1(4)), fc.oneof(fc.constant("aws4_request"), latin1(14)))
    .map((p) => p.join("/")),
  latin1(),
);
const signedHeadersArb = fc.oneof(fc.constant("host;x-amz-content-sha256;x-amz-date"), fc.constant("host"), latin1(40), fc.array(latin1(12), { maxLength: 5 }).map((a) => a.join(";")));
const payloadArb = fc.oneof(fc.constantFrom("UNSIGNED-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"), hex64, latin1(70));
const dateArb = fc.oneof(fc.constant(AMZ), fc.date({ noInvalidDate: true }).map(amzDateOf), latin1(20));

/** An Authorization header built from the SigV4 grammar with any part replaced by noise. */
const v4AuthorizationArb = fc
  .tuple(
    fc.oneof(fc.constant("AWS4-HMAC-SHA256 "), fc.constantFrom("AWS4-HMAC-SHA1 ", "AWS4-", "AWS ", ""), latin1(20)),
    credentialArb,
    signedHeadersArb,
    signatureLike,
    fc.constantFrom(", ", ",", " , ", ",,"),
    fc.boolean(),
  )
  .map(([alg, cred, sh, sig, sep, shuffle]) => {
    const fields = [`Credential=${cred}`, `SignedHeaders=${sh}`, `Signature=${sig}`];
    return alg + (shuffle ? fields.reverse() : fields).join(sep);
  });

const v2AuthorizationArb = fc.tuple(fc.oneof(fc.constant(AK), latin1(20)), signatureLike).map(([ak, sig]) => `AWS ${ak}:${sig}`);

/** Percent-encodes arbitrary text the way a sloppy or hostile client might (or not at all). */
const queryValue = fc.oneof(latin1(60).map(encodeURIComponent), latin1(60).map((s) => s.replace(/[&#\s]/g, "")), fc.constant("%"), fc.constant("%E0%A4%A"), fc.constant("%ED%A0%80"));

describe("fuzz: SigV4 / SigV2 parsers (unit)", () => {
  it("the Authorization header parser answers an S3 error for anything (never throws anything else)", () => {
    fc.assert(
      fc.property(fc.oneof(v4AuthorizationArb, v2AuthorizationArb, latin1(200)), dateArb, payloadArb, fc.option(latin1(40)), (authorization, date, payload, plainDate) => {
        const headers: AuthInput["headers"] = { host: "127.0.0.1:9000", authorization, "x-amz-date": date, "x-amz-content-sha256": payload };
        if (plainDate !== null) headers.date = plainDate;
        const r = outcome({ rawUrl: "/bucket/key", headers });
        // Random noise never carries a valid signature.
        assert.notEqual(r, "ok");
      }),
      params(3000),
    );
  });

  it("the presigned query parser (SigV4 and SigV2) answers an S3 error for anything", () => {
    const v4Names = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Content-Sha256"];
    const v2Names = ["AWSAccessKeyId", "Signature", "Expires"];
    const goodV4: Record<string, string> = {
      "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
      "X-Amz-Credential": `${AK}/${AMZ.slice(0, 8)}/${REGION}/s3/aws4_request`,
      "X-Amz-Date": AMZ,
      "X-Amz-Expires": "900",
      "X-Amz-SignedHeaders": "host",
      "X-Amz-Signature": "0".repeat(64),
    };
    const param = fc.tuple(fc.constantFrom(...v4Names, ...v2Names, "versionId", "uploads", "x"), fc.oneof(queryValue, fc.constantFrom("", "1", "99999999999999999999999", "-1", "604801")));
    fc.assert(
      fc.property(fc.boolean(), fc.array(param, { maxLength: 10 }), fc.option(signatureLike), (startGood, extra, sig) => {
        const pairs: [string, string][] = startGood ? Object.entries(goodV4) : [];
        pairs.push(...extra);
        if (sig !== null) pairs.push(["Signature", encodeURIComponent(sig)], ["X-Amz-Signature", encodeURIComponent(sig)]);
        const rawUrl = "/bucket/key?" + pairs.map(([k, v]) => `${k}=${v}`).join("&");
        const r = outcome({ rawUrl, headers: { host: "127.0.0.1:9000" } });
        assert.notEqual(r, "ok");
      }),
      params(3000),
    );
  });

  it("canonicalisation accepts any path and query node can deliver", () => {
    fc.assert(
      fc.property(latin1(200), latin1(200), (path, query) => {
        canonicalUri("/" + path);
        canonicalQueryString(query);
      }),
      params(3000),
    );
  });
});

const signer = new SignatureV4({ credentials: { accessKeyId: AK, secretAccessKey: SK }, region: REGION, service: "s3", sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });

function encodePath(path: string): string {
  return path
    .split("/")
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase()))
    .join("/");
}

function lower(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}

function toRawUrl(path: string, query: Record<string, string>): string {
  const qs = Object.entries(query)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join("&");
  return encodePath(path) + (qs ? "?" + qs : "");
}

/** Keys without "." or ".." segments (the SDK's signer would normalise those away) and no empty segment. */
const keyArb = fc.array(fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }).filter((s) => s !== "." && s !== ".." && !s.includes("/")), { minLength: 1, maxLength: 4 }).map((a) => a.join("/"));
const queryArb = fc.dictionary(fc.constantFrom("prefix", "delimiter", "max-keys", "versionId", "x-id", "marker"), fc.string({ unit: "grapheme", maxLength: 10 }), { maxKeys: 3 });
const headerValueArb = fc.string({ unit: fc.constantFrom(..."abcXYZ019 -_.:/=+"), minLength: 1, maxLength: 20 });

type Mutation = "signature" | "path" | "query-add" | "query-change" | "header" | "method" | "date";

function mutate(kind: Mutation, rawUrl: string, headers: Record<string, string>, pick: number): { rawUrl: string; headers: Record<string, string>; method?: string } {
  const h = { ...headers };
  switch (kind) {
    case "signature": {
      const auth = h.authorization!;
      const at = auth.length - 1 - (pick % 64);
      const c = auth[at]!;
      const next = "0123456789abcdef"[("0123456789abcdef".indexOf(c) + 1 + (pick % 15)) % 16]!;
      h.authorization = auth.slice(0, at) + next + auth.slice(at + 1);
      return { rawUrl, headers: h };
    }
    case "path": {
      const q = rawUrl.indexOf("?");
      const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
      return { rawUrl: path + "x" + (q === -1 ? "" : rawUrl.slice(q)), headers: h };
    }
    case "query-add":
      return { rawUrl: rawUrl + (rawUrl.includes("?") ? "&" : "?") + "fuzz-extra=1", headers: h };
    case "query-change":
      return { rawUrl: rawUrl.includes("?") ? rawUrl + "Z" : rawUrl + "?Z", headers: h };
    case "header":
      h["x-amz-meta-fuzz"] = h["x-amz-meta-fuzz"] + "!";
      return { rawUrl, headers: h };
    case "method":
      return { rawUrl, headers: h, method: "PUT" };
    case "date": {
      // One second later: still inside the skew window, so only the signature can refuse it.
      const d = new Date(NOW.getTime() + 1000);
      h["x-amz-date"] = amzDateOf(d);
      return { rawUrl, headers: h };
    }
  }
}

describe("fuzz: tampering with requests the AWS SDK's signer signed (unit)", () => {
  it("accepts the signed request and refuses every single change to it with SignatureDoesNotMatch", async () => {
    await fc.assert(
      fc.asyncProperty(
        keyArb,
        queryArb,
        headerValueArb,
        fc.constantFrom<Mutation>("signature", "path", "query-add", "query-change", "header", "method", "date"),
        fc.nat(),
        async (key, query, metaValue, kind, pick) => {
          const path = "/bucket/" + key;
          const signed = await signer.sign(
            { method: "GET", protocol: "http:", hostname: "127.0.0.1", port: 9000, path: encodePath(path), query, headers: { host: "127.0.0.1:9000", "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-meta-fuzz": metaValue } },
            { signingDate: NOW },
          );
          const rawUrl = toRawUrl(path, signed.query as Record<string, string>);
          const headers = lower(signed.headers as Record<string, string>);
          assert.equal(outcome({ rawUrl, headers }), "ok");
          const m = mutate(kind, rawUrl, headers, pick);
          assert.equal(outcome({ rawUrl: m.rawUrl, headers: m.headers, method: m.method ?? "GET" }), "SignatureDoesNotMatch", kind);
        },
      ),
      params(300),
    );
  });

  it("refuses a signed request replayed outside the 15-minute skew window, and only then", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: -48 * 3600, max: 48 * 3600 }), async (offsetS) => {
        const signed = await signer.sign(
          { method: "GET", protocol: "http:", hostname: "127.0.0.1", port: 9000, path: "/bucket/key", query: {}, headers: { host: "127.0.0.1:9000", "x-amz-content-sha256": "UNSIGNED-PAYLOAD" } },
          { signingDate: NOW },
        );
        const now = new Date(NOW.getTime() + offsetS * 1000);
        const r = outcome({ rawUrl: "/bucket/key", headers: lower(signed.headers as Record<string, string>), now });
        assert.equal(r, Math.abs(offsetS * 1000) > SKEW ? "RequestTimeTooSkewed" : "ok");
      }),
      params(300),
    );
  });

  it("accepts a presigned URL until it expires and refuses it after (AccessDenied), and any tampered copy", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 604_800 }), fc.integer({ min: -600, max: 700_000 }), fc.boolean(), async (expiresIn, ageS, tamper) => {
        const req = await signer.presign(
          // As @aws-sdk/s3-request-presigner does: the payload is UNSIGNED-PAYLOAD and that header stays off the URL.
          { method: "GET", protocol: "http:", hostname: "127.0.0.1", port: 9000, path: "/bucket/key", query: {}, headers: { host: "127.0.0.1:9000", "x-amz-content-sha256": "UNSIGNED-PAYLOAD" } },
          { expiresIn, signingDate: NOW, unhoistableHeaders: new Set(["x-amz-content-sha256"]), unsignableHeaders: new Set(["x-amz-content-sha256"]) },
        );
        const query = { ...(req.query as Record<string, string>) };
        if (tamper) query["X-Amz-Expires"] = String(Math.min(604_800, expiresIn + 1));
        const now = new Date(NOW.getTime() + ageS * 1000);
        const r = outcome({ rawUrl: toRawUrl("/bucket/key", query), headers: { host: "127.0.0.1:9000" }, now });
        const expired = ageS > expiresIn + (tamper ? 1 : 0);
        const notYet = -ageS * 1000 > SKEW;
        const expected = notYet || expired ? "AccessDenied" : tamper && expiresIn < 604_800 ? "SignatureDoesNotMatch" : "ok";
        assert.equal(r, expected);
      }),
      params(300),
    );
  });
});

describe("fuzz: hostile authentication over HTTP", () => {
  let s: FuzzServer;
  before(async () => {
    s = await startFuzzServer();
  });
  after(async () => {
    await s.server.stop();
  });

  /** Header values node accepts (no CR, LF or NUL: those are HTTP framing errors, tested apart). */
  const headerSafe = (arb: fc.Arbitrary<string>) => arb.map((v) => v.replace(/[\r\n\0]/g, "").trim());

  it("answers a 4xx S3 error to random Authorization headers, dates and payload modes", async () => {
    await fc.assert(
      fc.asyncProperty(headerSafe(fc.oneof(v4AuthorizationArb, v2AuthorizationArb, latin1(120))), headerSafe(dateArb), headerSafe(payloadArb), fc.constantFrom("GET", "PUT", "HEAD", "DELETE", "POST"), async (authorization, date, payload, method) => {
        const head = plainHead(s.port, method, "/fuzz-bucket/key", { authorization, "x-amz-date": date, "x-amz-content-sha256": payload, "content-length": "0" });
        const reply = await sendRaw(s.port, head);
        if (method === "HEAD") assert.ok(reply.status >= 400 && reply.status < 500, String(reply.status));
        else assertS3ClientError(reply, undefined, authorization);
      }),
      params(150, "http"),
    );
    await s.assertAlive();
    s.assertNoInternalErrors();
  });

  it("answers a 4xx S3 error to random presigned query strings", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature", "AWSAccessKeyId", "Signature", "Expires"), queryValue), { minLength: 1, maxLength: 8 }), async (pairs) => {
        const target = "/fuzz-bucket/key?" + pairs.map(([k, v]) => `${k}=${v.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c))}`).join("&");
        const reply = await sendRaw(s.port, plainHead(s.port, "GET", target));
        assertS3ClientError(reply, undefined, target);
      }),
      params(150, "http"),
    );
    await s.assertAlive();
    s.assertNoInternalErrors();
  });

  it("answers SignatureDoesNotMatch (403), not 500, to signatures of the right length in multi-byte characters", async () => {
    // Found by the property above: a 64-character signature whose UTF-8 form is longer made the
    // constant-time comparison throw (RangeError), which became 500 InternalError.
    const { head } = signedHead(s.port, { method: "GET", rawPath: "/" });
    const forged = head.replace(/Signature=[0-9a-f]{64}/, "Signature=" + "\u00e9".repeat(64));
    assertS3ClientError(await sendRaw(s.port, forged), ["SignatureDoesNotMatch"]);
    const v2 = plainHead(s.port, "GET", "/", { date: new Date().toUTCString(), authorization: `AWS STKTESTACCESSKEY0001:${"\u00e9".repeat(28)}` });
    assertS3ClientError(await sendRaw(s.port, v2), ["SignatureDoesNotMatch"]);
    const v2q = plainHead(s.port, "GET", `/?AWSAccessKeyId=STKTESTACCESSKEY0001&Expires=${Math.floor(Date.now() / 1000) + 600}&Signature=${encodeURIComponent("\u00e9".repeat(28))}`);
    assertS3ClientError(await sendRaw(s.port, v2q), ["SignatureDoesNotMatch"]);
    s.assertNoInternalErrors();
  });
});
