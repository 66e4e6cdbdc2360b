// The journal and live inventory schemas against AWS's column lists, and the Iceberg v2 table
// metadata built on them: a new table and every commit after it carry the spec's required fields,
// snapshots chain with increasing sequence numbers, expiration keeps the current snapshot and a
// snapshot-log that names only snapshots still there (also over random histories). The manifest
// list and manifest Avro schemas carry the spec's field ids; fastavro, an Avro implementation of
// nobody here, parses them and reads back records built by this module.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { encodeValue, writeAvroContainer, type AvroField, type AvroRecord, type AvroSchema } from "./avro.js";
import type { DataFileMetrics, IcebergSchema, IcebergType } from "./parquet-table.js";
import { fieldIdsOf, highestFieldId, INVENTORY_SCHEMA, JOURNAL_SCHEMA, RECORD_TYPES } from "./schemas.js";
import {
  addedEntry,
  addSnapshot,
  currentSnapshot,
  dataFileRecord,
  deletedEntry,
  existingEntry,
  expireSnapshots,
  MANIFEST_ENTRY_SCHEMA,
  MANIFEST_LIST_SCHEMA,
  manifestFileMetadata,
  manifestFileRecord,
  manifestListMetadata,
  metadataVersionOf,
  newSnapshotId,
  newTableMetadata,
  nextSequenceNumber,
  NO_SNAPSHOT,
  parentForNextSnapshot,
  partitionRecord,
  snapshotSummary,
  tableFiles,
  type FileChanges,
  type SnapshotOperation,
  type TableMetadata,
} from "./iceberg-metadata.js";

const T0 = Date.UTC(2026, 6, 1, 12, 0, 0);
const LOCATION = "s3://lake/metadata/b_photos/journal";
const UUID = "0f3c2a7e-5b1d-4c8e-9a6f-2d4b8e1c7a90";

// ---- an independent check of v2 table metadata, from the spec's "Table Metadata Fields" ----

const isInt = (v: unknown): v is number => Number.isSafeInteger(v);

/** What is wrong with a metadata document by the spec's v2 requirements (empty when nothing). */
function v2Problems(m: Record<string, unknown>): string[] {
  const p: string[] = [];
  const need = (key: string, ok: (v: unknown) => boolean): void => {
    if (!(key in m)) p.push(`${key} is missing`);
    else if (!ok(m[key])) p.push(`${key} has the wrong type: ${JSON.stringify(m[key])}`);
  };
  need("format-version", (v) => v === 2);
  need("table-uuid", (v) => typeof v === "string" && /^[0-9a-f-]{36}$/.test(v));
  need("location", (v) => typeof v === "string" && v.length > 0);
  need("last-sequence-number", isInt);
  need("last-updated-ms", isInt);
  need("last-column-id", isInt);
  need("schemas", (v) => Array.isArray(v) && v.length > 0 && v.every((s) => s.type === "struct" && isInt(s["schema-id"]) && Array.isArray(s.fields)));
  need("current-schema-id", isInt);
  need("partition-specs", (v) => Array.isArray(v) && v.length > 0 && v.every((s) => isInt(s["spec-id"]) && Array.isArray(s.fields)));
  need("default-spec-id", isInt);
  need("last-partition-id", isInt);
  need("sort-orders", (v) => Array.isArray(v) && v.length > 0 && v.every((o) => isInt(o["order-id"]) && Array.isArray(o.fields)));
  need("default-sort-order-id", isInt);
  if (p.length > 0) return p;
  // v1 fields that v2 writers should omit
  for (const old of ["schema", "partition-spec"]) if (old in m) p.push(`${old} is a v1 field`);

  const schemas = m.schemas as IcebergSchema[];
  if (!schemas.some((s) => s["schema-id"] === m["current-schema-id"])) p.push("current-schema-id names no schema");
  const maxId = Math.max(...schemas.map((s) => Math.max(0, ...fieldIdsOf(s))));
  if ((m["last-column-id"] as number) < maxId) p.push(`last-column-id ${m["last-column-id"]} is below field id ${maxId}`);
  if (!(m["partition-specs"] as { "spec-id": number }[]).some((s) => s["spec-id"] === m["default-spec-id"])) p.push("default-spec-id names no spec");
  if (!(m["sort-orders"] as { "order-id": number }[]).some((o) => o["order-id"] === m["default-sort-order-id"])) p.push("default-sort-order-id names no order");
  const props = m.properties ?? {};
  if (typeof props !== "object" || Object.values(props as object).some((v) => typeof v !== "string")) p.push("properties is not a string map");

  const snapshots = (m.snapshots ?? []) as Record<string, unknown>[];
  const ids = new Set<unknown>();
  for (const s of snapshots) {
    const id = s["snapshot-id"];
    if (!isInt(id) || id <= 0) p.push(`snapshot id ${id}`);
    if (ids.has(id)) p.push(`snapshot id ${id} twice`);
    ids.add(id);
    if (!isInt(s["sequence-number"]) || (s["sequence-number"] as number) > (m["last-sequence-number"] as number)) p.push(`snapshot ${id}: sequence-number`);
    if (!isInt(s["timestamp-ms"])) p.push(`snapshot ${id}: timestamp-ms`);
    if (typeof s["manifest-list"] !== "string" || s["manifest-list"] === "") p.push(`snapshot ${id}: manifest-list`);
    const summary = s.summary as Record<string, unknown> | undefined;
    if (!summary || !["append", "replace", "overwrite", "delete"].includes(summary.operation as string)) p.push(`snapshot ${id}: summary.operation`);
    else if (Object.values(summary).some((v) => typeof v !== "string")) p.push(`snapshot ${id}: summary values must be strings`);
    if ("parent-snapshot-id" in s && !isInt(s["parent-snapshot-id"])) p.push(`snapshot ${id}: parent-snapshot-id`);
    if ("manifests" in s) p.push(`snapshot ${id}: manifests is a v1 field`);
  }
  const current = m["current-snapshot-id"];
  if (current !== undefined && current !== null && current !== -1 && !ids.has(current)) p.push(`current-snapshot-id ${current} names no snapshot`);
  const refs = (m.refs ?? {}) as Record<string, { "snapshot-id": unknown; type: unknown }>;
  for (const [name, ref] of Object.entries(refs)) {
    if (!ids.has(ref["snapshot-id"])) p.push(`ref ${name} names no snapshot`);
    if (ref.type !== "branch" && ref.type !== "tag") p.push(`ref ${name} type`);
  }
  const hasCurrent = current !== undefined && current !== null && current !== -1;
  if (hasCurrent && refs.main?.["snapshot-id"] !== current) p.push("refs.main is not the current snapshot");
  if (refs.main && refs.main.type !== "branch") p.push("refs.main is not a branch");
  for (const e of (m["snapshot-log"] ?? []) as Record<string, unknown>[]) {
    if (!isInt(e["timestamp-ms"]) || !isInt(e["snapshot-id"])) p.push("snapshot-log entry shape");
    if (!ids.has(e["snapshot-id"])) p.push(`snapshot-log names expired snapshot ${e["snapshot-id"]}`);
  }
  for (const e of (m["metadata-log"] ?? []) as Record<string, unknown>[]) {
    if (!isInt(e["timestamp-ms"]) || typeof e["metadata-file"] !== "string") p.push("metadata-log entry shape");
  }
  return p;
}

