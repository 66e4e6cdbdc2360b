// Iceberg v2 table metadata for the journal and live inventory tables, as pure functions: a new
// table, a new snapshot on top of the current one, snapshot expiration; plus where each file of a
// table lives and the Avro schemas (and record shapes) of the manifest list and the manifests,
// which the Avro container writer encodes. Everything follows the table spec,
// https://iceberg.apache.org/spec/ (format version 2): "Table Metadata", "Snapshots", "Snapshot
// References", "Snapshot Retention Policy", "Manifest Lists", "Manifests", Appendix A (Avro),
// Appendix C (JSON) and Appendix F (summary fields).
//
// Snapshot ids are kept below 2^53 so that they survive JSON.parse and JavaScript numbers
// everywhere (metadata JSON, the REST catalog, Avro longs); the spec only asks for a unique long.
import { randomBytes, randomUUID } from "node:crypto";
import type { AvroArray, AvroField, AvroRecord, AvroSchema } from "./avro.js";
import type { DataFileMetrics, IcebergSchema } from "./parquet-table.js";
import { fieldIdsOf, highestFieldId } from "./schemas.js";

export const FORMAT_VERSION = 2;

// ---- table metadata (spec "Table Metadata Fields", Appendix C) ----

export interface PartitionField {
  "source-id": number;
  "field-id": number;
  name: string;
  transform: string;
}

export interface PartitionSpec {
  "spec-id": number;
  fields: PartitionField[];
}

export interface SortField {
  transform: string;
  "source-id": number;
  direction: "asc" | "desc";
  "null-order": "nulls-first" | "nulls-last";
}

export interface SortOrder {
  "order-id": number;
  fields: SortField[];
}

/** Neither table is partitioned: every data file lands in the one (empty) partition. */
export const UNPARTITIONED_SPEC: PartitionSpec = { "spec-id": 0, fields: [] };
/** Order id 0 is reserved for "unsorted" (spec "Sorting"). */
export const UNSORTED_ORDER: SortOrder = { "order-id": 0, fields: [] };
// Partition field ids start at 1000 in the reference implementation, so a table that has assigned
// none records 999 as its highest.
const NO_PARTITION_FIELD_ID = 999;

export type SnapshotOperation = "append" | "replace" | "overwrite" | "delete";

/** String to string; `operation` is required, the counts are Appendix F's optional fields. */
export interface SnapshotSummary {
  operation: SnapshotOperation;
  [property: string]: string;
}

export interface Snapshot {
  "snapshot-id": number;
  /** Omitted for a snapshot with no parent. */
  "parent-snapshot-id"?: number;
  "sequence-number": number;
  "timestamp-ms": number;
  "manifest-list": string;
  summary: SnapshotSummary;
  "schema-id"?: number;
}

export interface SnapshotRef {
  "snapshot-id": number;
  type: "branch" | "tag";
  "min-snapshots-to-keep"?: number;
  "max-snapshot-age-ms"?: number;
  "max-ref-age-ms"?: number;
}

export interface SnapshotLogEntry {
  "snapshot-id": number;
  "timestamp-ms": number;
}

export interface MetadataLogEntry {
  "metadata-file": string;
  "timestamp-ms": number;
}

export interface TableMetadata {
  "format-version": 2;
  "table-uuid": string;
  location: string;
  "last-sequence-number": number;
  "last-updated-ms": number;
  "last-column-id": number;
  schemas: IcebergSchema[];
  "current-schema-id": number;
  "partition-specs": PartitionSpec[];
  "default-spec-id": number;
  "last-partition-id": number;
  properties: Record<string, string>;
  /** NO_SNAPSHOT until the first commit. */
  "current-snapshot-id": number;
  snapshots: Snapshot[];
  "snapshot-log": SnapshotLogEntry[];
  "metadata-log": MetadataLogEntry[];
  "sort-orders": SortOrder[];
  "default-sort-order-id": number;
  refs: Record<string, SnapshotRef>;
}

