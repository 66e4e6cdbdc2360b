// When lifecycle rules act on a version: S3's day arithmetic and rule matching, as pure functions
// over a compiled configuration (the request path, the background pass and the inventory's
// LifecycleExpirationDate column all use these, so they always agree).
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html#non-current-days-calculations
import type { LifecycleConfiguration, LifecycleRule, TransitionClass } from "./rules.js";
import { dueAfterDays } from "../core/days.js";

/** What a rule's filter looks at: the key, and for objects their size and tags. */
export interface Subject {
  key: string;
  /** Undefined for delete markers (size conditions never match them). */
  size?: number;
  /** The version's tags, read only by rules with tag conditions. */
  tags(): readonly (readonly [string, string])[];
}

export interface CompiledRule {
  rule: LifecycleRule;
  matches(s: Subject): boolean;
}

function compileRule(rule: LifecycleRule): CompiledRule {
  const f = rule.filter;
  const prefix = f.prefix ?? "";
  if (f.kind === "legacy" || (f.tags.length === 0 && f.sizeGreaterThan === undefined && f.sizeLessThan === undefined)) {
    return { rule, matches: prefix === "" ? () => true : (s) => s.key.startsWith(prefix) };
  }
  const { tags, sizeGreaterThan: gt, sizeLessThan: lt } = f;
  return {
    rule,
    matches(s) {
      if (!s.key.startsWith(prefix)) return false;
      if (gt !== undefined || lt !== undefined) {
        if (s.size === undefined) return false;
        if (gt !== undefined && !(s.size > gt)) return false;
        if (lt !== undefined && !(s.size < lt)) return false;
      }
      if (tags.length > 0) {
        const own = s.tags();
        for (const [k, v] of tags) if (!own.some(([ok, ov]) => ok === k && ov === v)) return false;
      }
      return true;
    },
  };
}

/** The enabled rules of a configuration, ready to match, split by the action they carry. */
export interface CompiledLifecycle {
  config: LifecycleConfiguration;
  /** Rules with Expiration Days or Date. */
  expiration: CompiledRule[];
  expiredMarkers: CompiledRule[];
  transitions: CompiledRule[];
  noncurrentExpiration: CompiledRule[];
  noncurrentTransitions: CompiledRule[];
  abortUploads: CompiledRule[];
}

export function compileLifecycle(config: LifecycleConfiguration): CompiledLifecycle {
  const enabled = config.rules.filter((r) => r.enabled).map(compileRule);
  return {
    config,
    expiration: enabled.filter((c) => c.rule.expiration?.days !== undefined || c.rule.expiration?.date !== undefined),
    expiredMarkers: enabled.filter((c) => c.rule.expiration?.expiredObjectDeleteMarker === true),
    transitions: enabled.filter((c) => c.rule.transitions.length > 0),
    noncurrentExpiration: enabled.filter((c) => c.rule.noncurrentExpiration !== undefined),
    noncurrentTransitions: enabled.filter((c) => c.rule.noncurrentTransitions.length > 0),
    abortUploads: enabled.filter((c) => c.rule.abortIncompleteMultipartUploadDays !== undefined),
  };
}

/** When a current object expires under the rules, and which rule decides (the earliest one). */
export function currentExpiry(c: CompiledLifecycle, s: Subject, lastModifiedMs: number): { at: number; ruleId: string } | undefined {
  let best: { at: number; ruleId: string } | undefined;
  for (const cr of c.expiration) {
    if (!cr.matches(s)) continue;
    const e = cr.rule.expiration!;
    const at = e.days !== undefined ? dueAfterDays(lastModifiedMs, e.days) : e.date!;
    if (best === undefined || at < best.at) best = { at, ruleId: cr.rule.id };
  }
  return best;
}

/**
 * When a noncurrent version is permanently deleted: `noncurrentSinceMs` is when it stopped being
 * current (its successor's LastModified), `newerNoncurrent` how many noncurrent versions of the key
 * are newer than it. A rule keeping N newer noncurrent versions never expires the N newest.
 */
export function noncurrentExpiry(c: CompiledLifecycle, s: Subject, noncurrentSinceMs: number, newerNoncurrent: number): number | undefined {
  let best: number | undefined;
  for (const cr of c.noncurrentExpiration) {
    const e = cr.rule.noncurrentExpiration!;
    if (e.newerNoncurrentVersions !== undefined && newerNoncurrent < e.newerNoncurrentVersions) continue;
    if (!cr.matches(s)) continue;
    const at = dueAfterDays(noncurrentSinceMs, e.noncurrentDays);
    if (best === undefined || at < best) best = at;
  }
  return best;
}

