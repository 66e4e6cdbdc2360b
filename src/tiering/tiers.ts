// Intelligent-Tiering access tiers and archive restores as pure functions of a version's facts and
// the time: which tier an object is due for, whether its bytes may be read, what RestoreObject
// does to it, and what the background pass changes. Nothing here reads a clock or a store.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/intelligent-tiering-overview.html
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/restoring-objects.html
import { S3Error } from "../errors.js";
import { tagsOf as storedTags } from "../core/tags.js";
import { dueAfterDays } from "../core/days.js";

export const HOUR_MS = 60 * 60 * 1000;
export const DAY_MS = 24 * HOUR_MS;

/** In the order an object moves down through them; S3's names (inventory, x-amz-archive-status). */
export const AccessTiers = ["FREQUENT", "INFREQUENT", "ARCHIVE_INSTANT_ACCESS", "ARCHIVE_ACCESS", "DEEP_ARCHIVE_ACCESS"] as const;
export type AccessTier = (typeof AccessTiers)[number];

/** The opt-in tiers an Intelligent-Tiering configuration enables; objects there must be restored. */
export const ArchiveTiers = ["ARCHIVE_ACCESS", "DEEP_ARCHIVE_ACCESS"] as const;
export type ArchiveTier = (typeof ArchiveTiers)[number];

export const RestoreTiers = ["Expedited", "Standard", "Bulk"] as const;
export type RestoreTier = (typeof RestoreTiers)[number];

export const INTELLIGENT_TIERING = "INTELLIGENT_TIERING";
/** Storage classes whose objects are archived: readable only through a restored copy. */
export const ArchivedStorageClasses = ["GLACIER", "DEEP_ARCHIVE"] as const;

/** S3 does not monitor smaller Intelligent-Tiering objects: they stay in Frequent Access. */
export const MIN_MONITORED_BYTES = 128 * 1024;
/** Days without access before the automatic moves (not configurable on S3). */
export const INFREQUENT_AFTER_DAYS = 30;
export const ARCHIVE_INSTANT_AFTER_DAYS = 90;
/** The Days range PutBucketIntelligentTieringConfiguration accepts per opt-in tier. */
export const ARCHIVE_DAYS_RANGE: Record<ArchiveTier, [number, number]> = {
  ARCHIVE_ACCESS: [90, 730],
  DEEP_ARCHIVE_ACCESS: [180, 730],
};
/**
 * A GET of a Frequent Access object rewrites its reference date only when the stored one is older
 * than this: tiers move after whole days, and a metadata write per GET would cost the read path
 * its throughput. The no-access period may so start up to an hour early.
 */
export const ACCESS_NOTE_GRANULARITY_MS = HOUR_MS;

/** `extra.restore` of a version: a restore requested, in progress or (archived classes) done. */
export interface RestoreState {
  /** Epoch ms of the RestoreObject request that started it. */
  requestedAt: number;
  /** Epoch ms from which the tiering pass completes it. */
  readyAt: number;
  tier: RestoreTier;
  /** GLACIER and DEEP_ARCHIVE: the lifetime of the restored copy, in days. */
  days?: number;
  /** Set when complete (GLACIER and DEEP_ARCHIVE only): when the restored copy goes away. */
  expiresAt?: number;
}

/** What tiering reads of a version (a stored record or a listing row). */
export interface TieringFacts {
  key: string;
  size: number;
  storageClass: string;
  /** Epoch ms. */
  lastModified: number;
  extra: Record<string, unknown>;
}

/** Days without access after which a matching configuration moves an object to its opt-in tiers. */
export type ArchiveDays = Partial<Record<ArchiveTier, number>>;

const rank = (tier: AccessTier) => AccessTiers.indexOf(tier);

export function isArchiveTier(tier: string): tier is ArchiveTier {
  return (ArchiveTiers as readonly string[]).includes(tier);
}

export function isArchivedStorageClass(storageClass: string): boolean {
  return (ArchivedStorageClasses as readonly string[]).includes(storageClass);
}

export function accessTierOf(f: TieringFacts): AccessTier {
  const tier = f.extra.accessTier;
  return typeof tier === "string" && (AccessTiers as readonly string[]).includes(tier) ? (tier as AccessTier) : "FREQUENT";
}

/** The start of the current no-access period: the last counted access, or the write. */
export function referenceDateOf(f: TieringFacts): number {
  const ref = f.extra.tieringReferenceDate;
  return typeof ref === "number" ? ref : f.lastModified;
}

export function restoreOf(f: TieringFacts): RestoreState | undefined {
  const r = f.extra.restore;
  return r !== null && typeof r === "object" ? (r as RestoreState) : undefined;
}

