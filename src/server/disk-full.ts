// Which operations a full disk refuses: those that would store more (object bodies, copies,
// parts, new uploads and buckets, configurations, inventory reports, restored copies). Deletes
// are the way out and are always served, and so are the two object-lock changes a delete may
// need first (lifting a legal hold, shortening a governance retention): each rewrites one
// existing row. Matched by name so that a write operation added later is refused by default.
const STORES_MORE = /^(Put|Post|Create|Copy|UploadPart|Complete|Restore|Run)/;
const SERVED_WHEN_FULL = new Set(["PutObjectLegalHold", "PutObjectRetention"]);

export function refusedWhenDiskFull(op: string): boolean {
  return STORES_MORE.test(op) && !SERVED_WHEN_FULL.has(op);
}
