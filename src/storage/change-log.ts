// The change log a bucket keeps while it has an S3 Metadata configuration: one entry per change to
// a version, written by the store inside the same transaction as the change itself, so that no
// acknowledged write can be missing from it and no rolled-back one can be in it. The tables engine
// (src/metadata-tables/) reads it to fill the journal and live inventory tables, then drops what
// every table has taken. Both stores share what is here; docs/metadata-tables.md has the design.
import { AsyncLocalStorage } from "node:async_hooks";
import type { ObjectVersionRecord, VersionChange, VersionChangeKind, ChangedVersion, ChangeOrigin } from "./types.js";

/**
 * Who made the changes of the code running inside: the edge runs every request's handler inside
 * one. Read when a store call is made (not when its transaction later runs), so a group commit of
 * several requests still tells them apart. Changes made outside any request (lifecycle, the
 * replicator, an inventory report's files) have none: they are S3's own.
 */
export const changeOrigins = new AsyncLocalStorage<ChangeOrigin>();

/** The version's facts a change log entry keeps: what the journal and inventory tables show. */
export function changedVersion(r: Omit<ObjectVersionRecord, "isLatest">): ChangedVersion {
  return {
    isDeleteMarker: r.isDeleteMarker,
    size: r.size,
    etag: r.etag,
    lastModified: r.lastModified.getTime(),
    storageClass: r.storageClass,
    partsCount: r.partsCount,
    userMetadata: r.userMetadata,
    extra: r.extra,
  };
}

/** An entry before the store numbers it. */
export interface PendingChange {
  key: string;
  versionId: string;
  kind: VersionChangeKind;
  at: number;
  /** The JSON kept beside the key columns: version, before, origin. */
  body: string;
}

export function pendingChange(
  kind: VersionChangeKind,
  key: string,
  versionId: string,
  origin: ChangeOrigin | undefined,
  version?: ChangedVersion,
  before?: VersionChange["before"],
): PendingChange {
  const at = origin?.at?.getTime() ?? version?.lastModified ?? Date.now();
  const who = origin === undefined ? undefined : { requester: origin.requester, sourceIp: origin.sourceIp, requestId: origin.requestId };
  return { key, versionId, kind, at, body: JSON.stringify({ version, before, origin: who }) };
}

/** A change read back from its row. */
export function changeOfRow(row: { seq: number | string; key: string; version_id: string; kind: string; at: number | string; body: string }): VersionChange {
  const body = JSON.parse(row.body) as Pick<VersionChange, "version" | "before"> & { origin?: Omit<ChangeOrigin, "at"> };
  return {
    seq: Number(row.seq),
    key: row.key,
    versionId: row.version_id,
    kind: row.kind as VersionChangeKind,
    at: Number(row.at),
    ...(body.version ? { version: body.version } : {}),
    ...(body.before ? { before: body.before } : {}),
    ...(body.origin ? { origin: body.origin } : {}),
  };
}

/** Whether an update changed what a change log records of a version (not, say, a replication status alone). */
export function updateChanges(before: Pick<ObjectVersionRecord, "storageClass" | "extra">, after: Pick<ObjectVersionRecord, "storageClass" | "extra">): boolean {
  return before.storageClass !== after.storageClass || JSON.stringify(before.extra) !== JSON.stringify(after.extra);
}