/** Valid, and the same once through JSON (what a reader gets). */
function assertValid(m: TableMetadata): void {
  const parsed = JSON.parse(JSON.stringify(m)) as Record<string, unknown>;
  assert.deepEqual(v2Problems(parsed), []);
  assert.deepEqual(parsed, m);
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === "object") {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

function commit(base: TableMetadata, snapshotId: number, timestampMs: number, changes: Partial<FileChanges>, operation: SnapshotOperation = "append", baseMetadataLocation?: string): TableMetadata {
  return addSnapshot(base, {
    snapshotId,
    parentSnapshotId: parentForNextSnapshot(base),
    sequenceNumber: nextSequenceNumber(base),
    manifestList: tableFiles.manifestList(base.location, snapshotId, 1, UUID),
    operation,
    changes,
    timestampMs,
    baseMetadataLocation,
  });
}

const newJournal = (properties?: Record<string, string>): TableMetadata =>
  newTableMetadata({ tableUuid: UUID, location: LOCATION, schema: JOURNAL_SCHEMA, nowMs: T0, properties });

// ---- schemas ----

const typeName = (t: IcebergType): string => (typeof t === "string" ? t : t.type === "map" ? `map<${typeName(t.key)},${typeName(t.value)}>` : t.type);
const columns = (s: IcebergSchema): string[] => s.fields.map((f) => `${f.name} ${typeName(f.type)}${f.required ? " required" : ""}`);

describe("S3 Metadata table schemas", () => {
  it("the journal has AWS's 21 columns, in AWS's order, with AWS's types and required columns", () => {
    assert.deepEqual(columns(JOURNAL_SCHEMA), [
      "bucket string required",
      "key string required",
      "sequence_number string required",
      "record_type string required",
      "record_timestamp timestamp required",
      "version_id string",
      "is_delete_marker boolean",
      "size long",
      "last_modified_date timestamp",
      "e_tag string",
      "storage_class string",
      "is_multipart boolean",
      "encryption_status string",
      "is_bucket_key_enabled boolean",
      "kms_key_arn string",
      "checksum_algorithm string",
      "object_tags map<string,string>",
      "user_metadata map<string,string>",
      "requester string",
      "source_ip_address string",
      "request_id string",
    ]);
    assert.deepEqual(RECORD_TYPES, ["CREATE", "UPDATE_METADATA", "DELETE"]);
  });

  it("the live inventory has AWS's 16 columns: the journal's without the record's type, time and request", () => {
    const requestColumns = new Set(["record_type", "record_timestamp", "requester", "source_ip_address", "request_id"]);
    assert.deepEqual(
      columns(INVENTORY_SCHEMA),
      columns(JOURNAL_SCHEMA).filter((c) => !requestColumns.has(c.split(" ")[0]!)),
    );
    assert.equal(INVENTORY_SCHEMA.fields.length, 16);
  });

  for (const [name, schema, highest] of [["journal", JOURNAL_SCHEMA, 25], ["inventory", INVENTORY_SCHEMA, 20]] as const) {
    it(`the ${name}'s field ids are unique, dense from 1, top-level columns first; last-column-id is ${highest}`, () => {
      const ids = fieldIdsOf(schema);
      assert.equal(new Set(ids).size, ids.length);
      assert.deepEqual([...ids].sort((a, b) => a - b), Array.from({ length: highest }, (_, i) => i + 1));
      assert.deepEqual(schema.fields.map((f) => f.id), Array.from({ length: schema.fields.length }, (_, i) => i + 1));
      assert.equal(highestFieldId(schema), highest);
      assert.equal(newTableMetadata({ tableUuid: UUID, location: LOCATION, schema, nowMs: T0 })["last-column-id"], highest);
      for (const f of schema.fields) {
        if (typeof f.type === "object" && f.type.type === "map") {
          assert.ok(f.type["key-id"] > schema.fields.length && f.type["value-id"] === f.type["key-id"] + 1, `${f.name}: nested ids follow the columns`);
        }
      }
    });
  }

  it("is serialized as the spec's Appendix C schema JSON (schema-id, struct, map with key-id/value-id)", () => {
    const json = JSON.parse(JSON.stringify(JOURNAL_SCHEMA));
    assert.equal(json["schema-id"], 0);
    assert.equal(json.type, "struct");
    assert.deepEqual(json.fields.find((f: { name: string }) => f.name === "object_tags").type, {
      type: "map",
      "key-id": 22,
      key: "string",
      "value-id": 23,
      value: "string",
      "value-required": true,
    });
  });
});

// ---- table metadata ----

describe("Iceberg v2 table metadata", () => {
  it("(the test's own v2 check catches a missing required field, a dangling log entry and a stale main)", () => {
    const m = commit(newJournal(), 101, T0 + 1, { addedDataFiles: 1, addedRecords: 1, addedFilesSize: 1 });
    const broken = JSON.parse(JSON.stringify(m));
    delete broken["last-sequence-number"];
    assert.deepEqual(v2Problems(broken), ["last-sequence-number is missing"]);
    const dangling = { ...JSON.parse(JSON.stringify(m)), "snapshot-log": [{ "snapshot-id": 7, "timestamp-ms": T0 }], refs: { main: { "snapshot-id": 101, type: "tag" } } };
    assert.deepEqual(v2Problems(dangling), ["refs.main is not a branch", "snapshot-log names expired snapshot 7"]);
    assert.deepEqual(v2Problems({ ...JSON.parse(JSON.stringify(m)), refs: {} }), ["refs.main is not the current snapshot"]);
  });

  it("a new table carries every v2 required field: unpartitioned, unsorted, no snapshot yet", () => {
    const m = newJournal();
    assertValid(m);
    assert.equal(m["format-version"], 2);
    assert.equal(m["table-uuid"], UUID);
    assert.equal(m.location, LOCATION);
    assert.equal(m["last-sequence-number"], 0);
    assert.equal(m["last-updated-ms"], T0);
    assert.deepEqual(m["partition-specs"], [{ "spec-id": 0, fields: [] }]);
    assert.equal(m["default-spec-id"], 0);
    assert.equal(m["last-partition-id"], 999);
    assert.deepEqual(m["sort-orders"], [{ "order-id": 0, fields: [] }]);
    assert.equal(m["default-sort-order-id"], 0);
    assert.equal(m["current-snapshot-id"], NO_SNAPSHOT);
    assert.deepEqual([m.snapshots, m["snapshot-log"], m["metadata-log"], m.refs], [[], [], [], {}]);
    assert.equal(m.properties["write.format.default"], "parquet");
    assert.equal(currentSnapshot(m), undefined);
  });

  it("a new table takes the caller's properties, trims the location's trailing slash, and refuses a bad uuid or a reused field id", () => {
    const m = newTableMetadata({ tableUuid: UUID, location: `${LOCATION}//`, schema: INVENTORY_SCHEMA, nowMs: T0, properties: { owner: "stocktake" } });
    assert.equal(m.location, LOCATION);
    assert.equal(m.properties.owner, "stocktake");
    assert.throws(() => newTableMetadata({ tableUuid: "not-a-uuid", location: LOCATION, schema: JOURNAL_SCHEMA, nowMs: T0 }), RangeError);
    assert.throws(() => newTableMetadata({ tableUuid: UUID, location: "/", schema: JOURNAL_SCHEMA, nowMs: T0 }), RangeError);
    const clash: IcebergSchema = { ...JOURNAL_SCHEMA, fields: [...JOURNAL_SCHEMA.fields, { id: 3, name: "again", required: false, type: "string" }] };
    assert.throws(() => newTableMetadata({ tableUuid: UUID, location: LOCATION, schema: clash, nowMs: T0 }), /used twice/);
  });

  it("commits chain: each snapshot's parent is the one before, sequence numbers go 1, 2, 3, main and the logs follow", () => {
    const v1 = deepFreeze(newJournal());
    const v2 = deepFreeze(commit(v1, 101, T0 + 1000, { addedDataFiles: 1, addedRecords: 10, addedFilesSize: 1500 }, "append", tableFiles.metadata(LOCATION, 1)));
    const v3 = deepFreeze(commit(v2, 202, T0 + 2000, { addedDataFiles: 2, addedRecords: 5, addedFilesSize: 900 }, "append", tableFiles.metadata(LOCATION, 2)));
    const v4 = commit(v3, 303, T0 + 3000, { addedDataFiles: 1, deletedDataFiles: 3, addedRecords: 15, deletedRecords: 15, addedFilesSize: 2000, removedFilesSize: 2400 }, "replace", tableFiles.metadata(LOCATION, 3));
    for (const m of [v2, v3, v4]) assertValid(m);

    assert.deepEqual(v4.snapshots.map((s) => [s["snapshot-id"], s["parent-snapshot-id"], s["sequence-number"]]), [
      [101, undefined, 1],
      [202, 101, 2],
      [303, 202, 3],
    ]);
    assert.ok(!("parent-snapshot-id" in v4.snapshots[0]!), "the first snapshot has no parent field at all");
    assert.equal(v4["last-sequence-number"], 3);
    assert.equal(v4["current-snapshot-id"], 303);
    assert.deepEqual(v4.refs, { main: { "snapshot-id": 303, type: "branch" } });
    assert.deepEqual(v4["snapshot-log"], [
      { "snapshot-id": 101, "timestamp-ms": T0 + 1000 },
      { "snapshot-id": 202, "timestamp-ms": T0 + 2000 },
      { "snapshot-id": 303, "timestamp-ms": T0 + 3000 },
    ]);
    assert.deepEqual(v4["metadata-log"], [
      { "metadata-file": `${LOCATION}/metadata/v1.metadata.json`, "timestamp-ms": T0 },
      { "metadata-file": `${LOCATION}/metadata/v2.metadata.json`, "timestamp-ms": T0 + 1000 },
      { "metadata-file": `${LOCATION}/metadata/v3.metadata.json`, "timestamp-ms": T0 + 2000 },
    ]);
    assert.equal(v4["last-updated-ms"], T0 + 3000);
    assert.equal(v4.snapshots[2]!["schema-id"], 0);
    assert.equal(v4.snapshots[2]!["manifest-list"], `${LOCATION}/metadata/snap-303-1-${UUID}.avro`);
    assert.deepEqual(v4.snapshots[2]!.summary, {
      operation: "replace",
      "added-data-files": "1",
      "deleted-data-files": "3",
      "added-records": "15",
      "deleted-records": "15",
      "added-files-size": "2000",
      "removed-files-size": "2400",
      "total-data-files": "1",
      "total-records": "15",
      "total-files-size": "2000",
      "total-delete-files": "0",
      "total-position-deletes": "0",
      "total-equality-deletes": "0",
    });
    // the bases were frozen: nothing was changed in place
    assert.equal(v1.snapshots.length, 0);
    assert.equal(v2.snapshots.length, 1);
  });

  it("refuses a commit prepared on a stale base, a reused snapshot id or an empty manifest list", () => {
    const v1 = newJournal();
    const v2 = commit(v1, 101, T0 + 1000, { addedDataFiles: 1, addedRecords: 1, addedFilesSize: 10 });
    const prepared = { snapshotId: 202, parentSnapshotId: parentForNextSnapshot(v1), sequenceNumber: nextSequenceNumber(v1), manifestList: "m", operation: "append" as const, changes: {}, timestampMs: T0 + 2000 };
    assert.throws(() => addSnapshot(v2, prepared), /current snapshot is 101/);
    assert.throws(() => addSnapshot(v2, { ...prepared, parentSnapshotId: 101 }), /next one is 2/);
    assert.throws(() => commit(v2, 101, T0 + 2000, {}), /already used/);
    assert.throws(() => addSnapshot(v2, { ...prepared, parentSnapshotId: 101, sequenceNumber: 2, manifestList: "" }), /manifest list/);
    assert.throws(() => commit(v2, 202, T0 + 2000, { deletedRecords: 2, deletedDataFiles: 1 }, "delete"), /total-data-files would become|total-records would become/);
  });

  it("a clock behind the table's last update does not make its times go backwards", () => {
    const v2 = commit(newJournal(), 101, T0 + 5000, { addedDataFiles: 1, addedRecords: 1, addedFilesSize: 10 });
    const v3 = commit(v2, 202, T0 + 4000, { addedDataFiles: 1, addedRecords: 1, addedFilesSize: 10 });
    assert.equal(v3["last-updated-ms"], T0 + 5000);
    assert.deepEqual(v3["snapshot-log"].map((e) => e["timestamp-ms"]), [T0 + 5000, T0 + 5000]);
  });

  it("the metadata-log keeps the newest write.metadata.previous-versions-max entries", () => {
    let m = newJournal({ "write.metadata.previous-versions-max": "2" });
    for (let v = 1; v <= 4; v++) m = commit(m, v * 100, T0 + v * 1000, { addedDataFiles: 1, addedRecords: 1, addedFilesSize: 1 }, "append", tableFiles.metadata(LOCATION, v));
    assert.deepEqual(m["metadata-log"].map((e) => metadataVersionOf(e["metadata-file"])), [3, 4]);
  });

  it("a summary omits changes that did not happen and leaves a total out when the parent's is unknown", () => {
    assert.deepEqual(snapshotSummary("append", { addedDataFiles: 1, addedRecords: 3, addedFilesSize: 70 }), {
      operation: "append",
      "added-data-files": "1",
      "added-records": "3",
      "added-files-size": "70",
      "total-data-files": "1",
      "total-records": "3",
      "total-files-size": "70",
      "total-delete-files": "0",
      "total-position-deletes": "0",
      "total-equality-deletes": "0",
    });
    assert.deepEqual(snapshotSummary("append", { addedRecords: 3 }, { operation: "append" }), { operation: "append", "added-records": "3" });
    assert.throws(() => snapshotSummary("append", { addedRecords: -1 }), RangeError);
  });
});

describe("snapshot expiration", () => {
  /** Five appends a day apart, written as v1..v6. */
  function history(): TableMetadata {
    let m = newJournal();
    for (let i = 1; i <= 5; i++) m = commit(m, i, T0 + i * DAY, { addedDataFiles: 1, addedRecords: i, addedFilesSize: 100 }, "append", tableFiles.metadata(LOCATION, i));
    return m;
  }
  const DAY = 86_400_000;

  it("expires the snapshots older than the cutoff beyond the newest N, and prunes the snapshot-log to match", () => {
    const base = deepFreeze(history());
    const { metadata, expired } = expireSnapshots(base, { olderThanMs: T0 + 3.5 * DAY, retainLast: 1, nowMs: T0 + 10 * DAY, baseMetadataLocation: tableFiles.metadata(LOCATION, 6) });
    assertValid(metadata);
    assert.deepEqual(expired.map((s) => s["snapshot-id"]), [1, 2, 3]);
    assert.deepEqual(metadata.snapshots.map((s) => s["snapshot-id"]), [4, 5]);
    assert.deepEqual(metadata["snapshot-log"].map((e) => e["snapshot-id"]), [4, 5]);
    assert.equal(metadata["current-snapshot-id"], 5);
    assert.equal(metadata["last-sequence-number"], 5, "expiration never reuses a sequence number");
    assert.equal(metadata["metadata-log"].at(-1)!["metadata-file"], `${LOCATION}/metadata/v6.metadata.json`);
    assert.equal(metadata["last-updated-ms"], T0 + 10 * DAY);
  });

  it("keeps the current snapshot however old, and the newest N even past the cutoff", () => {
    const base = history();
    const all = expireSnapshots(base, { olderThanMs: T0 + 100 * DAY, retainLast: 1, nowMs: T0 + 100 * DAY });
    assert.deepEqual(all.metadata.snapshots.map((s) => s["snapshot-id"]), [5]);
    assert.deepEqual(all.metadata["snapshot-log"], [{ "snapshot-id": 5, "timestamp-ms": T0 + 5 * DAY }]);
    assertValid(all.metadata);
    const three = expireSnapshots(base, { olderThanMs: T0 + 100 * DAY, retainLast: 3, nowMs: T0 + 100 * DAY });
    assert.deepEqual(three.metadata.snapshots.map((s) => s["snapshot-id"]), [3, 4, 5]);
    assert.throws(() => expireSnapshots(base, { olderThanMs: T0, retainLast: 0, nowMs: T0 }), RangeError);
  });

  it("returns the same metadata when nothing expires, so there is nothing to commit", () => {
    const base = history();
    const r = expireSnapshots(base, { olderThanMs: T0, retainLast: 1, nowMs: T0 + 10 * DAY });
    assert.equal(r.metadata, base);
    assert.deepEqual(r.expired, []);
    const empty = newJournal();
    assert.equal(expireSnapshots(empty, { olderThanMs: T0 + DAY, retainLast: 1, nowMs: T0 + DAY }).metadata, empty);
  });

  it("keeps a tagged snapshot and the branch's own retention settings; drops a tag past its max-ref-age-ms", () => {
    const base = history();
    const tagged: TableMetadata = {
      ...base,
      refs: {
        ...base.refs,
        main: { ...base.refs.main!, "min-snapshots-to-keep": 2 },
        audit: { "snapshot-id": 2, type: "tag" },
        old: { "snapshot-id": 1, type: "tag", "max-ref-age-ms": DAY },
      },
    };
    const { metadata } = expireSnapshots(tagged, { olderThanMs: T0 + 100 * DAY, retainLast: 1, nowMs: T0 + 100 * DAY });
    assert.deepEqual(metadata.snapshots.map((s) => s["snapshot-id"]), [2, 4, 5]);
    assert.deepEqual(Object.keys(metadata.refs).sort(), ["audit", "main"]);
    assertValid(metadata);
  });

  it("keeps any random history valid: increasing sequence numbers, the current snapshot kept, logs naming live snapshots", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("commit" as const), advance: fc.integer({ min: -5000, max: 3 * 86_400_000 }), files: fc.integer({ min: 0, max: 3 }), rows: fc.integer({ min: 0, max: 1000 }) }),
      fc.record({ kind: fc.constant("expire" as const), ageMs: fc.integer({ min: 0, max: 10 * 86_400_000 }), retainLast: fc.integer({ min: 1, max: 4 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 30 }), (ops) => {
        let m = newJournal();
        let clock = T0;
        let version = 1;
        let lastSequence = 0;
        for (const o of ops) {
          const location = tableFiles.metadata(LOCATION, version);
          if (o.kind === "commit") {
            clock += o.advance;
            const taken = new Set(m.snapshots.map((s) => s["snapshot-id"]));
            const next = commit(m, newSnapshotId(taken), clock, { addedDataFiles: o.files, addedRecords: o.rows, addedFilesSize: o.files * 100 }, "append", location);
            const added = next.snapshots.at(-1)!;
            assert.ok(added["sequence-number"] > lastSequence);
            assert.equal(added["parent-snapshot-id"], m["current-snapshot-id"] === NO_SNAPSHOT ? undefined : m["current-snapshot-id"]);
            lastSequence = added["sequence-number"];
            m = next;
            version++;
          } else {
            const current = m["current-snapshot-id"];
            const { metadata, expired } = expireSnapshots(m, { olderThanMs: clock - o.ageMs, retainLast: o.retainLast, nowMs: clock, baseMetadataLocation: location });
            assert.ok(!expired.some((s) => s["snapshot-id"] === current), "the current snapshot never expires");
            assert.equal(metadata["current-snapshot-id"], current);
            assert.ok(metadata.snapshots.length >= Math.min(o.retainLast, m.snapshots.length));
            if (metadata !== m) version++;
            m = metadata;
          }
          assert.deepEqual(v2Problems(JSON.parse(JSON.stringify(m))), []);
          const seqs = m.snapshots.map((s) => s["sequence-number"]);
          assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
          assert.equal(new Set(seqs).size, seqs.length);
          if (m["current-snapshot-id"] !== NO_SNAPSHOT) assert.equal(m["snapshot-log"].at(-1)!["snapshot-id"], m["current-snapshot-id"]);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("table file layout", () => {
  it("puts metadata, manifest lists, manifests and data files where Iceberg readers look for them", () => {
    assert.equal(tableFiles.metadata(`${LOCATION}/`, 7), `${LOCATION}/metadata/v7.metadata.json`);
    assert.equal(tableFiles.versionHint(LOCATION), `${LOCATION}/metadata/version-hint.text`);
    assert.equal(tableFiles.manifestList(LOCATION, 42, 1, UUID), `${LOCATION}/metadata/snap-42-1-${UUID}.avro`);
    assert.equal(tableFiles.manifest(LOCATION, UUID, 0), `${LOCATION}/metadata/${UUID}-m0.avro`);
    assert.equal(tableFiles.data(LOCATION, `00000-0-${UUID}`), `${LOCATION}/data/00000-0-${UUID}.parquet`);
    assert.equal(metadataVersionOf(tableFiles.metadata(LOCATION, 12)), 12);
    assert.equal(metadataVersionOf(`${LOCATION}/metadata/00001-${UUID}.metadata.json`), undefined);
    assert.equal(metadataVersionOf("v0.metadata.json"), undefined);
  });

  it("makes positive snapshot ids below 2^53 that avoid the ones taken", () => {
    for (let i = 0; i < 200; i++) {
      const id = newSnapshotId(new Set([1, 2, 3]));
      assert.ok(Number.isSafeInteger(id) && id > 0 && id > 3);
    }
  });
});

// ---- Avro schemas of the manifest list and the manifest ----

/** "name:id" of every field, nested records included, in schema order. */
function fieldIds(schema: AvroSchema, prefix = ""): string[] {
  if (Array.isArray(schema)) return schema.flatMap((s) => fieldIds(s, prefix));
  if (typeof schema !== "object") return [];
  if (schema.type === "record") {
    return (schema as AvroRecord).fields.flatMap((f: AvroField) => [`${prefix}${f.name}:${f["field-id"]}`, ...fieldIds(f.type, `${prefix}${f.name}.`)]);
  }
  if (schema.type === "array") {
    const own = "element-id" in schema ? [`${prefix}element:${schema["element-id"]}`] : [];
    return [...own, ...fieldIds(schema.items as AvroSchema, prefix)];
  }
  return [];
}

function recordNames(schema: AvroSchema): string[] {
  if (Array.isArray(schema)) return schema.flatMap(recordNames);
  if (typeof schema !== "object") return [];
  if (schema.type === "record") return [(schema as AvroRecord).name, ...(schema as AvroRecord).fields.flatMap((f) => recordNames(f.type))];
  if (schema.type === "array") return recordNames(schema.items as AvroSchema);
  return [];
}

const field = (record: AvroRecord, name: string): AvroField => {
  const f = record.fields.find((x) => x.name === name);
  assert.ok(f, `field ${name}`);
  return f;
};

describe("manifest list and manifest Avro schemas", () => {
  it("the manifest list's manifest_file has the spec's v2 fields and ids; counts are required, partitions optional", () => {
    assert.equal(MANIFEST_LIST_SCHEMA.name, "manifest_file");
    assert.deepEqual(fieldIds(MANIFEST_LIST_SCHEMA), [
      "manifest_path:500", "manifest_length:501", "partition_spec_id:502", "content:517", "sequence_number:515",
      "min_sequence_number:516", "added_snapshot_id:503", "added_files_count:504", "existing_files_count:505",
      "deleted_files_count:506", "added_rows_count:512", "existing_rows_count:513", "deleted_rows_count:514",
      "partitions:507", "partitions.element:508", "partitions.contains_null:509", "partitions.contains_nan:518",
      "partitions.lower_bound:510", "partitions.upper_bound:511", "key_metadata:519",
    ]);
    assert.equal(field(MANIFEST_LIST_SCHEMA, "added_rows_count").type, "long");
    assert.deepEqual(field(MANIFEST_LIST_SCHEMA, "key_metadata"), { name: "key_metadata", type: ["null", "bytes"], default: null, "field-id": 519 });
  });

  it("the manifest's manifest_entry has the spec's v2 fields and ids, data_file's 100+ ones and the map key/value ids", () => {
    assert.equal(MANIFEST_ENTRY_SCHEMA.name, "manifest_entry");
    assert.deepEqual(fieldIds(MANIFEST_ENTRY_SCHEMA), [
      "status:0", "snapshot_id:1", "sequence_number:3", "file_sequence_number:4", "data_file:2",
      "data_file.content:134", "data_file.file_path:100", "data_file.file_format:101", "data_file.partition:102",
      "data_file.record_count:103", "data_file.file_size_in_bytes:104",
      "data_file.column_sizes:108", "data_file.column_sizes.key:117", "data_file.column_sizes.value:118",
      "data_file.value_counts:109", "data_file.value_counts.key:119", "data_file.value_counts.value:120",
      "data_file.null_value_counts:110", "data_file.null_value_counts.key:121", "data_file.null_value_counts.value:122",
      "data_file.nan_value_counts:137", "data_file.nan_value_counts.key:138", "data_file.nan_value_counts.value:139",
      "data_file.lower_bounds:125", "data_file.lower_bounds.key:126", "data_file.lower_bounds.value:127",
      "data_file.upper_bounds:128", "data_file.upper_bounds.key:129", "data_file.upper_bounds.value:130",
      "data_file.key_metadata:131", "data_file.split_offsets:132", "data_file.split_offsets.element:133",
      "data_file.equality_ids:135", "data_file.equality_ids.element:136", "data_file.sort_order_id:140",
      "data_file.referenced_data_file:143",
    ]);
    const dataFile = field(MANIFEST_ENTRY_SCHEMA, "data_file").type as AvroRecord;
    assert.deepEqual(field(dataFile, "partition").type, { type: "record", name: "r102", fields: [] });
    const columnSizes = field(dataFile, "column_sizes").type as AvroSchema[];
    assert.deepEqual(columnSizes[0], "null");
    assert.equal((columnSizes[1] as { logicalType?: string }).logicalType, "map", "int-keyed maps are arrays marked logicalType map");
    assert.deepEqual(field(MANIFEST_ENTRY_SCHEMA, "snapshot_id").type, ["null", "long"]);
    assert.equal(field(MANIFEST_ENTRY_SCHEMA, "status").type, "int");
  });

  it("every record name is unique, as Avro requires of named types", () => {
    for (const schema of [MANIFEST_LIST_SCHEMA, MANIFEST_ENTRY_SCHEMA]) {
      const names = recordNames(schema);
      assert.equal(new Set(names).size, names.length, names.join(", "));
    }
  });

  it("only unpartitioned tables are written", () => {
    assert.throws(() => partitionRecord({ "spec-id": 1, fields: [{ "source-id": 1, "field-id": 1000, name: "bucket", transform: "identity" }] }), /only unpartitioned/);
  });

  it("a manifest's key-value metadata has v2's six required keys, as strings", () => {
    const meta = manifestFileMetadata(JOURNAL_SCHEMA);
    assert.deepEqual(Object.keys(meta).sort(), ["content", "format-version", "partition-spec", "partition-spec-id", "schema", "schema-id"]);
    assert.deepEqual(JSON.parse(meta.schema!), JOURNAL_SCHEMA);
    assert.equal(meta["partition-spec"], "[]");
    assert.deepEqual([meta["schema-id"], meta["partition-spec-id"], meta["format-version"], meta.content], ["0", "0", "2", "data"]);
  });
});

// ---- records ----

function metrics(rows: number): DataFileMetrics {
  return {
    recordCount: rows,
    fileSizeInBytes: 4096,
    columnSizes: new Map([[2, 300], [1, 120]]),
    valueCounts: new Map([[1, rows], [2, rows]]),
    nullValueCounts: new Map([[1, 0], [2, 0]]),
    lowerBounds: new Map([[1, Buffer.from("photos")]]),
    upperBounds: new Map([[1, Buffer.from("photos")]]),
    splitOffsets: [4],
  };
}

describe("manifest records", () => {
  const path = tableFiles.data(LOCATION, "00000-0-a");
  const file = dataFileRecord(path, metrics(10));

  it("a data file record takes the writer's metrics, maps sorted by column id", () => {
    assert.equal(file.file_format, "PARQUET");
    assert.equal(file.content, 0);
    assert.deepEqual(file.partition, {});
    assert.deepEqual(file.column_sizes, [{ key: 1, value: 120 }, { key: 2, value: 300 }]);
    assert.deepEqual(file.split_offsets, [4]);
    assert.equal(file.sort_order_id, 0);
  });

  it("an added entry leaves its sequence numbers to inheritance; existing and deleted ones write them", () => {
    const added = addedEntry(7, file);
    assert.deepEqual([added.status, added.snapshot_id, added.sequence_number, added.file_sequence_number], [1, 7, null, null]);
    const live = { snapshotId: 7, sequenceNumber: 3, fileSequenceNumber: 3, dataFile: file };
    assert.deepEqual([existingEntry(live).status, existingEntry(live).sequence_number], [0, 3]);
    const gone = deletedEntry(9, live);
    assert.deepEqual([gone.status, gone.snapshot_id, gone.sequence_number, gone.file_sequence_number], [2, 9, 3, 3]);
  });

  it("a manifest list record counts files and rows by status and takes the oldest live sequence number", () => {
    const older = { snapshotId: 7, sequenceNumber: 3, fileSequenceNumber: 3, dataFile: dataFileRecord("a", metrics(4)) };
    const oldest = { snapshotId: 5, sequenceNumber: 2, fileSequenceNumber: 2, dataFile: dataFileRecord("b", metrics(6)) };
    const r = manifestFileRecord({
      path: tableFiles.manifest(LOCATION, UUID, 0),
      length: 5120,
      addedSnapshotId: 9,
      sequenceNumber: 5,
      entries: [addedEntry(9, file), existingEntry(older), deletedEntry(9, oldest)],
    });
    assert.deepEqual(
      [r.added_files_count, r.existing_files_count, r.deleted_files_count, r.added_rows_count, r.existing_rows_count, r.deleted_rows_count],
      [1, 1, 1, 10, 4, 6],
    );
    assert.equal(r.min_sequence_number, 3, "deleted entries do not count");
    assert.deepEqual([r.sequence_number, r.added_snapshot_id, r.content, r.partition_spec_id, r.manifest_length], [5, 9, 0, 0, 5120]);
  });

  it("the records fit the Avro schemas (encoded with the Avro writer)", () => {
    const entry = addedEntry(7, file);
    assert.ok(encodeValue(MANIFEST_ENTRY_SCHEMA, entry).length > 0);
    const list = manifestFileRecord({ path: "m", length: 1, addedSnapshotId: 7, sequenceNumber: 1, entries: [entry] });
    assert.ok(encodeValue(MANIFEST_LIST_SCHEMA, list).length > 0);
  });
});

// ---- fastavro: an independent Avro implementation reads what these schemas describe ----

const hasFastavro = spawnSync("python3", ["-c", "import fastavro"]).status === 0;
const SKIP_FASTAVRO = hasFastavro ? false : "fastavro is not importable (python3 -m pip install fastavro)";
const work = mkdtempSync(join(tmpdir(), "stocktake-iceberg-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** Bytes travel through JSON as {"$bytes": hex}. */
const toJson = (v: unknown): unknown =>
  v instanceof Uint8Array ? { $bytes: Buffer.from(v).toString("hex") } : Array.isArray(v) ? v.map(toJson) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x)])) : v;

const FASTAVRO_ROUND_TRIP = `
import sys, json, io, fastavro
def unjson(v):
    if isinstance(v, dict):
        return bytes.fromhex(v["$bytes"]) if set(v) == {"$bytes"} else {k: unjson(x) for k, x in v.items()}
    return [unjson(x) for x in v] if isinstance(v, list) else v
def tojson(v):
    if isinstance(v, bytes): return {"$bytes": v.hex()}
    if isinstance(v, dict): return {k: tojson(x) for k, x in v.items()}
    return [tojson(x) for x in v] if isinstance(v, list) else v
job = json.load(open(sys.argv[1]))
schema = fastavro.parse_schema(job["schema"])
buf = io.BytesIO()
fastavro.writer(buf, schema, [unjson(r) for r in job["records"]], metadata=job["metadata"], codec="null")
buf.seek(0)
reader = fastavro.reader(buf)
out = {"records": [tojson(r) for r in reader], "metadata": {k: v.decode() if isinstance(v, bytes) else v for k, v in reader.metadata.items()}}
print(json.dumps(out))
`;

function fastavroRoundTrip(schema: AvroRecord, records: unknown[], metadata: Record<string, string>) {
  const job = join(work, `job-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(job, JSON.stringify({ schema, records: toJson(records), metadata }));
  const res = spawnSync("python3", ["-c", FASTAVRO_ROUND_TRIP, job], { encoding: "utf8" });
  assert.equal(res.status, 0, res.stderr);
  return JSON.parse(res.stdout) as { records: unknown[]; metadata: Record<string, string> };
}

describe("fastavro reads manifests and manifest lists described by these schemas", () => {
  it("a manifest of added and deleted entries, with the manifest metadata", { skip: SKIP_FASTAVRO }, () => {
    const live = { snapshotId: 5, sequenceNumber: 2, fileSequenceNumber: 2, dataFile: dataFileRecord("s3://lake/old.parquet", metrics(6)) };
    const records = [addedEntry(9, dataFileRecord("s3://lake/new.parquet", metrics(10))), deletedEntry(9, live)];
    const meta = manifestFileMetadata(JOURNAL_SCHEMA);
    const back = fastavroRoundTrip(MANIFEST_ENTRY_SCHEMA, records, meta);
    assert.deepEqual(back.records, toJson(records));
    for (const [k, v] of Object.entries(meta)) assert.equal(back.metadata[k], v);
    assert.deepEqual(JSON.parse(back.metadata.schema!), JOURNAL_SCHEMA);
  });

  it("a manifest list, with the list's metadata", { skip: SKIP_FASTAVRO }, () => {
    let m = newJournal();
    m = commit(m, 11, T0 + 1, { addedDataFiles: 1, addedRecords: 10, addedFilesSize: 4096 });
    const snapshot = currentSnapshot(m)!;
    const entries = [addedEntry(11, dataFileRecord("s3://lake/new.parquet", metrics(10)))];
    const records = [manifestFileRecord({ path: tableFiles.manifest(LOCATION, UUID, 0), length: 999, addedSnapshotId: 11, sequenceNumber: snapshot["sequence-number"], entries })];
    const meta = manifestListMetadata(snapshot);
    assert.deepEqual(meta, { "snapshot-id": "11", "parent-snapshot-id": "null", "sequence-number": "1", "format-version": "2" });
    const back = fastavroRoundTrip(MANIFEST_LIST_SCHEMA, records, meta);
    assert.deepEqual(back.records, toJson(records));
    assert.equal(back.metadata["snapshot-id"], "11");
  });

  it("fastavro's parser accepts both schemas: the empty partition record, the id attributes, logicalType map", { skip: SKIP_FASTAVRO }, () => {
    const file = join(work, "schemas.json");
    writeFileSync(file, JSON.stringify([MANIFEST_LIST_SCHEMA, MANIFEST_ENTRY_SCHEMA]));
    const script = `
import sys, json, fastavro
for s in json.load(open(sys.argv[1])):
    fastavro.parse_schema(s)
print("ok")`;
    const res = spawnSync("python3", ["-c", script, file], { encoding: "utf8" });
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stdout.trim(), "ok");
    assert.ok(readFileSync(file, "utf8").includes('"field-id":102'));
  });

  it("a manifest written by our Avro container writer from these schemas opens in fastavro", { skip: SKIP_FASTAVRO }, () => {
    const records = [addedEntry(9, dataFileRecord("s3://lake/new.parquet", metrics(10)))];
    const file = join(work, "manifest.avro");
    writeFileSync(file, writeAvroContainer({ schema: MANIFEST_ENTRY_SCHEMA, metadata: manifestFileMetadata(INVENTORY_SCHEMA), records }));
    const script = `
import sys, json, fastavro
def tojson(v):
    if isinstance(v, bytes): return {"$bytes": v.hex()}
    if isinstance(v, dict): return {k: tojson(x) for k, x in v.items()}
    return [tojson(x) for x in v] if isinstance(v, list) else v
with open(sys.argv[1], "rb") as f:
    r = fastavro.reader(f)
    print(json.dumps({"records": [tojson(x) for x in r], "content": r.metadata["content"], "schema-id": r.metadata["schema-id"]}))`;
    const res = spawnSync("python3", ["-c", script, file], { encoding: "utf8" });
    assert.equal(res.status, 0, res.stderr);
    const back = JSON.parse(res.stdout);
    assert.deepEqual(back.records, toJson(records));
    assert.deepEqual([back.content, back["schema-id"]], ["data", "0"]);
  });
});
