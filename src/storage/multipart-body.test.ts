// The SQLite store's multipart bodies: a version whose bytes are its parts' blobs, read back in
// part order, referenced (for isBlobReferenced and the orphan sweep) exactly while the version is.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteMetadataStore } from "./sqlite-metadata.js";
import type { BodyPart, ObjectVersionRecord } from "./types.js";

const B = { name: "b", id: "b" };
const blob = (n: number) => n.toString(16).padStart(32, "0");

function multipartVersion(key: string, parts: BodyPart[], versionId = "null"): Omit<ObjectVersionRecord, "isLatest"> {
  return {
    bucket: "b",
    key,
    versionId,
    isDeleteMarker: false,
    size: parts.reduce((n, p) => n + p.size, 0),
    etag: `"e-${parts.length}"`,
    lastModified: new Date(1_700_000_000_000),
    storageClass: "STANDARD",
    contentHeaders: {},
    userMetadata: {},
    ownerAccountId: "111122223333",
    partsCount: parts.length,
    extra: {},
    body: { kind: "parts", parts },
  };
}

describe("SqliteMetadataStore multipart bodies", () => {
  let dir: string;
  let store: SqliteMetadataStore;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "stocktake-parts-"));
    store = SqliteMetadataStore.open(dir);
    await store.createBucket({ name: "b", id: "b", ownerAccountId: "111122223333", region: "us-east-1", createdAt: new Date(), versioning: undefined });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads a multipart body back with its parts in part-number order, and lists the version without it", async () => {
    const parts = [
      { partNumber: 1, blobId: blob(1), size: 5, checksum: "AAAAAA==" },
      { partNumber: 4, blobId: blob(2), size: 3 },
    ];
    await store.putVersion(B, multipartVersion("mp", parts));
    assert.deepEqual((await store.getLatest("b", "mp"))!.body, { kind: "parts", parts });
    assert.deepEqual((await store.getVersion("b", "mp", "null"))!.body, { kind: "parts", parts });
    assert.equal((await store.listCurrent({ bucket: "b", prefix: "mp", limit: 10 }))[0]!.body, null);
    assert.equal((await store.listVersions({ bucket: "b", prefix: "mp", limit: 10 }))[0]!.body, null);
  });

  it("references every part blob while the version exists, and returns them when a write replaces it", async () => {
    await store.putVersion(B, multipartVersion("replaced", [{ partNumber: 1, blobId: blob(10), size: 1 }, { partNumber: 2, blobId: blob(11), size: 1 }]));
    assert.ok((await store.isBlobReferenced(blob(10))) && (await store.isBlobReferenced(blob(11))));
    const { removed } = await store.putVersion(B, { ...multipartVersion("replaced", []), partsCount: 0, body: { kind: "inline", data: Buffer.from("x") } });
    assert.deepEqual(removed[0]!.body, { kind: "parts", parts: [{ partNumber: 1, blobId: blob(10), size: 1 }, { partNumber: 2, blobId: blob(11), size: 1 }] });
    assert.ok(!(await store.isBlobReferenced(blob(10))) && !(await store.isBlobReferenced(blob(11))));
  });

  it("returns the parts of a deleted version and stops referencing them", async () => {
    await store.putVersion(B, multipartVersion("deleted", [{ partNumber: 1, blobId: blob(20), size: 1 }]));
    const { removed } = await store.deleteVersion({ name: "b", id: "b" }, "deleted", "null");
    assert.equal(removed[0]!.body?.kind, "parts");
    assert.ok(!(await store.isBlobReferenced(blob(20))));
  });

  it("keeps an upload's part blobs referenced through completion, then through the new version", async () => {
    await store.createUpload(B, {
      uploadId: "u1",
      bucket: "b",
      key: "completed",
      initiated: new Date(),
      ownerAccountId: "111122223333",
      storageClass: "STANDARD",
      contentHeaders: {},
      userMetadata: {},
      extra: {},
    });
    await store.putPart(B, { uploadId: "u1", partNumber: 1, size: 2, etag: '"p1"', lastModified: new Date(), blobId: blob(30) });
    await store.putPart(B, { uploadId: "u1", partNumber: 2, size: 2, etag: '"p2"', lastModified: new Date(), blobId: blob(31) });
    assert.ok(await store.isBlobReferenced(blob(30)));
    const result = await store.completeUpload(B, "u1", multipartVersion("completed", [{ partNumber: 1, blobId: blob(30), size: 2 }]));
    assert.deepEqual(result.parts.map((p) => p.blobId), [blob(30), blob(31)]);
    assert.ok(await store.isBlobReferenced(blob(30)), "the completed object's part");
    assert.ok(!(await store.isBlobReferenced(blob(31))), "a part left out of the object");
    assert.equal((await store.listParts("u1", 0, 10)).length, 0);
  });

  it("refuses a multipart body on a record that claims no parts", async () => {
    await assert.rejects(store.putVersion(B, { ...multipartVersion("bad", [{ partNumber: 1, blobId: blob(40), size: 1 }]), partsCount: 0 }));
    assert.ok(!(await store.isBlobReferenced(blob(40))));
  });

  it("keeps multipart bodies across a reopen", async () => {
    await store.close();
    store = SqliteMetadataStore.open(dir);
    assert.deepEqual((await store.getLatest("b", "completed"))!.body, { kind: "parts", parts: [{ partNumber: 1, blobId: blob(30), size: 2 }] });
    assert.ok(await store.isBlobReferenced(blob(30)));
  });
});
