// The S3 Metadata configuration model: what each body may say (and the code for what it may not),
// the record a configuration starts as, its updates and the result documents built from it.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseXml } from "../xml/codec.js";
import { S3Error } from "../errors.js";
import {
  isValidTableBucketName,
  isValidTableName,
  managedTableBucketName,
  metadataConfigurationResultXml,
  metadataTableConfigurationResultXml,
  newV1Configuration,
  newV2Configuration,
  parseInventoryTableUpdate,
  parseJournalTableUpdate,
  parseMetadataConfiguration,
  parseMetadataTableConfiguration,
  tableLocation,
  withInventoryState,
  withRecordExpiration,
  withTableStatus,
  type MetadataConfigurationRequest,
} from "./config.js";

const doc = (root: string, inner: string) => parseXml(Buffer.from(`<${root} xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</${root}>`), root);
const v2 = (inner: string) => parseMetadataConfiguration(doc("MetadataConfiguration", inner));
const journal = (expiration: string) => `<JournalTableConfiguration><RecordExpiration>${expiration}</RecordExpiration></JournalTableConfiguration>`;
const v1 = (arn: string, name: string) =>
  parseMetadataTableConfiguration(doc("MetadataTableConfiguration", `<S3TablesDestination><TableBucketArn>${arn}</TableBucketArn><TableName>${name}</TableName></S3TablesDestination>`));

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof S3Error, String(e));
    return `${e.code} ${e.status}`;
  }
  assert.fail("expected an S3Error");
}

const NOW = new Date("2026-07-15T00:00:00Z");
const ACCOUNT = "111122223333";

