// The read-only Iceberg REST catalog at /_stocktake/iceberg/: its answers to signed requests in the
// OpenAPI document's shapes, iceberg-js (an Iceberg REST client nobody here wrote) finding and
// loading a table through it, and who is refused what: other accounts, anonymous callers, writes,
// unknown names and names that try to leave their place in the warehouse.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ensureManagedTableBucket } from "../../src/metadata-tables/config.js";
import { createBucket } from "../../src/core/buckets.js";
import { request as httpRequest } from "node:http";
import { CreateBucketCommand, DeleteObjectCommand, PutBucketPolicyCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { IcebergError, IcebergRestCatalog } from "iceberg-js";
import { sigv4Fetch as signingFetch } from "../helpers/icebird.js";
import { startTestServer, TEST_ACCESS_KEY, TEST_ACCOUNT_ID, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import { signedFetch, type RawResponse } from "../helpers/raw.js";
import { createAccount, loadSealingKey } from "../../src/auth/accounts.js";
import { appendRows, createTable, loadTable, type TableLocation } from "../../src/metadata-tables/table-store.js";
import { INVENTORY_SCHEMA, JOURNAL_SCHEMA } from "../../src/metadata-tables/schemas.js";
import type { IcebergRow } from "../../src/metadata-tables/parquet-table.js";

const WAREHOUSE = `aws-s3-${TEST_ACCOUNT_ID}`;
const JOURNAL: TableLocation = { bucket: WAREHOUSE, prefix: "b_photos/journal/" };
const INVENTORY: TableLocation = { bucket: WAREHOUSE, prefix: "b_photos/inventory/" };
const SHARED = "shared-tables";
const PUBLIC = "public-tables";
const ROOT = { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY };
const BASE = "/_stocktake/iceberg";

function journalRow(i: number): IcebergRow {
  const micros = BigInt(Date.UTC(2025, 5, 2, 1, 0, i)) * 1000n;
  return {
    bucket: "photos",
    key: `img/${i}.jpg`,
    sequence_number: String(i).padStart(8, "0"),
    record_type: "CREATE",
    record_timestamp: micros,
    version_id: null,
    is_delete_marker: false,
    size: 100 + i,
    last_modified_date: micros,
    e_tag: `etag-${i}`,
    storage_class: "STANDARD",
    is_multipart: false,
    encryption_status: "SSE-S3",
    is_bucket_key_enabled: false,
    kms_key_arn: null,
    checksum_algorithm: "CRC64NVME",
    object_tags: {},
    user_metadata: {},
    requester: TEST_ACCOUNT_ID,
    source_ip_address: "127.0.0.1",
    request_id: `REQ${i}`,
  };
}

let server: TestServer;
let other: { accessKeyId: string; secretAccessKey: string };
let otherAccountId: string;

const json = (r: RawResponse) => JSON.parse(r.text) as Record<string, unknown>;
const get = (path: string, query: Record<string, string> = {}, credentials = ROOT) => signedFetch(server.url, credentials, "GET", BASE + path, query);
const head = (path: string, credentials = ROOT) => signedFetch(server.url, credentials, "HEAD", BASE + path, {});

function assertError(r: RawResponse, status: number, type: string): void {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get("content-type") ?? "", /application\/json/);
  const body = json(r) as { error: { message: string; type: string; code: number } };
  assert.deepEqual(Object.keys(body), ["error"]);
  assert.equal(body.error.type, type);
  assert.equal(body.error.code, status);
  assert.equal(typeof body.error.message, "string");
}

/** A request sent exactly as written (fetch would resolve "." and ".." segments before sending). */
function rawGet(path: string): Promise<{ status: number; text: string }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method: "GET", path }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode!, text }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** A fetch that signs every request with SigV4 (signing name s3 unless told), as an Iceberg client with SigV4 enabled does. */
function sigv4Fetch(credentials: { accessKeyId: string; secretAccessKey: string }, seen: { url: string; status: number; body: string }[], service = "s3"): typeof fetch {
  const signed = signingFetch(credentials, service);
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const res = await signed(url, init);
    seen.push({ url: url.pathname + url.search, status: res.status, body: await res.clone().text() });
    return res;
  }) as typeof fetch;
}

