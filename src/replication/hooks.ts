// Replication — STUB awaiting implementation: the hook signatures capability-hooks.ts calls.
import type { ServerContext } from "../server/types.js";
import type { BucketRecord, ObjectVersionRecord } from "../storage/types.js";

export function replicationFactsOnCommit(_ctx: ServerContext, _bucket: BucketRecord, _record: Omit<ObjectVersionRecord, "isLatest">): void {}

export function onVersionCommitted(_ctx: ServerContext, _bucket: BucketRecord, _record: Omit<ObjectVersionRecord, "isLatest">): void {}

export function replicationHeaders(_v: ObjectVersionRecord): Record<string, string> {
  return {};
}

export function checkVersioningChange(_ctx: ServerContext, _bucket: BucketRecord, _status: "Enabled" | "Suspended"): void {}
