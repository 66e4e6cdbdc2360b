// Server access logging through the AWS SDK v3: Put/GetBucketLogging, what a target bucket must be
// and the bucket policy it needs, and delivery: requests to a logging bucket become records in log
// objects of the target, in S3's format, under the configured key format.
import { rmSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CreateBucketCommand,
  DeleteBucketPolicyCommand,
  DeleteObjectCommand,
  GetBucketLoggingCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketEncryptionCommand,
  PutBucketLoggingCommand,
  PutBucketPolicyCommand,
  PutBucketRequestPaymentCommand,
  PutObjectCommand,
  type LoggingEnabled,
  type S3Client,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { rejectsWith } from "../helpers/errors.js";
import { startTestServer, TEST_ACCOUNT_ID, type TestServer } from "../helpers/server.js";
import { canonicalIdFor, createAccount, loadSealingKey } from "../../src/auth/accounts.js";
import type { Logger } from "../../src/log.js";

const OWNER = canonicalIdFor(TEST_ACCOUNT_ID);

/** The bucket policy S3's user guide gives the target: the logging service may write under the prefix for one source. */
function loggingPolicy(target: string, source: string, opts: { resource?: string; account?: string; principal?: unknown; action?: string } = {}): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "S3ServerAccessLogsPolicy",
        Effect: "Allow",
        Principal: opts.principal ?? { Service: "logging.s3.amazonaws.com" },
        Action: [opts.action ?? "s3:PutObject"],
        Resource: `arn:aws:s3:::${target}/${opts.resource ?? "logs/*"}`,
        Condition: { ArnLike: { "aws:SourceArn": `arn:aws:s3:::${source}` }, StringEquals: { "aws:SourceAccount": opts.account ?? TEST_ACCOUNT_ID } },
      },
    ],
  });
}

/** A record's fields as log readers split them: brackets and double quotes group, backslash escapes. */
function fields(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|\[([^\]]*)\]|(\S+)/g)].map((m) => (m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] ?? m[3]!)));
}

interface Parsed {
  owner: string;
  bucket: string;
  time: string;
  requester: string;
  operation: string;
  key: string;
  uri: string;
  status: string;
  error: string;
  bytesSent: string;
  objectSize: string;
  referer: string;
  userAgent: string;
  versionId: string;
  signature: string;
  authType: string;
  host: string;
  aclRequired: string;
}

function parse(line: string): Parsed {
  const f = fields(line);
  assert.equal(f.length, 26, line);
  return {
    owner: f[0]!,
    bucket: f[1]!,
    time: f[2]!,
    requester: f[4]!,
    operation: f[6]!,
    key: f[7]!,
    uri: f[8]!,
    status: f[9]!,
    error: f[10]!,
    bytesSent: f[11]!,
    objectSize: f[12]!,
    referer: f[15]!,
    userAgent: f[16]!,
    versionId: f[17]!,
    signature: f[19]!,
    authType: f[21]!,
    host: f[22]!,
    aclRequired: f[25]!,
  };
}

async function keysUnder(client: S3Client, Bucket: string, Prefix: string): Promise<string[]> {
  const listed = await client.send(new ListObjectsV2Command({ Bucket, Prefix }));
  return (listed.Contents ?? []).map((o) => o.Key!);
}

async function records(client: S3Client, Bucket: string, Prefix: string): Promise<Parsed[]> {
  const out: Parsed[] = [];
  for (const Key of await keysUnder(client, Bucket, Prefix)) {
    const body = await (await client.send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToString();
    out.push(...body.trimEnd().split("\n").map(parse));
  }
  return out;
}

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, info() {}, warn: (msg, f) => void warnings.push(`${msg} ${JSON.stringify(f ?? {})}`), error() {} };
}

