// S3 Object Lock: the bucket's lock configuration (CreateBucket's x-amz-bucket-object-lock-enabled,
// Put/GetObjectLockConfiguration), a version's retention and legal hold (the x-amz-object-lock-*
// headers of writes, Put/GetObjectRetention, Put/GetObjectLegalHold) and the rules they impose on
// deletes and on versioning. capability-hooks.ts calls the hook functions; the handlers are rows of
// the operation table.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectLockConfiguration.html
import { S3Error } from "../errors.js";
import { elementOf, parseXml, textOf, xmlDate } from "../xml/codec.js";
import type { Handler, S3Request, ServerContext } from "./types.js";
import { BucketSettings } from "../core/bucket-settings.js";
import type { BucketConfigRow, BucketRecord, ObjectVersionRecord, UploadRecord } from "../storage/types.js";
import { authorize, requestConditionContext } from "../auth/authorize.js";
import { readChecksummedBody } from "./checksummed-body.js";
import { addressedVersion, declaredChecksumAlgorithm, expectedMd5, header } from "./request.js";
import {
  isActive,
  LegalHoldStatuses,
  LOCKED_MESSAGE,
  LOCK_SETTINGS_KIND,
  RetentionModes,
  versionLock,
  type LegalHoldStatus,
  type RetentionMode,
  type VersionLock,
} from "../core/object-lock.js";


export interface DefaultRetention {
  mode: RetentionMode;
  /** Exactly one of days and years. */
  days?: number;
  years?: number;
}

/** A lock-enabled bucket's configuration; buckets without object lock have none stored. */
export interface BucketLock {
  enabled: true;
  defaultRetention?: DefaultRetention;
}

const MAX_DEFAULT_DAYS = 36_500;
const MAX_DEFAULT_YEARS = 100;
const DAY_MS = 86_400_000;
const XML_LIMIT = 64 * 1024;

export async function bucketLock(ctx: ServerContext, bucket: string): Promise<BucketLock | undefined> {
  return await ctx.settings.get<BucketLock>(bucket, LOCK_SETTINGS_KIND);
}

// ---- Dates ----------------------------------------------------------------------------------

const ISO_8601 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * An ISO 8601 date-time with a zone, as clients send retain-until dates (SDK v3 without
 * milliseconds, boto3 with microseconds). Returns epoch ms, or undefined when it is not one.
 */
export function parseIsoDate(text: string): number | undefined {
  const m = ISO_8601.exec(text.trim());
  if (!m) return undefined;
  const millis = (m[2] ?? "").padEnd(3, "0").slice(0, 3);
  const zone = m[3] === "Z" ? "Z" : `${m[3]!.slice(0, 3)}:${m[3]!.slice(-2)}`;
  const ms = Date.parse(`${m[1]}.${millis}${zone}`);
  if (Number.isNaN(ms)) return undefined;
  // Date.parse rolls "02-30" over into March: a date that does not round-trip is not a date.
  const day = new Date(Date.parse(`${m[1]}Z`));
  return day.toISOString().slice(0, 19) === m[1] ? ms : undefined;
}

/** When a default retention that starts at `from` ends. Years are calendar years (UTC). */
export function defaultRetainUntil(rule: DefaultRetention, from: Date): number {
  if (rule.days !== undefined) return from.getTime() + rule.days * DAY_MS;
  const until = new Date(from.getTime());
  until.setUTCFullYear(until.getUTCFullYear() + rule.years!);
  return until.getTime();
}

// ---- Checks shared by the handlers and the hooks --------------------------------------------

/**
 * x-amz-bypass-governance-retention: true, and the caller allowed s3:BypassGovernanceRetention on
 * the object (the bucket owner is, unless the bucket policy denies it).
 */
export async function mayBypassGovernance(req: S3Request, ctx: ServerContext, bucket: BucketRecord, key: string): Promise<boolean> {
  if (header(req.headers, "x-amz-bypass-governance-retention")?.trim().toLowerCase() !== "true") return false;
  try {
    await authorize({
      principal: req.principal,
      action: "s3:BypassGovernanceRetention",
      bucket,
      key,
      policies: ctx.policies,
      context: requestConditionContext(req.headers, req.query, req.sourceIp, req.secureTransport, ctx.clock.now(), req.principal.kind !== "anonymous"),
    });
    return true;
  } catch (err) {
    if (err instanceof S3Error) return false;
    throw err;
  }
}

