// Ownership controls and ACLs — STUB awaiting implementation: the hook signatures capability-hooks.ts calls.
import type { S3Request, ServerContext } from "../server/types.js";
import type { BucketRecord } from "../storage/types.js";
import { ownerAccount } from "./objects.js";

export function aclOnCreateBucket(_req: S3Request): { afterCreate(ctx: ServerContext, bucket: string): Promise<void> } {
  return { afterCreate: async () => undefined };
}

export function aclFactsForWrite(req: S3Request, _ctx: ServerContext, _bucket: BucketRecord): { ownerAccountId: string; extra: Record<string, unknown> } {
  return { ownerAccountId: ownerAccount(req), extra: {} };
}
