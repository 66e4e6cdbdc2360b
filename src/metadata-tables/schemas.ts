// The two tables S3 Metadata keeps for a bucket, as Iceberg schemas: the journal (one row per change
// to an object) and the live inventory (one row per object version as it is now). Column names,
// order, types and which columns are required are AWS's, from the user guide:
//   https://docs.aws.amazon.com/AmazonS3/latest/userguide/metadata-tables-schema.html
//   https://docs.aws.amazon.com/AmazonS3/latest/userguide/metadata-tables-inventory-schema.html
// AWS's "Timestamp NTZ (no time zone)" is Iceberg's `timestamp` (microseconds, without zone), its
// "Long" is `long` and "Map <String, String>" is `map<string, string>` (spec, "Primitive Types").
//
// Field ids: the top-level columns take 1..n in AWS's column order, then each map's key and value
// ids follow in the same order, as the reference implementation numbers a new table's schema (every
// field of a struct before the fields nested in them). The ids are part of the table: data files
// and manifests name columns by id, so they never change once a table exists.
import type { IcebergField, IcebergSchema, IcebergType } from "./parquet-table.js";

/** The Iceberg table names AWS gives the two tables (in the namespace `b_<bucket-name>`). */
export const JOURNAL_TABLE_NAME = "journal";
export const INVENTORY_TABLE_NAME = "inventory";

/** The journal's record_type values. */
export const RECORD_TYPES = ["CREATE", "UPDATE_METADATA", "DELETE"] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

/** A column before ids are assigned: a map column names its key and value types. */
interface ColumnSpec {
  name: string;
  required: boolean;
  type: "string" | "long" | "boolean" | "timestamp" | "map<string,string>";
  doc: string;
}

// Descriptions are short paraphrases of AWS's; the user guide pages above are the authority.
const BUCKET: ColumnSpec = { name: "bucket", required: true, type: "string", doc: "Name of the general purpose bucket" };
const KEY: ColumnSpec = { name: "key", required: true, type: "string", doc: "Object key" };
const SEQUENCE_NUMBER: ColumnSpec = {
  name: "sequence_number",
  required: true,
  type: "string",
  doc: "Ordinal of the record for its bucket and key: a lexicographically larger value is more recent",
};
const RECORD_TYPE: ColumnSpec = { name: "record_type", required: true, type: "string", doc: "CREATE, UPDATE_METADATA or DELETE" };
const RECORD_TIMESTAMP: ColumnSpec = { name: "record_timestamp", required: true, type: "timestamp", doc: "When the change happened" };
const VERSION_ID: ColumnSpec = { name: "version_id", required: false, type: "string", doc: "Version ID; null for objects written before versioning" };
const IS_DELETE_MARKER: ColumnSpec = { name: "is_delete_marker", required: false, type: "boolean", doc: "Whether the version is a delete marker" };
const SIZE: ColumnSpec = { name: "size", required: false, type: "long", doc: "Object size in bytes; 0 for a delete marker" };
const LAST_MODIFIED_DATE: ColumnSpec = {
  name: "last_modified_date",
  required: false,
  type: "timestamp",
  doc: "Creation or last modification date, whichever is later",
};
const E_TAG: ColumnSpec = { name: "e_tag", required: false, type: "string", doc: "Entity tag of the object's content" };
const STORAGE_CLASS: ColumnSpec = { name: "storage_class", required: false, type: "string", doc: "Storage class" };
const IS_MULTIPART: ColumnSpec = { name: "is_multipart", required: false, type: "boolean", doc: "Whether the object was uploaded in parts" };
const ENCRYPTION_STATUS: ColumnSpec = {
  name: "encryption_status",
  required: false,
  type: "string",
  doc: "SSE-S3, SSE-KMS, DSSE-KMS, SSE-C, or null when unencrypted",
};
const IS_BUCKET_KEY_ENABLED: ColumnSpec = {
  name: "is_bucket_key_enabled",
  required: false,
  type: "boolean",
  doc: "Whether an S3 Bucket Key is used for SSE-KMS",
};
const KMS_KEY_ARN: ColumnSpec = { name: "kms_key_arn", required: false, type: "string", doc: "ARN of the KMS key, for SSE-KMS and DSSE-KMS" };
const CHECKSUM_ALGORITHM: ColumnSpec = { name: "checksum_algorithm", required: false, type: "string", doc: "Additional checksum algorithm, or null" };
const OBJECT_TAGS: ColumnSpec = { name: "object_tags", required: false, type: "map<string,string>", doc: "Object tags; {} when none" };
const USER_METADATA: ColumnSpec = { name: "user_metadata", required: false, type: "map<string,string>", doc: "User-defined metadata; {} when none" };
const REQUESTER: ColumnSpec = { name: "requester", required: false, type: "string", doc: "Account ID or service principal that made the request" };
const SOURCE_IP_ADDRESS: ColumnSpec = {
  name: "source_ip_address",
  required: false,
  type: "string",
  doc: "Source IP of the request; null for changes S3 made itself",
};
const REQUEST_ID: ColumnSpec = { name: "request_id", required: false, type: "string", doc: "ID of the request" };