async function requireLockedBucket(ctx: ServerContext, bucket: BucketRecord): Promise<BucketLock> {
  const lock = await bucketLock(ctx, bucket.name);
  if (!lock) throw new S3Error("InvalidRequest", "Bucket is missing Object Lock Configuration");
  return lock;
}

// ---- Bucket configuration --------------------------------------------------------------------

function positiveInteger(text: string | undefined, name: "Days" | "Years", max: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[+-]?\d+$/.test(text.trim())) throw new S3Error("MalformedXML");
  const n = Number(text.trim());
  if (n <= 0) throw new S3Error("InvalidArgument", "Default retention period must be a positive integer value.", { ArgumentName: name, ArgumentValue: text.trim() });
  if (n > max) throw new S3Error("InvalidArgument", "Default retention period too large.", { ArgumentName: name, ArgumentValue: text.trim() });
  return n;
}

/** Validates an ObjectLockConfiguration document into the bucket's lock model. */
export function parseLockConfiguration(body: Buffer): BucketLock {
  const doc = parseXml(body, "ObjectLockConfiguration");
  if (textOf(doc, "ObjectLockEnabled")?.trim() !== "Enabled") throw new S3Error("MalformedXML");
  const rule = elementOf(doc, "Rule");
  if (rule === undefined) return { enabled: true };
  const retention = elementOf(rule, "DefaultRetention");
  if (retention === undefined) throw new S3Error("MalformedXML");
  const mode = textOf(retention, "Mode")?.trim();
  if (!RetentionModes.includes(mode as RetentionMode)) throw new S3Error("MalformedXML");
  const daysText = textOf(retention, "Days");
  const yearsText = textOf(retention, "Years");
  if ((daysText === undefined) === (yearsText === undefined)) throw new S3Error("MalformedXML");
  const days = positiveInteger(daysText, "Days", MAX_DEFAULT_DAYS);
  const years = positiveInteger(yearsText, "Years", MAX_DEFAULT_YEARS);
  return { enabled: true, defaultRetention: { mode: mode as RetentionMode, ...(days !== undefined ? { days } : { years }) } };
}

export const putObjectLockConfiguration: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!;
  const config = parseLockConfiguration(await readChecksummedBody(req, XML_LIMIT));
  // S3 lets an existing bucket turn object lock on once its versioning is Enabled, never before.
  if (!(await bucketLock(ctx, bucket.name)) && bucket.versioning !== "Enabled") {
    throw new S3Error("InvalidBucketState", "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration");
  }
  await ctx.settings.put(bucket, LOCK_SETTINGS_KIND, config);
  return {};
};

export const getObjectLockConfiguration: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!;
  const config = await bucketLock(ctx, bucket.name);
  if (!config) throw new S3Error("ObjectLockConfigurationNotFoundError", undefined, { BucketName: bucket.name });
  const rule = config.defaultRetention;
  return {
    xml: {
      root: "ObjectLockConfiguration",
      value: {
        ObjectLockEnabled: "Enabled",
        Rule: rule ? { DefaultRetention: { Mode: rule.mode, Days: rule.days, Years: rule.years } } : undefined,
      },
    },
  };
};

// ---- Retention and legal hold of a version ---------------------------------------------------

export interface RetentionRequest {
  /** Undefined: remove the retention (an empty <Retention/>). */
  mode?: RetentionMode;
  retainUntil?: number;
}

function pastDate(text: string): S3Error {
  return new S3Error("InvalidArgument", "The retain until date must be in the future!", { ArgumentName: "x-amz-object-lock-retain-until-date", ArgumentValue: text });
}

/** Validates a Retention document (PutObjectRetention's body) at time `now`. */
export function parseRetention(body: Buffer, now: number): RetentionRequest {
  const doc = parseXml(body, "Retention");
  const mode = textOf(doc, "Mode")?.trim();
  const dateText = textOf(doc, "RetainUntilDate")?.trim();
  if (mode === undefined && dateText === undefined) return {};
  if (mode === undefined || dateText === undefined) throw new S3Error("MalformedXML");
  if (!RetentionModes.includes(mode as RetentionMode)) throw new S3Error("MalformedXML");
  const retainUntil = parseIsoDate(dateText);
  if (retainUntil === undefined) throw new S3Error("MalformedXML");
  if (retainUntil <= now) throw pastDate(dateText);
  return { mode: mode as RetentionMode, retainUntil };
}

/**
 * Whether a version's retention may change from `current` to `next` at `now`: an unexpired
 * COMPLIANCE retention may only be kept or extended; an unexpired GOVERNANCE one may be extended
 * freely, and shortened, removed or turned into COMPLIANCE only with a permitted bypass.
 */
