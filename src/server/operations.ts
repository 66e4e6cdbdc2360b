// The operation table: one row per S3 operation with the IAM action that authorizes it and the
// handler that serves it. The HTTP edge reads the row once per request for authentication,
// ExpectedBucketOwner and authorization; nothing is wired per route. Rows without a handler are
// operations we have not built: they answer 501 NotImplemented and the log names them.
import type { IncomingHttpHeaders } from "node:http";
import type { Handler } from "../s3/types.js";
import * as buckets from "../s3/buckets.js";
import * as objects from "../s3/objects.js";
import { getObjectTorrent } from "../s3/torrent.js";
import * as listing from "../s3/listing.js";
import * as inventoryConfig from "../s3/inventory-config.js";
import * as versioning from "../s3/versioning.js";
import { getObjectAttributes } from "../s3/object-attributes.js";
import * as policy from "../s3/policy.js";
import * as inventoryRuns from "../s3/inventory-runs.js";
import * as multipart from "../s3/multipart.js";
import * as encryption from "../s3/encryption.js";
import * as acl from "../s3/acl.js";
import * as ownership from "../s3/ownership.js";
import * as tagging from "../s3/tagging.js";
import * as lifecycle from "../s3/lifecycle.js";
import * as objectLock from "../s3/object-lock.js";
import * as replication from "../s3/replication.js";
import * as intelligentTiering from "../s3/intelligent-tiering.js";
import { restoreObject } from "../s3/restore.js";
import * as cors from "../s3/cors.js";
import * as publicAccessBlock from "../s3/public-access-block.js";
import * as bucketLogging from "../s3/bucket-logging.js";
import * as requestPayment from "../s3/request-payment.js";
import * as metadataConfiguration from "../s3/metadata-configuration.js";
import { postObject } from "../s3/post-object.js";
import { writeHeaderActions } from "../s3/request.js";
import type { Tag } from "../core/tags.js";

export interface OperationRow {
  /** The IAM action evaluated for this operation, e.g. "s3:PutInventoryConfiguration". */
  action: string;
  /** Service operations name no bucket; bucket operations need an existing bucket (but Create). */
  scope: "service" | "bucket" | "object";
  handler?: Handler;
  /**
   * Further actions the request needs on the same resource, from what it asks for beyond the
   * operation itself: S3 treats a write's tags, ACL and lock as acts of their own, so a policy
   * allowing s3:PutObject alone must not let a write set them.
   */
  alsoRequires?: (headers: IncomingHttpHeaders) => string[];
  /**
   * The request names many objects (DeleteObjects): its handler authorizes each one, since no
   * single resource stands for them all. The edge then checks only anonymous callers.
   */
  perKey?: boolean;
  /**
   * The request is signed in its body, not its headers (POST Object's form): its handler checks
   * the form's signature and authorizes the key it writes. The edge only finds the bucket.
   */
  signedInBody?: boolean;
  /**
   * The tags the request gives an object, for s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys:
   * from its headers, or "handler" when only the handler learns them (PutObjectTagging's body, the
   * source tags a CopyObject keeps), and the handler then completes the authorization
   * (S3Request.authorizeRequestTags). Asked only while the bucket policy names such a key.
   */
  requestTags?: (headers: IncomingHttpHeaders) => readonly Tag[] | "handler";
}

const row = (action: string, scope: OperationRow["scope"], handler?: Handler, more?: Pick<OperationRow, "alsoRequires" | "perKey" | "signedInBody" | "requestTags">): OperationRow => ({
  action,
  scope,
  handler,
  ...more,
});

const writes = { alsoRequires: writeHeaderActions, requestTags: (headers: IncomingHttpHeaders) => tagging.writeTags(headers) };

// Retention, legal hold and restore keep their names with a versionId: S3 has no Version variant.
const VERSION_ACTIONS: Record<string, string> = {
  "s3:GetObject": "s3:GetObjectVersion",
  "s3:DeleteObject": "s3:DeleteObjectVersion",
  "s3:GetObjectAcl": "s3:GetObjectVersionAcl",
  "s3:PutObjectAcl": "s3:PutObjectVersionAcl",
  "s3:GetObjectAttributes": "s3:GetObjectVersionAttributes",
  "s3:GetObjectTagging": "s3:GetObjectVersionTagging",
  "s3:PutObjectTagging": "s3:PutObjectVersionTagging",
  "s3:DeleteObjectTagging": "s3:DeleteObjectVersionTagging",
  "s3:GetObjectTorrent": "s3:GetObjectVersionTorrent",
};