/**
 * The reference implementation writes -1 for "no current snapshot" in v1 and v2 metadata, so every
 * v2 reader takes it (spec Appendix F, "Assignment of Snapshot IDs and current-snapshot-id").
 */
export const NO_SNAPSHOT = -1;
export const MAIN_BRANCH = "main";

/** Table properties readers and other writers act on (Iceberg's "Configuration" page). */
export const TABLE_PROPERTY = {
  defaultFileFormat: "write.format.default",
  /** How many previous metadata files the metadata-log keeps; 100 unless set. */
  previousVersionsMax: "write.metadata.previous-versions-max",
} as const;
const DEFAULT_PREVIOUS_VERSIONS_MAX = 100;

export interface NewTable {
  tableUuid: string;
  /** The table's base location, e.g. s3://bucket/prefix/journal (no trailing slash needed). */
  location: string;
  schema: IcebergSchema;
  properties?: Record<string, string>;
  nowMs: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function checkSchema(schema: IcebergSchema): void {
  const ids = fieldIdsOf(schema);
  const seen = new Set<number>();
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0) throw new RangeError(`Iceberg schema: field id ${id} is not a non-negative integer`);
    if (seen.has(id)) throw new RangeError(`Iceberg schema: field id ${id} is used twice`);
    seen.add(id);
  }
}

/** A new, empty v2 table: one schema, unpartitioned, unsorted, no snapshot yet. */
export function newTableMetadata(table: NewTable): TableMetadata {
  if (!UUID.test(table.tableUuid)) throw new RangeError(`Iceberg table uuid ${JSON.stringify(table.tableUuid)} is not a lowercase UUID`);
  const location = table.location.replace(/\/+$/, "");
  if (location === "") throw new RangeError("Iceberg table location is empty");
  checkSchema(table.schema);
  return {
    "format-version": FORMAT_VERSION,
    "table-uuid": table.tableUuid,
    location,
    "last-sequence-number": 0,
    "last-updated-ms": table.nowMs,
    "last-column-id": highestFieldId(table.schema),
    schemas: [table.schema],
    "current-schema-id": table.schema["schema-id"],
    "partition-specs": [UNPARTITIONED_SPEC],
    "default-spec-id": UNPARTITIONED_SPEC["spec-id"],
    "last-partition-id": NO_PARTITION_FIELD_ID,
    properties: { [TABLE_PROPERTY.defaultFileFormat]: "parquet", ...table.properties },
    "current-snapshot-id": NO_SNAPSHOT,
    snapshots: [],
    "snapshot-log": [],
    "metadata-log": [],
    "sort-orders": [UNSORTED_ORDER],
    "default-sort-order-id": UNSORTED_ORDER["order-id"],
    refs: {},
  };
}

export function currentSnapshot(metadata: TableMetadata): Snapshot | undefined {
  const id = metadata["current-snapshot-id"];
  return id === NO_SNAPSHOT ? undefined : metadata.snapshots.find((s) => s["snapshot-id"] === id);
}

export function currentSchema(metadata: TableMetadata): IcebergSchema {
  const schema = metadata.schemas.find((s) => s["schema-id"] === metadata["current-schema-id"]);
  if (!schema) throw new Error(`Iceberg metadata: current schema ${metadata["current-schema-id"]} is not among the schemas`);
  return schema;
}

/** The sequence number the next commit on this metadata gets; manifest lists are written with it. */
export function nextSequenceNumber(metadata: TableMetadata): number {
  return metadata["last-sequence-number"] + 1;
}

/** The snapshot the next commit on this metadata names as its parent, or null for the first. */
export function parentForNextSnapshot(metadata: TableMetadata): number | null {
  const id = metadata["current-snapshot-id"];
  return id === NO_SNAPSHOT ? null : id;
}

/** A random positive snapshot id below 2^53 that `taken` does not already use. */
export function newSnapshotId(taken: ReadonlySet<number> = new Set()): number {
  for (;;) {
    const id = Number(randomBytes(8).readBigUInt64BE() & ((1n << 53n) - 1n));
    if (id > 0 && !taken.has(id)) return id;
  }
}

