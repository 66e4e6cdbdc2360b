// Lifecycle — STUB awaiting implementation: the hook signatures capability-hooks.ts calls.
import type { ServerContext } from "../server/types.js";
import type { BucketRecord, ObjectVersionRecord } from "../storage/types.js";

export function expirationHeaders(_ctx: ServerContext, _bucket: BucketRecord, _v: Omit<ObjectVersionRecord, "isLatest">): Record<string, string> {
  return {};
}