describe("server access logging", () => {
  let server: TestServer;
  let s3: S3Client;
  let other: S3Client;
  let otherId: string;
  const log = recordingLogger();

  /** A source and a target whose policy admits the source; logging not yet enabled. */
  async function pair(name: string, policy = true): Promise<{ source: string; target: string }> {
    const source = `${name}-src`;
    const target = `${name}-logs`;
    await s3.send(new CreateBucketCommand({ Bucket: source }));
    await s3.send(new CreateBucketCommand({ Bucket: target }));
    if (policy) await s3.send(new PutBucketPolicyCommand({ Bucket: target, Policy: loggingPolicy(target, source) }));
    return { source, target };
  }

  const enable = (Bucket: string, LoggingEnabled: LoggingEnabled, client = s3) => client.send(new PutBucketLoggingCommand({ Bucket, BucketLoggingStatus: { LoggingEnabled } }));

  before(async () => {
    // Deliveries happen when a test flushes, not on the timer.
    server = await startTestServer({ accessLogFlushIntervalMs: 3_600_000, log });
    s3 = server.client;
    const creds = await createAccount(server.context.metadata, loadSealingKey(server.dataDir), {}, new Date());
    otherId = creds.accountId;
    other = server.clientFor(creds.accessKeyId, creds.secretAccessKey);
  });
  after(async () => {
    other.destroy();
    await server.stop();
  });

  describe("configuration", () => {
    it("returns what was set, the key format only when given, and turns off with an empty status", async () => {
      const { source, target } = await pair("cfg");
      assert.equal((await s3.send(new GetBucketLoggingCommand({ Bucket: source }))).LoggingEnabled, undefined);

      await enable(source, { TargetBucket: target, TargetPrefix: "logs/" });
      assert.deepEqual((await s3.send(new GetBucketLoggingCommand({ Bucket: source }))).LoggingEnabled, { TargetBucket: target, TargetPrefix: "logs/" });

      await enable(source, { TargetBucket: target, TargetPrefix: "logs/", TargetObjectKeyFormat: { SimplePrefix: {} } });
      assert.deepEqual((await s3.send(new GetBucketLoggingCommand({ Bucket: source }))).LoggingEnabled?.TargetObjectKeyFormat, { SimplePrefix: {} });

      await enable(source, { TargetBucket: target, TargetPrefix: "logs/", TargetObjectKeyFormat: { PartitionedPrefix: { PartitionDateSource: "DeliveryTime" } } });
      assert.deepEqual((await s3.send(new GetBucketLoggingCommand({ Bucket: source }))).LoggingEnabled?.TargetObjectKeyFormat, {
        PartitionedPrefix: { PartitionDateSource: "DeliveryTime" },
      });

      await s3.send(new PutBucketLoggingCommand({ Bucket: source, BucketLoggingStatus: {} }));
      assert.equal((await s3.send(new GetBucketLoggingCommand({ Bucket: source }))).LoggingEnabled, undefined);
    });

    it("refuses a source or target that does not exist, and a PartitionDateSource S3 does not know", async () => {
      const { source, target } = await pair("missing");
      await rejectsWith(enable(`${source}-kaboom`, { TargetBucket: target, TargetPrefix: "logs/" }), "NoSuchBucket", 404);
      await rejectsWith(enable(source, { TargetBucket: `${target}-kaboom`, TargetPrefix: "logs/" }), "InvalidTargetBucketForLogging", 400);
      await rejectsWith(
        enable(source, { TargetBucket: target, TargetPrefix: "logs/", TargetObjectKeyFormat: { PartitionedPrefix: { PartitionDateSource: "kaboom" as "EventTime" } } }),
        "MalformedXML",
        400,
      );
    });

    it("refuses the source as its own target, and a target that logs itself", async () => {
      const { source, target } = await pair("chain");
      await s3.send(new PutBucketPolicyCommand({ Bucket: source, Policy: loggingPolicy(source, source) }));
      await rejectsWith(enable(source, { TargetBucket: source, TargetPrefix: "logs/" }), "InvalidArgument", 400);

      const third = await pair("chain-next");
      await s3.send(new PutBucketPolicyCommand({ Bucket: third.target, Policy: loggingPolicy(third.target, target) }));
      await enable(target, { TargetBucket: third.target, TargetPrefix: "logs/" });
      await rejectsWith(enable(source, { TargetBucket: target, TargetPrefix: "logs/" }), "InvalidArgument", 400);
    });

    it("accepts a target with SSE-S3 default encryption, refuses SSE-KMS, Requester Pays and Object Lock", async () => {
      const { source, target } = await pair("attrs");
      await s3.send(new PutBucketEncryptionCommand({ Bucket: target, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }] } }));
      await enable(source, { TargetBucket: target, TargetPrefix: "logs/" });

      await s3.send(new PutBucketEncryptionCommand({ Bucket: target, ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms" } }] } }));
      await rejectsWith(enable(source, { TargetBucket: target, TargetPrefix: "logs/" }), "InvalidArgument", 400);

      const payer = await pair("attrs-payer");
      await s3.send(new PutBucketRequestPaymentCommand({ Bucket: payer.target, RequestPaymentConfiguration: { Payer: "Requester" } }));
      await rejectsWith(enable(payer.source, { TargetBucket: payer.target, TargetPrefix: "logs/" }), "InvalidArgument", 400);

      await s3.send(new CreateBucketCommand({ Bucket: "attrs-locked", ObjectLockEnabledForBucket: true }));
      await s3.send(new PutBucketPolicyCommand({ Bucket: "attrs-locked", Policy: loggingPolicy("attrs-locked", payer.source) }));
      await rejectsWith(enable(payer.source, { TargetBucket: "attrs-locked", TargetPrefix: "logs/" }), "InvalidArgument", 400);
    });

    it("refuses a target of another account, whatever its policy allows", async () => {
      const source = "cross-src";
      await s3.send(new CreateBucketCommand({ Bucket: source }));
      await other.send(new CreateBucketCommand({ Bucket: "cross-logs" }));
      await other.send(new PutBucketPolicyCommand({ Bucket: "cross-logs", Policy: loggingPolicy("cross-logs", source) }));
      await rejectsWith(enable(source, { TargetBucket: "cross-logs", TargetPrefix: "logs/" }), "InvalidTargetBucketForLogging", 400);
    });

    it("takes TargetGrants only for a target with ACLs enabled, and returns them", async () => {
      const { source, target } = await pair("grants");
      const TargetGrants = [{ Grantee: { Type: "CanonicalUser" as const, ID: canonicalIdFor(otherId) }, Permission: "READ" as const }];
      await rejectsWith(enable(source, { TargetBucket: target, TargetPrefix: "logs/", TargetGrants }), "AccessControlListNotSupported", 400);

      await s3.send(new CreateBucketCommand({ Bucket: "grants-acl-logs", ObjectOwnership: "ObjectWriter" }));
      await s3.send(new PutBucketPolicyCommand({ Bucket: "grants-acl-logs", Policy: loggingPolicy("grants-acl-logs", source) }));
      await enable(source, { TargetBucket: "grants-acl-logs", TargetPrefix: "logs/", TargetGrants });
      const got = await s3.send(new GetBucketLoggingCommand({ Bucket: source }));
      assert.deepEqual(
        got.LoggingEnabled?.TargetGrants?.map((g) => [g.Grantee?.Type, g.Grantee?.ID, g.Permission]),
        [["CanonicalUser", canonicalIdFor(otherId), "READ"]],
      );

      // Delivered log objects carry the grants.
      await s3.send(new HeadObjectCommand({ Bucket: source, Key: "nothing" })).catch(() => undefined);
      await server.accessLogs.flush();
      const [key] = await keysUnder(s3, "grants-acl-logs", "logs/");
      assert.ok(key, "a log object was delivered");
      const acl = await s3.send(new GetObjectAclCommand({ Bucket: "grants-acl-logs", Key: key }));
      assert.deepEqual(acl.Grants?.map((g) => [g.Grantee?.ID, g.Permission]).sort(), [[canonicalIdFor(otherId), "READ"], [OWNER, "FULL_CONTROL"]].sort());
    });
  });

  describe("permissions", () => {
    it("needs a target policy letting logging.s3.amazonaws.com write the prefix for this source and account", async () => {
      const { source, target } = await pair("perm", false);
      const tryWith = async (policy: string | undefined) => {
        if (policy) await s3.send(new PutBucketPolicyCommand({ Bucket: target, Policy: policy }));
        return enable(source, { TargetBucket: target, TargetPrefix: "logs/" });
      };
      await rejectsWith(tryWith(undefined), "AccessDenied", 403);
      await rejectsWith(tryWith(loggingPolicy(target, source, { principal: { AWS: "*" } })), "AccessDenied", 403);
      await rejectsWith(tryWith(loggingPolicy(target, source, { principal: { Service: "s3.amazonaws.com" } })), "AccessDenied", 403);
      await rejectsWith(tryWith(loggingPolicy(target, source, { action: "s3:GetObject" })), "AccessDenied", 403);
      await rejectsWith(tryWith(loggingPolicy(target, source, { resource: "other/*" })), "AccessDenied", 403);
      await rejectsWith(tryWith(loggingPolicy(target, "kaboom")), "AccessDenied", 403);
      await rejectsWith(tryWith(loggingPolicy(target, source, { account: "999999999999" })), "AccessDenied", 403);
      // The account named by its id, or by its canonical user id; the resource exactly the prefix.
      await tryWith(loggingPolicy(target, source));
      await tryWith(loggingPolicy(target, source, { account: OWNER, resource: "logs/" }));
    });

    it("lets only the bucket owner set or remove logging, whatever the bucket policy grants", async () => {
      const { source, target } = await pair("owner-only");
      await s3.send(
        new PutBucketPolicyCommand({
          Bucket: source,
          Policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: "*", Action: ["s3:PutBucketLogging", "s3:GetBucketLogging"], Resource: `arn:aws:s3:::${source}` }] }),
        }),
      );
      await rejectsWith(enable(source, { TargetBucket: target, TargetPrefix: "logs/" }, other), "AccessDenied", 403);
      await enable(source, { TargetBucket: target, TargetPrefix: "logs/" });
      await rejectsWith(other.send(new PutBucketLoggingCommand({ Bucket: source, BucketLoggingStatus: {} })), "AccessDenied", 403);
      assert.equal((await other.send(new GetBucketLoggingCommand({ Bucket: source }))).LoggingEnabled?.TargetBucket, target);
    });
  });

  describe("delivery", () => {
    it("writes one log object of S3-format records naming each request's operation, key and status", async () => {
      const { source, target } = await pair("deliver");
      await enable(source, { TargetBucket: target, TargetPrefix: "logs/" });
      await s3.send(new PutObjectCommand({ Bucket: source, Key: "dir/a b.txt", Body: "hello world" }));
      await s3.send(new GetObjectCommand({ Bucket: source, Key: "dir/a b.txt" }));
      await s3.send(new HeadObjectCommand({ Bucket: source, Key: "dir/a b.txt" }));
      await rejectsWith(s3.send(new GetObjectCommand({ Bucket: source, Key: "missing" })), "NoSuchKey", 404);
      await s3.send(new ListObjectsV2Command({ Bucket: source }));
      assert.equal((await fetch(`${server.url}/${source}/dir/a%20b.txt`)).status, 403);
      await s3.send(new DeleteObjectCommand({ Bucket: source, Key: "dir/a b.txt" }));

      await server.accessLogs.flush();
      const keys = await keysUnder(s3, target, "logs/");
      assert.equal(keys.length, 1, keys.join(", "));
      assert.match(keys[0]!, /^logs\/\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9A-F]{16}$/);

      const got = await records(s3, target, "logs/");
      assert.deepEqual(
        got.map((r) => [r.operation, r.key, r.status, r.error]),
        [
          ["REST.PUT.OBJECT", "dir/a%20b.txt", "200", "-"],
          ["REST.GET.OBJECT", "dir/a%20b.txt", "200", "-"],
          ["REST.HEAD.OBJECT", "dir/a%20b.txt", "200", "-"],
          ["REST.GET.OBJECT", "missing", "404", "NoSuchKey"],
          ["REST.GET.BUCKET", "-", "200", "-"],
          ["REST.GET.OBJECT", "dir/a%20b.txt", "403", "AccessDenied"],
          ["REST.DELETE.OBJECT", "dir/a%20b.txt", "204", "-"],
        ],
      );
      for (const r of got) {
        assert.equal(r.owner, OWNER);
        assert.equal(r.bucket, source);
        assert.match(r.time, /^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
        assert.equal(r.host, new URL(server.url).host);
        assert.equal(r.aclRequired, "-");
      }
      const [put, read, , , , anonymous] = got;
      assert.equal(put!.requester, OWNER);
      assert.equal(put!.signature, "SigV4");
      assert.equal(put!.authType, "AuthHeader");
      assert.equal(put!.objectSize, "11");
      assert.match(put!.uri, new RegExp(`^PUT /${source}/dir/a%20b\\.txt(\\?\\S*)? HTTP/1\\.1$`));
      assert.equal(read!.bytesSent, "11");
      assert.equal(read!.objectSize, "11");
      assert.match(read!.userAgent, /aws-sdk-js/);
      assert.equal(anonymous!.requester, "-");
      assert.equal(anonymous!.signature, "-");
      assert.equal(anonymous!.authType, "-");

      // Writing the log object made no request of its own to log.
      await server.accessLogs.flush();
      assert.equal((await keysUnder(s3, target, "logs/")).length, 1);
    });

    it("logs presigned requests as QueryString with their signature redacted, and when an ACL allowed them", async () => {
      const source = "acl-src";
      await s3.send(new CreateBucketCommand({ Bucket: source, ObjectOwnership: "ObjectWriter" }));
      await s3.send(new CreateBucketCommand({ Bucket: "acl-logs" }));
      await s3.send(new PutBucketPolicyCommand({ Bucket: "acl-logs", Policy: loggingPolicy("acl-logs", source) }));
      await enable(source, { TargetBucket: "acl-logs", TargetPrefix: "logs/" });
      await s3.send(new PutObjectCommand({ Bucket: source, Key: "shared", Body: "x", GrantRead: `id="${canonicalIdFor(otherId)}"` }));
      await other.send(new GetObjectCommand({ Bucket: source, Key: "shared" }));
      const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: source, Key: "shared" }), { expiresIn: 60 });
      // A page opened through a presigned URL sends that URL as the Referer of what it loads.
      assert.equal((await fetch(url, { headers: { referer: url } })).status, 200);

      await server.accessLogs.flush();
      const got = await records(s3, "acl-logs", "logs/");
      const [, byAcl, presigned] = got;
      assert.equal(byAcl!.requester, canonicalIdFor(otherId));
      assert.equal(byAcl!.aclRequired, "Yes");
      assert.equal(presigned!.authType, "QueryString");
      assert.equal(presigned!.signature, "SigV4");
      assert.match(presigned!.uri, /X-Amz-Signature=REDACTED/);
      assert.doesNotMatch(presigned!.uri, /X-Amz-Credential=(?!REDACTED)/);
      assert.match(presigned!.referer, /X-Amz-Signature=REDACTED/);
      assert.doesNotMatch(presigned!.referer, /X-Amz-(Credential|Signature)=(?!REDACTED)/);
    });

    it("keys PartitionedPrefix objects by account, region, bucket and the event day", async () => {
      const { source, target } = await pair("part");
      await enable(source, { TargetBucket: target, TargetPrefix: "logs/", TargetObjectKeyFormat: { PartitionedPrefix: { PartitionDateSource: "EventTime" } } });
      await s3.send(new PutObjectCommand({ Bucket: source, Key: "k", Body: "v" }));
      await server.accessLogs.flush();
      const [key] = await keysUnder(s3, target, "logs/");
      const now = new Date();
      const day = `${now.getUTCFullYear()}/${String(now.getUTCMonth() + 1).padStart(2, "0")}/${String(now.getUTCDate()).padStart(2, "0")}`;
      assert.match(key!, new RegExp(`^logs/${TEST_ACCOUNT_ID}/us-east-1/${source}/${day}/${day.replaceAll("/", "-")}-00-00-00-[0-9A-F]{16}$`));
    });

    it("drops a delivery the target's policy no longer allows, with a log line", async () => {
      const { source, target } = await pair("revoked");
      await enable(source, { TargetBucket: target, TargetPrefix: "logs/" });
      await s3.send(new PutObjectCommand({ Bucket: source, Key: "k", Body: "v" }));
      await s3.send(new DeleteBucketPolicyCommand({ Bucket: target }));
      const before = log.warnings.length;
      await server.accessLogs.flush();
      assert.deepEqual(await keysUnder(s3, target, ""), []);
      const dropped = log.warnings.slice(before).filter((w) => w.includes("server access log records dropped") && w.includes(source));
      assert.equal(dropped.length, 1, log.warnings.join("\n"));
      assert.match(dropped[0]!, /AccessDenied/);
    });

    it("authorizes each log object's own key, not the prefix: a policy for the prefix alone, or a Deny on the keys, stops delivery", async () => {
      const dropsWith = async (name: string, policy: (source: string, target: string) => string) => {
        const { source, target } = await pair(name, false);
        await s3.send(new PutBucketPolicyCommand({ Bucket: target, Policy: policy(source, target) }));
        await enable(source, { TargetBucket: target, TargetPrefix: "logs/" });
        await s3.send(new PutObjectCommand({ Bucket: source, Key: "k", Body: "v" }));
        const before = log.warnings.length;
        await server.accessLogs.flush();
        assert.deepEqual(await keysUnder(s3, target, ""), [], name);
        const dropped = log.warnings.slice(before).filter((w) => w.includes("server access log records dropped") && w.includes(source));
        assert.equal(dropped.length, 1, log.warnings.join("\n"));
        assert.match(dropped[0]!, new RegExp(`AccessDenied.*logs/${new Date().getUTCFullYear()}-`));
      };
      // The configuration is accepted (its check asks about the prefix), but no log object's key is "logs/".
      await dropsWith("exact", (source, target) => loggingPolicy(target, source, { resource: "logs/" }));
      await dropsWith("denied", (source, target) => {
        const policy = JSON.parse(loggingPolicy(target, source)) as { Statement: unknown[] };
        policy.Statement.push({ Effect: "Deny", Principal: { Service: "logging.s3.amazonaws.com" }, Action: "s3:PutObject", Resource: `arn:aws:s3:::${target}/logs/2*` });
        return JSON.stringify(policy);
      });
    });

    it("keeps delivering what was recorded before logging was turned off", async () => {
      const { source, target } = await pair("turned-off");
      await enable(source, { TargetBucket: target, TargetPrefix: "logs/" });
      await s3.send(new PutObjectCommand({ Bucket: source, Key: "before", Body: "v" }));
      await s3.send(new PutBucketLoggingCommand({ Bucket: source, BucketLoggingStatus: {} }));
      await s3.send(new PutObjectCommand({ Bucket: source, Key: "after", Body: "v" }));
      await server.accessLogs.flush();
      const got = await records(s3, target, "logs/");
      assert.deepEqual(
        got.map((r) => [r.operation, r.key]),
        [
          ["REST.PUT.OBJECT", "before"],
          ["REST.PUT.LOGGING_STATUS", "-"],
        ],
      );
    });
  });
});

