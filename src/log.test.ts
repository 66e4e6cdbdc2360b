// Redaction of log lines: what a presigned URL, an Authorization header or an error message may
// carry that must never be written to the log.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { redactingLogger, redactSecrets, type Logger } from "./log.js";

describe("redactSecrets", () => {
  const SIG = "a".repeat(64);
  it("removes signatures, credentials, security tokens and Authorization values from any field", () => {
    const fields = {
      url: `/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Security-Token=SESSIONTOKEN9&X-Amz-Signature=${SIG}&versionId=3`,
      v2: "/b/k?AWSAccessKeyId=AKID&Expires=1&Signature=abc%2Bdef%3D",
      lower: `/b/k?x-amz-signature=${SIG}&x-amz-credential=AKID`,
      encodedName: `/b/k?X%2DAmz%2DSignature=${SIG}`,
      headers: { Authorization: `AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${SIG}`, "x-amz-security-token": "SESSIONTOKEN9", host: "h" },
      authorization: "AWS AKID:c2lnbmF0dXJl",
      error: `Error: failed for GET /b/k?X-Amz-Signature=${SIG}\n    at somewhere`,
      dump: `{"authorization":"AWS AKID:c2lnbmF0dXJl","host":"h"}`,
      count: 3,
    };
    const out = JSON.stringify(redactSecrets(fields));
    for (const secret of [SIG, "AKID", "SESSIONTOKEN9", "c2lnbmF0dXJl", "abc%2Bdef"]) assert.ok(!out.includes(secret), `${secret} in ${out}`);
    const red = redactSecrets(fields) as typeof fields;
    assert.match(red.url, /X-Amz-Date=20260101T000000Z/);
    assert.match(red.url, /versionId=3$/);
    assert.match(red.url, /X-Amz-Signature=REDACTED/);
    assert.equal(red.headers.host, "h");
    assert.equal(red.count, 3);
    assert.equal(fields.count, 3, "the caller's fields are left alone");
    assert.match(fields.url, new RegExp(SIG));
  });

  it("leaves lines without secrets unchanged", () => {
    const fields = { op: "GetBucketCors", method: "GET", url: "/bucket/key?cors&prefix=a%3Db", error: "SignatureDoesNotMatch" };
    assert.deepEqual(redactSecrets(fields), fields);
  });
});

describe("redactingLogger", () => {
  it("redacts the message and the fields of every level before the logger sees them", () => {
    const seen: string[] = [];
    const keep = (level: string) => (msg: string, fields?: Record<string, unknown>) => void seen.push(`${level} ${msg} ${JSON.stringify(fields)}`);
    const inner: Logger = { info: keep("INFO"), warn: keep("WARN"), error: keep("ERROR") };
    const log = redactingLogger(inner);
    const url = "/b/k?AWSAccessKeyId=AKID&Expires=1&Signature=c2lnbmF0dXJl";
    log.info(`GET ${url}`, { url });
    log.warn("w", { headers: { authorization: "AWS AKID:c2lnbmF0dXJl" } });
    log.error("e", { error: new Error(`failed: ${url}`) });
    assert.equal(seen.length, 3);
    for (const line of seen) assert.ok(!line.includes("c2lnbmF0dXJl") && !line.includes("AKID"), line);
    assert.match(seen[0]!, /^INFO GET \/b\/k\?AWSAccessKeyId=REDACTED&Expires=1&Signature=REDACTED /);
  });
});