/** The object's tags: `extra.tags` is an ordered list of [key, value] (src/s3/tagging.ts). */
export function tagsOf(f: TieringFacts): Map<string, string> {
  return new Map(storedTags(f.extra));
}

/**
 * The tier an Intelligent-Tiering object belongs in at `now`: down a tier as its days without
 * access pass, never up (only an access, or a restore, moves it up).
 */
export function dueTier(f: TieringFacts, now: number, archiveDays: ArchiveDays): AccessTier {
  const current = accessTierOf(f);
  if (f.size < MIN_MONITORED_BYTES) return current;
  const idleDays = Math.floor((now - referenceDateOf(f)) / DAY_MS);
  let due: AccessTier = "FREQUENT";
  if (idleDays >= INFREQUENT_AFTER_DAYS) due = "INFREQUENT";
  if (idleDays >= ARCHIVE_INSTANT_AFTER_DAYS) due = "ARCHIVE_INSTANT_ACCESS";
  if (archiveDays.ARCHIVE_ACCESS !== undefined && idleDays >= archiveDays.ARCHIVE_ACCESS) due = "ARCHIVE_ACCESS";
  if (archiveDays.DEEP_ARCHIVE_ACCESS !== undefined && idleDays >= archiveDays.DEEP_ARCHIVE_ACCESS) due = "DEEP_ARCHIVE_ACCESS";
  return rank(due) > rank(current) ? due : current;
}

/**
 * The `extra` a GET's access leaves on an Intelligent-Tiering version, or undefined when nothing
 * needs writing (not monitored, archived, or a Frequent Access reference date recent enough).
 */
export function extraAfterAccess(f: TieringFacts, now: number): Record<string, unknown> | undefined {
  if (f.storageClass !== INTELLIGENT_TIERING || f.size < MIN_MONITORED_BYTES) return undefined;
  const tier = accessTierOf(f);
  if (isArchiveTier(tier)) return undefined;
  if (tier === "FREQUENT" && now - referenceDateOf(f) < ACCESS_NOTE_GRANULARITY_MS) return undefined;
  return { ...f.extra, accessTier: "FREQUENT", tieringReferenceDate: now };
}

/** When a restored copy requested for `days` goes away: that many days on, then the next midnight UTC. */
export function restoreExpiry(from: number, days: number): number {
  // The same rounding S3 documents for lifecycle expiration. Days may be any 32-bit count, which
  // runs past the last instant a Date holds: such a copy stays until then.
  const at = dueAfterDays(from, days);
  return Number.isFinite(at) && at < LAST_DATE_MS ? at : LAST_DATE_MS;
}

/** The latest time a JavaScript Date can hold (+275760-09-13T00:00:00Z). */
const LAST_DATE_MS = 8.64e15;

/** Why a GET may not read the version's bytes now, or undefined when it may. */
export function unreadable(f: TieringFacts, now: number): S3Error | undefined {
  if (f.storageClass === INTELLIGENT_TIERING) {
    const tier = accessTierOf(f);
    if (isArchiveTier(tier)) {
      return new S3Error("InvalidObjectState", "The operation is not valid for the object's access tier", { StorageClass: INTELLIGENT_TIERING, AccessTier: tier });
    }
    return undefined;
  }
  if (isArchivedStorageClass(f.storageClass)) {
    const restore = restoreOf(f);
    if (restore?.expiresAt === undefined || restore.expiresAt <= now) {
      return new S3Error("InvalidObjectState", undefined, { StorageClass: f.storageClass });
    }
  }
  return undefined;
}

/** x-amz-archive-status and x-amz-restore as HeadObject and GetObject send them. */
export function restoreHeaderValues(f: TieringFacts): Record<string, string> {
  const restore = restoreOf(f);
  if (f.storageClass === INTELLIGENT_TIERING) {
    const tier = accessTierOf(f);
    if (!isArchiveTier(tier)) return {};
    return restore ? { "x-amz-archive-status": tier, "x-amz-restore": 'ongoing-request="true"' } : { "x-amz-archive-status": tier };
  }
  if (!isArchivedStorageClass(f.storageClass) || restore === undefined) return {};
  if (restore.expiresAt === undefined) return { "x-amz-restore": 'ongoing-request="true"' };
  return { "x-amz-restore": `ongoing-request="false", expiry-date="${new Date(restore.expiresAt).toUTCString()}"` };
}

/** A validated RestoreRequest (the select form is refused before this). */
export interface RestoreRequest {
  days?: number;
  tier: RestoreTier;
}

/**
 * How long a retrieval takes, as S3 documents it (the upper end of each range): undefined when
 * the retrieval tier is not offered for that archive.
 */
