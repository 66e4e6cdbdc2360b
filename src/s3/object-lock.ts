// Object Lock — STUB awaiting implementation: the hook signatures capability-hooks.ts calls.
import type { S3Request, ServerContext } from "../server/types.js";
import type { BucketRecord, ObjectVersionRecord } from "../storage/types.js";

export function lockOnCreateBucket(_req: S3Request): { versioning?: "Enabled"; afterCreate(ctx: ServerContext, bucket: string): Promise<void> } {
  return { afterCreate: async () => undefined };
}

export function lockFactsForWrite(_req: S3Request, _ctx: ServerContext, _bucket: BucketRecord): Record<string, unknown> {
  return {};
}

export function lockHeaders(_v: ObjectVersionRecord): Record<string, string> {
  return {};
}

export function deleteGuard(_req: S3Request | undefined, _ctx: ServerContext, _bucket: BucketRecord): (v: ObjectVersionRecord) => void {
  return () => undefined;
}

export function checkVersioningChange(_ctx: ServerContext, _bucket: BucketRecord, _status: "Enabled" | "Suspended"): void {}
