// The S3 Metadata configuration API through the AWS SDK v3, boto3 and the aws CLI: V2 round trips
// with the ARNs and statuses S3 answers, both updates, V1 beside V2 (405 across versions), each
// error by code and status, authorization by the IAM actions S3 names, and the configuration
// going with its bucket. docs/metadata-tables.md.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateBucketCommand,
  CreateBucketMetadataConfigurationCommand,
  CreateBucketMetadataTableConfigurationCommand,
  DeleteBucketCommand,
  DeleteBucketMetadataConfigurationCommand,
  DeleteBucketMetadataTableConfigurationCommand,
  GetBucketMetadataConfigurationCommand,
  GetBucketMetadataTableConfigurationCommand,
  HeadBucketCommand,
  PutBucketPolicyCommand,
  S3ServiceException,
  UpdateBucketMetadataInventoryTableConfigurationCommand,
  UpdateBucketMetadataJournalTableConfigurationCommand,
  type MetadataConfiguration,
  type S3Client,
} from "@aws-sdk/client-s3";
import { startTestServer, TEST_ACCESS_KEY, TEST_ACCOUNT_ID, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import { createAccount, loadSealingKey } from "../../src/auth/accounts.js";
import { signedFetch } from "../helpers/raw.js";
import { readMetadataConfiguration, updateMetadataConfiguration, withTableStatus } from "../../src/metadata-tables/config.js";

const run = promisify(execFile);
const REGION = "us-east-1";
const TABLE_BUCKET_ARN = `arn:aws:s3tables:${REGION}:${TEST_ACCOUNT_ID}:bucket/aws-s3`;
const TABLE_ARN = new RegExp(`^arn:aws:s3tables:${REGION}:${TEST_ACCOUNT_ID}:bucket/aws-s3/table/[0-9a-f-]{36}$`);

async function failure(p: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof S3ServiceException, String(e));
    return { name: e.name, status: e.$metadata.httpStatusCode };
  }
  assert.fail("expected an error");
}

const basic = (days = 7): MetadataConfiguration => ({
  JournalTableConfiguration: { RecordExpiration: { Expiration: "ENABLED", Days: days } },
  InventoryTableConfiguration: { ConfigurationState: "DISABLED" },
});

