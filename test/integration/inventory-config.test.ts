// The inventory configuration API through the AWS SDK v3, boto3 and the aws CLI: round trip of
// every element, pagination, the 1,000 limit, each error by code and status, restart survival.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketInventoryConfigurationCommand,
  GetBucketInventoryConfigurationCommand,
  ListBucketInventoryConfigurationsCommand,
  PutBucketInventoryConfigurationCommand,
  S3ServiceException,
  type InventoryConfiguration,
  type S3Client,
} from "@aws-sdk/client-s3";
import { startTestServer, TEST_ACCESS_KEY, TEST_SECRET_KEY, type TestServer } from "../helpers/server.js";
import { createAccount, loadSealingKey } from "../../src/auth/accounts.js";
import { OPTIONAL_FIELDS } from "../../src/inventory/fields.js";
import { signedFetch } from "../helpers/raw.js";

const run = promisify(execFile);

function config(id: string, extra: Partial<InventoryConfiguration> = {}): InventoryConfiguration {
  return {
    Id: id,
    IsEnabled: true,
    IncludedObjectVersions: "Current",
    Schedule: { Frequency: "Daily" },
    Destination: { S3BucketDestination: { Bucket: "arn:aws:s3:::inventory-reports", Format: "CSV" } },
    ...extra,
  };
}

async function failure(p: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof S3ServiceException, String(e));
    return { name: e.name, status: e.$metadata.httpStatusCode };
  }
  assert.fail("expected an error");
}