const JOURNAL_COLUMNS: readonly ColumnSpec[] = [
  BUCKET, KEY, SEQUENCE_NUMBER, RECORD_TYPE, RECORD_TIMESTAMP, VERSION_ID, IS_DELETE_MARKER, SIZE,
  LAST_MODIFIED_DATE, E_TAG, STORAGE_CLASS, IS_MULTIPART, ENCRYPTION_STATUS, IS_BUCKET_KEY_ENABLED,
  KMS_KEY_ARN, CHECKSUM_ALGORITHM, OBJECT_TAGS, USER_METADATA, REQUESTER, SOURCE_IP_ADDRESS, REQUEST_ID,
];

const INVENTORY_COLUMNS: readonly ColumnSpec[] = [
  BUCKET, KEY, SEQUENCE_NUMBER, VERSION_ID, IS_DELETE_MARKER, SIZE, LAST_MODIFIED_DATE, E_TAG,
  STORAGE_CLASS, IS_MULTIPART, ENCRYPTION_STATUS, IS_BUCKET_KEY_ENABLED, KMS_KEY_ARN, CHECKSUM_ALGORITHM,
  OBJECT_TAGS, USER_METADATA,
];

function buildSchema(columns: readonly ColumnSpec[]): IcebergSchema {
  let nextId = columns.length + 1;
  const fields: IcebergField[] = columns.map((c, i) => {
    let type: IcebergType;
    if (c.type === "map<string,string>") {
      const keyId = nextId++;
      const valueId = nextId++;
      // A tag's or a metadata entry's value is always a string (perhaps empty), never null.
      type = { type: "map", "key-id": keyId, key: "string", "value-id": valueId, value: "string", "value-required": true };
    } else {
      type = c.type;
    }
    return { id: i + 1, name: c.name, required: c.required, type, doc: c.doc };
  });
  return { type: "struct", "schema-id": 0, fields };
}

/** The journal table: one row per change (CREATE, UPDATE_METADATA or DELETE) to an object version. */
export const JOURNAL_SCHEMA: IcebergSchema = buildSchema(JOURNAL_COLUMNS);

/** The live inventory table: one row per object version, as it is now. */
export const INVENTORY_SCHEMA: IcebergSchema = buildSchema(INVENTORY_COLUMNS);

/** Every field id a type assigns, nested ones included. */
export function fieldIdsOf(type: IcebergType): number[] {
  if (typeof type === "string") return [];
  switch (type.type) {
    case "struct":
      return type.fields.flatMap((f) => [f.id, ...fieldIdsOf(f.type)]);
    case "map":
      return [type["key-id"], ...fieldIdsOf(type.key), type["value-id"], ...fieldIdsOf(type.value)];
    case "list":
      return [type["element-id"], ...fieldIdsOf(type.element)];
  }
}

/** The highest field id a schema assigns: the table metadata's last-column-id for a new table. */
export function highestFieldId(schema: IcebergSchema): number {
  return Math.max(0, ...fieldIdsOf(schema));
}