describe("S3 Metadata configurations", () => {
  let server: TestServer;
  let s3: S3Client;

  before(async () => {
    // The tables engine's passes far apart: these tests read the statuses the API itself sets.
    server = await startTestServer({ metadataJournalIntervalMs: 3_600_000, metadataInventoryIntervalMs: 3_600_000 });
    s3 = server.client;
  });
  after(async () => {
    await server.stop();
  });

  async function bucket(name: string): Promise<string> {
    await s3.send(new CreateBucketCommand({ Bucket: name }));
    return name;
  }

  it("creates a V2 configuration and answers it with S3's destination, table names, ARNs and statuses", async () => {
    const Bucket = await bucket("journaled");
    const created = await s3.send(new CreateBucketMetadataConfigurationCommand({ Bucket, MetadataConfiguration: basic(30) }));
    assert.equal(created.$metadata.httpStatusCode, 200);
    const got = await s3.send(new GetBucketMetadataConfigurationCommand({ Bucket }));
    const r = got.GetBucketMetadataConfigurationResult?.MetadataConfigurationResult;
    assert.deepEqual(r?.DestinationResult, { TableBucketArn: TABLE_BUCKET_ARN, TableBucketType: "aws", TableNamespace: "b_journaled" });
    assert.equal(r?.JournalTableConfigurationResult?.TableName, "journal");
    assert.equal(r?.JournalTableConfigurationResult?.TableStatus, "CREATING");
    assert.match(r?.JournalTableConfigurationResult?.TableArn ?? "", TABLE_ARN);
    assert.deepEqual(r?.JournalTableConfigurationResult?.RecordExpiration, { Expiration: "ENABLED", Days: 30 });
    assert.equal(r?.JournalTableConfigurationResult?.Error, undefined);
    // A disabled inventory table has no name, ARN or status (as S3 answers it).
    assert.deepEqual(r?.InventoryTableConfigurationResult, { ConfigurationState: "DISABLED" });
    // The account's tables live in an ordinary bucket it owns, made on first use.
    await s3.send(new HeadBucketCommand({ Bucket: `aws-s3-${TEST_ACCOUNT_ID}` }));
  });

  it("creates the inventory table when enabled: CREATING with its own ARN; encryption is kept but not answered", async () => {
    const Bucket = await bucket("inventoried-live");
    await s3.send(
      new CreateBucketMetadataConfigurationCommand({
        Bucket,
        MetadataConfiguration: {
          JournalTableConfiguration: { RecordExpiration: { Expiration: "DISABLED" }, EncryptionConfiguration: { SseAlgorithm: "AES256" } },
          InventoryTableConfiguration: { ConfigurationState: "ENABLED", EncryptionConfiguration: { SseAlgorithm: "AES256" } },
        },
      }),
    );
    const r = (await s3.send(new GetBucketMetadataConfigurationCommand({ Bucket }))).GetBucketMetadataConfigurationResult?.MetadataConfigurationResult;
    assert.deepEqual(r?.JournalTableConfigurationResult?.RecordExpiration, { Expiration: "DISABLED" });
    const inv = r?.InventoryTableConfigurationResult;
    assert.equal(inv?.ConfigurationState, "ENABLED");
    assert.equal(inv?.TableName, "inventory");
    assert.equal(inv?.TableStatus, "CREATING");
    assert.match(inv?.TableArn ?? "", TABLE_ARN);
    assert.notEqual(inv?.TableArn, r?.JournalTableConfigurationResult?.TableArn);
    const stored = await readMetadataConfiguration(server.context.metadata, Bucket);
    assert.equal(stored?.version, 2);
    assert.deepEqual(stored?.version === 2 && stored.inventory.table?.encryption, { sseAlgorithm: "AES256" });
  });

  it("updates journal record expiration and enables then disables the inventory table", async () => {
    const Bucket = await bucket("updated");
    await s3.send(new CreateBucketMetadataConfigurationCommand({ Bucket, MetadataConfiguration: basic() }));
    const journalArn = (await s3.send(new GetBucketMetadataConfigurationCommand({ Bucket }))).GetBucketMetadataConfigurationResult?.MetadataConfigurationResult
      ?.JournalTableConfigurationResult?.TableArn;

    const j = await s3.send(new UpdateBucketMetadataJournalTableConfigurationCommand({ Bucket, JournalTableConfiguration: { RecordExpiration: { Expiration: "ENABLED", Days: 365 } } }));
    assert.equal(j.$metadata.httpStatusCode, 200);
    const i = await s3.send(new UpdateBucketMetadataInventoryTableConfigurationCommand({ Bucket, InventoryTableConfiguration: { ConfigurationState: "ENABLED" } }));
    assert.equal(i.$metadata.httpStatusCode, 200);
    let r = (await s3.send(new GetBucketMetadataConfigurationCommand({ Bucket }))).GetBucketMetadataConfigurationResult?.MetadataConfigurationResult;
    assert.deepEqual(r?.JournalTableConfigurationResult?.RecordExpiration, { Expiration: "ENABLED", Days: 365 });
    assert.equal(r?.JournalTableConfigurationResult?.TableArn, journalArn, "the journal table stays the same table");
    assert.equal(r?.InventoryTableConfigurationResult?.TableStatus, "CREATING");
    const inventoryArn = r?.InventoryTableConfigurationResult?.TableArn;

    // Enabling an enabled table keeps it, whatever state the engine has moved it to.
    const stored = await readMetadataConfiguration(server.context.metadata, Bucket);
    assert.ok(stored);
    await updateMetadataConfiguration(server.context.metadata, Bucket, stored, (now) => withTableStatus(now, "inventory", "BACKFILLING"));
    await s3.send(new UpdateBucketMetadataInventoryTableConfigurationCommand({ Bucket, InventoryTableConfiguration: { ConfigurationState: "ENABLED" } }));
    r = (await s3.send(new GetBucketMetadataConfigurationCommand({ Bucket }))).GetBucketMetadataConfigurationResult?.MetadataConfigurationResult;
    assert.equal(r?.InventoryTableConfigurationResult?.TableStatus, "BACKFILLING");
    assert.equal(r?.InventoryTableConfigurationResult?.TableArn, inventoryArn);

    await s3.send(new UpdateBucketMetadataJournalTableConfigurationCommand({ Bucket, JournalTableConfiguration: { RecordExpiration: { Expiration: "DISABLED" } } }));
    await s3.send(new UpdateBucketMetadataInventoryTableConfigurationCommand({ Bucket, InventoryTableConfiguration: { ConfigurationState: "DISABLED" } }));
    r = (await s3.send(new GetBucketMetadataConfigurationCommand({ Bucket }))).GetBucketMetadataConfigurationResult?.MetadataConfigurationResult;
    assert.deepEqual(r?.JournalTableConfigurationResult?.RecordExpiration, { Expiration: "DISABLED" });
    assert.deepEqual(r?.InventoryTableConfigurationResult, { ConfigurationState: "DISABLED" });
  });

  it("answers a table's failure with S3's ErrorDetails: an unknown KMS key cannot encrypt a table", async () => {
    const Bucket = await bucket("bad-key");
    const KmsKeyArn = `arn:aws:kms:${REGION}:${TEST_ACCOUNT_ID}:key/00000000-0000-4000-8000-000000000000`;
    await s3.send(
      new CreateBucketMetadataConfigurationCommand({
        Bucket,
        MetadataConfiguration: { JournalTableConfiguration: { RecordExpiration: { Expiration: "DISABLED" }, EncryptionConfiguration: { SseAlgorithm: "aws:kms", KmsKeyArn } } },
      }),
    );
    const r = (await s3.send(new GetBucketMetadataConfigurationCommand({ Bucket }))).GetBucketMetadataConfigurationResult?.MetadataConfigurationResult;
    assert.equal(r?.JournalTableConfigurationResult?.TableStatus, "FAILED");
    assert.equal(r?.JournalTableConfigurationResult?.Error?.ErrorCode, "AccessDeniedCreatingResources");
    assert.ok(r?.JournalTableConfigurationResult?.Error?.ErrorMessage);
    // With no InventoryTableConfiguration at all, the inventory table is disabled.
    assert.deepEqual(r?.InventoryTableConfigurationResult, { ConfigurationState: "DISABLED" });

    const key = await server.context.keys.createKey(TEST_ACCOUNT_ID);
    const Good = await bucket("good-key");
    await s3.send(
      new CreateBucketMetadataConfigurationCommand({
        Bucket: Good,
        MetadataConfiguration: { JournalTableConfiguration: { RecordExpiration: { Expiration: "DISABLED" }, EncryptionConfiguration: { SseAlgorithm: "aws:kms", KmsKeyArn: key.arn } } },
      }),
    );
    const g = (await s3.send(new GetBucketMetadataConfigurationCommand({ Bucket: Good }))).GetBucketMetadataConfigurationResult?.MetadataConfigurationResult;
    assert.equal(g?.JournalTableConfigurationResult?.TableStatus, "CREATING");
  });

  it("answers each bad request with its code and status", async () => {
    const Bucket = await bucket("strict");
    const create = (MetadataConfiguration: MetadataConfiguration, B = Bucket) => failure(s3.send(new CreateBucketMetadataConfigurationCommand({ Bucket: B, MetadataConfiguration })));
    assert.deepEqual(await create(basic(6)), { name: "InvalidArgument", status: 400 });
    assert.deepEqual(await create(basic(2147483648)), { name: "InvalidArgument", status: 400 });
    assert.deepEqual(await create({ JournalTableConfiguration: { RecordExpiration: { Expiration: "ENABLED" } } }), { name: "InvalidArgument", status: 400 });
    assert.deepEqual(await create({ JournalTableConfiguration: { RecordExpiration: { Expiration: "SOMETIMES" as "ENABLED", Days: 9 } } }), { name: "MalformedXML", status: 400 });
    assert.deepEqual(
      await create({ JournalTableConfiguration: { RecordExpiration: { Expiration: "DISABLED" }, EncryptionConfiguration: { SseAlgorithm: "aws:kms" } } }),
      { name: "InvalidArgument", status: 400 },
    );
    assert.deepEqual(
      await create({ JournalTableConfiguration: { RecordExpiration: { Expiration: "DISABLED" } }, InventoryTableConfiguration: { ConfigurationState: "ON" as "ENABLED" } }),
      { name: "MalformedXML", status: 400 },
    );
    assert.deepEqual(
      await create({ JournalTableConfiguration: { RecordExpiration: { Expiration: "DISABLED" } }, AnnotationTableConfiguration: { ConfigurationState: "ENABLED" } }),
      { name: "NotImplemented", status: 501 },
    );
    assert.deepEqual(await create(basic(), "no-such-bucket"), { name: "NoSuchBucket", status: 404 });
    assert.deepEqual(await create(basic(), `aws-s3-${TEST_ACCOUNT_ID}`), { name: "InvalidRequest", status: 400 });

    assert.deepEqual(await failure(s3.send(new GetBucketMetadataConfigurationCommand({ Bucket }))), { name: "MetadataConfigurationNotFound", status: 404 });
    assert.deepEqual(await failure(s3.send(new DeleteBucketMetadataConfigurationCommand({ Bucket }))), { name: "MetadataConfigurationNotFound", status: 404 });
    assert.deepEqual(
      await failure(s3.send(new UpdateBucketMetadataJournalTableConfigurationCommand({ Bucket, JournalTableConfiguration: { RecordExpiration: { Expiration: "DISABLED" } } }))),
      { name: "MetadataConfigurationNotFound", status: 404 },
    );
    assert.deepEqual(
      await failure(s3.send(new UpdateBucketMetadataInventoryTableConfigurationCommand({ Bucket, InventoryTableConfiguration: { ConfigurationState: "ENABLED" } }))),
      { name: "MetadataConfigurationNotFound", status: 404 },
    );

    await s3.send(new CreateBucketMetadataConfigurationCommand({ Bucket, MetadataConfiguration: basic() }));
    assert.deepEqual(await create(basic()), { name: "MetadataConfigurationAlreadyExists", status: 409 });
    assert.deepEqual(
      await failure(s3.send(new UpdateBucketMetadataJournalTableConfigurationCommand({ Bucket, JournalTableConfiguration: { RecordExpiration: { Expiration: "ENABLED", Days: 3 } } }))),
      { name: "InvalidArgument", status: 400 },
    );
    assert.deepEqual(
      await failure(s3.send(new GetBucketMetadataConfigurationCommand({ Bucket, ExpectedBucketOwner: "999999999999" }))),
      { name: "AccessDenied", status: 403 },
    );
  });

  it("allows one configuration per bucket even when creations race", async () => {
    const Bucket = await bucket("raced");
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => s3.send(new CreateBucketMetadataConfigurationCommand({ Bucket, MetadataConfiguration: basic() }))));
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    for (const r of results) if (r.status === "rejected") assert.equal((r.reason as S3ServiceException).name, "MetadataConfigurationAlreadyExists");
  });

  it("requires Content-MD5 or a checksum on the bodies S3 requires one for", async () => {
    const Bucket = await bucket("unchecked");
    const body = "<MetadataConfiguration><JournalTableConfiguration><RecordExpiration><Expiration>DISABLED</Expiration></RecordExpiration></JournalTableConfiguration></MetadataConfiguration>";
    const res = await signedFetch(server.url, { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY }, "POST", `/${Bucket}`, { metadataConfiguration: "" }, body);
    assert.equal(res.status, 400);
    assert.match(res.text, /<Code>InvalidRequest<\/Code>/);
    const bomb = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><MetadataConfiguration>&a;</MetadataConfiguration>`;
    const md5 = (await import("node:crypto")).createHash("md5").update(bomb).digest("base64");
    const refused = await signedFetch(
      server.url,
      { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY },
      "POST",
      `/${Bucket}`,
      { metadataConfiguration: "" },
      bomb,
      { "content-md5": md5 },
    );
    assert.equal(refused.status, 400);
    assert.match(refused.text, /<Code>MalformedXML<\/Code>/);
  });

  it("keeps V1 configurations beside V2: each Get and Delete answers its own version, the other 405", async () => {
    const Tables = await bucket("my-table-bucket");
    const Bucket = await bucket("journaled-v1");
    const TableBucketArn = `arn:aws:s3tables:${REGION}:${TEST_ACCOUNT_ID}:bucket/${Tables}`;
    await s3.send(new CreateBucketMetadataTableConfigurationCommand({ Bucket, MetadataTableConfiguration: { S3TablesDestination: { TableBucketArn, TableName: "my_journal" } } }));
    const v1 = (await s3.send(new GetBucketMetadataTableConfigurationCommand({ Bucket }))).GetBucketMetadataTableConfigurationResult;
    assert.equal(v1?.Status, "CREATING");
    assert.equal(v1?.Error, undefined);
    const dest = v1?.MetadataTableConfigurationResult?.S3TablesDestinationResult;
    assert.equal(dest?.TableBucketArn, TableBucketArn);
    assert.equal(dest?.TableName, "my_journal");
    assert.equal(dest?.TableNamespace, "aws_s3_metadata");
    assert.match(dest?.TableArn ?? "", new RegExp(`^${TableBucketArn}/table/[0-9a-f-]{36}$`));

    // V2's Get answers a V1 configuration too, as a customer table bucket's.
    const v2 = (await s3.send(new GetBucketMetadataConfigurationCommand({ Bucket }))).GetBucketMetadataConfigurationResult?.MetadataConfigurationResult;
    assert.deepEqual(v2?.DestinationResult, { TableBucketArn, TableBucketType: "customer", TableNamespace: "aws_s3_metadata" });
    assert.equal(v2?.JournalTableConfigurationResult?.TableName, "my_journal");
    assert.equal(v2?.JournalTableConfigurationResult?.TableArn, dest?.TableArn);
    assert.equal(v2?.InventoryTableConfigurationResult, undefined);
    assert.deepEqual(
      await failure(s3.send(new UpdateBucketMetadataInventoryTableConfigurationCommand({ Bucket, InventoryTableConfiguration: { ConfigurationState: "ENABLED" } }))),
      { name: "MethodNotAllowed", status: 405 },
    );
    assert.deepEqual(
      await failure(s3.send(new CreateBucketMetadataTableConfigurationCommand({ Bucket, MetadataTableConfiguration: { S3TablesDestination: { TableBucketArn, TableName: "again" } } }))),
      { name: "MetadataConfigurationAlreadyExists", status: 409 },
    );
    assert.equal((await s3.send(new DeleteBucketMetadataTableConfigurationCommand({ Bucket }))).$metadata.httpStatusCode, 204);
    assert.deepEqual(await failure(s3.send(new GetBucketMetadataTableConfigurationCommand({ Bucket }))), { name: "MetadataConfigurationNotFound", status: 404 });

    // V1 operations refuse a V2 configuration with 405; V2's Delete removes a V1 one.
    await s3.send(new CreateBucketMetadataConfigurationCommand({ Bucket, MetadataConfiguration: basic() }));
    assert.deepEqual(await failure(s3.send(new GetBucketMetadataTableConfigurationCommand({ Bucket }))), { name: "MethodNotAllowed", status: 405 });
    assert.deepEqual(await failure(s3.send(new DeleteBucketMetadataTableConfigurationCommand({ Bucket }))), { name: "MethodNotAllowed", status: 405 });
    await s3.send(new DeleteBucketMetadataConfigurationCommand({ Bucket }));
    await s3.send(new CreateBucketMetadataTableConfigurationCommand({ Bucket, MetadataTableConfiguration: { S3TablesDestination: { TableBucketArn, TableName: "my_journal" } } }));
    assert.equal((await s3.send(new DeleteBucketMetadataConfigurationCommand({ Bucket }))).$metadata.httpStatusCode, 204);
  });

  it("answers a V1 table bucket that is missing or not the account's with TableBucketNotFound, and refuses bad names", async () => {
    const Bucket = await bucket("journaled-v1-missing");
    const v1 = (TableBucketArn: string, TableName = "t") =>
      s3.send(new CreateBucketMetadataTableConfigurationCommand({ Bucket, MetadataTableConfiguration: { S3TablesDestination: { TableBucketArn, TableName } } }));
    await v1(`arn:aws:s3tables:${REGION}:${TEST_ACCOUNT_ID}:bucket/not-there`);
    const got = (await s3.send(new GetBucketMetadataTableConfigurationCommand({ Bucket }))).GetBucketMetadataTableConfigurationResult;
    assert.equal(got?.Status, "FAILED");
    assert.equal(got?.Error?.ErrorCode, "TableBucketNotFound");
    await s3.send(new DeleteBucketMetadataTableConfigurationCommand({ Bucket }));

    const refused = (arn: string, name?: string) => failure(v1(arn, name));
    assert.deepEqual(await refused(`arn:aws:s3:::my-table-bucket`), { name: "InvalidArgument", status: 400 });
    assert.deepEqual(await refused(`arn:aws:s3tables:${REGION}:${TEST_ACCOUNT_ID}:bucket/Not_Valid`), { name: "InvalidArgument", status: 400 });
    assert.deepEqual(await refused(`arn:aws:s3tables:${REGION}:${TEST_ACCOUNT_ID}:bucket/my-table-bucket`, "Has-Hyphen"), { name: "InvalidArgument", status: 400 });
    assert.deepEqual(await refused(`arn:aws:s3tables:${REGION}:${TEST_ACCOUNT_ID}:bucket/${Bucket}`), { name: "InvalidRequest", status: 400 });
  });

  it("authorizes each operation by the IAM action S3 names; another account is denied without a grant", async () => {
    const Bucket = await bucket("shared-metadata");
    await s3.send(new CreateBucketMetadataConfigurationCommand({ Bucket, MetadataConfiguration: basic() }));
    const creds = await createAccount(server.context.metadata, loadSealingKey(server.dataDir), {}, new Date());
    const other = server.clientFor(creds.accessKeyId, creds.secretAccessKey);
    try {
      const denied = { name: "AccessDenied", status: 403 };
      assert.deepEqual(await failure(other.send(new GetBucketMetadataConfigurationCommand({ Bucket }))), denied);
      assert.deepEqual(await failure(other.send(new GetBucketMetadataTableConfigurationCommand({ Bucket }))), denied);
      assert.deepEqual(await failure(other.send(new DeleteBucketMetadataConfigurationCommand({ Bucket }))), denied);
      assert.deepEqual(await failure(other.send(new CreateBucketMetadataConfigurationCommand({ Bucket, MetadataConfiguration: basic() }))), denied);
      assert.deepEqual(
        await failure(other.send(new UpdateBucketMetadataJournalTableConfigurationCommand({ Bucket, JournalTableConfiguration: { RecordExpiration: { Expiration: "DISABLED" } } }))),
        denied,
      );
      assert.deepEqual(
        await failure(other.send(new UpdateBucketMetadataInventoryTableConfigurationCommand({ Bucket, InventoryTableConfiguration: { ConfigurationState: "ENABLED" } }))),
        denied,
      );

      const grant = (...actions: string[]) =>
        s3.send(
          new PutBucketPolicyCommand({
            Bucket,
            Policy: JSON.stringify({
              Version: "2012-10-17",
              Statement: [{ Effect: "Allow", Principal: { AWS: creds.accountId }, Action: actions, Resource: `arn:aws:s3:::${Bucket}` }],
            }),
          }),
        );
      await grant("s3:GetBucketMetadataTableConfiguration", "s3:UpdateBucketMetadataJournalTableConfiguration");
      const got = await other.send(new GetBucketMetadataConfigurationCommand({ Bucket }));
      assert.equal(got.GetBucketMetadataConfigurationResult?.MetadataConfigurationResult?.JournalTableConfigurationResult?.TableName, "journal");
      await other.send(new UpdateBucketMetadataJournalTableConfigurationCommand({ Bucket, JournalTableConfiguration: { RecordExpiration: { Expiration: "ENABLED", Days: 10 } } }));
      assert.deepEqual(
        await failure(other.send(new UpdateBucketMetadataInventoryTableConfigurationCommand({ Bucket, InventoryTableConfiguration: { ConfigurationState: "ENABLED" } }))),
        denied,
      );
      assert.deepEqual(await failure(other.send(new DeleteBucketMetadataConfigurationCommand({ Bucket }))), denied);

      await grant("s3:UpdateBucketMetadataInventoryTableConfiguration", "s3:DeleteBucketMetadataTableConfiguration", "s3:CreateBucketMetadataTableConfiguration");
      await other.send(new UpdateBucketMetadataInventoryTableConfigurationCommand({ Bucket, InventoryTableConfiguration: { ConfigurationState: "ENABLED" } }));
      await other.send(new DeleteBucketMetadataConfigurationCommand({ Bucket }));
      await other.send(new CreateBucketMetadataConfigurationCommand({ Bucket, MetadataConfiguration: basic() }));
      // The tables belong to the source bucket's owner, whoever configured them.
      const stored = await readMetadataConfiguration(server.context.metadata, Bucket);
      assert.equal(stored?.accountId, TEST_ACCOUNT_ID);
      assert.equal(stored?.destination.bucket, `aws-s3-${TEST_ACCOUNT_ID}`);
    } finally {
      other.destroy();
    }
  });

  it("keeps the configuration across a restart and removes it with its bucket", async () => {
    server = await server.restart();
    s3 = server.client;
    const r = (await s3.send(new GetBucketMetadataConfigurationCommand({ Bucket: "journaled" }))).GetBucketMetadataConfigurationResult;
    assert.equal(r?.MetadataConfigurationResult?.JournalTableConfigurationResult?.RecordExpiration?.Days, 30);

    const Bucket = await bucket("short-lived-metadata");
    await s3.send(new CreateBucketMetadataConfigurationCommand({ Bucket, MetadataConfiguration: basic() }));
    await s3.send(new DeleteBucketCommand({ Bucket }));
    assert.equal(await readMetadataConfiguration(server.context.metadata, Bucket), undefined);
    await s3.send(new CreateBucketCommand({ Bucket }));
    assert.deepEqual(await failure(s3.send(new GetBucketMetadataConfigurationCommand({ Bucket }))), { name: "MetadataConfigurationNotFound", status: 404 });
  });

  it("round-trips through boto3 and the aws CLI", async () => {
    const work = mkdtempSync(join(tmpdir(), "stocktake-meta-"));
    const env = {
      ...process.env,
      AWS_ENDPOINT_URL: server.url,
      AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY,
      AWS_SECRET_ACCESS_KEY: TEST_SECRET_KEY,
      AWS_DEFAULT_REGION: REGION,
      AWS_CONFIG_FILE: join(work, "config"),
      AWS_SHARED_CREDENTIALS_FILE: join(work, "credentials"),
    };
    const boto = `
import boto3, os
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], config=boto3.session.Config(s3={"addressing_style": "path"}))
b = "boto-metadata"
s3.create_bucket(Bucket=b)
s3.create_bucket_metadata_configuration(Bucket=b, MetadataConfiguration={
    "JournalTableConfiguration": {"RecordExpiration": {"Expiration": "ENABLED", "Days": 14}},
    "InventoryTableConfiguration": {"ConfigurationState": "ENABLED", "EncryptionConfiguration": {"SseAlgorithm": "AES256"}},
})
r = s3.get_bucket_metadata_configuration(Bucket=b)["GetBucketMetadataConfigurationResult"]["MetadataConfigurationResult"]
assert r["DestinationResult"]["TableNamespace"] == "b_boto-metadata", r
assert r["DestinationResult"]["TableBucketType"] == "aws", r
assert r["JournalTableConfigurationResult"]["RecordExpiration"] == {"Expiration": "ENABLED", "Days": 14}, r
assert r["InventoryTableConfigurationResult"]["TableStatus"] == "CREATING", r
s3.update_bucket_metadata_journal_table_configuration(Bucket=b, JournalTableConfiguration={"RecordExpiration": {"Expiration": "DISABLED"}})
s3.update_bucket_metadata_inventory_table_configuration(Bucket=b, InventoryTableConfiguration={"ConfigurationState": "DISABLED"})
r = s3.get_bucket_metadata_configuration(Bucket=b)["GetBucketMetadataConfigurationResult"]["MetadataConfigurationResult"]
assert r["JournalTableConfigurationResult"]["RecordExpiration"] == {"Expiration": "DISABLED"}, r
assert r["InventoryTableConfigurationResult"] == {"ConfigurationState": "DISABLED"}, r
try:
    s3.get_bucket_metadata_table_configuration(Bucket=b)
    raise SystemExit("V1 Get on a V2 configuration must fail")
