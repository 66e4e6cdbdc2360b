// CORS as a browser meets it: the configuration through the AWS SDK v3 (default settings), the
// preflight OPTIONS and the Access-Control-* headers of actual requests sent as a browser sends
// them (fetch with an Origin header, unsigned for the preflight), matched as S3 matches them.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CreateBucketCommand,
  DeleteBucketCorsCommand,
  GetBucketCorsCommand,
  GetObjectCommand,
  PutBucketCorsCommand,
  PutObjectCommand,
  type CORSRule,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { rejectsWith } from "../helpers/errors.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

describe("CORS", () => {
  let server: TestServer;
  const Bucket = "cors-bucket";
  const Bare = "cors-none";

  const rules: CORSRule[] = [
    { AllowedMethods: ["GET"], AllowedOrigins: ["*suffix"] },
    { AllowedMethods: ["GET"], AllowedOrigins: ["start*end"] },
    { AllowedMethods: ["GET", "HEAD"], AllowedOrigins: ["prefix*"], ExposeHeaders: ["ETag", "x-amz-meta-note"], MaxAgeSeconds: 600 },
    { AllowedMethods: ["PUT"], AllowedOrigins: ["https://app.example"], AllowedHeaders: ["content-type", "x-amz-meta-*"] },
    { AllowedMethods: ["GET"], AllowedOrigins: ["*"] },
  ];

  const url = (path: string) => `${server.url}/${path}`;
  const preflight = (path: string, headers: Record<string, string>) => fetch(url(path), { method: "OPTIONS", headers });

  before(async () => {
    server = await startTestServer();
    await server.client.send(new CreateBucketCommand({ Bucket }));
    await server.client.send(new CreateBucketCommand({ Bucket: Bare }));
    await server.client.send(new PutObjectCommand({ Bucket, Key: "k", Body: "hello" }));
    await server.client.send(new PutBucketCorsCommand({ Bucket, CORSConfiguration: { CORSRules: rules } }));
  });
  after(async () => {
    await server.stop();
  });

  it("stores, returns and deletes the configuration; NoSuchCORSConfiguration when there is none", async () => {
    const got = await server.client.send(new GetBucketCorsCommand({ Bucket }));
    assert.deepEqual(
      got.CORSRules!.map((r) => [r.AllowedOrigins, r.AllowedMethods, r.AllowedHeaders, r.ExposeHeaders, r.MaxAgeSeconds]),
      rules.map((r) => [r.AllowedOrigins, r.AllowedMethods, r.AllowedHeaders, r.ExposeHeaders, r.MaxAgeSeconds]),
    );
    await rejectsWith(server.client.send(new GetBucketCorsCommand({ Bucket: Bare })), "NoSuchCORSConfiguration", 404);
    await server.client.send(new PutBucketCorsCommand({ Bucket: Bare, CORSConfiguration: { CORSRules: [{ AllowedMethods: ["GET"], AllowedOrigins: ["*"] }] } }));
    await server.client.send(new DeleteBucketCorsCommand({ Bucket: Bare }));
    await rejectsWith(server.client.send(new GetBucketCorsCommand({ Bucket: Bare })), "NoSuchCORSConfiguration", 404);
  });

  it("refuses a rule with an unknown method or two wildcards in an origin, and an empty rule", async () => {
    const put = (CORSRules: CORSRule[]) => server.client.send(new PutBucketCorsCommand({ Bucket: Bare, CORSConfiguration: { CORSRules } }));
    await rejectsWith(put([{ AllowedMethods: ["PATCH"], AllowedOrigins: ["*"] }]), "InvalidRequest", 400);
    await rejectsWith(put([{ AllowedMethods: ["GET"], AllowedOrigins: ["*.a.*"] }]), "InvalidRequest", 400);
    await rejectsWith(put([{ AllowedMethods: ["GET"], AllowedOrigins: [] }]), "MalformedXML", 400);
  });

  it("answers a preflight with the first rule that allows the origin, method and headers", async () => {
    const ok = await preflight(`${Bucket}/k`, { Origin: "https://app.example", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "Content-Type, X-Amz-Meta-Owner" });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get("access-control-allow-origin"), "https://app.example");
    assert.equal(ok.headers.get("access-control-allow-methods"), "PUT");
    assert.equal(ok.headers.get("access-control-allow-headers"), "content-type, x-amz-meta-owner");
    assert.equal(ok.headers.get("access-control-allow-credentials"), "true");

    const exposed = await preflight(`${Bucket}/k`, { Origin: "prefix.site", "Access-Control-Request-Method": "HEAD" });
    assert.equal(exposed.status, 200);
    assert.equal(exposed.headers.get("access-control-allow-methods"), "GET, HEAD");
    assert.equal(exposed.headers.get("access-control-expose-headers"), "ETag, x-amz-meta-note");
    assert.equal(exposed.headers.get("access-control-max-age"), "600");

    for (const origin of ["startend", "start12end", "foo.suffix"]) {
      const r = await preflight(Bucket, { Origin: origin, "Access-Control-Request-Method": "GET" });
      assert.equal(r.headers.get("access-control-allow-origin"), origin, origin);
    }
    const any = await preflight(Bucket, { Origin: "https://elsewhere", "Access-Control-Request-Method": "GET" });
    assert.equal(any.headers.get("access-control-allow-origin"), "*", "the wildcard rule answers *");
    assert.equal(any.headers.get("access-control-allow-credentials"), null);
  });

  it("refuses a preflight no rule allows (403 AccessForbidden), or missing Origin or method (400)", async () => {
    const refused: Record<string, string>[] = [
      { Origin: "https://app.example", "Access-Control-Request-Method": "DELETE" },
      { Origin: "https://app.example", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "x-amz-acl" },
      { Origin: "https://elsewhere", "Access-Control-Request-Method": "PUT" },
    ];
    for (const headers of refused) {
      const r = await preflight(`${Bucket}/k`, headers);
      assert.equal(r.status, 403, JSON.stringify(headers));
      assert.match(await r.text(), /<Code>AccessForbidden<\/Code>/);
      assert.equal(r.headers.get("access-control-allow-origin"), null);
    }
    const noConfig = await preflight(`${Bare}/k`, { Origin: "https://app.example", "Access-Control-Request-Method": "GET" });
    assert.equal(noConfig.status, 403);
    assert.equal((await preflight(`${Bucket}/k`, {})).status, 400);
    assert.equal((await preflight(`${Bucket}/k`, { Origin: "https://app.example" })).status, 400);
  });

  it("answers a preflight for a presigned URL without checking its signature", async () => {
    const signed = await getSignedUrl(server.client, new GetObjectCommand({ Bucket, Key: "k" }), { expiresIn: 60 });
    const r = await fetch(signed, { method: "OPTIONS", headers: { Origin: "prefix.app", "Access-Control-Request-Method": "GET" } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("access-control-allow-origin"), "prefix.app");
  });

  it("adds the matching rule's headers to actual requests, errors included, and none without a match", async () => {
    const signed = await getSignedUrl(server.client, new GetObjectCommand({ Bucket, Key: "k" }), { expiresIn: 60 });
    const get = await fetch(signed, { headers: { Origin: "foo.suffix" } });
    assert.equal(get.status, 200);
    assert.equal(await get.text(), "hello");
    assert.equal(get.headers.get("access-control-allow-origin"), "foo.suffix");
    assert.equal(get.headers.get("access-control-allow-methods"), "GET");
    assert.match(get.headers.get("vary") ?? "", /Origin/);

    const denied = await fetch(url(`${Bucket}/k`), { headers: { Origin: "foo.suffix" } });
    assert.equal(denied.status, 403, "anonymous GET of a private object");
    assert.equal(denied.headers.get("access-control-allow-origin"), "foo.suffix", "the error carries the CORS headers");

    const put = await fetch(url(`${Bucket}/new`), { method: "PUT", body: "x", headers: { Origin: "foo.suffix" } });
    assert.equal(put.status, 403);
    assert.equal(put.headers.get("access-control-allow-origin"), null, "no rule allows PUT from foo.suffix");

    const plain = await fetch(signed);
    assert.equal(plain.headers.get("access-control-allow-origin"), null, "no Origin, no CORS headers");
  });
});
