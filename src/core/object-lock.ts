// What object lock means to a version, whoever deletes it: retention and legal hold as kept in its
// `extra.lock`, and the guard every permanent delete runs inside its transaction (a request's,
// lifecycle expiration's). The configuration and the lock headers are src/s3/object-lock.ts.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html
import { S3Error } from "../errors.js";
import type { ObjectVersionRecord } from "../storage/types.js";
import type { Context } from "./context.js";

export const RetentionModes = ["GOVERNANCE", "COMPLIANCE"] as const;
export type RetentionMode = (typeof RetentionModes)[number];
export const LegalHoldStatuses = ["ON", "OFF"] as const;
export type LegalHoldStatus = (typeof LegalHoldStatuses)[number];

/**
 * A version's lock as kept in its `extra.lock` (the inventory's ObjectLock* columns read this
 * shape, src/inventory/values.ts): retention mode and date come together or not at all.
 */
export interface VersionLock {
  mode?: RetentionMode;
  /** Epoch milliseconds. */
  retainUntil?: number;
  legalHold?: LegalHoldStatus;
}

/** The bucket setting a lock-enabled bucket keeps its Object Lock configuration under: present exactly when Object Lock is enabled. */
export const LOCK_SETTINGS_KIND = "object-lock";

export async function hasObjectLock(ctx: Context, bucket: string): Promise<boolean> {
  return (await ctx.settings.get(bucket, LOCK_SETTINGS_KIND)) !== undefined;
}

export const LOCKED_MESSAGE = "Access Denied because object protected by object lock.";

export function versionLock(v: ObjectVersionRecord): VersionLock | undefined {
  return v.extra.lock as VersionLock | undefined;
}

export function isActive(lock: VersionLock | undefined, now: number): lock is VersionLock & { mode: RetentionMode; retainUntil: number } {
  return lock?.mode !== undefined && lock.retainUntil !== undefined && lock.retainUntil > now;
}

/**
 * Refuses, inside the delete's transaction, to remove a version under legal hold or unexpired
 * retention; GOVERNANCE yields when the request may bypass it (mayBypassGovernance, decided before
 * the write). Lifecycle expiration never bypasses. Delete markers carry no lock.
 */
export function deleteGuard(ctx: Context, bypassGovernance: boolean): (v: ObjectVersionRecord) => void {
  return (v) => {
    const lock = versionLock(v);
    if (!lock) return;
    if (lock.legalHold === "ON") throw new S3Error("AccessDenied", LOCKED_MESSAGE);
    if (!isActive(lock, ctx.clock.now().getTime())) return;
    if (lock.mode === "GOVERNANCE" && bypassGovernance) return;
    throw new S3Error("AccessDenied", LOCKED_MESSAGE);
  };
}
