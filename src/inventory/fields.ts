// THE inventory field catalogue: every column an S3 Inventory report can hold, in report order,
// with its wire name, its ORC/Parquet column name and its value kind. The configuration
// validator, the report writers and the manifest's fileSchema all read this one table.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory.html#storage-inventory-contents

export type FieldKind = "string" | "boolean" | "int64" | "timestamp";

interface FieldDef {
  /** The name on the wire (OptionalFields/Field) and in the CSV fileSchema. */
  readonly name: string;
  /** The ORC/Parquet column name: the snake_case of the name. */
  readonly column: string;
  readonly kind: FieldKind;
  /** Fixed columns are always present (Bucket, Key) or present for All versions; optional ones are configured. */
  readonly role: "always" | "versions" | "optional";
}

const fixed = <N extends string, R extends "always" | "versions">(name: N, column: string, kind: FieldKind, role: R) =>
  ({ name, column, kind, role }) as const;
const field = <N extends string>(name: N, column: string, kind: FieldKind) => ({ name, column, kind, role: "optional" }) as const;

/**
 * In report column order. The order up to ObjectOwner is S3's documented order; the fields AWS
 * added since (LifecycleExpirationDate in 2025, the event-hold fields and
 * IntelligentTieringReferenceDate in 2026) have no documented position and follow in the order
 * they were introduced (see docs/inventory-configuration.md).
 */
export const INVENTORY_FIELDS = [
  fixed("Bucket", "bucket", "string", "always"),
  fixed("Key", "key", "string", "always"),
  fixed("VersionId", "version_id", "string", "versions"),
  fixed("IsLatest", "is_latest", "boolean", "versions"),
  fixed("IsDeleteMarker", "is_delete_marker", "boolean", "versions"),
  field("Size", "size", "int64"),
  field("LastModifiedDate", "last_modified_date", "timestamp"),
  field("ETag", "e_tag", "string"),
  field("StorageClass", "storage_class", "string"),
  field("IsMultipartUploaded", "is_multipart_uploaded", "boolean"),
  field("ReplicationStatus", "replication_status", "string"),
  field("EncryptionStatus", "encryption_status", "string"),
  field("ObjectLockRetainUntilDate", "object_lock_retain_until_date", "timestamp"),
  field("ObjectLockMode", "object_lock_mode", "string"),
  field("ObjectLockLegalHoldStatus", "object_lock_legal_hold_status", "string"),
  field("IntelligentTieringAccessTier", "intelligent_tiering_access_tier", "string"),
  field("BucketKeyStatus", "bucket_key_status", "string"),
  field("ChecksumAlgorithm", "checksum_algorithm", "string"),
  field("ObjectAccessControlList", "object_access_control_list", "string"),
  field("ObjectOwner", "object_owner", "string"),
  field("LifecycleExpirationDate", "lifecycle_expiration_date", "timestamp"),
  field("ObjectLockEventHoldStatus", "object_lock_event_hold_status", "string"),
  field("ObjectLockEventHoldDuration", "object_lock_event_hold_duration", "string"),
  field("IntelligentTieringReferenceDate", "intelligent_tiering_reference_date", "timestamp"),
] as const satisfies readonly FieldDef[];

export type InventoryField = (typeof INVENTORY_FIELDS)[number];

type OptionalFieldDef = Extract<InventoryField, { role: "optional" }>;
export type InventoryOptionalField = OptionalFieldDef["name"];

/** The values accepted in OptionalFields/Field, in report column order. */
export const OPTIONAL_FIELDS: readonly InventoryOptionalField[] = INVENTORY_FIELDS.filter(
  (f): f is OptionalFieldDef => f.role === "optional",
).map((f) => f.name);

export function isOptionalField(name: string): name is InventoryOptionalField {
  return (OPTIONAL_FIELDS as readonly string[]).includes(name);
}

/** The report's columns for a configuration: fixed ones first, then the chosen fields in catalogue order. */
export function reportColumns(includedObjectVersions: "All" | "Current", optionalFields: readonly string[]): InventoryField[] {
  const chosen = new Set(optionalFields);
  return INVENTORY_FIELDS.filter(
    (f) => f.role === "always" || (f.role === "versions" && includedObjectVersions === "All") || (f.role === "optional" && chosen.has(f.name)),
  );
}

/** manifest.json fileSchema for a CSV report: the field names, comma and space separated. */
export function csvFileSchema(columns: readonly InventoryField[]): string {
  return columns.map((c) => c.name).join(", ");
}

const ORC_TYPES: Record<FieldKind, string> = { string: "string", boolean: "boolean", int64: "bigint", timestamp: "timestamp" };

/** manifest.json fileSchema for an ORC report: one struct<...> line without spaces. */
export function orcFileSchema(columns: readonly InventoryField[]): string {
  return `struct<${columns.map((c) => `${c.column}:${ORC_TYPES[c.kind]}`).join(",")}>`;
}

/**
 * manifest.json fileSchema for a Parquet report: the message type as real manifests carry it
 * today, parquet-mr's text of it with the line breaks taken out (two spaces before each field,
 * none before the closing brace; logical types STRING and TIMESTAMP(MILLIS,true)), not the older
 * UTF8/TIMESTAMP_MILLIS form of the documentation's example. Evidence: docs/inventory-engine.md.
 */
export function parquetFileSchema(columns: readonly InventoryField[]): string {
  const parts = columns.map((c) => {
    const repetition = c.role === "always" ? "required" : "optional";
    switch (c.kind) {
      case "string":
        return `  ${repetition} binary ${c.column} (STRING);`;
      case "boolean":
        return `  ${repetition} boolean ${c.column};`;
      case "int64":
        return `  ${repetition} int64 ${c.column};`;
      case "timestamp":
        return `  ${repetition} int64 ${c.column} (TIMESTAMP(MILLIS,true));`;
    }
  });
  return `message s3.inventory {${parts.join("")}}`;
}