describe("parsing a V2 MetadataConfiguration", () => {
  it("reads every element: record expiration, both tables' encryption, the inventory state", () => {
    const kms = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const parsed = v2(
      `<JournalTableConfiguration><RecordExpiration><Expiration>ENABLED</Expiration><Days>365</Days></RecordExpiration>` +
        `<EncryptionConfiguration><SseAlgorithm>aws:kms</SseAlgorithm><KmsKeyArn>${kms}</KmsKeyArn></EncryptionConfiguration></JournalTableConfiguration>` +
        `<InventoryTableConfiguration><ConfigurationState>ENABLED</ConfigurationState><EncryptionConfiguration><SseAlgorithm>AES256</SseAlgorithm></EncryptionConfiguration></InventoryTableConfiguration>`,
    );
    assert.deepEqual(parsed, {
      journal: { recordExpiration: { enabled: true, days: 365 }, encryption: { sseAlgorithm: "aws:kms", kmsKeyArn: kms } },
      inventory: { state: "ENABLED", encryption: { sseAlgorithm: "AES256" } },
    });
  });

  it("takes a missing InventoryTableConfiguration as no inventory table, and Days at both ends of S3's range", () => {
    assert.deepEqual(v2(journal("<Expiration>DISABLED</Expiration>")), { journal: { recordExpiration: { enabled: false }, encryption: undefined }, inventory: undefined });
    assert.deepEqual(v2(journal("<Expiration>ENABLED</Expiration><Days>7</Days>")).journal.recordExpiration, { enabled: true, days: 7 });
    assert.deepEqual(v2(journal("<Expiration>ENABLED</Expiration><Days>2147483647</Days>")).journal.recordExpiration, { enabled: true, days: 2147483647 });
  });

  it("refuses Days outside 7 to 2147483647, missing when ENABLED or given when DISABLED with InvalidArgument", () => {
    for (const days of ["6", "0", "-7", "2147483648"]) assert.equal(code(() => v2(journal(`<Expiration>ENABLED</Expiration><Days>${days}</Days>`))), "InvalidArgument 400", days);
    assert.equal(code(() => v2(journal("<Expiration>ENABLED</Expiration>"))), "InvalidArgument 400");
    assert.equal(code(() => v2(journal("<Expiration>DISABLED</Expiration><Days>30</Days>"))), "InvalidArgument 400");
  });

  it("refuses what breaks the schema with MalformedXML", () => {
    assert.equal(code(() => v2("")), "MalformedXML 400", "JournalTableConfiguration is required");
    assert.equal(code(() => v2("<JournalTableConfiguration></JournalTableConfiguration>")), "MalformedXML 400", "RecordExpiration is required");
    assert.equal(code(() => v2(journal("<Days>9</Days>"))), "MalformedXML 400", "Expiration is required");
    assert.equal(code(() => v2(journal("<Expiration>enabled</Expiration><Days>9</Days>"))), "MalformedXML 400", "states are upper case");
    assert.equal(code(() => v2(journal("<Expiration>ENABLED</Expiration><Days>nine</Days>"))), "MalformedXML 400");
    assert.equal(code(() => v2(journal("<Expiration>ENABLED</Expiration><Days>9.5</Days>"))), "MalformedXML 400");
    assert.equal(code(() => v2(journal("<Expiration>DISABLED</Expiration>") + "<Colour>blue</Colour>")), "MalformedXML 400");
    assert.equal(code(() => v2(journal("<Expiration>DISABLED</Expiration>") + "<InventoryTableConfiguration/>")), "MalformedXML 400");
    assert.equal(
      code(() => v2(journal("<Expiration>DISABLED</Expiration>") + "<InventoryTableConfiguration><ConfigurationState>ON</ConfigurationState></InventoryTableConfiguration>")),
      "MalformedXML 400",
    );
  });

  it("checks the encryption: aws:kms needs a key ARN, AES256 takes none, nothing else is an algorithm", () => {
    const enc = (inner: string) =>
      v2(`<JournalTableConfiguration><RecordExpiration><Expiration>DISABLED</Expiration></RecordExpiration><EncryptionConfiguration>${inner}</EncryptionConfiguration></JournalTableConfiguration>`);
    assert.equal(code(() => enc("<SseAlgorithm>aws:kms</SseAlgorithm>")), "InvalidArgument 400");
    assert.equal(code(() => enc("<SseAlgorithm>aws:kms</SseAlgorithm><KmsKeyArn>alias/aws/s3</KmsKeyArn>")), "InvalidArgument 400");
    assert.equal(code(() => enc("<SseAlgorithm>AES256</SseAlgorithm><KmsKeyArn>arn:aws:kms:us-east-1:111122223333:key/k</KmsKeyArn>")), "InvalidArgument 400");
    assert.equal(code(() => enc("<SseAlgorithm>aws:kms:dsse</SseAlgorithm>")), "MalformedXML 400");
    assert.equal(code(() => enc("")), "MalformedXML 400");
  });

  it("accepts a disabled annotation table and refuses an enabled one as not implemented", () => {
    const base = journal("<Expiration>DISABLED</Expiration>");
    assert.equal(v2(base + "<AnnotationTableConfiguration><ConfigurationState>DISABLED</ConfigurationState></AnnotationTableConfiguration>").inventory, undefined);
    assert.equal(code(() => v2(base + "<AnnotationTableConfiguration><ConfigurationState>ENABLED</ConfigurationState></AnnotationTableConfiguration>")), "NotImplemented 501");
  });
});

describe("parsing the updates", () => {
  it("reads a journal update's record expiration and refuses encryption there (the update has none)", () => {
    assert.deepEqual(parseJournalTableUpdate(doc("JournalTableConfiguration", "<RecordExpiration><Expiration>ENABLED</Expiration><Days>10</Days></RecordExpiration>")), { enabled: true, days: 10 });
    assert.equal(
      code(() =>
        parseJournalTableUpdate(
          doc("JournalTableConfiguration", "<RecordExpiration><Expiration>DISABLED</Expiration></RecordExpiration><EncryptionConfiguration><SseAlgorithm>AES256</SseAlgorithm></EncryptionConfiguration>"),
        ),
      ),
      "MalformedXML 400",
    );
  });

  it("reads an inventory update's state and encryption", () => {
    assert.deepEqual(parseInventoryTableUpdate(doc("InventoryTableConfiguration", "<ConfigurationState>DISABLED</ConfigurationState>")), { state: "DISABLED", encryption: undefined });
    assert.equal(code(() => parseInventoryTableUpdate(doc("InventoryTableConfiguration", ""))), "MalformedXML 400");
  });
});