export const OPERATIONS: Record<string, OperationRow> = {
  ListBuckets: row("s3:ListAllMyBuckets", "service", buckets.listBuckets),

  CreateBucket: row("s3:CreateBucket", "bucket", buckets.createBucket),
  HeadBucket: row("s3:ListBucket", "bucket", buckets.headBucket),
  DeleteBucket: row("s3:DeleteBucket", "bucket", buckets.deleteBucket),
  GetBucketLocation: row("s3:GetBucketLocation", "bucket", buckets.getBucketLocation),
  ListObjects: row("s3:ListBucket", "bucket", listing.listObjects),
  ListObjectsV2: row("s3:ListBucket", "bucket", listing.listObjectsV2),
  ListObjectVersions: row("s3:ListBucketVersions", "bucket", versioning.listObjectVersions),
  ListMultipartUploads: row("s3:ListBucketMultipartUploads", "bucket", multipart.listMultipartUploads),
  DeleteObjects: row("s3:DeleteObject", "bucket", objects.deleteObjects, { perKey: true }),

  PutBucketInventoryConfiguration: row("s3:PutInventoryConfiguration", "bucket", inventoryConfig.putBucketInventoryConfiguration),
  GetBucketInventoryConfiguration: row("s3:GetInventoryConfiguration", "bucket", inventoryConfig.getBucketInventoryConfiguration),
  ListBucketInventoryConfigurations: row("s3:GetInventoryConfiguration", "bucket", inventoryConfig.listBucketInventoryConfigurations),
  DeleteBucketInventoryConfiguration: row("s3:PutInventoryConfiguration", "bucket", inventoryConfig.deleteBucketInventoryConfiguration),

  RunBucketInventoryConfiguration: row("s3:PutInventoryConfiguration", "bucket", inventoryRuns.runBucketInventoryConfiguration),
  ListBucketInventoryRuns: row("s3:GetInventoryConfiguration", "bucket", inventoryRuns.listBucketInventoryRuns),

  PutBucketVersioning: row("s3:PutBucketVersioning", "bucket", versioning.putBucketVersioning),
  GetBucketVersioning: row("s3:GetBucketVersioning", "bucket", versioning.getBucketVersioning),
  PutBucketPolicy: row("s3:PutBucketPolicy", "bucket", policy.putBucketPolicy),
  GetBucketPolicy: row("s3:GetBucketPolicy", "bucket", policy.getBucketPolicy),
  DeleteBucketPolicy: row("s3:DeleteBucketPolicy", "bucket", policy.deleteBucketPolicy),
  GetBucketPolicyStatus: row("s3:GetBucketPolicyStatus", "bucket", policy.getBucketPolicyStatus),
  PutBucketAcl: row("s3:PutBucketAcl", "bucket", acl.putBucketAcl),
  GetBucketAcl: row("s3:GetBucketAcl", "bucket", acl.getBucketAcl),
  PutBucketCors: row("s3:PutBucketCORS", "bucket", cors.putBucketCors),
  GetBucketCors: row("s3:GetBucketCORS", "bucket", cors.getBucketCors),
  DeleteBucketCors: row("s3:PutBucketCORS", "bucket", cors.deleteBucketCors),
  PutBucketEncryption: row("s3:PutEncryptionConfiguration", "bucket", encryption.putBucketEncryption),
  GetBucketEncryption: row("s3:GetEncryptionConfiguration", "bucket", encryption.getBucketEncryption),
  DeleteBucketEncryption: row("s3:PutEncryptionConfiguration", "bucket", encryption.deleteBucketEncryption),
  PutBucketLifecycleConfiguration: row("s3:PutLifecycleConfiguration", "bucket", lifecycle.putBucketLifecycleConfiguration),
  GetBucketLifecycleConfiguration: row("s3:GetLifecycleConfiguration", "bucket", lifecycle.getBucketLifecycleConfiguration),
  DeleteBucketLifecycle: row("s3:PutLifecycleConfiguration", "bucket", lifecycle.deleteBucketLifecycle),
  PutBucketTagging: row("s3:PutBucketTagging", "bucket", tagging.putBucketTagging),
  GetBucketTagging: row("s3:GetBucketTagging", "bucket", tagging.getBucketTagging),
  DeleteBucketTagging: row("s3:PutBucketTagging", "bucket", tagging.deleteBucketTagging),
  PutBucketOwnershipControls: row("s3:PutBucketOwnershipControls", "bucket", acl.putBucketOwnershipControls),
  GetBucketOwnershipControls: row("s3:GetBucketOwnershipControls", "bucket", ownership.getBucketOwnershipControls),
  DeleteBucketOwnershipControls: row("s3:PutBucketOwnershipControls", "bucket", ownership.deleteBucketOwnershipControls),
  PutObjectLockConfiguration: row("s3:PutBucketObjectLockConfiguration", "bucket", objectLock.putObjectLockConfiguration),
  GetObjectLockConfiguration: row("s3:GetBucketObjectLockConfiguration", "bucket", objectLock.getObjectLockConfiguration),
  PutBucketIntelligentTieringConfiguration: row("s3:PutIntelligentTieringConfiguration", "bucket", intelligentTiering.putBucketIntelligentTieringConfiguration),
  GetBucketIntelligentTieringConfiguration: row("s3:GetIntelligentTieringConfiguration", "bucket", intelligentTiering.getBucketIntelligentTieringConfiguration),
  ListBucketIntelligentTieringConfigurations: row("s3:GetIntelligentTieringConfiguration", "bucket", intelligentTiering.listBucketIntelligentTieringConfigurations),
  DeleteBucketIntelligentTieringConfiguration: row("s3:PutIntelligentTieringConfiguration", "bucket", intelligentTiering.deleteBucketIntelligentTieringConfiguration),
  PutBucketReplication: row("s3:PutReplicationConfiguration", "bucket", replication.putBucketReplication),
  GetBucketReplication: row("s3:GetReplicationConfiguration", "bucket", replication.getBucketReplication),
  DeleteBucketReplication: row("s3:PutReplicationConfiguration", "bucket", replication.deleteBucketReplication),
  PutPublicAccessBlock: row("s3:PutBucketPublicAccessBlock", "bucket", publicAccessBlock.putPublicAccessBlock),
  GetPublicAccessBlock: row("s3:GetBucketPublicAccessBlock", "bucket", publicAccessBlock.getPublicAccessBlock),
  DeletePublicAccessBlock: row("s3:PutBucketPublicAccessBlock", "bucket", publicAccessBlock.deletePublicAccessBlock),
  // S3 Metadata: V1 and V2 share the IAM action names (s3:*BucketMetadataTableConfiguration).
  CreateBucketMetadataConfiguration: row("s3:CreateBucketMetadataTableConfiguration", "bucket", metadataConfiguration.createBucketMetadataConfiguration),
  GetBucketMetadataConfiguration: row("s3:GetBucketMetadataTableConfiguration", "bucket", metadataConfiguration.getBucketMetadataConfiguration),
  DeleteBucketMetadataConfiguration: row("s3:DeleteBucketMetadataTableConfiguration", "bucket", metadataConfiguration.deleteBucketMetadataConfiguration),
  UpdateBucketMetadataInventoryTableConfiguration: row(
    "s3:UpdateBucketMetadataInventoryTableConfiguration",
    "bucket",
    metadataConfiguration.updateBucketMetadataInventoryTableConfiguration,
  ),
  UpdateBucketMetadataJournalTableConfiguration: row(
    "s3:UpdateBucketMetadataJournalTableConfiguration",
    "bucket",
    metadataConfiguration.updateBucketMetadataJournalTableConfiguration,
  ),
  CreateBucketMetadataTableConfiguration: row("s3:CreateBucketMetadataTableConfiguration", "bucket", metadataConfiguration.createBucketMetadataTableConfiguration),
  GetBucketMetadataTableConfiguration: row("s3:GetBucketMetadataTableConfiguration", "bucket", metadataConfiguration.getBucketMetadataTableConfiguration),
  DeleteBucketMetadataTableConfiguration: row("s3:DeleteBucketMetadataTableConfiguration", "bucket", metadataConfiguration.deleteBucketMetadataTableConfiguration),
  // Not built: without a row, PUT ?metadataAnnotationTable would be read as CreateBucket.
  UpdateBucketMetadataAnnotationTableConfiguration: row("s3:UpdateBucketMetadataAnnotationTableConfiguration", "bucket"),
  PutBucketAccelerateConfiguration: row("s3:PutAccelerateConfiguration", "bucket"),
  GetBucketAccelerateConfiguration: row("s3:GetAccelerateConfiguration", "bucket"),
  PutBucketAnalyticsConfiguration: row("s3:PutAnalyticsConfiguration", "bucket"),
  GetBucketAnalyticsConfiguration: row("s3:GetAnalyticsConfiguration", "bucket"),
  ListBucketAnalyticsConfigurations: row("s3:GetAnalyticsConfiguration", "bucket"),
  DeleteBucketAnalyticsConfiguration: row("s3:PutAnalyticsConfiguration", "bucket"),
  PutBucketMetricsConfiguration: row("s3:PutMetricsConfiguration", "bucket"),
  GetBucketMetricsConfiguration: row("s3:GetMetricsConfiguration", "bucket"),
  ListBucketMetricsConfigurations: row("s3:GetMetricsConfiguration", "bucket"),
  DeleteBucketMetricsConfiguration: row("s3:PutMetricsConfiguration", "bucket"),
  PutBucketLogging: row("s3:PutBucketLogging", "bucket", bucketLogging.putBucketLogging),
  GetBucketLogging: row("s3:GetBucketLogging", "bucket", bucketLogging.getBucketLogging),
  PutBucketNotificationConfiguration: row("s3:PutBucketNotification", "bucket"),
  GetBucketNotificationConfiguration: row("s3:GetBucketNotification", "bucket"),
  ListenBucketNotification: row("s3:ListenBucketNotification", "bucket"),
  PutBucketRequestPayment: row("s3:PutBucketRequestPayment", "bucket", requestPayment.putBucketRequestPayment),
  GetBucketRequestPayment: row("s3:GetBucketRequestPayment", "bucket", requestPayment.getBucketRequestPayment),
  PutBucketWebsite: row("s3:PutBucketWebsite", "bucket"),
  GetBucketWebsite: row("s3:GetBucketWebsite", "bucket"),
  DeleteBucketWebsite: row("s3:DeleteBucketWebsite", "bucket"),

  PutObject: row("s3:PutObject", "object", objects.putObject, writes),
  PostObject: row("s3:PutObject", "bucket", postObject, { signedInBody: true }),
  GetObject: row("s3:GetObject", "object", objects.getObject),
  HeadObject: row("s3:GetObject", "object", objects.headObject),
  DeleteObject: row("s3:DeleteObject", "object", objects.deleteObject),
  // The source is authorized (s3:GetObject or s3:GetObjectVersion) by resolveCopySource.
  CopyObject: row("s3:PutObject", "object", objects.copyObject, {
    ...writes,
    requestTags: (headers) => (tagging.taggingDirective(headers) === "REPLACE" ? tagging.writeTags(headers) : "handler"),
  }),
  GetObjectAttributes: row("s3:GetObjectAttributes", "object", getObjectAttributes, { alsoRequires: () => ["s3:GetObject"] }),
  PutObjectAcl: row("s3:PutObjectAcl", "object", acl.putObjectAcl),
  GetObjectAcl: row("s3:GetObjectAcl", "object", acl.getObjectAcl),
  PutObjectTagging: row("s3:PutObjectTagging", "object", tagging.putObjectTagging, { requestTags: () => "handler" }),
  GetObjectTagging: row("s3:GetObjectTagging", "object", tagging.getObjectTagging),
  DeleteObjectTagging: row("s3:DeleteObjectTagging", "object", tagging.deleteObjectTagging),
  PutObjectRetention: row("s3:PutObjectRetention", "object", objectLock.putObjectRetention),
  GetObjectRetention: row("s3:GetObjectRetention", "object", objectLock.getObjectRetention),
  PutObjectLegalHold: row("s3:PutObjectLegalHold", "object", objectLock.putObjectLegalHold),
  GetObjectLegalHold: row("s3:GetObjectLegalHold", "object", objectLock.getObjectLegalHold),
  GetObjectTorrent: row("s3:GetObjectTorrent", "object", getObjectTorrent),
  RestoreObject: row("s3:RestoreObject", "object", restoreObject),
  SelectObjectContent: row("s3:GetObject", "object"),
  CreateMultipartUpload: row("s3:PutObject", "object", multipart.createMultipartUpload, writes),
  UploadPart: row("s3:PutObject", "object", multipart.uploadPart),
  UploadPartCopy: row("s3:PutObject", "object", multipart.uploadPartCopy),
  CompleteMultipartUpload: row("s3:PutObject", "object", multipart.completeMultipartUpload),
  AbortMultipartUpload: row("s3:AbortMultipartUpload", "object", multipart.abortMultipartUpload),
  ListParts: row("s3:ListMultipartUploadParts", "object", multipart.listParts),
};