export function retentionChangeAllowed(current: VersionLock | undefined, next: RetentionRequest, now: number, bypass: boolean): boolean {
  if (!isActive(current, now)) return true;
  const keepsOrExtends = next.mode === current.mode && next.retainUntil !== undefined && next.retainUntil >= current.retainUntil;
  if (keepsOrExtends) return true;
  return current.mode === "GOVERNANCE" && bypass;
}

/** Drops the empty lock record so a version that had its retention removed reads as never locked. */
function withLock(extra: Record<string, unknown>, lock: VersionLock): Record<string, unknown> {
  const rest = { ...extra };
  delete rest.lock;
  const kept = Object.fromEntries(Object.entries(lock).filter(([, value]) => value !== undefined));
  return Object.keys(kept).length === 0 ? rest : { ...rest, lock: kept };
}

export const putObjectRetention: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!;
  await requireLockedBucket(ctx, bucket);
  const next = parseRetention(await readChecksummedBody(req, XML_LIMIT), ctx.clock.now().getTime());
  const target = await addressedVersion(req, ctx);
  // Decided before the write: the check inside the transaction cannot wait for authorization.
  const bypass = await mayBypassGovernance(req, ctx, bucket, target.key);
  const updated = await ctx.metadata.updateVersion(bucket, target.key, target.versionId, (current) => {
    const lock = versionLock(current);
    const now = ctx.clock.now().getTime();
    if (!retentionChangeAllowed(lock, next, now, bypass)) throw new S3Error("AccessDenied", LOCKED_MESSAGE);
    const changed: VersionLock = { legalHold: lock?.legalHold, mode: next.mode, retainUntil: next.retainUntil };
    return { extra: withLock(current.extra, changed) };
  });
  if (!updated) throw new S3Error("NoSuchVersion", undefined, { Key: target.key, VersionId: target.versionId });
  return {};
};

export const getObjectRetention: Handler = async (req, ctx) => {
  await requireLockedBucket(ctx, req.bucketRecord!);
  const lock = versionLock(await addressedVersion(req, ctx));
  if (lock?.mode === undefined || lock.retainUntil === undefined) throw new S3Error("NoSuchObjectLockConfiguration");
  return { xml: { root: "Retention", value: { Mode: lock.mode, RetainUntilDate: xmlDate(new Date(lock.retainUntil)) } } };
};

/** Validates a LegalHold document (PutObjectLegalHold's body). */
export function parseLegalHold(body: Buffer): LegalHoldStatus {
  const status = textOf(parseXml(body, "LegalHold"), "Status")?.trim();
  if (!LegalHoldStatuses.includes(status as LegalHoldStatus)) throw new S3Error("MalformedXML");
  return status as LegalHoldStatus;
}

export const putObjectLegalHold: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!;
  await requireLockedBucket(ctx, bucket);
  const status = parseLegalHold(await readChecksummedBody(req, XML_LIMIT));
  const target = await addressedVersion(req, ctx);
  const updated = await ctx.metadata.updateVersion(bucket, target.key, target.versionId, (current) => ({
    extra: withLock(current.extra, { ...versionLock(current), legalHold: status }),
  }));
  if (!updated) throw new S3Error("NoSuchVersion", undefined, { Key: target.key, VersionId: target.versionId });
  return {};
};

export const getObjectLegalHold: Handler = async (req, ctx) => {
  await requireLockedBucket(ctx, req.bucketRecord!);
  const lock = versionLock(await addressedVersion(req, ctx));
  if (lock?.legalHold === undefined) throw new S3Error("NoSuchObjectLockConfiguration");
  return { xml: { root: "LegalHold", value: { Status: lock.legalHold } } };
};

// ---- Hooks (capability-hooks.ts) ---------------------------------------------------------------

/** CreateBucket with x-amz-bucket-object-lock-enabled: true starts versioned and locked. */
export function lockOnCreateBucket(req: S3Request): { versioning?: "Enabled"; settings: BucketConfigRow[] } {
  const value = header(req.headers, "x-amz-bucket-object-lock-enabled")?.trim().toLowerCase();
  if (value === undefined || value === "false") return { settings: [] };
  if (value !== "true") {
    throw new S3Error("InvalidArgument", "Invalid value for x-amz-bucket-object-lock-enabled", { ArgumentName: "x-amz-bucket-object-lock-enabled", ArgumentValue: value });
  }
  const config: BucketLock = { enabled: true };
  return {
    versioning: "Enabled",
    settings: [BucketSettings.initial(LOCK_SETTINGS_KIND, config)],
  };
}