/** Objects below this size stay where they are unless the configuration says "varies_by_storage_class". */
export const TRANSITION_MIN_BYTES = 128 * 1024;

const CLASS_RANK: Record<string, number> = { STANDARD: 0, REDUCED_REDUNDANCY: 0, INTELLIGENT_TIERING: 1, STANDARD_IA: 2, ONEZONE_IA: 3, GLACIER_IR: 4, GLACIER: 5, DEEP_ARCHIVE: 6 };

/**
 * The storage class a version should have moved to by `nowMs`, if that is further down than where
 * it is: the due transition with the lowest class wins. `startMs` is its LastModified (current) or
 * when it became noncurrent.
 */
export function dueTransition(
  c: CompiledLifecycle,
  s: Subject & { size: number },
  storageClass: string,
  startMs: number,
  nowMs: number,
  noncurrent?: { newerNoncurrent: number },
): TransitionClass | undefined {
  if (c.config.minimumSizeMode === "all_storage_classes_128K" && s.size < TRANSITION_MIN_BYTES) return undefined;
  let target: TransitionClass | undefined;
  let rank = CLASS_RANK[storageClass] ?? 0;
  const consider = (cls: TransitionClass, at: number) => {
    if (at <= nowMs && (CLASS_RANK[cls] ?? 0) > rank) {
      target = cls;
      rank = CLASS_RANK[cls] ?? 0;
    }
  };
  for (const cr of noncurrent ? c.noncurrentTransitions : c.transitions) {
    if (!cr.matches(s)) continue;
    if (noncurrent) {
      for (const t of cr.rule.noncurrentTransitions) {
        if (t.newerNoncurrentVersions !== undefined && noncurrent.newerNoncurrent < t.newerNoncurrentVersions) continue;
        consider(t.storageClass, dueAfterDays(startMs, t.noncurrentDays));
      }
    } else {
      for (const t of cr.rule.transitions) consider(t.storageClass, t.days !== undefined ? dueAfterDays(startMs, t.days) : t.date!);
    }
  }
  return target;
}

/** True when an AbortIncompleteMultipartUpload rule covers an upload of `key` begun at `initiatedMs`. */
export function uploadAbortDue(c: CompiledLifecycle, key: string, initiatedMs: number, nowMs: number): boolean {
  const s: Subject = { key, tags: () => [] };
  return c.abortUploads.some((cr) => cr.matches(s) && dueAfterDays(initiatedMs, cr.rule.abortIncompleteMultipartUploadDays!) <= nowMs);
}

/** True when an ExpiredObjectDeleteMarker rule covers a delete marker of `key`. */
export function markerCleanupApplies(c: CompiledLifecycle, key: string): boolean {
  const s: Subject = { key, tags: () => [] };
  return c.expiredMarkers.some((cr) => cr.matches(s));
}

/**
 * A reader that walks versions in S3's listing order (key ascending, newest first) and says when
 * each one is due to expire, or null: the current object by its Expiration rules, a noncurrent
 * version by its NoncurrentVersionExpiration rules (counting from its successor's LastModified).
 * Stateful: feed it every version of the walk, in order, once.
 */
export function expirationWalker(
  c: CompiledLifecycle,
): (key: string, isLatest: boolean, isDeleteMarker: boolean, size: number, lastModifiedMs: number, tags: () => readonly (readonly [string, string])[]) => number | null {
  let key: string | undefined;
  let successorMs = 0;
  let newerNoncurrent = 0;
  const idle = c.expiration.length === 0 && c.noncurrentExpiration.length === 0;
  return (k, isLatest, isDeleteMarker, size, lastModifiedMs, tags) => {
    if (idle) return null;
    let result: number | null = null;
    if (k !== key || isLatest) {
      key = k;
      newerNoncurrent = 0;
      if (!isDeleteMarker && isLatest) result = currentExpiry(c, { key: k, size, tags }, lastModifiedMs)?.at ?? null;
    } else {
      // A noncurrent version of the key whose newer versions came just before.
      const s: Subject = { key: k, size: isDeleteMarker ? undefined : size, tags: isDeleteMarker ? () => [] : tags };
      if (!isDeleteMarker) result = noncurrentExpiry(c, s, successorMs, newerNoncurrent) ?? null;
      newerNoncurrent++;
    }
    successorMs = lastModifiedMs;
    return result;
  };
}