export const newTableUuid = (): string => randomUUID();

// ---- snapshots ----

/** What a commit did to the table's data files (delete files are never written here). */
export interface FileChanges {
  addedDataFiles: number;
  deletedDataFiles: number;
  addedRecords: number;
  deletedRecords: number;
  addedFilesSize: number;
  removedFilesSize: number;
}

const NO_CHANGES: FileChanges = { addedDataFiles: 0, deletedDataFiles: 0, addedRecords: 0, deletedRecords: 0, addedFilesSize: 0, removedFilesSize: 0 };

/**
 * The summary of a snapshot: the operation, the changes (only those that happened, as the
 * reference implementation writes them) and the table's totals after it, carried from the
 * parent's totals. A parent without a total leaves that total unknown, so it is omitted.
 */
export function snapshotSummary(operation: SnapshotOperation, changes: Partial<FileChanges>, parent?: SnapshotSummary): SnapshotSummary {
  const c = { ...NO_CHANGES, ...changes };
  for (const [name, value] of Object.entries(c)) {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`snapshot summary: ${name} must be a non-negative integer, not ${value}`);
  }
  const summary: SnapshotSummary = { operation };
  const put = (key: string, value: number): void => {
    if (value > 0) summary[key] = String(value);
  };
  put("added-data-files", c.addedDataFiles);
  put("deleted-data-files", c.deletedDataFiles);
  put("added-records", c.addedRecords);
  put("deleted-records", c.deletedRecords);
  put("added-files-size", c.addedFilesSize);
  put("removed-files-size", c.removedFilesSize);
  const total = (key: string, added: number, removed: number): void => {
    const before = parent === undefined ? 0 : parent[key] === undefined ? undefined : Number(parent[key]);
    if (before === undefined) return;
    const after = before + added - removed;
    if (after < 0) throw new RangeError(`snapshot summary: ${key} would become ${after}`);
    summary[key] = String(after);
  };
  total("total-data-files", c.addedDataFiles, c.deletedDataFiles);
  total("total-records", c.addedRecords, c.deletedRecords);
  total("total-files-size", c.addedFilesSize, c.removedFilesSize);
  total("total-delete-files", 0, 0);
  total("total-position-deletes", 0, 0);
  total("total-equality-deletes", 0, 0);
  return summary;
}

export interface NewSnapshot {
  snapshotId: number;
  /** Must be the base's current snapshot (null when it has none): a stale base must be re-read. */
  parentSnapshotId: number | null;
  /** Must be nextSequenceNumber(base), the number the manifest list was written with. */
  sequenceNumber: number;
  manifestList: string;
  operation: SnapshotOperation;
  changes: Partial<FileChanges>;
  timestampMs: number;
  /** Where the base metadata was read from; it joins the metadata-log. */
  baseMetadataLocation?: string;
  /** Further summary properties (e.g. engine-name). */
  summary?: Record<string, string>;
}

/**
 * The metadata-log after replacing `base`: the base's file joins it (with the base's
 * last-updated-ms), and the oldest entries beyond write.metadata.previous-versions-max go.
 */
function metadataLogAfter(base: TableMetadata, baseLocation: string | undefined): MetadataLogEntry[] {
  const log = [...base["metadata-log"]];
  if (baseLocation !== undefined) log.push({ "metadata-file": baseLocation, "timestamp-ms": base["last-updated-ms"] });
  const max = Number(base.properties[TABLE_PROPERTY.previousVersionsMax] ?? DEFAULT_PREVIOUS_VERSIONS_MAX);
  const keep = Number.isInteger(max) && max >= 1 ? max : DEFAULT_PREVIOUS_VERSIONS_MAX;
  return log.slice(Math.max(0, log.length - keep));
}