except s3.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "MethodNotAllowed", e.response
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 405
s3.delete_bucket_metadata_configuration(Bucket=b)
t = "boto-tables"
s3.create_bucket(Bucket=t)
arn = "arn:aws:s3tables:us-east-1:${TEST_ACCOUNT_ID}:bucket/" + t
s3.create_bucket_metadata_table_configuration(Bucket=b, MetadataTableConfiguration={"S3TablesDestination": {"TableBucketArn": arn, "TableName": "boto_journal"}})
r = s3.get_bucket_metadata_table_configuration(Bucket=b)["GetBucketMetadataTableConfigurationResult"]
assert r["Status"] == "CREATING", r
assert r["MetadataTableConfigurationResult"]["S3TablesDestinationResult"]["TableNamespace"] == "aws_s3_metadata", r
s3.delete_bucket_metadata_table_configuration(Bucket=b)
try:
    s3.get_bucket_metadata_configuration(Bucket=b)
    raise SystemExit("the configuration must be gone")
except s3.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "MetadataConfigurationNotFound", e.response
print("boto3 metadata checks passed")
`;
    try {
      const { stdout } = await run("python3", ["-c", boto], { env, timeout: 60_000 });
      assert.match(stdout, /boto3 metadata checks passed/);

      const Bucket = await bucket("cli-metadata");
      const config = JSON.stringify({
        JournalTableConfiguration: { RecordExpiration: { Expiration: "ENABLED", Days: 90 } },
        InventoryTableConfiguration: { ConfigurationState: "DISABLED" },
      });
      await run("aws", ["s3api", "create-bucket-metadata-configuration", "--bucket", Bucket, "--metadata-configuration", config], { env });
      await run("aws", ["s3api", "update-bucket-metadata-inventory-table-configuration", "--bucket", Bucket, "--inventory-table-configuration", '{"ConfigurationState":"ENABLED"}'], { env });
      await run("aws", ["s3api", "update-bucket-metadata-journal-table-configuration", "--bucket", Bucket, "--journal-table-configuration", '{"RecordExpiration":{"Expiration":"ENABLED","Days":120}}'], { env });
      const got = JSON.parse((await run("aws", ["s3api", "get-bucket-metadata-configuration", "--bucket", Bucket], { env })).stdout);
      const r = got.GetBucketMetadataConfigurationResult.MetadataConfigurationResult;
      assert.deepEqual(r.DestinationResult, { TableBucketType: "aws", TableBucketArn: TABLE_BUCKET_ARN, TableNamespace: "b_cli-metadata" });
      assert.deepEqual(r.JournalTableConfigurationResult.RecordExpiration, { Expiration: "ENABLED", Days: 120 });
      assert.equal(r.InventoryTableConfigurationResult.ConfigurationState, "ENABLED");
      assert.equal(r.InventoryTableConfigurationResult.TableName, "inventory");
      await run("aws", ["s3api", "delete-bucket-metadata-configuration", "--bucket", Bucket], { env });
      await assert.rejects(run("aws", ["s3api", "get-bucket-metadata-configuration", "--bucket", Bucket], { env }), /MetadataConfigurationNotFound/);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
