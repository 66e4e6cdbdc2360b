import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { ChangedVersion, VersionChange } from "../storage/types.js";
import { inventoryRow, journalRecordType, journalRow, sequenceNumber, S3_SERVICE_PRINCIPAL } from "./rows.js";
import { TABLE_FILE_MARK } from "./table-store.js";
import { INVENTORY_SCHEMA, JOURNAL_SCHEMA } from "./schemas.js";
import { writeIcebergParquet } from "./parquet-table.js";

const T = Date.UTC(2026, 11, 4, 12, 0, 0, 123);

function version(over: Partial<ChangedVersion> = {}): ChangedVersion {
  return {
    isDeleteMarker: false,
    size: 42,
    etag: '"abc"',
    lastModified: T,
    storageClass: "STANDARD",
    partsCount: 0,
    userMetadata: { colour: "blue" },
    extra: {},
    ...over,
  };
}

function change(over: Partial<VersionChange>): VersionChange {
  return { seq: 7, key: "photos/1.jpg", versionId: "v1", kind: "put", at: T + 5, version: version(), ...over };
}

describe("journal rows", () => {
  it("writes a PUT as CREATE with the version's facts, unquoted ETag, tags and metadata, and the caller", () => {
    const row = journalRow(
      "photos",
      change({
        version: version({ partsCount: 3, extra: { tags: [["team", "a"]], checksum: { algorithm: "CRC32" }, encryption: { kind: "SSE-KMS", keyId: "arn:k", bucketKeyEnabled: true } } }),
        origin: { requester: "111122223333", sourceIp: "192.0.2.1", requestId: "REQ" },
      }),
    );
    assert.deepEqual(row, {
      bucket: "photos",
      key: "photos/1.jpg",
      sequence_number: "00000000000000000007",
      record_type: "CREATE",
      record_timestamp: (T + 5) * 1000,
      version_id: "v1",
      is_delete_marker: false,
      size: 42,
      last_modified_date: T * 1000,
      e_tag: "abc",
      storage_class: "STANDARD",
      is_multipart: true,
      encryption_status: "SSE-KMS",
      is_bucket_key_enabled: true,
      kms_key_arn: "arn:k",
      checksum_algorithm: "CRC32",
      object_tags: { team: "a" },
      user_metadata: { colour: "blue" },
      requester: "111122223333",
      source_ip_address: "192.0.2.1",
      request_id: "REQ",
    });
  });

  it("writes a delete marker as DELETE with is_delete_marker true, size 0 and null maps", () => {
    const row = journalRow("photos", change({ version: version({ isDeleteMarker: true, size: 0 }) }))!;
    assert.equal(row.record_type, "DELETE");
    assert.equal(row.is_delete_marker, true);
    assert.equal(row.size, 0);
    assert.equal(row.object_tags, null);
    assert.equal(row.e_tag, null);
  });

  it("writes a permanent delete with nulls in every column but the required ones and version_id", () => {
    const row = journalRow("photos", change({ kind: "delete", version: undefined, versionId: "null" }))!;
    assert.equal(row.record_type, "DELETE");
    assert.equal(row.version_id, null, "the null version has a null version_id");
    for (const column of ["is_delete_marker", "size", "last_modified_date", "e_tag", "storage_class", "object_tags", "user_metadata"]) assert.equal(row[column], null, column);
  });

  it("names S3 itself as the requester of a change no request made, with no address", () => {
    const row = journalRow("photos", change({ origin: undefined }))!;
    assert.equal(row.requester, S3_SERVICE_PRINCIPAL);
    assert.equal(row.source_ip_address, null);
    assert.equal(row.request_id, null);
  });

  it("records an update only when the storage class or the tags changed", () => {
    const before = { storageClass: "STANDARD", extra: { tags: [["a", "1"]] } };
    const tagged = change({ kind: "update", before, version: version({ extra: { tags: [["a", "2"]] } }) });
    const moved = change({ kind: "update", before, version: version({ storageClass: "GLACIER", extra: before.extra }) });
    const replicated = change({ kind: "update", before, version: version({ extra: { ...before.extra, replicationStatus: "COMPLETED" } }) });
    assert.equal(journalRecordType(tagged), "UPDATE_METADATA");
    assert.equal(journalRecordType(moved), "UPDATE_METADATA");
    assert.equal(journalRecordType(replicated), undefined);
    assert.equal(journalRow("photos", replicated), undefined);
  });

  it("leaves out the tables' own files", () => {
    assert.equal(journalRow("photos", change({ version: version({ extra: { [TABLE_FILE_MARK]: true } }) })), undefined);
  });

  it("orders sequence numbers as text as they order as numbers", () => {
    assert.ok(sequenceNumber(9) < sequenceNumber(10));
    assert.ok(sequenceNumber(99_999) < sequenceNumber(100_000));
    assert.equal(sequenceNumber(Number.MAX_SAFE_INTEGER).length, 20);
  });

  it("makes rows both tables' Parquet writer takes", async () => {
    const journal = [
      journalRow("b", change({}))!,
      journalRow("b", change({ kind: "delete", version: undefined }))!,
      journalRow("b", change({ version: version({ isDeleteMarker: true }) }))!,
    ];
    assert.equal((await writeIcebergParquet(JOURNAL_SCHEMA, journal)).metrics.recordCount, 3);
    const inventory = [inventoryRow("b", "k", "null", version(), 3), inventoryRow("b", "k", "v2", version({ isDeleteMarker: true }), 4)];
    assert.equal((await writeIcebergParquet(INVENTORY_SCHEMA, inventory)).metrics.recordCount, 2);
    assert.equal(inventory[0]!.version_id, null);
  });
});