describe("server access logging on its own", () => {
  async function logging(server: TestServer): Promise<void> {
    await server.client.send(new CreateBucketCommand({ Bucket: "own-src" }));
    await server.client.send(new CreateBucketCommand({ Bucket: "own-logs" }));
    await server.client.send(new PutBucketPolicyCommand({ Bucket: "own-logs", Policy: loggingPolicy("own-logs", "own-src") }));
    await server.client.send(new PutBucketLoggingCommand({ Bucket: "own-src", BucketLoggingStatus: { LoggingEnabled: { TargetBucket: "own-logs", TargetPrefix: "logs/" } } }));
  }

  it("delivers on the flush interval", async () => {
    const server = await startTestServer({ accessLogFlushIntervalMs: 100 });
    try {
      await logging(server);
      await server.client.send(new PutObjectCommand({ Bucket: "own-src", Key: "k", Body: "v" }));
      const deadline = Date.now() + 5_000;
      while ((await keysUnder(server.client, "own-logs", "logs/")).length === 0) {
        assert.ok(Date.now() < deadline, "no log object within 5 s of a 100 ms flush interval");
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await server.stop();
    }
  });

  it("delivers what is buffered when the server closes", async () => {
    const first = await startTestServer({ accessLogFlushIntervalMs: 3_600_000 });
    const dir = first.dataDir;
    let server = first;
    try {
      await logging(server);
      await server.client.send(new PutObjectCommand({ Bucket: "own-src", Key: "k", Body: "v" }));
      server = await server.restart();
      const got = await records(server.client, "own-logs", "logs/");
      assert.ok(got.some((r) => r.operation === "REST.PUT.OBJECT" && r.key === "k"), JSON.stringify(got));
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
