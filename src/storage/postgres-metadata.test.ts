// The PostgreSQL metadata store against a throwaway server (test/helpers/postgres.ts): the shared
// MetadataStore contract, a fresh database per suite, then what only this engine has.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { PostgresMetadataStore } from "./postgres-metadata.js";
import { prefixUpperBoundText } from "./postgres-scan.js";
import { metadataStoreContract, version } from "./metadata-contract.js";
import { postgresUnavailable, startPostgres, type TestPostgres } from "../../test/helpers/postgres.js";

const skip = postgresUnavailable();
let server: Promise<TestPostgres> | undefined;
const database = async (): Promise<string> => (await (server ??= startPostgres())).newDatabase();
after(async () => {
  if (server) await (await server).stop();
});

metadataStoreContract("PostgresMetadataStore", { skip, open: async () => PostgresMetadataStore.open(await database()) });

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
      assert.deepEqual(rows.rows.map((r) => r.version), [1, 2, 3]);
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
});