/**
 * The metadata after committing a snapshot on `base`: the snapshot becomes current (and main's
 * head), the sequence number advances, and the snapshot-log and metadata-log grow. Throws when
 * the commit was prepared on another base than this one (another writer got there first).
 */
export function addSnapshot(base: TableMetadata, s: NewSnapshot): TableMetadata {
  const parent = parentForNextSnapshot(base);
  if (s.parentSnapshotId !== parent) {
    throw new Error(`Iceberg commit: prepared on parent ${s.parentSnapshotId}, but the table's current snapshot is ${parent}`);
  }
  if (s.sequenceNumber !== nextSequenceNumber(base)) {
    throw new Error(`Iceberg commit: prepared with sequence number ${s.sequenceNumber}, but the next one is ${nextSequenceNumber(base)}`);
  }
  if (!Number.isSafeInteger(s.snapshotId) || s.snapshotId <= 0) throw new RangeError(`Iceberg snapshot id ${s.snapshotId} is not a positive safe integer`);
  if (base.snapshots.some((x) => x["snapshot-id"] === s.snapshotId)) throw new RangeError(`Iceberg snapshot id ${s.snapshotId} is already used`);
  if (s.manifestList === "") throw new RangeError("Iceberg snapshot: the manifest list location is empty");

  // Clocks of several nodes may disagree a little; the table's times never go backwards.
  const timestampMs = Math.max(s.timestampMs, base["last-updated-ms"]);
  const parentSummary = parent === null ? undefined : currentSnapshot(base)?.summary;
  const summary: SnapshotSummary = { ...s.summary, ...snapshotSummary(s.operation, s.changes, parentSummary) };
  const snapshot: Snapshot = {
    "snapshot-id": s.snapshotId,
    ...(parent === null ? {} : { "parent-snapshot-id": parent }),
    "sequence-number": s.sequenceNumber,
    "timestamp-ms": timestampMs,
    "manifest-list": s.manifestList,
    summary,
    "schema-id": base["current-schema-id"],
  };
  return {
    ...base,
    "last-sequence-number": s.sequenceNumber,
    "last-updated-ms": timestampMs,
    "current-snapshot-id": s.snapshotId,
    snapshots: [...base.snapshots, snapshot],
    "snapshot-log": [...base["snapshot-log"], { "snapshot-id": s.snapshotId, "timestamp-ms": timestampMs }],
    "metadata-log": metadataLogAfter(base, s.baseMetadataLocation),
    refs: { ...base.refs, [MAIN_BRANCH]: { ...base.refs[MAIN_BRANCH], "snapshot-id": s.snapshotId, type: "branch" } },
  };
}

export interface ExpireOptions {
  /** Snapshots made before this time (epoch ms) may go... */
  olderThanMs: number;
  /** ...except the newest this many of each branch (main's head always stays). */
  retainLast: number;
  nowMs: number;
  baseMetadataLocation?: string;
}

export interface Expiration {
  /** `base` itself when nothing expired: there is nothing to commit. */
  metadata: TableMetadata;
  /** Their manifest lists, and manifests and data files no retained snapshot uses, may be deleted. */
  expired: Snapshot[];
}

/**
 * Snapshot expiration as the spec's retention policy has it: refs other than main older than
 * their max-ref-age-ms go; every ref's snapshot stays; each branch keeps its ancestors while they
 * are newer than the cutoff or among its first min-snapshots-to-keep; everything else expires.
 * A ref's own max-snapshot-age-ms and min-snapshots-to-keep override the options.
 */
