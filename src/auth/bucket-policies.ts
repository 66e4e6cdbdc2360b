// Bucket policies as the server holds them: compiled once when written or first needed, kept in
// memory, and dropped when the policy or its bucket goes away, so that evaluating a request never
// reads or parses a policy again.
import type { BucketRef, MetadataStore } from "../storage/types.js";
import { compilePolicy, type CompiledPolicy } from "./policy.js";

export const POLICY_CONFIG_KIND = "policy";
const POLICY_ID = "policy";

/**
 * Whether a bucket's public access block sets RestrictPublicBuckets. The setting is stored above
 * auth/ (src/s3/public-access-block.ts), so startServer passes this lookup in.
 */
export type RestrictsPublicBuckets = (bucket: string) => Promise<boolean>;

export class BucketPolicies {
  /** null records "this bucket has no policy", which is the common case worth caching too. */
  private readonly cache = new Map<string, CompiledPolicy | null>();

  constructor(
    private readonly metadata: MetadataStore,
    private readonly knownActions: ReadonlySet<string>,
    private readonly restricts: RestrictsPublicBuckets = async () => false,
  ) {}

  /**
   * RestrictPublicBuckets: while set and the bucket's policy is public, the policy allows only the
   * bucket owner's account and service principals (authorize() applies it).
   */
  restrictsPublicBuckets(bucket: string): Promise<boolean> {
    return this.restricts(bucket);
  }

  compile(bucket: string, text: string): CompiledPolicy {
    return compilePolicy(text, bucket, this.knownActions);
  }

  async get(bucket: string): Promise<CompiledPolicy | undefined> {
    let compiled = this.cache.get(bucket);
    if (compiled === undefined) {
      const text = await this.text(bucket);
      compiled = text === undefined ? null : this.compile(bucket, text);
      this.cache.set(bucket, compiled);
    }
    return compiled ?? undefined;
  }

  text(bucket: string): Promise<string | undefined> {
    return this.metadata.getBucketConfig(bucket, POLICY_CONFIG_KIND, POLICY_ID);
  }

  /** Stores the policy; `compiled` when the caller has compiled it already (to inspect it first). */
  async put(bucket: BucketRef, text: string, compiled: CompiledPolicy = this.compile(bucket.name, text)): Promise<void> {
    await this.metadata.putBucketConfig(bucket, POLICY_CONFIG_KIND, POLICY_ID, text);
    this.cache.set(bucket.name, compiled);
  }

  async delete(bucket: BucketRef): Promise<boolean> {
    const deleted = await this.metadata.deleteBucketConfig(bucket, POLICY_CONFIG_KIND, POLICY_ID);
    this.cache.delete(bucket.name);
    return deleted;
  }

  /** The bucket is gone (its configurations went with it in the store). */
  forget(bucket: string): void {
    this.cache.delete(bucket);
  }
}