function invalidHeader(message: string, name: string, value: string | undefined): S3Error {
  return new S3Error("InvalidArgument", message, { ArgumentName: name, ArgumentValue: value });
}

/**
 * The lock a new version gets from x-amz-object-lock-mode, -retain-until-date and -legal-hold, or
 * from the bucket's default retention when the request names no retention. PutObject, CopyObject
 * and CreateMultipartUpload call this before any body byte is read (an upload's default retention
 * therefore starts when it is initiated, the time S3 also gives it as Last-Modified).
 */
export async function lockFactsForWrite(req: S3Request, ctx: ServerContext, bucket: BucketRecord): Promise<Record<string, unknown>> {
  const mode = header(req.headers, "x-amz-object-lock-mode");
  const dateText = header(req.headers, "x-amz-object-lock-retain-until-date");
  const legalHold = header(req.headers, "x-amz-object-lock-legal-hold");
  const config = await bucketLock(ctx, bucket.name);
  const named = mode !== undefined || dateText !== undefined || legalHold !== undefined;
  if (named && !config) throw new S3Error("InvalidRequest", "Bucket is missing ObjectLockConfiguration");
  if (!config) return {};
  const lock: VersionLock = {};
  if (mode !== undefined || dateText !== undefined) {
    const both = "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied.";
    if (dateText === undefined) throw invalidHeader(both, "x-amz-object-lock-retain-until-date", undefined);
    if (mode === undefined) throw invalidHeader(both, "x-amz-object-lock-mode", undefined);
    if (!RetentionModes.includes(mode as RetentionMode)) throw invalidHeader("Unknown wormMode directive.", "x-amz-object-lock-mode", mode);
    const retainUntil = parseIsoDate(dateText);
    if (retainUntil === undefined) {
      throw invalidHeader("The retain until date must be provided in ISO 8601 format", "x-amz-object-lock-retain-until-date", dateText);
    }
    if (retainUntil <= ctx.clock.now().getTime()) throw pastDate(dateText);
    lock.mode = mode as RetentionMode;
    lock.retainUntil = retainUntil;
  } else if (config.defaultRetention) {
    lock.mode = config.defaultRetention.mode;
    lock.retainUntil = defaultRetainUntil(config.defaultRetention, ctx.clock.now());
  }
  if (legalHold !== undefined) {
    if (!LegalHoldStatuses.includes(legalHold as LegalHoldStatus)) throw invalidHeader("Legal Hold must be either of 'ON' or 'OFF'", "x-amz-object-lock-legal-hold", legalHold);
    lock.legalHold = legalHold as LegalHoldStatus;
  }
  if (Object.keys(lock).length === 0) return {};
  const isPutObject = !req.query.has("uploads") && header(req.headers, "x-amz-copy-source") === undefined;
  if (isPutObject && expectedMd5(req.headers) === undefined && declaredChecksumAlgorithm(req.headers) === undefined) {
    throw new S3Error("InvalidRequest", "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters");
  }
  return { lock };
}

/** Each UploadPart of an upload that carries lock parameters needs Content-MD5 or an x-amz-checksum-*. */
export function checkPartChecksum(req: S3Request, upload: UploadRecord): void {
  const facts = upload.extra.facts as { extra?: Record<string, unknown> } | undefined;
  if (facts?.extra?.lock === undefined) return;
  if (expectedMd5(req.headers) === undefined && declaredChecksumAlgorithm(req.headers) === undefined) {
    throw new S3Error("InvalidRequest", "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Part requests with Object Lock parameters");
  }
}

/** x-amz-object-lock-* response headers of GET and HEAD, for a version that has them. */
export function lockHeaders(v: ObjectVersionRecord): Record<string, string> {
  const lock = versionLock(v);
  if (!lock) return {};
  const out: Record<string, string> = {};
  if (lock.mode !== undefined && lock.retainUntil !== undefined) {
    out["x-amz-object-lock-mode"] = lock.mode;
    out["x-amz-object-lock-retain-until-date"] = new Date(lock.retainUntil).toISOString();
  }
  if (lock.legalHold !== undefined) out["x-amz-object-lock-legal-hold"] = lock.legalHold;
  return out;
}

/** Object lock keeps versioning on: suspending it is InvalidBucketState. */
export async function checkVersioningChange(ctx: ServerContext, bucket: BucketRecord, status: "Enabled" | "Suspended"): Promise<void> {
  if (status === "Suspended" && (await bucketLock(ctx, bucket.name))) {
    throw new S3Error("InvalidBucketState", "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.");
  }
}