export function expireSnapshots(base: TableMetadata, o: ExpireOptions): Expiration {
  if (!Number.isInteger(o.retainLast) || o.retainLast < 1) throw new RangeError(`retainLast must be at least 1, not ${o.retainLast}`);
  const byId = new Map(base.snapshots.map((s) => [s["snapshot-id"], s]));
  const refs: Record<string, SnapshotRef> = {};
  for (const [name, ref] of Object.entries(base.refs)) {
    const snap = byId.get(ref["snapshot-id"]);
    const maxRefAge = ref["max-ref-age-ms"];
    const tooOld = name !== MAIN_BRANCH && maxRefAge !== undefined && snap !== undefined && o.nowMs - snap["timestamp-ms"] > maxRefAge;
    if (!tooOld) refs[name] = ref;
  }
  // current-snapshot-id is main's head even where an older writer left refs out.
  if (refs[MAIN_BRANCH] === undefined && base["current-snapshot-id"] !== NO_SNAPSHOT) {
    refs[MAIN_BRANCH] = { "snapshot-id": base["current-snapshot-id"], type: "branch" };
  }

  const retained = new Set<number>();
  for (const ref of Object.values(refs)) {
    retained.add(ref["snapshot-id"]);
    if (ref.type !== "branch") continue;
    const cutoff = ref["max-snapshot-age-ms"] === undefined ? o.olderThanMs : o.nowMs - ref["max-snapshot-age-ms"];
    const keep = ref["min-snapshots-to-keep"] ?? o.retainLast;
    let snap = byId.get(ref["snapshot-id"]);
    for (let n = 0; snap !== undefined; n++) {
      if (n >= keep && snap["timestamp-ms"] < cutoff) break;
      retained.add(snap["snapshot-id"]);
      snap = snap["parent-snapshot-id"] === undefined ? undefined : byId.get(snap["parent-snapshot-id"]);
    }
  }

  const expired = base.snapshots.filter((s) => !retained.has(s["snapshot-id"]));
  const refsChanged = Object.keys(refs).length !== Object.keys(base.refs).length;
  if (expired.length === 0 && !refsChanged) return { metadata: base, expired: [] };

  // The log is history of what was current: once an entry names a snapshot that is gone, the
  // history before it can no longer be replayed, so only the suffix after the last such entry stays.
  const log = base["snapshot-log"];
  let start = log.length;
  while (start > 0 && retained.has(log[start - 1]["snapshot-id"])) start--;

  return {
    metadata: {
      ...base,
      "last-updated-ms": Math.max(o.nowMs, base["last-updated-ms"]),
      snapshots: base.snapshots.filter((s) => retained.has(s["snapshot-id"])),
      "snapshot-log": log.slice(start),
      "metadata-log": metadataLogAfter(base, o.baseMetadataLocation),
      refs,
    },
    expired,
  };
}

// ---- where a table's files live (under its location) ----

/**
 * Hadoop-style names (spec "File System Tables"): metadata/v<N>.metadata.json, with
 * metadata/version-hint.text holding N for readers that open a table by its location alone
 * (icebird reads the hint, or lists metadata/ for the highest version). Manifest lists and
 * manifests take the reference implementation's names, data files go under data/.
 */
export const tableFiles = {
  metadata: (location: string, version: number): string => `${trimSlash(location)}/metadata/v${version}.metadata.json`,
  versionHint: (location: string): string => `${trimSlash(location)}/metadata/version-hint.text`,
  manifestList: (location: string, snapshotId: number, attempt: number, commitUuid: string): string =>
    `${trimSlash(location)}/metadata/snap-${snapshotId}-${attempt}-${commitUuid}.avro`,
  manifest: (location: string, commitUuid: string, index: number): string => `${trimSlash(location)}/metadata/${commitUuid}-m${index}.avro`,
  data: (location: string, name: string): string => `${trimSlash(location)}/data/${name}.parquet`,
};

function trimSlash(location: string): string {
  return location.replace(/\/+$/, "");
}

/** N of a metadata/v<N>.metadata.json location, or undefined for any other name. */
export function metadataVersionOf(location: string): number | undefined {
  const m = /(?:^|\/)v([1-9][0-9]*)\.metadata\.json$/.exec(location);
  return m ? Number(m[1]) : undefined;
}