describe("parsing a V1 MetadataTableConfiguration", () => {
  it("reads the table bucket ARN's region, account and name, and the table name", () => {
    assert.deepEqual(v1("arn:aws:s3tables:us-west-2:123456789012:bucket/my-tables", "my_journal_1"), {
      tableBucketArn: "arn:aws:s3tables:us-west-2:123456789012:bucket/my-tables",
      region: "us-west-2",
      accountId: "123456789012",
      tableBucketName: "my-tables",
      tableName: "my_journal_1",
    });
  });

  it("refuses ARNs that name no table bucket and names S3 Tables does not allow", () => {
    for (const arn of ["arn:aws:s3:::my-tables", "arn:aws:s3tables:us-east-1:12345:bucket/my-tables", "arn:aws:s3tables:us-east-1:123456789012:bucket/my.tables", "my-tables"]) {
      assert.equal(code(() => v1(arn, "t")), "InvalidArgument 400", arn);
    }
    for (const name of ["My_Table", "my-table", "_leading", "a.b", "x".repeat(256)]) {
      assert.equal(code(() => v1("arn:aws:s3tables:us-east-1:123456789012:bucket/my-tables", name)), "InvalidArgument 400", name);
    }
    assert.equal(code(() => parseMetadataTableConfiguration(doc("MetadataTableConfiguration", ""))), "MalformedXML 400");
  });

  it("names tables and table buckets by S3 Tables' rules", () => {
    assert.ok(isValidTableName("journal"));
    assert.ok(isValidTableName("9lives"));
    assert.ok(isValidTableName("x".repeat(255)));
    assert.ok(!isValidTableName(""));
    assert.ok(isValidTableBucketName("my-table-bucket"));
    assert.ok(!isValidTableBucketName("aws-tables"), "the aws prefix is reserved");
    assert.ok(!isValidTableBucketName("ab"));
    assert.ok(!isValidTableBucketName("my_tables"));
    assert.ok(!isValidTableBucketName("x--table-s3"));
  });
});

describe("the stored configuration", () => {
  const request: MetadataConfigurationRequest = { journal: { recordExpiration: { enabled: true, days: 30 } } };
  const fresh = () => newV2Configuration({ sourceBucket: "photos.example", accountId: ACCOUNT, region: "eu-west-1", now: NOW, request });

  it("starts a V2 configuration in the account's aws-s3 bucket, namespace b_<bucket>, journal CREATING", () => {
    const c = fresh();
    assert.equal(managedTableBucketName(ACCOUNT), "aws-s3-111122223333");
    assert.deepEqual(c.destination, {
      bucket: "aws-s3-111122223333",
      namespace: "b_photos.example",
      tableBucketArn: "arn:aws:s3tables:eu-west-1:111122223333:bucket/aws-s3",
      tableBucketType: "aws",
    });
    assert.equal(c.journal.name, "journal");
    assert.equal(c.journal.status, "CREATING");
    assert.match(c.journal.arn, /^arn:aws:s3tables:eu-west-1:111122223333:bucket\/aws-s3\/table\/[0-9a-f-]{36}$/);
    assert.deepEqual(c.inventory, { state: "DISABLED", encryption: undefined, table: undefined });
    assert.deepEqual(tableLocation(c, c.journal), { bucket: "aws-s3-111122223333", prefix: "b_photos.example/journal/" });
    assert.notEqual(fresh().id, c.id, "every creation has its own record id");
  });

  it("starts a V1 configuration in the named bucket, namespace aws_s3_metadata", () => {
    const c = newV1Configuration({ accountId: ACCOUNT, now: NOW, request: v1("arn:aws:s3tables:eu-west-1:111122223333:bucket/tables", "events") });
    assert.deepEqual(c.destination, { bucket: "tables", namespace: "aws_s3_metadata", tableBucketArn: "arn:aws:s3tables:eu-west-1:111122223333:bucket/tables", tableBucketType: "customer" });
    assert.match(c.journal.arn, /^arn:aws:s3tables:eu-west-1:111122223333:bucket\/tables\/table\/[0-9a-f-]{36}$/);
    assert.deepEqual(tableLocation(c, c.journal), { bucket: "tables", prefix: "aws_s3_metadata/events/" });
  });

  it("enables the inventory table as a new table, keeps an enabled one, and disables without a table", () => {
    const enabled = withInventoryState(fresh(), { state: "ENABLED", encryption: { sseAlgorithm: "AES256" } });
    const table = enabled.inventory.table!;
    assert.equal(table.name, "inventory");
    assert.equal(table.status, "CREATING");
    assert.deepEqual(table.encryption, { sseAlgorithm: "AES256" });
    const backfilling = withTableStatus(enabled, "inventory", "BACKFILLING");
    assert.equal(withInventoryState(backfilling, { state: "ENABLED" }), backfilling);
    const disabled = withInventoryState(backfilling, { state: "DISABLED" });
    assert.deepEqual(disabled.inventory, { state: "DISABLED", encryption: { sseAlgorithm: "AES256" } });
    const again = withInventoryState(disabled, { state: "ENABLED" });
    assert.notEqual(again.inventory.table!.arn, table.arn, "re-enabling makes a new table");
  });

  it("moves a table's status, keeping an error only while FAILED", () => {
    const failed = withTableStatus(fresh(), "journal", "FAILED", { code: "ServerInternalError", message: "boom" });
    assert.deepEqual(failed.journal.error, { code: "ServerInternalError", message: "boom" });
    const active = withTableStatus(failed, "journal", "ACTIVE");
    assert.equal(active.journal.status, "ACTIVE");
    assert.equal(active.journal.error, undefined);
    assert.equal(withTableStatus(fresh(), "inventory", "ACTIVE").inventory.table, undefined, "no inventory table to move");
    assert.deepEqual(withRecordExpiration(fresh(), { enabled: false }).journal.recordExpiration, { enabled: false });
  });
});

