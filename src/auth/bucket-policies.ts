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

/** Tells the other nodes sharing the database that a bucket's policy changed; never rejects. */
export type AnnouncePolicyChange = (bucket: string) => Promise<void>;

export class BucketPolicies {
  /** null records "this bucket has no policy", which is the common case worth caching too. */
  private readonly cache = new Map<string, CompiledPolicy | null>();
  /** Bumped by every forget, so a policy read across a change is not cached (see BucketSettings). */
  private epoch = 0;

  constructor(
    private readonly metadata: MetadataStore,
    private readonly knownActions: ReadonlySet<string>,
    private readonly restricts: RestrictsPublicBuckets = async () => false,
    private readonly announce: AnnouncePolicyChange = async () => undefined,
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
      const epoch = this.epoch;
      const text = await this.text(bucket);
      compiled = text === undefined ? null : this.compile(bucket, text);
      if (epoch === this.epoch) this.cache.set(bucket, compiled);
    }
    return compiled ?? undefined;
  }

  text(bucket: string): Promise<string | undefined> {
    return this.metadata.getBucketConfig(bucket, POLICY_CONFIG_KIND, POLICY_ID);
  }

  /** Stores the policy; `compiled` when the caller has compiled it already (to inspect it first). */
  async put(bucket: BucketRef, text: string, compiled: CompiledPolicy = this.compile(bucket.name, text)): Promise<void> {
    await this.metadata.putBucketConfig(bucket, POLICY_CONFIG_KIND, POLICY_ID, text);
    await this.changed(bucket.name);
    this.cache.set(bucket.name, compiled);
  }

  async delete(bucket: BucketRef): Promise<boolean> {
    const deleted = await this.metadata.deleteBucketConfig(bucket, POLICY_CONFIG_KIND, POLICY_ID);
    await this.changed(bucket.name);
    return deleted;
  }

  /** After a commit that changed (or removed) the bucket's policy here: drop it, and tell the other nodes. */
  async changed(bucket: string): Promise<void> {
    this.forget(bucket);
    await this.announce(bucket);
  }

  /** Drops the bucket's policy (changed here or on another node, or the bucket is gone). */
  forget(bucket: string): void {
    this.epoch++;
    this.cache.delete(bucket);
  }

  /** Another node changed something, and what is unknown (its notifications were missed). */
  forgetAll(): void {
    this.epoch++;
    this.cache.clear();
  }
}
