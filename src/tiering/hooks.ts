// Intelligent-Tiering and archive restores — STUB awaiting implementation: the hook signatures capability-hooks.ts calls.
import type { ServerContext } from "../server/types.js";
import type { BucketRecord, ObjectVersionRecord } from "../storage/types.js";

export function tieringFactsOnCommit(_ctx: ServerContext, _bucket: BucketRecord, _record: Omit<ObjectVersionRecord, "isLatest">): void {}

export function checkReadable(_ctx: ServerContext, _v: ObjectVersionRecord): void {}

export function noteAccess(_ctx: ServerContext, _bucket: BucketRecord, _v: ObjectVersionRecord): void {}

export function restoreHeaders(_v: ObjectVersionRecord): Record<string, string> {
  return {};
}
