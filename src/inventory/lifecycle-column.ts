// The LifecycleExpirationDate column: when the bucket's lifecycle rules, as they stand at report
// time, will expire each version. The rules are compiled once per report thread; a bucket without
// a lifecycle configuration gets no reader at all (the column is null at no cost).
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory.html#storage-inventory-contents
import { compileLifecycle, expirationWalker } from "../lifecycle/expiration.js";
import type { LifecycleConfiguration } from "../lifecycle/rules.js";
import { VT_IS_DELETE_MARKER, VT_IS_LATEST, VT_KEY, VT_LAST_MODIFIED, VT_SIZE, type VersionTuple } from "../storage/types.js";
import { extraOf } from "./values.js";

type Tags = readonly (readonly [string, string])[];

export function lifecycleExpirationReader(config: LifecycleConfiguration | undefined): ((v: VersionTuple) => number | null) | undefined {
  if (config === undefined) return undefined;
  const compiled = compileLifecycle(config);
  if (compiled.expiration.length === 0 && compiled.noncurrentExpiration.length === 0) return undefined;
  const walk = expirationWalker(compiled);
  return (v) => {
    const tags = () => (extraOf(v).tags as Tags | undefined) ?? [];
    return walk(v[VT_KEY], v[VT_IS_LATEST] === 1, v[VT_IS_DELETE_MARKER] === 1, v[VT_SIZE], v[VT_LAST_MODIFIED], tags);
  };
}
