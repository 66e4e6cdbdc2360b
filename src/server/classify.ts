// classify(): a pure function from method, bucket/key presence, query and headers to the AWS
// operation the request names. Every route is matched positively on its sub-resource; anything
// not in the tables below is an unknown request, never a guess.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html

export interface RequestLine {
  method: string;
  bucket?: string;
  key?: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
}

/** Bucket sub-resources, per method, and the operation each names. Order is precedence. */
const BUCKET_SUBRESOURCES: Record<string, [string, string][]> = {
  PUT: [
    ["accelerate", "PutBucketAccelerateConfiguration"],
    ["acl", "PutBucketAcl"],
    ["analytics", "PutBucketAnalyticsConfiguration"],
    ["cors", "PutBucketCors"],
    ["encryption", "PutBucketEncryption"],
    ["intelligent-tiering", "PutBucketIntelligentTieringConfiguration"],
    ["inventory", "PutBucketInventoryConfiguration"],
    ["lifecycle", "PutBucketLifecycleConfiguration"],
    ["logging", "PutBucketLogging"],
    ["metadataAnnotationTable", "UpdateBucketMetadataAnnotationTableConfiguration"],
    ["metadataInventoryTable", "UpdateBucketMetadataInventoryTableConfiguration"],
    ["metadataJournalTable", "UpdateBucketMetadataJournalTableConfiguration"],
    ["metrics", "PutBucketMetricsConfiguration"],
    ["notification", "PutBucketNotificationConfiguration"],
    ["object-lock", "PutObjectLockConfiguration"],
    ["ownershipControls", "PutBucketOwnershipControls"],
    ["policy", "PutBucketPolicy"],
    ["publicAccessBlock", "PutPublicAccessBlock"],
    ["replication", "PutBucketReplication"],
    ["requestPayment", "PutBucketRequestPayment"],
    ["tagging", "PutBucketTagging"],
    ["versioning", "PutBucketVersioning"],
    ["website", "PutBucketWebsite"],
  ],
  GET: [
    ["accelerate", "GetBucketAccelerateConfiguration"],
    ["acl", "GetBucketAcl"],
    ["cors", "GetBucketCors"],
    ["encryption", "GetBucketEncryption"],
    // MinIO's extension, not S3's: named so that it answers NotImplemented instead of a listing
    // that minio-js's listener would parse as its JSON event stream, fail on, and request again.
    ["events", "ListenBucketNotification"],
    ["lifecycle", "GetBucketLifecycleConfiguration"],
    ["location", "GetBucketLocation"],
    ["logging", "GetBucketLogging"],
    ["metadataConfiguration", "GetBucketMetadataConfiguration"],
    ["metadataTable", "GetBucketMetadataTableConfiguration"],
    ["notification", "GetBucketNotificationConfiguration"],
    ["object-lock", "GetObjectLockConfiguration"],
    ["ownershipControls", "GetBucketOwnershipControls"],
    ["policy", "GetBucketPolicy"],
    ["policyStatus", "GetBucketPolicyStatus"],
    ["publicAccessBlock", "GetPublicAccessBlock"],
    ["replication", "GetBucketReplication"],
    ["requestPayment", "GetBucketRequestPayment"],
    ["tagging", "GetBucketTagging"],
    ["uploads", "ListMultipartUploads"],
    ["versioning", "GetBucketVersioning"],
    ["versions", "ListObjectVersions"],
    ["website", "GetBucketWebsite"],
  ],
  DELETE: [
    ["analytics", "DeleteBucketAnalyticsConfiguration"],
    ["cors", "DeleteBucketCors"],
    ["encryption", "DeleteBucketEncryption"],
    ["intelligent-tiering", "DeleteBucketIntelligentTieringConfiguration"],
    ["inventory", "DeleteBucketInventoryConfiguration"],
    ["lifecycle", "DeleteBucketLifecycle"],
    ["metadataConfiguration", "DeleteBucketMetadataConfiguration"],
    ["metadataTable", "DeleteBucketMetadataTableConfiguration"],
    ["metrics", "DeleteBucketMetricsConfiguration"],
    ["ownershipControls", "DeleteBucketOwnershipControls"],
    ["policy", "DeleteBucketPolicy"],
    ["publicAccessBlock", "DeletePublicAccessBlock"],
    ["replication", "DeleteBucketReplication"],
    ["tagging", "DeleteBucketTagging"],
    ["website", "DeleteBucketWebsite"],
  ],
  POST: [
    ["delete", "DeleteObjects"],
    ["metadataConfiguration", "CreateBucketMetadataConfiguration"],
    ["metadataTable", "CreateBucketMetadataTableConfiguration"],
  ],
};