before(async () => {
  server = await startTestServer();
  // The warehouse is made as S3 Metadata makes it: CreateBucket refuses the managed name.
  assert.equal(await ensureManagedTableBucket(server.context, TEST_ACCOUNT_ID), undefined);
  for (const Bucket of [SHARED, PUBLIC]) await server.client.send(new CreateBucketCommand({ Bucket }));
  await createTable(server.context, JOURNAL, JOURNAL_SCHEMA);
  await appendRows(server.context, JOURNAL, [0, 1, 2].map(journalRow));
  await createTable(server.context, INVENTORY, INVENTORY_SCHEMA);
  // Objects that are not tables: a file beside the namespaces, and a folder without table metadata.
  await server.client.send(new PutObjectCommand({ Bucket: WAREHOUSE, Key: "loose.txt", Body: "x" }));
  await server.client.send(new PutObjectCommand({ Bucket: WAREHOUSE, Key: "b_photos/notes/readme.txt", Body: "x" }));
  for (const bucket of [SHARED, PUBLIC]) await createTable(server.context, { bucket, prefix: "aws_s3_metadata/photos_journal/" }, JOURNAL_SCHEMA);

  const creds = await createAccount(server.context.metadata, loadSealingKey(server.dataDir), {}, new Date());
  other = { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey };
  otherAccountId = creds.accountId;
  // The other account may list SHARED but not read its objects; anyone may read PUBLIC.
  await server.client.send(
    new PutBucketPolicyCommand({
      Bucket: SHARED,
      Policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${creds.accountId}:root` }, Action: "s3:ListBucket", Resource: `arn:aws:s3:::${SHARED}` }],
      }),
    }),
  );
  await server.client.send(
    new PutBucketPolicyCommand({
      Bucket: PUBLIC,
      Policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Principal: "*", Action: "s3:ListBucket", Resource: `arn:aws:s3:::${PUBLIC}` },
          { Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: `arn:aws:s3:::${PUBLIC}/*` },
        ],
      }),
    }),
  );
});

after(async () => {
  await server?.stop();
});

describe("Iceberg REST catalog: signed requests", () => {
  it("answers GET /v1/config with the warehouse bucket as the prefix, for a bucket name, an s3:// URI or a table bucket ARN", async () => {
    for (const warehouse of [WAREHOUSE, `s3://${WAREHOUSE}/`, `arn:aws:s3tables:us-east-1:${TEST_ACCOUNT_ID}:bucket/aws-s3`]) {
      const r = await get("/v1/config", { warehouse });
      assert.equal(r.status, 200, r.text);
      const body = json(r);
      assert.deepEqual(body.defaults, {});
      assert.deepEqual(body.overrides, { prefix: WAREHOUSE });
      assert.ok((body.endpoints as string[]).includes("GET /v1/{prefix}/namespaces/{namespace}/tables/{table}"));
      assert.ok(!(body.endpoints as string[]).some((e) => !e.startsWith("GET ") && !e.startsWith("HEAD ")), "only reads are advertised");
    }
  });

  it("takes the caller's own aws-s3-<account> bucket when config names no warehouse", async () => {
    const r = await get("/v1/config");
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(json(r).overrides, { prefix: WAREHOUSE });
  });

  it("lists the warehouse's namespaces: its first key level, not loose objects", async () => {
    const r = await get(`/v1/${WAREHOUSE}/namespaces`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(json(r), { namespaces: [["b_photos"]] });
  });

  it("answers a namespace's metadata, 204 to HEAD, and no children under a parent", async () => {
    const r = await get(`/v1/${WAREHOUSE}/namespaces/b_photos`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(json(r), { namespace: ["b_photos"], properties: {} });
    const h = await head(`/v1/${WAREHOUSE}/namespaces/b_photos`);
    assert.equal(h.status, 204);
    assert.equal(h.text, "");
    const children = await get(`/v1/${WAREHOUSE}/namespaces`, { parent: "b_photos" });
    assert.equal(children.status, 200, children.text);
    assert.deepEqual(json(children), { namespaces: [] });
  });

  it("lists a namespace's tables: the prefixes holding table metadata only", async () => {
    const r = await get(`/v1/${WAREHOUSE}/namespaces/b_photos/tables`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(json(r), {
      identifiers: [
        { namespace: ["b_photos"], name: "inventory" },
        { namespace: ["b_photos"], name: "journal" },
      ],
    });
  });

  it("loads a table: LoadTableResult with the current metadata file's location and its metadata", async () => {
    const current = (await loadTable(server.context, JOURNAL))!;
    const r = await get(`/v1/${WAREHOUSE}/namespaces/b_photos/tables/journal`);
    assert.equal(r.status, 200, r.text);
    const body = json(r);
    assert.equal(body["metadata-location"], `s3://${WAREHOUSE}/b_photos/journal/metadata/v2.metadata.json`);
    assert.equal(body["metadata-location"], current.metadataUri);
    assert.deepEqual(body.metadata, current.metadata);
    assert.equal(typeof body.config, "object");
    const etag = r.headers.get("etag");
    assert.ok(etag);
    const again = await signedFetch(server.url, ROOT, "GET", `${BASE}/v1/${WAREHOUSE}/namespaces/b_photos/tables/journal`, {}, undefined, { "if-none-match": etag });
    assert.equal(again.status, 304);
    const h = await head(`/v1/${WAREHOUSE}/namespaces/b_photos/tables/journal`);
    assert.equal(h.status, 204);
  });

  it("keeps only the snapshots a branch or tag names with snapshots=refs", async () => {
    const r = await get(`/v1/${WAREHOUSE}/namespaces/b_photos/tables/journal`, { snapshots: "refs" });
    assert.equal(r.status, 200, r.text);
    const metadata = json(r).metadata as { snapshots: { "snapshot-id": number }[]; "current-snapshot-id": number };
    assert.deepEqual(metadata.snapshots.map((s) => s["snapshot-id"]), [metadata["current-snapshot-id"]]);
    assertError(await get(`/v1/${WAREHOUSE}/namespaces/b_photos/tables/journal`, { snapshots: "some" }), 400, "BadRequestException");
  });

  it("pages namespaces and tables when the client asks (pageToken, pageSize), each name once, in key order", async () => {
    // "b_pag-a/" sorts before "b_pag/": pages follow the keys, not the names.
    const extra = ["b_pag/x", "b_pag-a/x", "b_pag.b/x", "b_paz/x"];
    for (const Key of extra) await server.client.send(new PutObjectCommand({ Bucket: WAREHOUSE, Key, Body: "x" }));
    try {
      const seen: string[] = [];
      let token = "";
      let pages = 0;
      do {
        const r = await get(`/v1/${WAREHOUSE}/namespaces`, { pageToken: token, pageSize: "2" });
        assert.equal(r.status, 200, r.text);
        const body = json(r) as { namespaces: string[][]; "next-page-token": string | null };
        assert.ok(body.namespaces.length <= 2);
        seen.push(...body.namespaces.map((n) => n[0]!));
        token = body["next-page-token"] ?? "";
        pages++;
      } while (token !== "");
      assert.deepEqual(seen, ["b_pag-a", "b_pag.b", "b_pag", "b_paz", "b_photos"]);
      assert.equal(pages, 3);
      // Without a page asked for, everything at once and no token, as before.
      assert.deepEqual(Object.keys(json(await get(`/v1/${WAREHOUSE}/namespaces`))), ["namespaces"]);

      const first = json(await get(`/v1/${WAREHOUSE}/namespaces/b_photos/tables`, { pageToken: "", pageSize: "1" })) as { identifiers: { name: string }[]; "next-page-token": string };
      assert.deepEqual(first.identifiers.map((t) => t.name), ["inventory"]);
      const second = json(await get(`/v1/${WAREHOUSE}/namespaces/b_photos/tables`, { pageToken: first["next-page-token"], pageSize: "1" }));
      assert.deepEqual(second, { identifiers: [{ namespace: ["b_photos"], name: "journal" }], "next-page-token": null });

      assertError(await get(`/v1/${WAREHOUSE}/namespaces`, { pageSize: "0" }), 400, "BadRequestException");
      assertError(await get(`/v1/${WAREHOUSE}/namespaces`, { pageSize: "2x" }), 400, "BadRequestException");
      assertError(await get(`/v1/${WAREHOUSE}/namespaces`, { pageToken: "not/a/token" }), 400, "BadRequestException");
    } finally {
      for (const Key of extra) await server.client.send(new DeleteObjectCommand({ Bucket: WAREHOUSE, Key }));
    }
  });
});

describe("Iceberg REST catalog: iceberg-js", () => {
  it("lists namespaces and tables and loads the table whose metadata-location is the current metadata file", async () => {
    const seen: { url: string; status: number; body: string }[] = [];
    const catalog = new IcebergRestCatalog({ baseUrl: `${server.url}${BASE}`, catalogName: WAREHOUSE, fetch: sigv4Fetch(ROOT, seen) });
    assert.deepEqual(await catalog.listNamespaces(), [{ namespace: ["b_photos"] }]);
    assert.deepEqual(await catalog.loadNamespaceMetadata({ namespace: ["b_photos"] }), { properties: {} });
    assert.equal(await catalog.namespaceExists({ namespace: ["b_photos"] }), true);
    assert.equal(await catalog.namespaceExists({ namespace: ["b_nothing"] }), false);
    assert.deepEqual(await catalog.listTables({ namespace: ["b_photos"] }), [
      { namespace: ["b_photos"], name: "inventory" },
      { namespace: ["b_photos"], name: "journal" },
    ]);
    assert.equal(await catalog.tableExists({ namespace: ["b_photos"], name: "journal" }), true);
    assert.equal(await catalog.tableExists({ namespace: ["b_photos"], name: "nothing" }), false);

    const current = (await loadTable(server.context, JOURNAL))!;
    const metadata = await catalog.loadTable({ namespace: ["b_photos"], name: "journal" });
    assert.equal(metadata["table-uuid"], current.metadata["table-uuid"]);
    assert.equal(metadata["current-snapshot-id"], current.metadata["current-snapshot-id"]);
    // iceberg-js hands back the metadata only; the answer it received names where that metadata is.
    const loaded = seen.find((s) => s.url.endsWith("/namespaces/b_photos/tables/journal") && s.status === 200)!;
    assert.equal(JSON.parse(loaded.body)["metadata-location"], current.metadataUri);

    await assert.rejects(catalog.loadTable({ namespace: ["b_photos"], name: "nothing" }), (err: unknown) => {
      assert.ok(err instanceof IcebergError);
      assert.equal(err.status, 404);
      assert.equal(err.icebergType, "NoSuchTableException");
      return true;
    });
    await assert.rejects(catalog.createNamespace({ namespace: ["b_new"] }), (err: unknown) => err instanceof IcebergError && err.status === 405);
    await assert.rejects(catalog.dropTable({ namespace: ["b_photos"], name: "journal" }), (err: unknown) => err instanceof IcebergError && err.status === 405);
    assert.ok(await loadTable(server.context, JOURNAL), "the table is still there");
  });

  it("refuses iceberg-js signed by another account with 403", async () => {
    const catalog = new IcebergRestCatalog({ baseUrl: `${server.url}${BASE}`, catalogName: WAREHOUSE, fetch: sigv4Fetch(other, []) });
    await assert.rejects(catalog.listNamespaces(), (err: unknown) => err instanceof IcebergError && err.status === 403);
  });
});

describe("Iceberg REST catalog: refusals", () => {
  it("refuses another account the owner's tables with 403 ForbiddenException", async () => {
    for (const path of [
      `/v1/${WAREHOUSE}/namespaces`,
      `/v1/${WAREHOUSE}/namespaces/b_photos`,
      `/v1/${WAREHOUSE}/namespaces/b_photos/tables`,
      `/v1/${WAREHOUSE}/namespaces/b_photos/tables/journal`,
      // A missing table is refused like a present one: the stranger learns nothing of which exist.
      `/v1/${WAREHOUSE}/namespaces/b_photos/tables/nothing`,
      `/v1/${WAREHOUSE}/namespaces/b_nothing/tables`,
    ]) {
      assertError(await get(path, {}, other), 403, "ForbiddenException");
    }
    assertError(await get("/v1/config", { warehouse: WAREHOUSE }, other), 403, "ForbiddenException");
    assert.equal((await head(`/v1/${WAREHOUSE}/namespaces/b_photos/tables/journal`, other)).status, 403);
  });

  it("authorizes each call as its S3 read: s3:ListBucket lists, loading needs s3:GetObject on the metadata file", async () => {
    const listed = await get(`/v1/${SHARED}/namespaces/aws_s3_metadata/tables`, {}, other);
    assert.equal(listed.status, 200, listed.text);
    assert.deepEqual(json(listed), { identifiers: [{ namespace: ["aws_s3_metadata"], name: "photos_journal" }] });
    assertError(await get(`/v1/${SHARED}/namespaces/aws_s3_metadata/tables/photos_journal`, {}, other), 403, "ForbiddenException");
    // Allowed to list, the caller learns that a table is missing, as GetObject's 404 tells it.
    assertError(await get(`/v1/${SHARED}/namespaces/aws_s3_metadata/tables/nothing`, {}, other), 404, "NoSuchTableException");
  });

  it("refuses a table whose metadata file is not JSON 403 or 401 to callers who may not read it: nothing of the file is opened first", async () => {
    await server.client.send(new PutObjectCommand({ Bucket: WAREHOUSE, Key: "b_broken/broken/metadata/v1.metadata.json", Body: "not json" }));
    const path = `/v1/${WAREHOUSE}/namespaces/b_broken/tables/broken`;
    assertError(await get(path, {}, other), 403, "ForbiddenException");
    const r = await fetch(`${server.url}${BASE}${path}`);
    assertError({ status: r.status, headers: r.headers, text: await r.text() }, 401, "NotAuthorizedException");
    // Only the owner, who may read the file, learns that it does not parse.
    assertError(await get(path), 500, "ServerErrorException");
  });

  it("answers anonymous requests 401, unless a bucket policy allows the same anonymous S3 read", async () => {
    for (const path of [`/v1/config?warehouse=${WAREHOUSE}`, `/v1/${WAREHOUSE}/namespaces`, `/v1/${WAREHOUSE}/namespaces/b_photos/tables/journal`]) {
      const r = await fetch(`${server.url}${BASE}${path}`);
      assertError({ status: r.status, headers: r.headers, text: await r.text() }, 401, "NotAuthorizedException");
    }
    const r = await fetch(`${server.url}${BASE}/v1/config`);
    assert.equal(r.status, 400, "no warehouse and no caller to take one from");
    const listed = await fetch(`${server.url}${BASE}/v1/${PUBLIC}/namespaces/aws_s3_metadata/tables`);
    assert.equal(listed.status, 200);
    const loaded = await fetch(`${server.url}${BASE}/v1/${PUBLIC}/namespaces/aws_s3_metadata/tables/photos_journal`);
    assert.equal(loaded.status, 200);
    assert.equal(((await loaded.json()) as Record<string, unknown>)["metadata-location"], `s3://${PUBLIC}/aws_s3_metadata/photos_journal/metadata/v1.metadata.json`);
  });

  it("takes S3 Tables' signing name s3tables as Iceberg clients send it, which S3 requests may not use", async () => {
    const seen: { url: string; status: number; body: string }[] = [];
    const res = await sigv4Fetch(ROOT, seen, "s3tables")(`${server.url}${BASE}/v1/${WAREHOUSE}/namespaces/b_photos/tables/journal`);
    assert.equal(res.status, 200, seen[0]?.body);
    assert.match(((await res.json()) as { "metadata-location": string })["metadata-location"], /v2\.metadata\.json$/);
    const s3 = await sigv4Fetch(ROOT, seen, "s3tables")(`${server.url}/${WAREHOUSE}?list-type=2`);
    assert.equal(s3.status, 400);
    assert.match(await s3.text(), /<Code>AuthorizationHeaderMalformed<\/Code>[\s\S]*expecting &apos;s3&apos;</);
    const other = await sigv4Fetch(ROOT, seen, "s3-outposts")(`${server.url}${BASE}/v1/config?warehouse=${WAREHOUSE}`);
    assert.equal(other.status, 401);
  });

  it("answers 401 to a request whose signature does not verify", async () => {
    const r = await get(`/v1/${WAREHOUSE}/namespaces`, {}, { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: "not-the-secret" });
    assertError(r, 401, "NotAuthorizedException");
    assert.doesNotMatch(r.text, /CanonicalRequest|StringToSign/);
  });

  it("answers every write 405, read-only, before anything else", async () => {
    for (const [method, path] of [
      ["POST", `/v1/${WAREHOUSE}/namespaces`],
      ["DELETE", `/v1/${WAREHOUSE}/namespaces/b_photos`],
      ["POST", `/v1/${WAREHOUSE}/namespaces/b_photos/tables`],
      ["POST", `/v1/${WAREHOUSE}/namespaces/b_photos/tables/journal`],
      ["DELETE", `/v1/${WAREHOUSE}/namespaces/b_photos/tables/journal`],
      ["PUT", `/v1/${WAREHOUSE}/namespaces/b_photos/tables/journal`],
      ["POST", `/v1/${WAREHOUSE}/transactions/commit`],
    ] as const) {
      const r = await signedFetch(server.url, ROOT, method, BASE + path, {}, method === "DELETE" ? undefined : "{}", { "content-type": "application/json" });
      assertError(r, 405, "UnsupportedOperationException");
      assert.equal(r.headers.get("allow"), "GET, HEAD");
    }
  });

  it("serves no aws-s3-<account> bucket owned by another account as that account's warehouse, nor a bucket its ARN's account does not own", async () => {
    // Made as a data directory from before CreateBucket refused the name would have it: the
    // other account holds the victim's managed name.
    const victim = await createAccount(server.context.metadata, loadSealingKey(server.dataDir), {}, new Date());
    const squatted = `aws-s3-${victim.accountId}`;
    assert.ok(await createBucket(server.context, { name: squatted, ownerAccountId: otherAccountId, settings: [] }));
    await createTable(server.context, { bucket: squatted, prefix: "b_photos/journal/" }, JOURNAL_SCHEMA);
    const asVictim = { accessKeyId: victim.accessKeyId, secretAccessKey: victim.secretAccessKey };
    assertError(await get("/v1/config", {}, asVictim), 404, "NoSuchWarehouseException");
    assertError(await get("/v1/config", { warehouse: `arn:aws:s3tables:us-east-1:${victim.accountId}:bucket/aws-s3` }, asVictim), 404, "NoSuchWarehouseException");
    for (const caller of [asVictim, other]) {
      assertError(await get(`/v1/${squatted}/namespaces/b_photos/tables/journal`, {}, caller), 404, "NoSuchWarehouseException");
    }
    // An ARN names its account's bucket: the owner's bucket is not another account's warehouse.
    assertError(await get("/v1/config", { warehouse: `arn:aws:s3tables:us-east-1:${otherAccountId}:bucket/${SHARED}` }), 404, "NoSuchWarehouseException");
    assert.equal((await get("/v1/config", { warehouse: `arn:aws:s3tables:us-east-1:${TEST_ACCOUNT_ID}:bucket/${SHARED}` })).status, 200);
  });

  it("answers 404 for unknown warehouses, namespaces and tables", async () => {
    assertError(await get("/v1/config", { warehouse: "no-such-warehouse" }), 404, "NoSuchWarehouseException");
    assertError(await get(`/v1/no-such-warehouse/namespaces`), 404, "NoSuchWarehouseException");
    assertError(await get(`/v1/${WAREHOUSE}/namespaces/b_nothing`), 404, "NoSuchNamespaceException");
    assert.equal((await head(`/v1/${WAREHOUSE}/namespaces/b_nothing`)).status, 404);
    assertError(await get(`/v1/${WAREHOUSE}/namespaces/b_nothing/tables`), 404, "NoSuchNamespaceException");
    assertError(await get(`/v1/${WAREHOUSE}/namespaces/b_photos/tables/nothing`), 404, "NoSuchTableException");
    // A folder under the namespace that holds no table metadata is no table.
    assertError(await get(`/v1/${WAREHOUSE}/namespaces/b_photos/tables/notes`), 404, "NoSuchTableException");
    assert.equal((await head(`/v1/${WAREHOUSE}/namespaces/b_photos/tables/nothing`)).status, 404);
    assertError(await get(`/v1/${WAREHOUSE}/namespaces`, { parent: "b_nothing" }), 404, "NoSuchNamespaceException");
  });

  it("refuses multi-level namespaces and names that would leave their key segment with 400", async () => {
    for (const path of [
      `/v1/${WAREHOUSE}/namespaces/b_photos%1Fjournal`,
      `/v1/${WAREHOUSE}/namespaces/b_photos%1Fjournal/tables`,
      `/v1/${WAREHOUSE}/namespaces/%2e%2e/tables`,
      `/v1/${WAREHOUSE}/namespaces/..%2Fother/tables`,
      `/v1/${WAREHOUSE}/namespaces/b_photos%2Fjournal/tables`,
      `/v1/${WAREHOUSE}/namespaces/b_photos/tables/..%2Fjournal`,
      `/v1/${WAREHOUSE}/namespaces/b_photos/tables/journal%2Fmetadata`,
      `/v1/${WAREHOUSE}/namespaces/b_photos/tables/%2e`,
      `/v1/${WAREHOUSE}/namespaces/B_PHOTOS/tables`,
      `/v1/${WAREHOUSE}/namespaces/b_photos/tables/journal/extra`,
      `/v1/${WAREHOUSE}%2Fb_photos/namespaces`,
      `/v1/%2e%2e/namespaces`,
      `/v2/${WAREHOUSE}/namespaces`,
    ]) {
      const r = await get(path);
      assert.equal(r.status, 400, `${path}: ${r.text}`);
      assertError(r, 400, "BadRequestException");
    }
    assertError(await get(`/v1/${WAREHOUSE}/namespaces`, { parent: "b_photos\u001fjournal" }), 400, "BadRequestException");
    // Bad percent-encoding is refused by the edge before the catalog sees the path (S3's InvalidURI).
    assert.equal((await get(`/v1/${WAREHOUSE}/namespaces/%ZZ`)).status, 400);
    // Dot segments sent as they are, not resolved by the client.
    for (const path of [`${BASE}/v1/${WAREHOUSE}/namespaces/../../${WAREHOUSE}/namespaces`, `${BASE}/v1/${WAREHOUSE}/namespaces/b_photos/tables/../tables/journal`, `${BASE}/../${WAREHOUSE}/loose.txt`]) {
      const r = await rawGet(path);
      assert.ok(r.status === 400 || r.status === 404 || r.status === 403, `${path}: ${r.status} ${r.text}`);
      assert.doesNotMatch(r.text, /"metadata-location"|"namespaces"|"identifiers"/);
    }
  });
});