// ---- Avro: manifest lists and manifests (spec "Manifest Lists", "Manifests", Appendix A) ----
// Optional fields are unions with null that default to null; required ones are the bare type.
// Ids ride on the schema as "field-id" (fields), "element-id" (lists), and maps with int keys are
// arrays of key/value records marked logicalType "map". Record names follow the reference
// implementation (r<field id>, k<key id>_v<value id>); readers resolve by field id, some by name.
// Every record is written out in full, never referred to by name: some readers (icebird) do not
// resolve named-type references.

function field(name: string, id: number, type: AvroSchema, required: boolean): AvroField {
  return required ? { name, type, "field-id": id } : { name, type: ["null", type], default: null, "field-id": id };
}

function listOf(elementId: number, items: AvroSchema): AvroArray {
  return { type: "array", items, "element-id": elementId };
}

function intKeyMap(keyId: number, valueId: number, value: AvroSchema): AvroArray {
  return {
    type: "array",
    logicalType: "map",
    items: {
      type: "record",
      name: `k${keyId}_v${valueId}`,
      fields: [
        { name: "key", type: "int", "field-id": keyId },
        { name: "value", type: value, "field-id": valueId },
      ],
    },
  };
}

const FIELD_SUMMARY: AvroRecord = {
  type: "record",
  name: "r508",
  fields: [
    field("contains_null", 509, "boolean", true),
    field("contains_nan", 518, "boolean", false),
    field("lower_bound", 510, "bytes", false),
    field("upper_bound", 511, "bytes", false),
  ],
};

/** A manifest list's records: one manifest_file per manifest of the snapshot (v2). */
export const MANIFEST_LIST_SCHEMA: AvroRecord = {
  type: "record",
  name: "manifest_file",
  fields: [
    field("manifest_path", 500, "string", true),
    field("manifest_length", 501, "long", true),
    field("partition_spec_id", 502, "int", true),
    field("content", 517, "int", true),
    field("sequence_number", 515, "long", true),
    field("min_sequence_number", 516, "long", true),
    field("added_snapshot_id", 503, "long", true),
    field("added_files_count", 504, "int", true),
    field("existing_files_count", 505, "int", true),
    field("deleted_files_count", 506, "int", true),
    field("added_rows_count", 512, "long", true),
    field("existing_rows_count", 513, "long", true),
    field("deleted_rows_count", 514, "long", true),
    field("partitions", 507, listOf(508, FIELD_SUMMARY), false),
    field("key_metadata", 519, "bytes", false),
  ],
};

/** data_file.partition: the spec's partition tuple, a record with no fields when unpartitioned. */
export function partitionRecord(spec: PartitionSpec): AvroRecord {
  if (spec.fields.length > 0) throw new Error(`Iceberg manifests: partition spec ${spec["spec-id"]} has fields; only unpartitioned tables are written`);
  return { type: "record", name: "r102", fields: [] };
}

/** A manifest's records: manifest_entry with its data_file (v2), for a table with this spec. */
export function manifestEntrySchema(spec: PartitionSpec = UNPARTITIONED_SPEC): AvroRecord {
  const dataFile: AvroRecord = {
    type: "record",
    name: "r2",
    fields: [
      field("content", 134, "int", true),
      field("file_path", 100, "string", true),
      field("file_format", 101, "string", true),
      field("partition", 102, partitionRecord(spec), true),
      field("record_count", 103, "long", true),
      field("file_size_in_bytes", 104, "long", true),
      field("column_sizes", 108, intKeyMap(117, 118, "long"), false),
      field("value_counts", 109, intKeyMap(119, 120, "long"), false),
      field("null_value_counts", 110, intKeyMap(121, 122, "long"), false),
      field("nan_value_counts", 137, intKeyMap(138, 139, "long"), false),
      field("lower_bounds", 125, intKeyMap(126, 127, "bytes"), false),
      field("upper_bounds", 128, intKeyMap(129, 130, "bytes"), false),
      field("key_metadata", 131, "bytes", false),
      field("split_offsets", 132, listOf(133, "long"), false),
      field("equality_ids", 135, listOf(136, "int"), false),
      field("sort_order_id", 140, "int", false),
      field("referenced_data_file", 143, "string", false),
    ],
  };
  return {
    type: "record",
    name: "manifest_entry",
    fields: [
      field("status", 0, "int", true),
      field("snapshot_id", 1, "long", false),
      field("sequence_number", 3, "long", false),
      field("file_sequence_number", 4, "long", false),
      field("data_file", 2, dataFile, true),
    ],
  };
}

