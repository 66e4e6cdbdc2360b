// Server access log records and log object keys, as S3 writes them: one line per request of
// space-separated fields, "-" for a field that is empty or does not apply, the time in brackets,
// the Request-URI, Referer and User-Agent in double quotes; and the key of each log object, after
// the configuration's TargetObjectKeyFormat.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/LogFormat.html
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerLogs.html#server-log-keyname-format
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PartitionedPrefix.html

/** What one record says about one request; undefined fields are written "-". */
export interface AccessLogRecord {
  /** Canonical user id of the bucket's owner. */
  bucketOwner: string;
  bucket: string;
  /** When the request was received. */
  time: Date;
  remoteIp?: string;
  /** Canonical user id of the requester; undefined for anonymous requests. */
  requester?: string;
  requestId: string;
  /** REST.<method>.<resource type> (operationName). */
  operation: string;
  key?: string;
  /** The request line: method, request target, protocol ("GET /b/k?acl HTTP/1.1"). */
  requestUri: string;
  status: number;
  errorCode?: string;
  bytesSent?: number;
  objectSize?: number;
  totalTimeMs?: number;
  turnAroundTimeMs?: number;
  referer?: string;
  userAgent?: string;
  versionId?: string;
  /** The answer's x-amz-id-2. */
  hostId: string;
  signatureVersion?: "SigV2" | "SigV4";
  /** Not recorded, even over TLS: "-". */
  cipherSuite?: string;
  authType?: "AuthHeader" | "QueryString";
  hostHeader?: string;
  tlsVersion?: string;
  accessPointArn?: string;
  /** Whether an ACL, not ownership or the bucket policy, is what allowed the request. */
  aclRequired: boolean;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** strftime's [%d/%b/%Y:%H:%M:%S %z], always in UTC. */
export function logTime(t: Date): string {
  return `[${pad(t.getUTCDate())}/${MONTHS[t.getUTCMonth()]}/${t.getUTCFullYear()}:${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())} +0000]`;
}

/** Characters some log reader takes for a line break (NEL, the Unicode separators: Python's splitlines) or a terminal control. */
const LINE_OR_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

function plain(value: string | number | undefined): string {
  if (value === undefined || value === "") return "-";
  // Fields are space-separated: a bare field must not contain the separator, a line break or a control.
  return String(value).replace(/\s/g, (c) => encodeURIComponent(c)).replace(LINE_OR_CONTROL, encodeURIComponent);
}

/** A quoted field: its quotes and backslashes escaped, so shell-style splitters read it whole. */
function quoted(value: string | undefined): string {
  if (value === undefined || value === "") return '"-"';
  // One record, one line, whatever reads it.
  return `"${value.replace(/[\\"]/g, (c) => "\\" + c).replace(LINE_OR_CONTROL, encodeURIComponent)}"`;
}


/**
 * The key field: URL-encoded, as S3 logs it, with "/" left readable. Brackets are encoded too,
 * so the bracketed time stays the only bracketed field.
 */
export function logKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, "/");
}

/** One record, without its line break. */
export function formatRecord(r: AccessLogRecord): string {
  return [
    plain(r.bucketOwner),
    plain(r.bucket),
    logTime(r.time),
    plain(r.remoteIp),
    plain(r.requester),
    plain(r.requestId),
    plain(r.operation),
    r.key === undefined ? "-" : logKey(r.key),
    quoted(r.requestUri),
    plain(r.status),
    plain(r.errorCode),
    // S3 writes "-" rather than 0 for no bytes sent.
    r.bytesSent ? String(r.bytesSent) : "-",
    plain(r.objectSize),
    plain(r.totalTimeMs),
    plain(r.turnAroundTimeMs),
    quoted(r.referer),
    quoted(r.userAgent),
    plain(r.versionId),
    plain(r.hostId),
    plain(r.signatureVersion),
    plain(r.cipherSuite),
    plain(r.authType),
    plain(r.hostHeader),
    plain(r.tlsVersion),
    plain(r.accessPointArn),
    r.aclRequired ? "Yes" : "-",
  ].join(" ");
}

/**
 * The operation field, REST.<HTTP method>.<resource type>, by AWS operation name. The names S3's
 * documentation and logs show (OBJECT, BUCKET, UPLOADS, PART, VERSIONING, LOGGING_STATUS,
 * BUCKETPOLICY, ACL...) are used; the others follow the same pattern. A copy is COPY, not PUT.
 */
