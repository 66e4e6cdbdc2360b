// The inventory bench's PostgreSQL seeding (seedBucketPostgres) must leave a bucket the server
// cannot tell from one written through the store: the same rows, in the same seq order, the same
// latest versions and counts as PostgresMetadataStore.putVersions writing the same records.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { PostgresMetadataStore } from "../src/storage/postgres-metadata.js";
import { createDatabase, postgresUnavailable, startPostgres, type TestPostgres } from "../test/helpers/postgres.js";
import { seedBatches, seedBucketPostgres } from "./inventory-data.js";

const skip = postgresUnavailable();
let server: Promise<TestPostgres> | undefined;
const database = async (): Promise<string> => {
  const shared = process.env.STOCKTAKE_TEST_POSTGRES;
  if (shared) return createDatabase(shared);
  return (await (server ??= startPostgres())).newDatabase();
};
after(async () => {
  if (server) await (await server).stop();
});

const BUCKET = "seeded";
const OWNER = "123456789012";
const BATCH_ROWS = 700;

async function withBucket(url: string): Promise<PostgresMetadataStore> {
  const store = await PostgresMetadataStore.open(url);
  await store.createBucket({ name: BUCKET, id: "bucket-id", ownerAccountId: OWNER, region: "us-east-1", createdAt: new Date(0), versioning: "Enabled" });
  return store;
}

/** Every versions column but seq, in key order and, within a key, seq order (oldest first). */
async function dump(url: string): Promise<{ rows: unknown[]; counts: { versions: string; objects: string } }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const rows = await c.query({
      text: `SELECT bucket, key, version_id, is_latest, is_delete_marker, size, etag, last_modified, storage_class, content_type,
               content_headers, user_metadata, owner, parts_count, extra, inline_body, blob_id
             FROM versions ORDER BY bucket, key, seq`,
      rowMode: "array",
    });
    const parts = await c.query("SELECT count(*) AS n FROM version_parts");
    assert.equal(parts.rows[0].n, "0");
    const counts = await c.query<{ versions: string; objects: string }>(
      "SELECT sum(versions)::text AS versions, sum(objects)::text AS objects FROM bucket_counts WHERE bucket = $1",
      [BUCKET],
    );
    return { rows: rows.rows, counts: counts.rows[0]! };
  } finally {
    await c.end();
  }
}

describe("seedBucketPostgres", { skip }, () => {
  it("writes what PostgresMetadataStore.putVersions writes for the same records, in two calls as the bench grows a bucket", async () => {
    const [viaStore, viaSeed] = await Promise.all([database(), database()]);
    const store = await withBucket(viaStore);
    const seeded = await withBucket(viaSeed);
    try {
      // Several batches, and a second call continuing the object numbers as the bench's growth does.
      const first = await seedBucketPostgres(viaSeed, BUCKET, OWNER, 0, 4_000, undefined, BATCH_ROWS);
      const second = await seedBucketPostgres(viaSeed, BUCKET, OWNER, first.objects, 1_000, undefined, BATCH_ROWS);
      assert.equal(first.rows + second.rows, 5_000);
      const ref = (await store.getBucket(BUCKET))!;
      for (const [from, count] of [[0, 4_000], [first.objects, 1_000]] as const) {
        for (const batch of seedBatches(BUCKET, OWNER, from, count, BATCH_ROWS).batches) await store.putVersions(ref, batch);
      }
      const a = await dump(viaStore);
      const b = await dump(viaSeed);
      assert.equal(b.rows.length, 5_000);
      assert.deepEqual(b.counts, a.counts);
      assert.deepEqual(b.rows, a.rows);
      assert.deepEqual(await seeded.bucketCounts(), await store.bucketCounts());
      // Some keys have older versions and delete markers, so latest-ness was actually exercised.
      assert.ok(Number(a.counts.objects) < 5_000 && Number(a.counts.objects) > 4_000);
    } finally {
      await store.close();
      await seeded.close();
    }
  });
});
