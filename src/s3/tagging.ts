// Object tagging — STUB awaiting implementation: the hook signatures capability-hooks.ts calls.
import type { S3Request } from "../server/types.js";
import type { ObjectVersionRecord } from "../storage/types.js";

export function tagFactsForWrite(_req: S3Request, _copySource?: ObjectVersionRecord): Record<string, unknown> {
  return {};
}

export function taggingHeaders(_v: ObjectVersionRecord): Record<string, string> {
  return {};
}
