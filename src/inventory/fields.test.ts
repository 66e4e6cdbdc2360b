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

  it("writes the Parquet fileSchema S3 writes today", () => {
    // Character for character the fileSchema of a real manifest (nix-cache, 2025-06-02; see
    // docs/inventory-engine.md) for the same columns.
    assert.equal(
      parquetFileSchema(reportColumns("Current", ["Size", "LastModifiedDate", "ETag", "StorageClass"])),
      "message s3.inventory {  required binary bucket (STRING);  required binary key (STRING);  optional int64 size;  optional int64 last_modified_date (TIMESTAMP(MILLIS,true));  optional binary e_tag (STRING);  optional binary storage_class (STRING);}",
    );
    assert.equal(
      parquetFileSchema(columns),
      "message s3.inventory {  required binary bucket (STRING);  required binary key (STRING);  optional binary version_id (STRING);  optional boolean is_latest;  optional boolean is_delete_marker;  optional int64 size;  optional int64 last_modified_date (TIMESTAMP(MILLIS,true));  optional binary e_tag (STRING);  optional binary storage_class (STRING);  optional boolean is_multipart_uploaded;  optional binary replication_status (STRING);  optional binary encryption_status (STRING);  optional int64 object_lock_retain_until_date (TIMESTAMP(MILLIS,true));  optional binary object_lock_mode (STRING);  optional binary object_lock_legal_hold_status (STRING);  optional binary intelligent_tiering_access_tier (STRING);  optional binary bucket_key_status (STRING);  optional binary checksum_algorithm (STRING);}",
    );
  });
});