export const MANIFEST_ENTRY_SCHEMA: AvroRecord = manifestEntrySchema();

/** A manifest file's Avro key-value metadata, as v2 requires it ("Manifest Metadata"). */
export function manifestFileMetadata(schema: IcebergSchema, spec: PartitionSpec = UNPARTITIONED_SPEC, content: "data" | "deletes" = "data"): Record<string, string> {
  return {
    schema: JSON.stringify(schema),
    "schema-id": String(schema["schema-id"]),
    "partition-spec": JSON.stringify(spec.fields),
    "partition-spec-id": String(spec["spec-id"]),
    "format-version": String(FORMAT_VERSION),
    content,
  };
}

/**
 * A manifest list's Avro key-value metadata. The spec asks for none; the reference implementation
 * writes these four (a missing parent as "null"), and tools that inspect manifest lists show them.
 */
export function manifestListMetadata(snapshot: Snapshot): Record<string, string> {
  return {
    "snapshot-id": String(snapshot["snapshot-id"]),
    "parent-snapshot-id": String(snapshot["parent-snapshot-id"] ?? null),
    "sequence-number": String(snapshot["sequence-number"]),
    "format-version": String(FORMAT_VERSION),
  };
}

// ---- the records those schemas describe ----

export interface IntKeyValue<V> {
  key: number;
  value: V;
}

export interface DataFileRecord {
  content: 0 | 1 | 2;
  file_path: string;
  /** Upper case, as the reference implementations write it (some readers match it exactly). */
  file_format: "PARQUET";
  partition: Record<string, never>;
  record_count: number;
  file_size_in_bytes: number;
  column_sizes: IntKeyValue<number>[] | null;
  value_counts: IntKeyValue<number>[] | null;
  null_value_counts: IntKeyValue<number>[] | null;
  nan_value_counts: IntKeyValue<number>[] | null;
  lower_bounds: IntKeyValue<Uint8Array>[] | null;
  upper_bounds: IntKeyValue<Uint8Array>[] | null;
  key_metadata: Uint8Array | null;
  split_offsets: number[] | null;
  equality_ids: number[] | null;
  sort_order_id: number | null;
  referenced_data_file: string | null;
}

export type EntryStatus = 0 | 1 | 2;
export const ENTRY_STATUS = { existing: 0, added: 1, deleted: 2 } as const;

export interface ManifestEntryRecord {
  status: EntryStatus;
  snapshot_id: number | null;
  /** null: inherited from the manifest list (only for ADDED entries). */
  sequence_number: number | null;
  file_sequence_number: number | null;
  data_file: DataFileRecord;
}

export interface FieldSummaryRecord {
  contains_null: boolean;
  contains_nan: boolean | null;
  lower_bound: Uint8Array | null;
  upper_bound: Uint8Array | null;
}

export interface ManifestFileRecord {
  manifest_path: string;
  manifest_length: number;
  partition_spec_id: number;
  content: 0 | 1;
  sequence_number: number;
  min_sequence_number: number;
  added_snapshot_id: number;
  added_files_count: number;
  existing_files_count: number;
  deleted_files_count: number;
  added_rows_count: number;
  existing_rows_count: number;
  deleted_rows_count: number;
  partitions: FieldSummaryRecord[] | null;
  key_metadata: Uint8Array | null;
}

const pairs = <V>(m: ReadonlyMap<number, V>): IntKeyValue<V>[] => [...m].sort(([a], [b]) => a - b).map(([key, value]) => ({ key, value }));

