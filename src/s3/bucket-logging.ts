// Server access logging's configuration: Put/GetBucketLogging, the model stored under the bucket
// setting "logging", and what a target bucket must be, checked when logging is set up and again
// before every delivery (access-log-delivery.ts): owned by the source bucket's owner, in its
// region, not Requester Pays, without SSE-KMS default encryption or Object Lock, and with a bucket
// policy that lets the logging service principal write under the TargetPrefix for this source.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLogging.html
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
import { S3Error } from "../errors.js";
import { asArray, elementOf, onlyChildren, parseXml, readBody, requiredText, textOf, type XmlNode } from "../xml/codec.js";
import type { BucketRecord } from "../storage/types.js";
import type { BucketSettings } from "../core/bucket-settings.js";
import { bucketEncryption } from "../core/encryption.js";
import { authorize } from "../auth/authorize.js";
import type { Principal } from "../auth/principal.js";
import { canonicalIdFor } from "../auth/accounts.js";
import type { Handler, ServerContext } from "./types.js";
import { knownCanonicalIds, resolveGrants, type RequestedGrant, type RequestedGrantee, type StoredGrant } from "./acl.js";
import { aclsEnabled } from "./ownership.js";
import { bucketLock } from "./object-lock.js";
import { payerOf } from "./request-payment.js";
import { UNIQUE_STRING_LENGTH, type KeyFormat } from "./access-log-format.js";

export const LOGGING_KIND = "logging";
const BODY_LIMIT = 64 * 1024;
const MAX_KEY_BYTES = 1024;
const XSI = "http://www.w3.org/2001/XMLSchema-instance";

export const DateSources = ["EventTime", "DeliveryTime"] as const;
/** What a TargetGrant may give: S3's BucketLogsPermission. */
export const LogPermissions = ["FULL_CONTROL", "READ", "WRITE"] as const;

/** A bucket's LoggingEnabled, as stored; no setting means logging is off. */
export interface LoggingConfiguration {
  targetBucket: string;
  targetPrefix: string;
  /** Only when the request gave TargetGrants (so GET answers what PUT said). */
  targetGrants?: StoredGrant[];
  /** Only when the request gave TargetObjectKeyFormat; delivery uses SimplePrefix without one. */
  keyFormat?: KeyFormat;
}

/** A LoggingEnabled with its grants as the request named them, before they are resolved. */
export interface RequestedLogging extends Omit<LoggingConfiguration, "targetGrants"> {
  targetGrants?: RequestedGrant[];
}

export function loggingOf(settings: BucketSettings, bucket: string): Promise<LoggingConfiguration | undefined> {
  return settings.get<LoggingConfiguration>(bucket, LOGGING_KIND);
}

// ---- The document ----------------------------------------------------------------------------

function grantee(node: Record<string, XmlNode | XmlNode[]>): RequestedGrantee {
  // The codec drops attributes: the grantee's xsi:type is read from what it carries.
  const named: RequestedGrantee[] = [];
  const id = textOf(node, "ID")?.trim();
  const uri = textOf(node, "URI")?.trim();
  const email = textOf(node, "EmailAddress")?.trim();
  if (id) named.push({ id });
  if (uri) named.push({ uri });
  if (email) named.push({ email });
  if (named.length !== 1) throw new S3Error("MalformedXML");
  return named[0]!;
}

function parseGrants(node: Record<string, XmlNode | XmlNode[]>): RequestedGrant[] {
  return asArray(node.Grant as XmlNode | XmlNode[] | undefined).map((g) => {
    if (typeof g !== "object" || Array.isArray(g)) throw new S3Error("MalformedXML");
    const who = elementOf(g, "Grantee");
    const permission = textOf(g, "Permission")?.trim();
    if (!who || permission === undefined || !(LogPermissions as readonly string[]).includes(permission)) throw new S3Error("MalformedXML");
    return { grantee: grantee(who), permission: permission as RequestedGrant["permission"] };
  });
}

function parseKeyFormat(node: Record<string, XmlNode | XmlNode[]>): KeyFormat {
  onlyChildren(node, ["SimplePrefix", "PartitionedPrefix"], "TargetObjectKeyFormat");
  const simple = elementOf(node, "SimplePrefix");
  const partitioned = elementOf(node, "PartitionedPrefix");
  if ((simple === undefined) === (partitioned === undefined)) throw new S3Error("MalformedXML", "TargetObjectKeyFormat takes one of SimplePrefix and PartitionedPrefix.");
  if (simple) {
    onlyChildren(simple, [], "SimplePrefix");
    return { kind: "simple" };
  }
  onlyChildren(partitioned!, ["PartitionDateSource"], "PartitionedPrefix");
  const source = textOf(partitioned!, "PartitionDateSource")?.trim();
  if (source === undefined) return { kind: "partitioned" };
  if (!(DateSources as readonly string[]).includes(source)) throw new S3Error("MalformedXML", `Invalid PartitionDateSource: ${source}`);
  return { kind: "partitioned", dateSource: source as (typeof DateSources)[number] };
}