export function restoreDuration(archive: "GLACIER" | "DEEP_ARCHIVE" | ArchiveTier, tier: RestoreTier): number | undefined {
  const deep = archive === "DEEP_ARCHIVE" || archive === "DEEP_ARCHIVE_ACCESS";
  if (tier === "Expedited") return deep ? undefined : 5 * 60 * 1000;
  if (tier === "Standard") return deep ? 12 * HOUR_MS : 5 * HOUR_MS;
  return deep ? 48 * HOUR_MS : 12 * HOUR_MS;
}

/** What RestoreObject does to a version: the answer's status and the version's new `extra`. */
export interface RestoreDecision {
  status: 200 | 202;
  extra: Record<string, unknown>;
}

const notRestorable = () => new S3Error("InvalidObjectState", "Restore is not allowed for the object's current storage class");

function startRestore(f: TieringFacts, archive: "GLACIER" | "DEEP_ARCHIVE" | ArchiveTier, request: RestoreRequest, now: number): RestoreDecision {
  const duration = restoreDuration(archive, request.tier);
  if (duration === undefined) {
    throw new S3Error("InvalidArgument", `${request.tier} retrieval is not available for the ${archive} ${archive.endsWith("_ACCESS") ? "access tier" : "storage class"}`, {
      ArgumentName: "Tier",
      ArgumentValue: request.tier,
    });
  }
  const restore: RestoreState = { requestedAt: now, readyAt: now + duration, tier: request.tier, ...(request.days !== undefined ? { days: request.days } : {}) };
  return { status: 202, extra: { ...f.extra, restore } };
}

/**
 * RestoreObject on a version: starts a restore (202), extends a completed one (200), or refuses:
 * 409 while one is in progress, 403 InvalidObjectState when there is nothing archived to restore.
 */
export function decideRestore(f: TieringFacts, request: RestoreRequest, now: number): RestoreDecision {
  const current = restoreOf(f);
  if (f.storageClass === INTELLIGENT_TIERING) {
    if (request.days !== undefined) {
      throw new S3Error("InvalidArgument", "INTELLIGENT_TIERING objects are not subject to restore expiry. Do not specify Days when restoring this object", {
        ArgumentName: "Days",
        ArgumentValue: request.days,
      });
    }
    const tier = accessTierOf(f);
    if (!isArchiveTier(tier)) throw notRestorable();
    if (current) throw new S3Error("RestoreAlreadyInProgress");
    return startRestore(f, tier, request, now);
  }
  if (!isArchivedStorageClass(f.storageClass)) throw notRestorable();
  // S3 answers an empty RestoreRequest for an archived storage class with MalformedXML.
  if (request.days === undefined) throw new S3Error("MalformedXML");
  const archive = f.storageClass as "GLACIER" | "DEEP_ARCHIVE";
  if (current !== undefined && current.expiresAt === undefined) throw new S3Error("RestoreAlreadyInProgress");
  if (current?.expiresAt !== undefined && current.expiresAt > now) {
    return { status: 200, extra: { ...f.extra, restore: { ...current, days: request.days, expiresAt: restoreExpiry(now, request.days) } } };
  }
  return startRestore(f, archive, request, now);
}

function withoutRestore(extra: Record<string, unknown>): Record<string, unknown> {
  const rest = { ...extra };
  delete rest.restore;
  return rest;
}

/**
 * What the background pass changes on a version at `now`, as its new `extra`, or undefined:
 * Intelligent-Tiering moves down a tier or, its restore done, back to Frequent Access; a
 * GLACIER/DEEP_ARCHIVE restore completes, and later its copy expires.
 */
export function advance(f: TieringFacts, now: number, archiveDays: ArchiveDays): Record<string, unknown> | undefined {
  const restore = restoreOf(f);
  if (f.storageClass === INTELLIGENT_TIERING) {
    if (restore !== undefined) {
      if (now < restore.readyAt) return undefined;
      // The restore counts as an access: the object starts over in Frequent Access.
      return { ...withoutRestore(f.extra), accessTier: "FREQUENT", tieringReferenceDate: restore.readyAt };
    }
    const tier = dueTier(f, now, archiveDays);
    return tier === accessTierOf(f) ? undefined : { ...f.extra, accessTier: tier };
  }
  if (!isArchivedStorageClass(f.storageClass) || restore === undefined) return undefined;
  let expiresAt = restore.expiresAt;
  if (expiresAt === undefined) {
    if (now < restore.readyAt) return undefined;
    expiresAt = restoreExpiry(restore.readyAt, restore.days ?? 1);
  }
  if (expiresAt <= now) return withoutRestore(f.extra);
  return restore.expiresAt === undefined ? { ...f.extra, restore: { ...restore, expiresAt } } : undefined;
}
