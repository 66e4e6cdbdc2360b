// classify() against request lines from the S3 API reference's examples.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { classify } from "./classify.js";
import { OPERATIONS } from "./operations.js";

function line(method: string, path: string, headers: Record<string, string> = {}) {
  const [rawPath, rawQuery = ""] = path.split("?");
  const parts = rawPath!.slice(1).split("/");
  const bucket = parts[0] === "" ? undefined : parts[0];
  const key = parts.length > 1 && parts.slice(1).join("/") !== "" ? parts.slice(1).join("/") : undefined;
  return { method, bucket, key, query: new URLSearchParams(rawQuery), headers };
}

const CASES: [string, string, string, Record<string, string>?][] = [
  ["GET", "/", "ListBuckets"],
  ["PUT", "/b", "CreateBucket"],
  ["HEAD", "/b", "HeadBucket"],
  ["DELETE", "/b", "DeleteBucket"],
  ["GET", "/b", "ListObjects"],
  ["GET", "/b?list-type=2&prefix=a", "ListObjectsV2"],
  ["GET", "/b?location", "GetBucketLocation"],
  ["GET", "/b?versions", "ListObjectVersions"],
  ["GET", "/b?uploads", "ListMultipartUploads"],
  ["GET", "/b?events=s3%3AObjectCreated%3A%2A&prefix=&suffix=", "ListenBucketNotification"],
  ["POST", "/b?delete", "DeleteObjects"],
  ["PUT", "/b?inventory&id=report1", "PutBucketInventoryConfiguration"],
  ["GET", "/b?inventory&id=report1", "GetBucketInventoryConfiguration"],
  ["GET", "/b?inventory", "ListBucketInventoryConfigurations"],
  ["GET", "/b?inventory&continuation-token=abc", "ListBucketInventoryConfigurations"],
  ["DELETE", "/b?inventory&id=report1", "DeleteBucketInventoryConfiguration"],
  ["POST", "/b?metadataConfiguration", "CreateBucketMetadataConfiguration"],
  ["GET", "/b?metadataConfiguration", "GetBucketMetadataConfiguration"],
  ["DELETE", "/b?metadataConfiguration", "DeleteBucketMetadataConfiguration"],
  ["PUT", "/b?metadataInventoryTable", "UpdateBucketMetadataInventoryTableConfiguration"],
  ["PUT", "/b?metadataJournalTable", "UpdateBucketMetadataJournalTableConfiguration"],
  ["PUT", "/b?metadataAnnotationTable", "UpdateBucketMetadataAnnotationTableConfiguration"],
  ["POST", "/b?metadataTable", "CreateBucketMetadataTableConfiguration"],
  ["GET", "/b?metadataTable", "GetBucketMetadataTableConfiguration"],
  ["DELETE", "/b?metadataTable", "DeleteBucketMetadataTableConfiguration"],
  ["PUT", "/b?versioning", "PutBucketVersioning"],
  ["PUT", "/b?policy", "PutBucketPolicy"],
  ["GET", "/b?policyStatus", "GetBucketPolicyStatus"],
  ["PUT", "/b/k", "PutObject"],
  ["PUT", "/b/k", "CopyObject", { "x-amz-copy-source": "/src/k" }],
  ["GET", "/b/k", "GetObject"],
  ["HEAD", "/b/k", "HeadObject"],
  ["DELETE", "/b/k", "DeleteObject"],
  ["GET", "/b/k?attributes", "GetObjectAttributes"],
  ["POST", "/b/k?uploads", "CreateMultipartUpload"],
  ["PUT", "/b/k?partNumber=1&uploadId=u", "UploadPart"],
  ["PUT", "/b/k?partNumber=1&uploadId=u", "UploadPartCopy", { "x-amz-copy-source": "/src/k" }],
  ["POST", "/b/k?uploadId=u", "CompleteMultipartUpload"],
  ["DELETE", "/b/k?uploadId=u", "AbortMultipartUpload"],
  ["GET", "/b/k?uploadId=u", "ListParts"],
  ["GET", "/b/k?tagging", "GetObjectTagging"],
  ["GET", "/b/dir/sub/k?acl", "GetObjectAcl"],
];

describe("classify", () => {
  for (const [method, path, op, headers] of CASES) {
    it(`names ${method} ${path} as ${op}`, () => {
      assert.equal(classify(line(method, path, headers)), op);
    });
  }

  it("names nothing for methods S3 does not route", () => {
    assert.equal(classify(line("PATCH", "/b/k")), undefined);
    assert.equal(classify(line("POST", "/")), undefined);
    assert.equal(classify(line("POST", "/b")), undefined);
  });

  it("classifies only into operations the operation table has a row for", () => {
    for (const [method, path, , headers] of CASES) {
      const op = classify(line(method, path, headers))!;
      assert.ok(OPERATIONS[op], `${op} has no row`);
    }
  });
});