describe("the result documents", () => {
  it("answers a V2 configuration as GetBucketMetadataConfigurationResult's children, without encryption", () => {
    let c = newV2Configuration({
      sourceBucket: "b",
      accountId: ACCOUNT,
      region: "us-east-1",
      now: NOW,
      request: { journal: { recordExpiration: { enabled: true, days: 7 }, encryption: { sseAlgorithm: "AES256" } }, inventory: { state: "ENABLED" } },
    });
    c = withTableStatus(c, "inventory", "FAILED", { code: "JournalTableNotAvailable", message: "the journal table failed" });
    assert.deepEqual(metadataConfigurationResultXml(c), {
      MetadataConfigurationResult: {
        DestinationResult: { TableBucketArn: "arn:aws:s3tables:us-east-1:111122223333:bucket/aws-s3", TableBucketType: "aws", TableNamespace: "b_b" },
        InventoryTableConfigurationResult: {
          ConfigurationState: "ENABLED",
          Error: { ErrorCode: "JournalTableNotAvailable", ErrorMessage: "the journal table failed" },
          TableArn: c.inventory.table!.arn,
          TableName: "inventory",
          TableStatus: "FAILED",
        },
        JournalTableConfigurationResult: {
          Error: undefined,
          RecordExpiration: { Days: 7, Expiration: "ENABLED" },
          TableArn: c.journal.arn,
          TableName: "journal",
          TableStatus: "CREATING",
        },
      },
    });
  });

  it("answers a V1 configuration both ways: its own result, and V2's with a customer table bucket", () => {
    const c = withTableStatus(newV1Configuration({ accountId: ACCOUNT, now: NOW, request: v1("arn:aws:s3tables:us-east-1:111122223333:bucket/tables", "events") }), "journal", "ACTIVE");
    assert.deepEqual(metadataTableConfigurationResultXml(c), {
      MetadataTableConfigurationResult: {
        S3TablesDestinationResult: { TableArn: c.journal.arn, TableBucketArn: "arn:aws:s3tables:us-east-1:111122223333:bucket/tables", TableName: "events", TableNamespace: "aws_s3_metadata" },
      },
      Status: "ACTIVE",
      Error: undefined,
    });
    const asV2 = metadataConfigurationResultXml(c).MetadataConfigurationResult as Record<string, unknown>;
    assert.deepEqual(asV2.DestinationResult, { TableBucketArn: "arn:aws:s3tables:us-east-1:111122223333:bucket/tables", TableBucketType: "customer", TableNamespace: "aws_s3_metadata" });
    assert.equal(asV2.InventoryTableConfigurationResult, undefined);
    assert.deepEqual((asV2.JournalTableConfigurationResult as Record<string, unknown>).RecordExpiration, { Days: undefined, Expiration: "DISABLED" });
  });
});
