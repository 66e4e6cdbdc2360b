// Single-instance bucket configurations as the request path reads them (object lock, ownership
// controls, bucket ACL, lifecycle, replication, ...): parsed from their stored JSON once, kept in
// memory, replaced when written and dropped when the bucket goes. A PUT may consult several of
// them, and a point read plus JSON.parse per request per kind would be paid on every write.
// Stored through the metadata store as bucket configurations of `kind` with the id "".
import type { BucketConfigRow, BucketRef, MetadataStore } from "../storage/types.js";

const SINGLE_ID = "";

export class BucketSettings {
  /** bucket -> kind -> parsed value; null records "not configured", the common case. */
  private readonly cache = new Map<string, Map<string, unknown>>();

  constructor(private readonly metadata: MetadataStore) {}

  /** The bucket's configuration of this kind, as last stored (a shared object: do not modify). */
  async get<T>(bucket: string, kind: string): Promise<T | undefined> {
    let kinds = this.cache.get(bucket);
    if (kinds === undefined) {
      kinds = new Map();
      this.cache.set(bucket, kinds);
    }
    let value = kinds.get(kind);
    if (value === undefined) {
      const json = await this.metadata.getBucketConfig(bucket, kind, SINGLE_ID);
      value = json === undefined ? null : (JSON.parse(json) as unknown);
      kinds.set(kind, value);
    }
    return (value ?? undefined) as T | undefined;
  }

  async put(bucket: BucketRef, kind: string, value: unknown): Promise<void> {
    await this.metadata.putBucketConfig(bucket, kind, SINGLE_ID, JSON.stringify(value));
    this.cache.get(bucket.name)?.delete(kind);
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
    this.cache.get(bucket)?.delete(kind);
  }

  /** Returns false when the bucket had no configuration of this kind. */
  async delete(bucket: BucketRef, kind: string): Promise<boolean> {
    const deleted = await this.metadata.deleteBucketConfig(bucket, kind, SINGLE_ID);
    this.cache.get(bucket.name)?.delete(kind);
    return deleted;
  }

  /** The bucket is gone (its configurations went with it in the store), or was just created. */
  forget(bucket: string): void {
    this.cache.delete(bucket);
  }
}
