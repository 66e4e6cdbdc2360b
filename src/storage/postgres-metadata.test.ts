// The PostgreSQL metadata store against a throwaway server (test/helpers/postgres.ts): the shared
// MetadataStore contract, a fresh database per suite, then what only this engine has.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { PostgresMetadataStore } from "./postgres-metadata.js";
import { prefixUpperBoundText } from "./postgres-scan.js";
import { metadataStoreContract, version } from "./metadata-contract.js";
import { CHANGE_LOG_KIND } from "./types.js";
import { postgresUnavailable, startPostgres, type TestPostgres } from "../../test/helpers/postgres.js";

const skip = postgresUnavailable();
let server: Promise<TestPostgres> | undefined;
const database = async (): Promise<string> => (await (server ??= startPostgres())).newDatabase();
after(async () => {
  if (server) await (await server).stop();
});

metadataStoreContract("PostgresMetadataStore", { skip, open: async () => PostgresMetadataStore.open(await database()) });

/** Holds the next transaction the store begins at its COMMIT until `release` (its statements all ran). */
function holdNextCommit(store: PostgresMetadataStore): { atCommit: Promise<void>; release: () => void } {
  const pool = (store as unknown as { pool: pg.Pool }).pool;
  const connect = pool.connect.bind(pool);
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let reachedCommit!: () => void;
  const atCommit = new Promise<void>((r) => (reachedCommit = r));
  (pool as { connect: () => Promise<pg.PoolClient> }).connect = async () => {
    const client = await connect();
    (pool as { connect: () => Promise<pg.PoolClient> }).connect = connect;
    const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
    (client as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = async (...args: unknown[]) => {
      if (args[0] === "COMMIT") {
        reachedCommit();
        await released;
      }
      return query(...args);
    };
    return client;
  };
  return { atCommit, release };
}

describe("PostgresMetadataStore", { skip }, () => {
  it("bounds prefixes by code point, which is UTF-8 byte order", () => {
    assert.equal(prefixUpperBoundText("ab"), "ac");
    assert.equal(prefixUpperBoundText("a\u{10FFFF}"), "b");
    assert.equal(prefixUpperBoundText("\u{10FFFF}"), undefined);
    assert.equal(prefixUpperBoundText("a\uD7FF"), "a\uE000");
  });

  it("migrates once, however many nodes open the database together, and records the versions", async () => {
    const url = await database();
    const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresMetadataStore.open(url)));
    await Promise.all(stores.map((s) => s.close()));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const rows = await client.query<{ version: number }>("SELECT version FROM schema_migrations ORDER BY version");
      assert.deepEqual(rows.rows.map((r) => r.version), [1, 2, 3, 4]);
    } finally {
      await client.end();
    }
  });

  it("shows a write through one store to another on the same database at once", async () => {
    const url = await database();
    const [one, two] = await Promise.all([PostgresMetadataStore.open(url), PostgresMetadataStore.open(url)]);
    try {
      const ref = { name: "shared", id: "s1" };
      await one.createBucket({ ...ref, ownerAccountId: "1", region: "us-east-1", createdAt: new Date(), versioning: undefined });
      await one.putVersion(ref, version("shared", "k"));
      assert.equal((await two.getLatest("shared", "k"))?.etag, '"e"');
      const createOnly = (latest: unknown) => {
        if (latest) throw new Error("exists");
      };
      // Repeated: the race between two connections' statements lands in a different place each time.
      for (let i = 0; i < 25; i++) {
        const outcomes = await Promise.allSettled([
          one.putVersion(ref, version("shared", `once/${i}`), createOnly),
          two.putVersion(ref, version("shared", `once/${i}`), createOnly),
        ]);
        assert.deepEqual(outcomes.map((o) => o.status).sort(), ["fulfilled", "rejected"], `round ${i}`);
      }
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it("keeps a reader of the change log from stepping over a write numbered before one that committed", async () => {
    const store = await PostgresMetadataStore.open(await database());
    try {
      const ref = { name: "logged", id: "l1" };
      await store.createBucket({ ...ref, ownerAccountId: "1", region: "us-east-1", createdAt: new Date(), versioning: "Enabled" });
      await store.putVersion(ref, version("logged", "second", "v1"));
      await store.putBucketConfig(ref, CHANGE_LOG_KIND, "cfg", "{}");
      // The next transaction to commit is held at its COMMIT, its change numbered but not committed.
      const { atCommit, release } = holdNextCommit(store);
      const held = store.putVersion(ref, version("logged", "first", "v1"));
      await atCommit;
      // An update: it changes no count row, which the first may hold too.
      await store.updateVersion(ref, "second", "v1", () => ({ storageClass: "GLACIER" }));

      // Read while the first is in flight: the reader waits for it rather than taking the second alone.
      const read = store.listChanges(ref, 0, 10);
      const mark = store.lastChangeSeq("logged");
      setTimeout(release, 200);
      await held;
      const changes = await read;
      assert.deepEqual(changes.map((c) => c.key), ["first", "second"]);
      assert.equal(await mark, changes[1]!.seq);
    } finally {
      await store.close();
    }
  });

  it("numbers change log entries on above the per-bucket counters of a database from before the sequence", async () => {
    const url = await database();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      // The schema as it was before migration 4, with a bucket's counter at 41.
      await (await PostgresMetadataStore.open(url)).close();
      await client.query("DROP SEQUENCE change_seq");
      await client.query(`CREATE TABLE change_logs (bucket TEXT COLLATE "C" PRIMARY KEY, last_seq BIGINT NOT NULL)`);
      await client.query("INSERT INTO change_logs VALUES ('old', 41), ('older', 7)");
      await client.query("DELETE FROM schema_migrations WHERE version = 4");
      const store = await PostgresMetadataStore.open(url);
      try {
        const ref = { name: "old", id: "o1" };
        await store.createBucket({ ...ref, ownerAccountId: "1", region: "us-east-1", createdAt: new Date(), versioning: undefined });
        assert.equal(await store.lastChangeSeq("old"), 41);
        await store.putBucketConfig(ref, CHANGE_LOG_KIND, "cfg", "{}");
        await store.putVersion(ref, version("old", "k"));
        assert.deepEqual((await store.listChanges(ref, 41, 10)).map((c) => c.seq), [42]);
      } finally {
        await store.close();
      }
      assert.equal((await client.query("SELECT to_regclass('change_logs') AS t")).rows[0].t, null);
    } finally {
      await client.end();
    }
  });

  it("lets a reader following the change log while two stores write take every change exactly once", async () => {
    const url = await database();
    const [one, two, reader] = await Promise.all([PostgresMetadataStore.open(url), PostgresMetadataStore.open(url), PostgresMetadataStore.open(url)]);
    try {
      const ref = { name: "busy", id: "b1" };
      await one.createBucket({ ...ref, ownerAccountId: "1", region: "us-east-1", createdAt: new Date(), versioning: "Enabled" });
      await one.putBucketConfig(ref, CHANGE_LOG_KIND, "cfg", "{}");
      const writes = 400;
      let writing = true;
      const taken: string[] = [];
      // As the journal reads: from its mark, a batch at a time, for as long as the writes go on.
      const follow = (async () => {
        let mark = 0;
        for (;;) {
          const done = !writing;
          const batch = await reader.listChanges(ref, mark, 25);
          for (const change of batch) taken.push(change.versionId);
          if (batch.length > 0) mark = batch[batch.length - 1]!.seq;
          else if (done) return;
        }
      })();
      await Promise.all(
        Array.from({ length: writes }, (_, i) => (i % 2 === 0 ? one : two).putVersion(ref, version("busy", `k/${i % 7}`, `v${i}`))),
      );
      writing = false;
      await follow;
      assert.equal(taken.length, writes, "no change skipped or taken twice");
      assert.deepEqual([...taken].sort(), Array.from({ length: writes }, (_, i) => `v${i}`).sort());
    } finally {
      await Promise.all([one.close(), two.close(), reader.close()]);
    }
  });

  it("gives a change log reader up after its timeout when a write is stuck before its commit, so the bucket's other writes go on", async () => {
    const store = await PostgresMetadataStore.open(await database(), { changeMarkTimeoutMs: 300 });
    try {
      const ref = { name: "stuck", id: "s1" };
      await store.createBucket({ ...ref, ownerAccountId: "1", region: "us-east-1", createdAt: new Date(), versioning: "Enabled" });
      await store.putVersion(ref, version("stuck", "other", "v1"));
      await store.putBucketConfig(ref, CHANGE_LOG_KIND, "cfg", "{}");
      const { atCommit, release } = holdNextCommit(store);
      const stuck = store.putVersion(ref, version("stuck", "first", "v1"));
      await atCommit;
      const read = store.listChanges(ref, 0, 10);
      // A write queued behind the waiting reader goes on once the reader gives up (an update: it takes no count row the stuck one may hold).
      const next = store.updateVersion(ref, "other", "v1", () => ({ storageClass: "GLACIER" }));
      await assert.rejects(read, (err: { code?: string }) => err.code === "55P03");
      await next;
      release();
      await stuck;
      assert.deepEqual((await store.listChanges(ref, 0, 10)).map((c) => c.key), ["first", "other"]);
    } finally {
      await store.close();
    }
  });
});