/** A Parquet data file's data_file record, from the metrics its writer returned. */
export function dataFileRecord(path: string, metrics: DataFileMetrics): DataFileRecord {
  return {
    content: 0,
    file_path: path,
    file_format: "PARQUET",
    partition: {},
    record_count: metrics.recordCount,
    file_size_in_bytes: metrics.fileSizeInBytes,
    column_sizes: pairs(metrics.columnSizes),
    value_counts: pairs(metrics.valueCounts),
    null_value_counts: pairs(metrics.nullValueCounts),
    nan_value_counts: null, // neither table has a float or double column
    lower_bounds: pairs(metrics.lowerBounds),
    upper_bounds: pairs(metrics.upperBounds),
    key_metadata: null,
    split_offsets: [...metrics.splitOffsets],
    equality_ids: null,
    sort_order_id: UNSORTED_ORDER["order-id"],
    referenced_data_file: null,
  };
}

/** A file this snapshot adds: its sequence numbers are left null so they inherit the commit's. */
export function addedEntry(snapshotId: number, dataFile: DataFileRecord): ManifestEntryRecord {
  return { status: ENTRY_STATUS.added, snapshot_id: snapshotId, sequence_number: null, file_sequence_number: null, data_file: dataFile };
}

/** What a manifest entry knows once read back with inheritance applied. */
export interface LiveFile {
  /** The snapshot that added the file. */
  snapshotId: number;
  sequenceNumber: number;
  fileSequenceNumber: number;
  dataFile: DataFileRecord;
}

/** A file carried into a new manifest unchanged: its sequence numbers must be written out. */
export function existingEntry(file: LiveFile): ManifestEntryRecord {
  return {
    status: ENTRY_STATUS.existing,
    snapshot_id: file.snapshotId,
    sequence_number: file.sequenceNumber,
    file_sequence_number: file.fileSequenceNumber,
    data_file: file.dataFile,
  };
}

/** A file this snapshot removes (compaction, expired journal records): it names the deleting snapshot. */
export function deletedEntry(deletingSnapshotId: number, file: LiveFile): ManifestEntryRecord {
  return {
    status: ENTRY_STATUS.deleted,
    snapshot_id: deletingSnapshotId,
    sequence_number: file.sequenceNumber,
    file_sequence_number: file.fileSequenceNumber,
    data_file: file.dataFile,
  };
}

export interface ManifestWritten {
  path: string;
  /** Bytes of the manifest file. */
  length: number;
  /** The snapshot that first lists this manifest, and its sequence number. */
  addedSnapshotId: number;
  sequenceNumber: number;
  entries: readonly ManifestEntryRecord[];
  specId?: number;
}

/** The manifest list's record for a data manifest: counts and min sequence number from its entries. */
export function manifestFileRecord(m: ManifestWritten): ManifestFileRecord {
  const counts = [0, 0, 0];
  const rows = [0, 0, 0];
  let minSequence = m.sequenceNumber;
  for (const e of m.entries) {
    counts[e.status]++;
    rows[e.status] += e.data_file.record_count;
    if (e.status !== ENTRY_STATUS.deleted) minSequence = Math.min(minSequence, e.sequence_number ?? m.sequenceNumber);
  }
  return {
    manifest_path: m.path,
    manifest_length: m.length,
    partition_spec_id: m.specId ?? UNPARTITIONED_SPEC["spec-id"],
    content: 0,
    sequence_number: m.sequenceNumber,
    min_sequence_number: minSequence,
    added_snapshot_id: m.addedSnapshotId,
    added_files_count: counts[ENTRY_STATUS.added],
    existing_files_count: counts[ENTRY_STATUS.existing],
    deleted_files_count: counts[ENTRY_STATUS.deleted],
    added_rows_count: rows[ENTRY_STATUS.added],
    existing_rows_count: rows[ENTRY_STATUS.existing],
    deleted_rows_count: rows[ENTRY_STATUS.deleted],
    partitions: [], // one summary per partition field, and there are none
    key_metadata: null,
  };
}
