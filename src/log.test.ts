// Redaction of log lines: what a presigned URL, an Authorization header or an error message may
// carry that must never be written to the log.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createLogger, redactingLogger, redactSecrets, type Logger } from "./log.js";

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

  it("removes SSE-C keys (the object's and a copy source's) from fields, header dumps and URLs, keeping their MD5s", () => {
    const KEY = "c2VjcmV0LWN1c3RvbWVyLWtleS0zMi1ieXRlcy1sb25nIQ==";
    const COPY_KEY = "Y29weS1zb3VyY2UtY3VzdG9tZXIta2V5LTMyLWJ5dGVzIQ==";
    const fields = {
      headers: {
        "x-amz-server-side-encryption-customer-key": KEY,
        "X-Amz-Copy-Source-Server-Side-Encryption-Customer-Key": COPY_KEY,
        "x-amz-server-side-encryption-customer-key-md5": "bWQ1",
      },
      "x-amz-server-side-encryption-customer-key": KEY,
      url: `/b/k?x-amz-server-side-encryption-customer-key=${encodeURIComponent(KEY)}&X-Amz-Copy-Source-Server-Side-Encryption-Customer-Key=${COPY_KEY}&partNumber=1`,
      dump: `x-amz-server-side-encryption-customer-key: ${KEY}\r\nx-amz-copy-source-server-side-encryption-customer-key:${COPY_KEY}\r\nhost: h`,
      json: JSON.stringify({ "x-amz-server-side-encryption-customer-key": KEY, "x-amz-server-side-encryption-customer-key-MD5": "bWQ1" }),
    };
    const out = JSON.stringify(redactSecrets(fields));
    for (const secret of [KEY, encodeURIComponent(KEY), COPY_KEY]) assert.ok(!out.includes(secret), `${secret} in ${out}`);
    const red = redactSecrets(fields) as typeof fields;
    assert.equal(red.headers["x-amz-server-side-encryption-customer-key-md5"], "bWQ1");
    assert.match(red.url, /partNumber=1$/);
    assert.match(red.dump, /host: h$/);
    assert.match(red.json, /"x-amz-server-side-encryption-customer-key-MD5":"bWQ1"/);
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

describe("createLogger", () => {
  /** A logger writing into an array, as it would write to stderr. */
  function captured(options: Parameters<typeof createLogger>[0] = {}): { log: Logger; written: string[] } {
    const written: string[] = [];
    return { log: createLogger({ ...options, destination: { write: (line: string) => void written.push(line) } }), written };
  }

  it("writes one JSON object per line: ISO time, the level's label, msg and the fields", () => {
    const { log, written } = captured();
    log.info("bucket created", { bucket: "b", owner: "111122223333" });
    log.warn("two\nlines, 100%s %d", { count: 2 });
    log.error("failed");
    assert.equal(written.length, 3);
    for (const line of written) {
      assert.ok(line.endsWith("\n") && !line.slice(0, -1).includes("\n"), `not one line: ${line}`);
    }
    const [info, warn, error] = written.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.match(String(info!.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Math.abs(Date.parse(String(info!.time)) - Date.now()) < 60_000);
    assert.deepEqual({ ...info, time: undefined }, { level: "info", time: undefined, msg: "bucket created", bucket: "b", owner: "111122223333" });
    assert.deepEqual({ ...warn, time: undefined }, { level: "warn", time: undefined, msg: "two\nlines, 100%s %d", count: 2 });
    assert.deepEqual({ ...error, time: undefined }, { level: "error", time: undefined, msg: "failed" });
  });

  it("drops lines below its level; silent drops every line", () => {
    const warnOnly = captured({ level: "warn" });
    warnOnly.log.info("i");
    warnOnly.log.warn("w");
    warnOnly.log.error("e");
    assert.deepEqual(warnOnly.written.map((l) => (JSON.parse(l) as { msg: string }).msg), ["w", "e"]);
    const silent = captured({ level: "silent" });
    silent.log.error("e");
    assert.deepEqual(silent.written, []);
  });

  it("redacts secret headers by itself, at the top level and in a headers object, without redactingLogger", () => {
    const { log, written } = captured();
    log.warn("headers", {
      authorization: "AWS AKID:c2lnbmF0dXJl",
      headers: { authorization: "AWS AKID:c2lnbmF0dXJl", "x-amz-server-side-encryption-customer-key": "S1NFQ1JFVA==", "x-amz-security-token": "SESSIONTOKEN9", host: "h" },
      "x-amz-copy-source-server-side-encryption-customer-key": "Q09QWUtFWQ==",
    });
    for (const secret of ["c2lnbmF0dXJl", "S1NFQ1JFVA==", "SESSIONTOKEN9", "Q09QWUtFWQ=="]) assert.ok(!written[0]!.includes(secret), written[0]);
    const line = JSON.parse(written[0]!) as { authorization: string; headers: Record<string, string> };
    assert.equal(line.authorization, "REDACTED");
    assert.equal(line.headers["x-amz-server-side-encryption-customer-key"], "REDACTED");
    assert.equal(line.headers.host, "h");
  });

  it("pretty: one readable line per event, level and message first, the fields after", () => {
    const { log, written } = captured({ format: "pretty" });
    log.info("request", { requestId: "ABC123", status: 200 });
    log.error("internal error", { requestId: "DEF456" });
    assert.equal(written.length, 2);
    assert.match(written[0]!, /^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] INFO: request \{"requestId":"ABC123","status":200\}\n$/);
    assert.match(written[1]!, /^\[[^\]]+\] ERROR: internal error \{"requestId":"DEF456"\}\n$/);
  });
});
