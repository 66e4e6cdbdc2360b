// What the two tables' rows hold, made from the store's change log (journal) and from versions
// (live inventory). The column meanings are AWS's (src/metadata-tables/schemas.ts names the
// pages); where AWS is silent, docs/metadata-tables.md ("What the rows hold") says what we chose.
import type { ChangedVersion, StoredEncryption, VersionChange } from "../storage/types.js";
import type { IcebergRow } from "./parquet-table.js";
import type { RecordType } from "./schemas.js";
import { TABLE_FILE_MARK } from "./table-store.js";

/** The requester S3 names for the changes it makes itself (lifecycle, replication, report files). */
export const S3_SERVICE_PRINCIPAL = "s3.amazonaws.com";

/**
 * A change log number as the sequence_number column: a larger value is more recent for a key, and
 * AWS promises lexicographic order, so the number is zero-padded to a fixed width (20 digits hold
 * every safe integer).
 */
export function sequenceNumber(seq: number): string {
  return String(seq).padStart(20, "0");
}

/** The number back from a sequence_number value. */
export function seqOfSequenceNumber(value: string): number {
  return Number(value);
}

const micros = (ms: number): number => ms * 1000;

type Tag = [string, string];

function tagsOf(extra: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries((extra.tags as Tag[] | undefined) ?? []);
}

/** The version_id column: null for the null version, as AWS shows objects written before versioning. */
export function versionIdColumn(versionId: string): string | null {
  return versionId === "null" ? null : versionId;
}

/** Columns of a permanent delete, which AWS leaves null (only the required ones and version_id are set). */
const GONE: IcebergRow = {
  is_delete_marker: null,
  size: null,
  last_modified_date: null,
  e_tag: null,
  storage_class: null,
  is_multipart: null,
  encryption_status: null,
  is_bucket_key_enabled: null,
  kms_key_arn: null,
  checksum_algorithm: null,
  object_tags: null,
  user_metadata: null,
};

/** The columns both tables take from a version (delete markers have no content, class or encryption). */
export function versionColumns(v: ChangedVersion): IcebergRow {
  if (v.isDeleteMarker) {
    // AWS: a delete marker has size 0 and no content, class or encryption; the maps are null for
    // DELETE records, a delete marker's included.
    return { ...GONE, is_delete_marker: true, size: 0, last_modified_date: micros(v.lastModified) };
  }
  const encryption = v.extra.encryption as StoredEncryption | undefined;
  const kms = encryption?.kind === "SSE-KMS" || encryption?.kind === "DSSE-KMS";
  return {
    is_delete_marker: false,
    size: v.size,
    last_modified_date: micros(v.lastModified),
    e_tag: v.etag.replace(/"/g, ""),
    storage_class: v.storageClass,
    is_multipart: v.partsCount > 0,
    encryption_status: encryption?.kind ?? null,
    is_bucket_key_enabled: encryption === undefined ? null : kms && encryption.bucketKeyEnabled === true,
    kms_key_arn: kms ? (encryption.keyId ?? null) : null,
    checksum_algorithm: (v.extra.checksum as { algorithm?: string } | undefined)?.algorithm ?? null,
    object_tags: tagsOf(v.extra),
    user_metadata: { ...v.userMetadata },
  };
}


/**
 * The journal's record type for a change, or undefined when the journal does not record it: an
 * update that changed neither the storage class nor the tags (a replication status, an access tier,
 * a retention date), and the tables' own files.
 */
export function journalRecordType(change: VersionChange): RecordType | undefined {
  if (change.version?.extra[TABLE_FILE_MARK] === true) return undefined;
  switch (change.kind) {
    case "put":
      return change.version!.isDeleteMarker ? "DELETE" : "CREATE";
    case "delete":
      return "DELETE";
    case "update": {
      const before = change.before!;
      const after = change.version!;
      const tagsChanged = JSON.stringify(tagsOf(before.extra)) !== JSON.stringify(tagsOf(after.extra));
      return before.storageClass !== after.storageClass || tagsChanged ? "UPDATE_METADATA" : undefined;
    }
  }
}

/** The journal row of a change, or undefined when the journal does not record it (see journalRecordType). */
export function journalRow(bucket: string, change: VersionChange): IcebergRow | undefined {
  const recordType = journalRecordType(change);
  if (recordType === undefined) return undefined;
  return {
    bucket,
    key: change.key,
    sequence_number: sequenceNumber(change.seq),
    record_type: recordType,
    record_timestamp: micros(change.at),
    version_id: versionIdColumn(change.versionId),
    ...(change.version ? versionColumns(change.version) : GONE),
    requester: change.origin ? (change.origin.requester ?? null) : S3_SERVICE_PRINCIPAL,
    source_ip_address: change.origin?.sourceIp ?? null,
    request_id: change.origin?.requestId ?? null,
  };
}

/** A live inventory row: a version as it is now, numbered by its newest change (or the backfill's mark). */
export function inventoryRow(bucket: string, key: string, versionId: string, v: ChangedVersion, seq: number): IcebergRow {
  return { bucket, key, sequence_number: sequenceNumber(seq), version_id: versionIdColumn(versionId), ...versionColumns(v) };
}