/** Bucket configurations addressed by id: GET with id reads one, GET without lists them. */
const BUCKET_CONFIG_GETS: [string, string, string][] = [
  ["analytics", "GetBucketAnalyticsConfiguration", "ListBucketAnalyticsConfigurations"],
  ["intelligent-tiering", "GetBucketIntelligentTieringConfiguration", "ListBucketIntelligentTieringConfigurations"],
  ["inventory", "GetBucketInventoryConfiguration", "ListBucketInventoryConfigurations"],
  ["metrics", "GetBucketMetricsConfiguration", "ListBucketMetricsConfigurations"],
];

const OBJECT_SUBRESOURCES: Record<string, [string, string][]> = {
  PUT: [
    ["acl", "PutObjectAcl"],
    ["legal-hold", "PutObjectLegalHold"],
    ["retention", "PutObjectRetention"],
    ["tagging", "PutObjectTagging"],
  ],
  GET: [
    ["acl", "GetObjectAcl"],
    ["attributes", "GetObjectAttributes"],
    ["legal-hold", "GetObjectLegalHold"],
    ["retention", "GetObjectRetention"],
    ["tagging", "GetObjectTagging"],
    ["torrent", "GetObjectTorrent"],
    ["uploadId", "ListParts"],
  ],
  DELETE: [
    ["tagging", "DeleteObjectTagging"],
    ["uploadId", "AbortMultipartUpload"],
  ],
  POST: [
    ["uploads", "CreateMultipartUpload"],
    ["uploadId", "CompleteMultipartUpload"],
    ["restore", "RestoreObject"],
    ["select", "SelectObjectContent"],
  ],
};

function firstSubresource(query: URLSearchParams, table: [string, string][] | undefined): string | undefined {
  if (!table) return undefined;
  for (const [name, op] of table) if (query.has(name)) return op;
  return undefined;
}

/** The AWS operation name the request line names, or undefined when it names none. */
export function classify(line: RequestLine): string | undefined {
  const { method, bucket, key, query, headers } = line;
  if (bucket === undefined) {
    return method === "GET" ? "ListBuckets" : undefined;
  }
  if (key === undefined) {
    // Stocktake's own inventory-run operations (not S3's; S3 has no POST ?inventory).
    if (method === "POST" && query.has("inventory") && query.has("run")) return "RunBucketInventoryConfiguration";
    if (method === "GET" && query.has("inventory-runs")) return "ListBucketInventoryRuns";
    if (method === "GET") {
      for (const [name, getOne, list] of BUCKET_CONFIG_GETS) {
        if (query.has(name)) return query.has("id") ? getOne : list;
      }
      const sub = firstSubresource(query, BUCKET_SUBRESOURCES.GET);
      if (sub) return sub;
      return query.get("list-type") === "2" ? "ListObjectsV2" : "ListObjects";
    }
    if (method === "HEAD") return "HeadBucket";
    const sub = firstSubresource(query, BUCKET_SUBRESOURCES[method]);
    if (sub) return sub;
    if (method === "PUT") return "CreateBucket";
    if (method === "DELETE") return "DeleteBucket";
    // A browser's form upload (POST Object): signed in its fields, not in its headers.
    if (method === "POST" && /^multipart\/form-data/i.test(String(headers["content-type"] ?? ""))) return "PostObject";
    return undefined;
  }
  if (method === "PUT" && query.has("partNumber") && query.has("uploadId")) {
    return headers["x-amz-copy-source"] !== undefined ? "UploadPartCopy" : "UploadPart";
  }
  const sub = firstSubresource(query, OBJECT_SUBRESOURCES[method]);
  if (sub) return sub;
  switch (method) {
    case "GET":
      return "GetObject";
    case "HEAD":
      return "HeadObject";
    case "DELETE":
      return "DeleteObject";
    case "PUT":
      return headers["x-amz-copy-source"] !== undefined ? "CopyObject" : "PutObject";
    default:
      return undefined;
  }
}
