// The field catalogue against the report layout S3 documents (INVENTORY-SPEC section 2).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { OPTIONAL_FIELDS, csvFileSchema, orcFileSchema, parquetFileSchema, reportColumns } from "./fields.js";

const SEED_FIELDS = [
  "Size", "LastModifiedDate", "StorageClass", "ETag", "IsMultipartUploaded", "ReplicationStatus", "EncryptionStatus",
  "ObjectLockRetainUntilDate", "ObjectLockMode", "ObjectLockLegalHoldStatus", "IntelligentTieringAccessTier", "BucketKeyStatus", "ChecksumAlgorithm",
];

describe("inventory field catalogue", () => {
  it("accepts the 19 optional fields AWS knows today", () => {
    assert.equal(OPTIONAL_FIELDS.length, 19);
    for (const f of [...SEED_FIELDS, "ObjectAccessControlList", "ObjectOwner", "LifecycleExpirationDate", "ObjectLockEventHoldStatus", "ObjectLockEventHoldDuration", "IntelligentTieringReferenceDate"]) {
      assert.ok((OPTIONAL_FIELDS as readonly string[]).includes(f), f);
    }
  });

  it("orders columns by the catalogue, whatever order the configuration lists them in", () => {
    const cols = reportColumns("Current", ["ChecksumAlgorithm", "Size", "ETag"]).map((c) => c.name);
    assert.deepEqual(cols, ["Bucket", "Key", "Size", "ETag", "ChecksumAlgorithm"]);
    const all = reportColumns("All", []).map((c) => c.name);
    assert.deepEqual(all, ["Bucket", "Key", "VersionId", "IsLatest", "IsDeleteMarker"]);
  });

  const columns = reportColumns("All", SEED_FIELDS);

  it("writes the CSV fileSchema S3 writes", () => {
    assert.equal(
      csvFileSchema(columns),
      "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass, IsMultipartUploaded, ReplicationStatus, EncryptionStatus, ObjectLockRetainUntilDate, ObjectLockMode, ObjectLockLegalHoldStatus, IntelligentTieringAccessTier, BucketKeyStatus, ChecksumAlgorithm",
    );
  });

  it("writes the ORC fileSchema S3 writes", () => {
    assert.equal(
      orcFileSchema(columns),
      "struct<bucket:string,key:string,version_id:string,is_latest:boolean,is_delete_marker:boolean,size:bigint,last_modified_date:timestamp,e_tag:string,storage_class:string,is_multipart_uploaded:boolean,replication_status:string,encryption_status:string,object_lock_retain_until_date:timestamp,object_lock_mode:string,object_lock_legal_hold_status:string,intelligent_tiering_access_tier:string,bucket_key_status:string,checksum_algorithm:string>",
    );
  });

  it("writes the Parquet fileSchema S3 writes", () => {
    assert.equal(
      parquetFileSchema(columns),
      "message s3.inventory { required binary bucket (UTF8); required binary key (UTF8); optional binary version_id (UTF8); optional boolean is_latest; optional boolean is_delete_marker; optional int64 size; optional int64 last_modified_date (TIMESTAMP_MILLIS); optional binary e_tag (UTF8); optional binary storage_class (UTF8); optional boolean is_multipart_uploaded; optional binary replication_status (UTF8); optional binary encryption_status (UTF8); optional int64 object_lock_retain_until_date (TIMESTAMP_MILLIS); optional binary object_lock_mode (UTF8); optional binary object_lock_legal_hold_status (UTF8); optional binary intelligent_tiering_access_tier (UTF8); optional binary bucket_key_status (UTF8); optional binary checksum_algorithm (UTF8); }",
    );
  });
});
