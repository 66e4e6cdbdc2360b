// Single-instance bucket configurations as the request path reads them (object lock, ownership
// controls, bucket ACL, lifecycle, replication, ...): parsed from their stored JSON once, kept in
// memory, replaced when written and dropped when the bucket goes. A PUT may consult several of
// them, and a point read plus JSON.parse per request per kind would be paid on every write.
// Stored through the metadata store as bucket configurations of `kind` with the id "".
//
// Other nodes sharing the database (docs/scale-out.md) cache the same settings: every change is
// announced after it commits (`announce`, the cluster's publish), and a change heard from another
// node drops the bucket's entries here (forget, forgetAll).
import type { BucketConfigRow, BucketRef, MetadataStore } from "../storage/types.js";

const SINGLE_ID = "";

/** Tells the other nodes that a bucket's settings changed; never rejects. */
export type AnnounceChange = (bucket: string) => Promise<void>;

export class BucketSettings {
  /** bucket -> kind -> parsed value; null records "not configured", the common case. */
  private readonly cache = new Map<string, Map<string, unknown>>();
  /**
   * Bumped by every forget: a value loaded across one is not cached, since the change that caused
   * the forget may have committed after the load read the store.
   */
  private epoch = 0;

  constructor(
    private readonly metadata: MetadataStore,
    private readonly announce: AnnounceChange = async () => undefined,
  ) {}

  /** The bucket's configuration of this kind, as last stored (a shared object: do not modify). */
  async get<T>(bucket: string, kind: string): Promise<T | undefined> {
    const cached = this.cache.get(bucket)?.get(kind);
    if (cached !== undefined) return (cached ?? undefined) as T | undefined;
    const epoch = this.epoch;
    const json = await this.metadata.getBucketConfig(bucket, kind, SINGLE_ID);
    const value = json === undefined ? null : (JSON.parse(json) as unknown);
    if (epoch === this.epoch) {
      let kinds = this.cache.get(bucket);
      if (kinds === undefined) {
        kinds = new Map();
        this.cache.set(bucket, kinds);
      }
      kinds.set(kind, value);
    }
    return (value ?? undefined) as T | undefined;
  }

  async put(bucket: BucketRef, kind: string, value: unknown): Promise<void> {
    await this.metadata.putBucketConfig(bucket, kind, SINGLE_ID, JSON.stringify(value));
    await this.changed(bucket.name);
  }

  /** The stored row of a setting a new bucket starts with (MetadataStore.createBucket). */
  static initial(kind: string, value: unknown): BucketConfigRow {
    return { kind, id: SINGLE_ID, json: JSON.stringify(value) };
  }

  /**
   * Records a fact of our own about a bucket (not a configuration a request sets, so it is written
   * by name, without the BucketRef check): the tiering pass's mark, for one.
   */
  async note(bucket: string, kind: string, value: unknown): Promise<void> {
    await this.metadata.putBucketConfig(bucket, kind, SINGLE_ID, JSON.stringify(value));
    await this.changed(bucket);
  }

  /** Returns false when the bucket had no configuration of this kind. */
  async delete(bucket: BucketRef, kind: string): Promise<boolean> {
    const deleted = await this.metadata.deleteBucketConfig(bucket, kind, SINGLE_ID);
    await this.changed(bucket.name);
    return deleted;
  }

  /** After a commit that changed the bucket's settings here: drop them, and tell the other nodes. */
  async changed(bucket: string): Promise<void> {
    this.forget(bucket);
    await this.announce(bucket);
  }

  /** Drops what is cached of the bucket (changed here or on another node). */
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