const RESOURCE_TYPES: Record<string, string> = {
  CreateBucket: "BUCKET",
  HeadBucket: "BUCKET",
  DeleteBucket: "BUCKET",
  ListObjects: "BUCKET",
  ListObjectsV2: "BUCKET",
  GetBucketLocation: "LOCATION",
  ListObjectVersions: "BUCKETVERSIONS",
  ListMultipartUploads: "UPLOADS",
  DeleteObjects: "MULTI_OBJECT_DELETE",
  PutBucketInventoryConfiguration: "INVENTORY",
  GetBucketInventoryConfiguration: "INVENTORY",
  ListBucketInventoryConfigurations: "INVENTORY",
  DeleteBucketInventoryConfiguration: "INVENTORY",
  RunBucketInventoryConfiguration: "INVENTORY",
  ListBucketInventoryRuns: "INVENTORY_RUNS",
  PutBucketVersioning: "VERSIONING",
  GetBucketVersioning: "VERSIONING",
  PutBucketPolicy: "BUCKETPOLICY",
  GetBucketPolicy: "BUCKETPOLICY",
  DeleteBucketPolicy: "BUCKETPOLICY",
  GetBucketPolicyStatus: "POLICY_STATUS",
  PutBucketAcl: "ACL",
  GetBucketAcl: "ACL",
  PutBucketCors: "CORS",
  GetBucketCors: "CORS",
  DeleteBucketCors: "CORS",
  PutBucketEncryption: "ENCRYPTION",
  GetBucketEncryption: "ENCRYPTION",
  DeleteBucketEncryption: "ENCRYPTION",
  PutBucketLifecycleConfiguration: "LIFECYCLE",
  GetBucketLifecycleConfiguration: "LIFECYCLE",
  DeleteBucketLifecycle: "LIFECYCLE",
  PutBucketTagging: "TAGGING",
  GetBucketTagging: "TAGGING",
  DeleteBucketTagging: "TAGGING",
  PutBucketOwnershipControls: "OWNERSHIP_CONTROLS",
  GetBucketOwnershipControls: "OWNERSHIP_CONTROLS",
  DeleteBucketOwnershipControls: "OWNERSHIP_CONTROLS",
  PutObjectLockConfiguration: "OBJECT_LOCK_CONFIGURATION",
  GetObjectLockConfiguration: "OBJECT_LOCK_CONFIGURATION",
  PutBucketIntelligentTieringConfiguration: "INTELLIGENT_TIERING",
  GetBucketIntelligentTieringConfiguration: "INTELLIGENT_TIERING",
  ListBucketIntelligentTieringConfigurations: "INTELLIGENT_TIERING",
  DeleteBucketIntelligentTieringConfiguration: "INTELLIGENT_TIERING",
  PutBucketReplication: "REPLICATION",
  GetBucketReplication: "REPLICATION",
  DeleteBucketReplication: "REPLICATION",
  PutPublicAccessBlock: "PUBLIC_ACCESS_BLOCK",
  GetPublicAccessBlock: "PUBLIC_ACCESS_BLOCK",
  DeletePublicAccessBlock: "PUBLIC_ACCESS_BLOCK",
  PutBucketLogging: "LOGGING_STATUS",
  GetBucketLogging: "LOGGING_STATUS",
  PutBucketRequestPayment: "REQUEST_PAYMENT",
  GetBucketRequestPayment: "REQUEST_PAYMENT",
  PutObject: "OBJECT",
  PostObject: "OBJECT",
  GetObject: "OBJECT",
  HeadObject: "OBJECT",
  DeleteObject: "OBJECT",
  CopyObject: "OBJECT",
  GetObjectAttributes: "OBJECT_ATTRIBUTES",
  PutObjectAcl: "ACL",
  GetObjectAcl: "ACL",
  PutObjectTagging: "OBJECT_TAGGING",
  GetObjectTagging: "OBJECT_TAGGING",
  DeleteObjectTagging: "OBJECT_TAGGING",
  PutObjectRetention: "RETENTION",
  GetObjectRetention: "RETENTION",
  PutObjectLegalHold: "LEGAL_HOLD",
  GetObjectLegalHold: "LEGAL_HOLD",
  RestoreObject: "RESTORE",
  CreateMultipartUpload: "UPLOADS",
  UploadPart: "PART",
  UploadPartCopy: "PART",
  CompleteMultipartUpload: "UPLOAD",
  AbortMultipartUpload: "UPLOAD",
  ListParts: "UPLOAD",
};

const COPIES = new Set(["CopyObject", "UploadPartCopy"]);

export function operationName(op: string, method: string): string {
  const verb = COPIES.has(op) ? "COPY" : method.toUpperCase();
  return `REST.${verb}.${RESOURCE_TYPES[op] ?? op.toUpperCase()}`;
}

/** How log object keys are formed (TargetObjectKeyFormat); SimplePrefix when not configured. */
export type KeyFormat = { kind: "simple" } | { kind: "partitioned"; dateSource?: "EventTime" | "DeliveryTime" };

/** What a partitioned key names besides the date. */
export interface KeySource {
  /** The source bucket owner's 12-digit account id. */
  accountId: string;
  region: string;
  bucket: string;
}

function dashed(t: Date): string {
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}-${pad(t.getUTCHours())}-${pad(t.getUTCMinutes())}-${pad(t.getUTCSeconds())}`;
}

/**
 * The day a record belongs to under PartitionedPrefix with EventTime: S3 delivers such objects
 * for one day each, keyed by that day at 00:00:00.
 */
export function eventDay(t: Date): Date {
  return new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()));
}

/** Whether records must be grouped by the day they happened (one log object per day). */
export function groupsByEventDay(format: KeyFormat | undefined): boolean {
  return format?.kind === "partitioned" && (format.dateSource ?? "EventTime") === "EventTime";
}

/**
 * A log object's key. `time` is the delivery time, or for EventTime the event day (eventDay).
 * SimplePrefix: [TargetPrefix]YYYY-mm-DD-HH-MM-SS-[UniqueString]; PartitionedPrefix:
 * [TargetPrefix][SourceAccountId]/[SourceRegion]/[SourceBucket]/YYYY/MM/DD/YYYY-MM-DD-hh-mm-ss-[UniqueString].
 */
export function logObjectKey(prefix: string, format: KeyFormat | undefined, source: KeySource, time: Date, unique: string): string {
  const stamp = `${dashed(time)}-${unique}`;
  if (format?.kind !== "partitioned") return prefix + stamp;
  const date = `${time.getUTCFullYear()}/${pad(time.getUTCMonth() + 1)}/${pad(time.getUTCDate())}`;
  return `${prefix}${source.accountId}/${source.region}/${source.bucket}/${date}/${stamp}`;
}

/** The length UniqueString has in the keys Stocktake writes (16 hex digits, as S3's examples). */
export const UNIQUE_STRING_LENGTH = 16;
