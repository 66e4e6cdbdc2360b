// Lifecycle on the request path: the x-amz-expiration header of writes and reads, naming when the
// object's Expiration rule will remove it. Costs one cached settings lookup when the bucket has no
// lifecycle configuration.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html#API_PutObject_ResponseSyntax
import type { Context } from "../core/context.js";
import type { BucketRecord, ObjectVersionRecord } from "../storage/types.js";
import { tagsOf } from "../core/tags.js";
import { compileLifecycle, currentExpiry, type CompiledLifecycle } from "./expiration.js";
import { LIFECYCLE_KIND, type LifecycleConfiguration } from "./rules.js";

/** Compiled once per stored configuration object (ctx.settings hands out the same one until it changes). */
const compiled = new WeakMap<LifecycleConfiguration, CompiledLifecycle>();

export async function compiledLifecycle(ctx: Context, bucket: string): Promise<CompiledLifecycle | undefined> {
  const config = await ctx.settings.get<LifecycleConfiguration>(bucket, LIFECYCLE_KIND);
  if (config === undefined) return undefined;
  let c = compiled.get(config);
  if (c === undefined) {
    c = compileLifecycle(config);
    compiled.set(config, c);
  }
  return c;
}

/** `expiry-date="Fri, 23 Dec 2012 00:00:00 GMT", rule-id="picture-deletion-rule"` (the rule id URL-encoded). */
export function expirationHeaderValue(at: number, ruleId: string): string {
  return `expiry-date="${new Date(at).toUTCString()}", rule-id="${encodeURIComponent(ruleId)}"`;
}

export async function expirationHeaders(
  ctx: Context,
  bucket: BucketRecord,
  v: Omit<ObjectVersionRecord, "isLatest"> & { isLatest?: boolean },
): Promise<Record<string, string>> {
  const c = await compiledLifecycle(ctx, bucket.name);
  if (c === undefined || c.expiration.length === 0 || v.isDeleteMarker || v.isLatest === false) return {};
  const due = currentExpiry(c, { key: v.key, size: v.size, tags: () => tagsOf(v.extra) }, v.lastModified.getTime());
  return due ? { "x-amz-expiration": expirationHeaderValue(due.at, due.ruleId) } : {};
}