/** A BucketLoggingStatus document: its LoggingEnabled, or undefined to turn logging off. */
export function parseBucketLoggingStatus(body: Buffer): RequestedLogging | undefined {
  const doc = parseXml(body, "BucketLoggingStatus");
  onlyChildren(doc, ["LoggingEnabled"], "BucketLoggingStatus");
  const enabled = elementOf(doc, "LoggingEnabled");
  if (!enabled) return undefined;
  onlyChildren(enabled, ["TargetBucket", "TargetPrefix", "TargetGrants", "TargetObjectKeyFormat"], "LoggingEnabled");
  const targetBucket = requiredText(enabled, "TargetBucket", "LoggingEnabled").trim();
  const targetPrefix = requiredText(enabled, "TargetPrefix", "LoggingEnabled");
  const grants = elementOf(enabled, "TargetGrants");
  const format = elementOf(enabled, "TargetObjectKeyFormat");
  return {
    targetBucket,
    targetPrefix,
    ...(grants ? { targetGrants: parseGrants(grants) } : {}),
    ...(format ? { keyFormat: parseKeyFormat(format) } : {}),
  };
}

export function bucketLoggingStatusXml(config: LoggingConfiguration | undefined, describe: (canonicalId: string) => string | undefined): Record<string, unknown> {
  if (!config) return {};
  const format = config.keyFormat;
  return {
    LoggingEnabled: {
      TargetBucket: config.targetBucket,
      TargetGrants: config.targetGrants && {
        Grant: config.targetGrants.map((g) => ({
          Grantee:
            "id" in g
              ? { "@_xmlns:xsi": XSI, "@_xsi:type": "CanonicalUser", ID: g.id, DisplayName: describe(g.id) }
              : { "@_xmlns:xsi": XSI, "@_xsi:type": "Group", URI: g.uri },
          Permission: g.permission,
        })),
      },
      TargetPrefix: config.targetPrefix,
      TargetObjectKeyFormat:
        format && (format.kind === "simple" ? { SimplePrefix: {} } : { PartitionedPrefix: { PartitionDateSource: format.dateSource } }),
    },
  };
}

// ---- The target bucket -------------------------------------------------------------------------

/** The logging service principal acting for `source`, as the target's bucket policy sees it. */
export function loggingPrincipal(source: Pick<BucketRecord, "name" | "ownerAccountId">): Principal {
  return {
    kind: "service",
    service: "logging.s3.amazonaws.com",
    // A Stocktake account has two names, its 12-digit id and its canonical user id; a policy
    // naming the source account either way names it.
    sourceAccount: [source.ownerAccountId, canonicalIdFor(source.ownerAccountId)],
    sourceArn: `arn:aws:s3:::${source.name}`,
  };
}

/**
 * The checks a target must pass when logging is set up and before each delivery, throwing the
 * S3Error PutBucketLogging answers: the same owner and region as the source (S3 logs only within
 * one account), not Requester Pays, no SSE-KMS default encryption (log objects are written with
 * SSE-S3 or none), no Object Lock. The bucket policy is asked about separately (authorizeLogWrite).
 */
export async function checkTarget(ctx: ServerContext, source: Pick<BucketRecord, "name" | "ownerAccountId" | "region">, target: BucketRecord): Promise<void> {
  if (target.ownerAccountId !== source.ownerAccountId) {
    throw new S3Error("InvalidTargetBucketForLogging", "The owner for the bucket to be logged and the target bucket must be the same.");
  }
  if (target.region !== source.region) throw new S3Error("InvalidTargetBucketForLogging", "The target bucket for logging must be in the same region as the bucket being logged.");
  if ((await payerOf(ctx.settings, target.name)) === "Requester") throw new S3Error("InvalidArgument", "The target bucket for logging must not have Requester Pays enabled.");
  const encryption = await bucketEncryption(ctx, target.name);
  if (encryption !== undefined && encryption.algorithm !== "AES256") {
    throw new S3Error("InvalidArgument", "The target bucket for logging must not use SSE-KMS default encryption; SSE-S3 is supported.");
  }
  if (await bucketLock(ctx, target.name)) throw new S3Error("InvalidArgument", "The target bucket for logging must not have Object Lock enabled.");
}