describe("inventory configurations", () => {
  let server: TestServer;
  let s3: S3Client;
  const Bucket = "inventoried";

  before(async () => {
    server = await startTestServer();
    s3 = server.client;
    await s3.send(new CreateBucketCommand({ Bucket }));
  });
  after(async () => {
    await server.stop();
  });

  it("round-trips every element: all 19 optional fields, SSE-KMS, filter, account id, prefix", async () => {
    const full = config("full-report", {
      IsEnabled: false,
      IncludedObjectVersions: "All",
      Filter: { Prefix: "logs/2026/" },
      OptionalFields: [...OPTIONAL_FIELDS] as InventoryConfiguration["OptionalFields"],
      Schedule: { Frequency: "Weekly" },
      Destination: {
        S3BucketDestination: {
          AccountId: "123456789012",
          Bucket: "arn:aws:s3:::inventory-reports",
          Format: "Parquet",
          Prefix: "reports/daily",
          Encryption: { SSEKMS: { KeyId: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" } },
        },
      },
    });
    const put = await s3.send(new PutBucketInventoryConfigurationCommand({ Bucket, Id: "full-report", InventoryConfiguration: full }));
    assert.equal(put.$metadata.httpStatusCode, 204);
    const got = await s3.send(new GetBucketInventoryConfigurationCommand({ Bucket, Id: "full-report" }));
    assert.deepEqual(got.InventoryConfiguration, full);

    const sses3 = config("sse-s3", { Destination: { S3BucketDestination: { Bucket: "arn:aws:s3:::inventory-reports", Format: "ORC", Encryption: { SSES3: {} } } } });
    await s3.send(new PutBucketInventoryConfigurationCommand({ Bucket, Id: "sse-s3", InventoryConfiguration: sses3 }));
    const gotS3 = await s3.send(new GetBucketInventoryConfigurationCommand({ Bucket, Id: "sse-s3" }));
    assert.deepEqual(gotS3.InventoryConfiguration, sses3);
  });

  it("replaces a configuration put again under the same id", async () => {
    await s3.send(new PutBucketInventoryConfigurationCommand({ Bucket, Id: "sse-s3", InventoryConfiguration: config("sse-s3", { IsEnabled: false }) }));
    const got = await s3.send(new GetBucketInventoryConfigurationCommand({ Bucket, Id: "sse-s3" }));
    assert.equal(got.InventoryConfiguration?.IsEnabled, false);
  });

  it("answers each bad input with S3's code and status", async () => {
    const put = (Id: string, c: InventoryConfiguration) => failure(s3.send(new PutBucketInventoryConfigurationCommand({ Bucket, Id, InventoryConfiguration: c })));
    assert.deepEqual(await put("one", config("two")), { name: "IdMismatch", status: 400 });
    const plain = config("plain", { Destination: { S3BucketDestination: { Bucket: "inventory-reports", Format: "CSV" } } });
    assert.deepEqual(await put("plain", plain), { name: "InvalidS3DestinationBucket", status: 400 });
    assert.deepEqual(await put("fmt", config("fmt", { Destination: { S3BucketDestination: { Bucket: "arn:aws:s3:::x-reports", Format: "JSON" as "CSV" } } })), { name: "MalformedXML", status: 400 });
    assert.deepEqual(await put("freq", config("freq", { Schedule: { Frequency: "Hourly" as "Daily" } })), { name: "MalformedXML", status: 400 });
    assert.deepEqual(await put("vers", config("vers", { IncludedObjectVersions: "Some" as "All" })), { name: "MalformedXML", status: 400 });
    assert.deepEqual(await put("field", config("field", { OptionalFields: ["Colour" as "Size"] })), { name: "MalformedXML", status: 400 });
    assert.deepEqual(await put("bad id!", config("bad id!")), { name: "MalformedXML", status: 400 });
    assert.deepEqual(await put("twice", config("twice", { OptionalFields: ["Size", "Size"] })), { name: "InvalidArgument", status: 400 });
    const both = config("both", { Destination: { S3BucketDestination: { Bucket: "arn:aws:s3:::x-reports", Format: "CSV", Encryption: { SSES3: {}, SSEKMS: { KeyId: "k" } } } } });
    assert.deepEqual(await put("both", both), { name: "InvalidArgument", status: 400 });
    assert.deepEqual(await failure(s3.send(new GetBucketInventoryConfigurationCommand({ Bucket, Id: "nope" }))), { name: "NoSuchConfiguration", status: 404 });
    assert.deepEqual(await failure(s3.send(new DeleteBucketInventoryConfigurationCommand({ Bucket, Id: "nope" }))), { name: "NoSuchConfiguration", status: 404 });
    assert.deepEqual(await failure(s3.send(new ListBucketInventoryConfigurationsCommand({ Bucket: "no-such-bucket" }))), { name: "NoSuchBucket", status: 404 });
    assert.deepEqual(
      await failure(s3.send(new GetBucketInventoryConfigurationCommand({ Bucket, Id: "full-report", ExpectedBucketOwner: "999999999999" }))),
      { name: "AccessDenied", status: 403 },
    );
  });

  it("refuses another account's requests for this bucket's configurations", async () => {
    const creds = await createAccount(server.context.metadata, loadSealingKey(server.dataDir), {}, new Date());
    const other = server.clientFor(creds.accessKeyId, creds.secretAccessKey);
    assert.deepEqual(await failure(other.send(new ListBucketInventoryConfigurationsCommand({ Bucket }))), { name: "AccessDenied", status: 403 });
    assert.deepEqual(
      await failure(other.send(new PutBucketInventoryConfigurationCommand({ Bucket, Id: "theirs", InventoryConfiguration: config("theirs") }))),
      { name: "AccessDenied", status: 403 },
    );
    other.destroy();
  });

  it("refuses bodies that are not XML, use entity tricks or are too large with MalformedXML", async () => {
    const send = async (body: string) => {
      const res = await signedFetch(server.url, { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY }, "PUT", `/${Bucket}`, { inventory: "", id: "raw" }, body);
      return { name: /<Code>([^<]+)<\/Code>/.exec(res.text)?.[1], status: res.status };
    };
    assert.deepEqual(await send("this is not xml"), { name: "MalformedXML", status: 400 });
    assert.deepEqual(
      await send(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><InventoryConfiguration><Id>&b;</Id></InventoryConfiguration>`),
      { name: "MalformedXML", status: 400 },
    );
    assert.deepEqual(await send(`<InventoryConfiguration>${" ".repeat(100 * 1024)}</InventoryConfiguration>`), { name: "MalformedXML", status: 400 });
  });

  it("lists 150 configurations in pages of 100, sorted by id", async () => {
    const B = "many-configs";
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    const ids = Array.from({ length: 150 }, (_, i) => `cfg-${String(i).padStart(3, "0")}`);
    const shuffled = [...ids].sort(() => Math.random() - 0.5);
    await Promise.all(shuffled.map((Id) => s3.send(new PutBucketInventoryConfigurationCommand({ Bucket: B, Id, InventoryConfiguration: config(Id) }))));
    const first = await s3.send(new ListBucketInventoryConfigurationsCommand({ Bucket: B }));
    assert.equal(first.InventoryConfigurationList?.length, 100);
    assert.equal(first.IsTruncated, true);
    assert.ok(first.NextContinuationToken);
    const second = await s3.send(new ListBucketInventoryConfigurationsCommand({ Bucket: B, ContinuationToken: first.NextContinuationToken }));
    assert.equal(second.IsTruncated, false);
    assert.equal(second.ContinuationToken, first.NextContinuationToken);
    assert.equal(second.NextContinuationToken, undefined);
    assert.deepEqual([...first.InventoryConfigurationList!, ...second.InventoryConfigurationList!].map((c) => c.Id), ids);
  });

  it("answers an empty list with IsTruncated false and nothing else", async () => {
    const B = "no-configs";
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    const res = await fetch(`${server.url}/${B}?inventory`, { headers: {} });
    assert.equal(res.status, 403, "unsigned requests are refused");
    const list = await s3.send(new ListBucketInventoryConfigurationsCommand({ Bucket: B }));
    assert.equal(list.IsTruncated, false);
    assert.equal(list.InventoryConfigurationList, undefined);
  });

  it("allows 1,000 configurations per bucket; the 1,001st is TooManyConfigurations, a replacement is not", async () => {
    const B = "full-of-configs";
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    for (let start = 0; start < 1000; start += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) => {
          const Id = `c${start + i}`;
          return s3.send(new PutBucketInventoryConfigurationCommand({ Bucket: B, Id, InventoryConfiguration: config(Id) }));
        }),
      );
    }
    assert.deepEqual(
      await failure(s3.send(new PutBucketInventoryConfigurationCommand({ Bucket: B, Id: "one-too-many", InventoryConfiguration: config("one-too-many") }))),
      { name: "TooManyConfigurations", status: 400 },
    );
    const replaced = await s3.send(new PutBucketInventoryConfigurationCommand({ Bucket: B, Id: "c7", InventoryConfiguration: config("c7", { IsEnabled: false }) }));
    assert.equal(replaced.$metadata.httpStatusCode, 204);
  });

  it("keeps configurations across a restart and removes them with their bucket", async () => {
    server = await server.restart();
    s3 = server.client;
    const got = await s3.send(new GetBucketInventoryConfigurationCommand({ Bucket, Id: "full-report" }));
    assert.equal(got.InventoryConfiguration?.Destination?.S3BucketDestination?.Format, "Parquet");
    const B = "short-lived";
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    await s3.send(new PutBucketInventoryConfigurationCommand({ Bucket: B, Id: "x", InventoryConfiguration: config("x") }));
    await s3.send(new DeleteBucketCommand({ Bucket: B }));
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    const list = await s3.send(new ListBucketInventoryConfigurationsCommand({ Bucket: B }));
    assert.equal(list.InventoryConfigurationList, undefined);
  });

  it("deletes a configuration with 204", async () => {
    const del = await s3.send(new DeleteBucketInventoryConfigurationCommand({ Bucket, Id: "sse-s3" }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    assert.deepEqual(await failure(s3.send(new GetBucketInventoryConfigurationCommand({ Bucket, Id: "sse-s3" }))), { name: "NoSuchConfiguration", status: 404 });
  });

  it("round-trips through boto3 and the aws CLI", async () => {
    const work = mkdtempSync(join(tmpdir(), "stocktake-inv-"));
    const env = {
      ...process.env,
      STOCKTAKE_URL: server.url,
      AWS_ENDPOINT_URL: server.url,
      AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY,
      AWS_SECRET_ACCESS_KEY: TEST_SECRET_KEY,
      AWS_DEFAULT_REGION: "us-east-1",
      AWS_CONFIG_FILE: join(work, "config"),
      AWS_SHARED_CREDENTIALS_FILE: join(work, "credentials"),
    };
    try {
      const { stdout } = await run("python3", ["test/clients/boto3_inventory.py"], { env, timeout: 60_000 });
      assert.match(stdout, /boto3 inventory checks passed/);
      const cli = JSON.stringify({
        Id: "from-cli",
        IsEnabled: true,
        IncludedObjectVersions: "All",
        Schedule: { Frequency: "Weekly" },
        OptionalFields: ["Size", "ETag", "ChecksumAlgorithm"],
        Destination: { S3BucketDestination: { Bucket: "arn:aws:s3:::cli-reports", Format: "ORC", Prefix: "inv", Encryption: { SSES3: {} } } },
      });
      await run("aws", ["s3api", "put-bucket-inventory-configuration", "--bucket", Bucket, "--id", "from-cli", "--inventory-configuration", cli], { env });
      const got = JSON.parse((await run("aws", ["s3api", "get-bucket-inventory-configuration", "--bucket", Bucket, "--id", "from-cli"], { env })).stdout);
      assert.deepEqual(got.InventoryConfiguration, JSON.parse(cli));
      const listed = JSON.parse((await run("aws", ["s3api", "list-bucket-inventory-configurations", "--bucket", Bucket], { env })).stdout);
      assert.ok(listed.InventoryConfigurationList.some((c: { Id: string }) => c.Id === "from-cli"));
      await run("aws", ["s3api", "delete-bucket-inventory-configuration", "--bucket", Bucket, "--id", "from-cli"], { env });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