/**
 * Every S3 action name a policy may grant: those our operations use plus the version-specific
 * ones S3 evaluates for requests with a versionId.
 */
export const KNOWN_ACTIONS: ReadonlySet<string> = new Set([
  ...Object.values(OPERATIONS).map((r) => r.action),
  ...Object.values(VERSION_ACTIONS),
  "s3:ListAllMyBuckets",
  "s3:BypassGovernanceRetention",
  // What a destination bucket policy grants a replicating account (docs/replication.md).
  "s3:ReplicateObject",
  "s3:ReplicateDelete",
  "s3:ReplicateTags",
]);

function versionAction(action: string, query: URLSearchParams): string {
  return query.has("versionId") ? (VERSION_ACTIONS[action] ?? action) : action;
}

/** The action S3 evaluates instead of the row's when a request names a version. */
export function actionFor(row: OperationRow, query: URLSearchParams): string {
  return versionAction(row.action, query);
}

/**
 * Every action the request needs, the row's own first: the row's action and what the request's
 * headers ask for as well, each under its version-specific name when the request names a version.
 */
export function requiredActions(row: OperationRow, query: URLSearchParams, headers: IncomingHttpHeaders): string[] {
  return [actionFor(row, query), ...(row.alsoRequires?.(headers) ?? []).map((a) => versionAction(a, query))];
}