/**
 * Whether the target's bucket policy lets logging.s3.amazonaws.com s3:PutObject `key` with the
 * source's aws:SourceArn and aws:SourceAccount; AccessDenied if not. PutBucketLogging asks it of
 * the TargetPrefix, and each delivery of the key it is about to write, so a policy's Deny (or an
 * Allow narrower than the prefix) holds for every log object.
 */
export async function authorizeLogWrite(ctx: ServerContext, source: Pick<BucketRecord, "name" | "ownerAccountId">, target: BucketRecord, key: string): Promise<void> {
  try {
    await authorize({
      principal: loggingPrincipal(source),
      action: "s3:PutObject",
      bucket: target,
      key,
      policies: ctx.policies,
      context: { "aws:SecureTransport": "true", "aws:CurrentTime": ctx.clock.now().toISOString() },
    });
  } catch (err) {
    if (err instanceof S3Error && err.code === "AccessDenied") {
      throw new S3Error("AccessDenied", `The bucket policy of ${target.name} does not allow logging.s3.amazonaws.com to write ${key} for ${source.name}.`);
    }
    throw err;
  }
}

// ---- Handlers ----------------------------------------------------------------------------------

/** The longest key a format writes under `prefix` for `source` (logObjectKey's parts). */
function longestKeyBytes(prefix: string, format: KeyFormat | undefined, source: BucketRecord): number {
  const stamp = "YYYY-MM-DD-hh-mm-ss-".length + UNIQUE_STRING_LENGTH;
  const partitions = format?.kind === "partitioned" ? `000000000000/${source.region}/${source.name}/YYYY/MM/DD/`.length : 0;
  return Buffer.byteLength(prefix) + partitions + stamp;
}

export const putBucketLogging: Handler = async (req, ctx) => {
  const source = req.bucketRecord!;
  // S3: "To set the logging status of a bucket, you must be the bucket owner", whatever a policy grants.
  if (req.principal.kind !== "account" || req.principal.accountId !== source.ownerAccountId) throw new S3Error("AccessDenied");
  const requested = parseBucketLoggingStatus(await readBody(req.body, BODY_LIMIT));
  if (!requested) {
    await ctx.settings.delete(source, LOGGING_KIND);
    return {};
  }
  if (longestKeyBytes(requested.targetPrefix, requested.keyFormat, source) > MAX_KEY_BYTES) {
    throw new S3Error("InvalidArgument", "The TargetPrefix is too long for the log object keys to fit in 1024 bytes.", { ArgumentName: "TargetPrefix" });
  }
  const target = await ctx.metadata.getBucket(requested.targetBucket);
  if (!target) throw new S3Error("InvalidTargetBucketForLogging", "The target bucket for logging does not exist", { TargetBucket: requested.targetBucket });
  // S3 only advises against these two (the logs would record their own reading); Stocktake
  // refuses them, as Ceph RGW does, so that a target is never itself a logged bucket.
  if (target.name === source.name) throw new S3Error("InvalidArgument", "The target bucket for logging must not be the bucket being logged.");
  if (await loggingOf(ctx.settings, target.name)) throw new S3Error("InvalidArgument", "The target bucket for logging must not have logging enabled itself.");
  if (requested.targetGrants?.length && !(await aclsEnabled(ctx, target.name))) {
    throw new S3Error("AccessControlListNotSupported", "Target grants not allowed for bucket owner enforced buckets");
  }
  await checkTarget(ctx, source, target);
  await authorizeLogWrite(ctx, source, target, requested.targetPrefix);
  let targetGrants: StoredGrant[] | undefined;
  if (requested.targetGrants?.length) {
    const known = await knownCanonicalIds(ctx);
    targetGrants = resolveGrants(requested.targetGrants, (id) => known.has(id));
  }
  const config: LoggingConfiguration = {
    targetBucket: target.name,
    targetPrefix: requested.targetPrefix,
    ...(targetGrants ? { targetGrants } : {}),
    ...(requested.keyFormat ? { keyFormat: requested.keyFormat } : {}),
  };
  await ctx.settings.put(source, LOGGING_KIND, config);
  return {};
};

export const getBucketLogging: Handler = async (req, ctx) => {
  const config = await loggingOf(ctx.settings, req.bucketRecord!.name);
  const known = config?.targetGrants?.some((g) => "id" in g) ? await knownCanonicalIds(ctx) : new Map<string, { displayName: string }>();
  return { xml: { root: "BucketLoggingStatus", value: bucketLoggingStatusXml(config, (id) => known.get(id)?.displayName) } };
};
