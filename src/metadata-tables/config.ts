// The S3 Metadata configuration of a bucket: its model, validation from the wire's element trees
// (V2 MetadataConfiguration and its two updates, V1 MetadataTableConfiguration), the result
// documents GetBucketMetadataConfiguration and GetBucketMetadataTableConfiguration answer, and the
// one stored record per bucket the tables engine reads and moves the statuses of.
// docs/metadata-tables.md says what AWS does and where Stocktake differs.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucketMetadataConfiguration.html
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucketMetadataTableConfiguration.html
import { randomUUID } from "node:crypto";
import { S3Error } from "../errors.js";
import { elementOf, onlyChildren, requiredText, schemaError, textOf, type XmlNode } from "../xml/codec.js";
import { CHANGE_LOG_KIND, type BucketRef, type MetadataStore } from "../storage/types.js";
import type { Context } from "../core/context.js";
import { createBucket } from "../core/buckets.js";
import { KmsKeyNotFound } from "../crypto/kms.js";

/**
 * The bucket configuration kind the record is stored under (one record per bucket). It is the
 * store's change-log kind: while a bucket holds the record, the store logs its changes.
 */
export const METADATA_CONFIG_KIND = CHANGE_LOG_KIND;
/** The table names S3 gives a V2 configuration's tables. */
export const JOURNAL_TABLE_NAME = "journal";
export const INVENTORY_TABLE_NAME = "inventory";
/** The namespace every V1 table lives in. */
export const V1_NAMESPACE = "aws_s3_metadata";
/** The name AWS's managed table bucket has; its ARNs keep it. */
export const AWS_MANAGED_TABLE_BUCKET = "aws-s3";
export const MIN_RECORD_EXPIRATION_DAYS = 7;
export const MAX_RECORD_EXPIRATION_DAYS = 2147483647;

export const TableStatuses = ["CREATING", "BACKFILLING", "ACTIVE", "FAILED"] as const;
export type TableStatus = (typeof TableStatuses)[number];
export const SseAlgorithms = ["aws:kms", "AES256"] as const;
export type TableSseAlgorithm = (typeof SseAlgorithms)[number];
const States = ["ENABLED", "DISABLED"] as const;
type State = (typeof States)[number];

export interface TableEncryption {
  sseAlgorithm: TableSseAlgorithm;
  /** Present exactly when sseAlgorithm is aws:kms. */
  kmsKeyArn?: string;
}

export interface RecordExpiration {
  enabled: boolean;
  /** Present exactly when enabled. */
  days?: number;
}

/** ErrorDetails: why a table could not be created or fed (codes from AWS's ErrorDetails). */
export interface TableError {
  code: string;
  message: string;
}

export interface MetadataTable {
  name: string;
  /** arn:aws:s3tables:<region>:<account>:bucket/<table bucket>/table/<uuid> */
  arn: string;
  status: TableStatus;
  error?: TableError;
  encryption?: TableEncryption;
}

/** Where the tables live: an ordinary Stocktake bucket, the namespace a prefix in it. */
export interface MetadataDestination {
  /** The Stocktake bucket the tables are written into. */
  bucket: string;
  /** The namespace: b_<source bucket> (V2) or aws_s3_metadata (V1); `<namespace>/` is its prefix. */
  namespace: string;
  /** As answered: arn:aws:s3tables:<region>:<account>:bucket/<table bucket name>. */
  tableBucketArn: string;
  /** "aws" for V2's managed table bucket, "customer" for V1's. */
  tableBucketType: "aws" | "customer";
}

interface StoredBase {
  /** The store row's id: new for every creation, so two racing creations cannot both win. */
  id: string;
  /** The account that owns the source bucket (and so the tables). */
  accountId: string;
  createdAt: string;
  destination: MetadataDestination;
}

export interface MetadataConfigurationV2 extends StoredBase {
  version: 2;
  journal: MetadataTable & { recordExpiration: RecordExpiration };
  inventory: {
    state: State;
    /**
     * The encryption last asked for (a disabling request without one keeps it). Enabling takes
     * the enabling request's encryption, or the default: the kept one is not used.
     */
    encryption?: TableEncryption;
    /** The live table: present while the inventory table is enabled. */
    table?: MetadataTable;
  };
}

export interface MetadataConfigurationV1 extends StoredBase {
  version: 1;
  /** V1's single table: a journal table under the name the request gave. */
  journal: MetadataTable;
}

export type MetadataConfiguration = MetadataConfigurationV1 | MetadataConfigurationV2;

type Element = Record<string, XmlNode | XmlNode[]>;

// ---- Requests ----------------------------------------------------------------------------------

export interface JournalTableRequest {
  recordExpiration: RecordExpiration;
  encryption?: TableEncryption;
}

export interface InventoryTableRequest {
  state: State;
  encryption?: TableEncryption;
}

/** A validated CreateBucketMetadataConfiguration body. */
export interface MetadataConfigurationRequest {
  journal: JournalTableRequest;
  /** Absent: the inventory table is disabled. */
  inventory?: InventoryTableRequest;
}

/** A validated CreateBucketMetadataTableConfiguration (V1) body. */
export interface MetadataTableConfigurationRequest {
  tableBucketArn: string;
  region: string;
  accountId: string;
  /** The table bucket's name, which names the Stocktake bucket the table is written into. */
  tableBucketName: string;
  tableName: string;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], name: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw schemaError(`${name} must be one of ${allowed.join(", ")}`);
  return value as T;
}

function required(el: Element, name: string, where: string): Element {
  const child = elementOf(el, name);
  if (!child) throw schemaError(`${where} requires ${name}`);
  return child;
}

function invalid(argument: string, value: string | undefined, message: string): S3Error {
  return new S3Error("InvalidArgument", message, { ArgumentName: argument, ArgumentValue: value });
}

const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

function parseEncryption(el: Element | undefined, where: string): TableEncryption | undefined {
  if (!el) return undefined;
  onlyChildren(el, ["SseAlgorithm", "KmsKeyArn"], `${where}.EncryptionConfiguration`);
  const sseAlgorithm = oneOf(requiredText(el, "SseAlgorithm", "EncryptionConfiguration"), SseAlgorithms, "SseAlgorithm");
  const kmsKeyArn = textOf(el, "KmsKeyArn");
  if (sseAlgorithm === "AES256") {
    if (kmsKeyArn !== undefined) throw invalid("KmsKeyArn", kmsKeyArn, "A KmsKeyArn is only allowed with the aws:kms SseAlgorithm.");
    return { sseAlgorithm };
  }
  if (kmsKeyArn === undefined || kmsKeyArn === "") throw invalid("KmsKeyArn", kmsKeyArn, "The aws:kms SseAlgorithm requires a KmsKeyArn.");
  if (!KMS_KEY_ARN.test(kmsKeyArn)) throw invalid("KmsKeyArn", kmsKeyArn, "The KmsKeyArn must be the ARN of a KMS key (arn:aws:kms:<region>:<account>:key/<key id>).");
  return { sseAlgorithm, kmsKeyArn };
}

function parseRecordExpiration(el: Element): RecordExpiration {
  onlyChildren(el, ["Expiration", "Days"], "RecordExpiration");
  const expiration = oneOf(requiredText(el, "Expiration", "RecordExpiration"), States, "Expiration");
  const daysText = textOf(el, "Days");
  if (expiration === "DISABLED") {
    if (daysText !== undefined) throw invalid("Days", daysText, "Days can be set only when journal table record expiration is ENABLED.");
    return { enabled: false };
  }
  if (daysText === undefined) throw invalid("Days", undefined, "Journal table record expiration that is ENABLED requires Days.");
  if (!/^-?\d+$/.test(daysText.trim())) throw schemaError("Days must be an integer");
  const days = Number(daysText.trim());
  if (days < MIN_RECORD_EXPIRATION_DAYS || days > MAX_RECORD_EXPIRATION_DAYS) {
    throw invalid("Days", daysText, `Days must be a whole number from ${MIN_RECORD_EXPIRATION_DAYS} to ${MAX_RECORD_EXPIRATION_DAYS}.`);
  }
  return { enabled: true, days };
}

function parseJournalTable(el: Element, where: string, allowEncryption: boolean): JournalTableRequest {
  onlyChildren(el, allowEncryption ? ["RecordExpiration", "EncryptionConfiguration"] : ["RecordExpiration"], where);
  return {
    recordExpiration: parseRecordExpiration(required(el, "RecordExpiration", where)),
    encryption: allowEncryption ? parseEncryption(elementOf(el, "EncryptionConfiguration"), where) : undefined,
  };
}

function parseInventoryTable(el: Element, where: string): InventoryTableRequest {
  onlyChildren(el, ["ConfigurationState", "EncryptionConfiguration"], where);
  return {
    state: oneOf(requiredText(el, "ConfigurationState", where), States, "ConfigurationState"),
    encryption: parseEncryption(elementOf(el, "EncryptionConfiguration"), where),
  };
}

/** Validates the children of a <MetadataConfiguration> (CreateBucketMetadataConfiguration). */
export function parseMetadataConfiguration(doc: Element): MetadataConfigurationRequest {
  onlyChildren(doc, ["JournalTableConfiguration", "InventoryTableConfiguration", "AnnotationTableConfiguration"], "MetadataConfiguration");
  const annotation = elementOf(doc, "AnnotationTableConfiguration");
  // The annotation table (newer SDKs have it) records S3 Annotations, which Stocktake lacks.
  if (annotation) {
    onlyChildren(annotation, ["ConfigurationState", "EncryptionConfiguration", "Role"], "AnnotationTableConfiguration");
    const state = oneOf(requiredText(annotation, "ConfigurationState", "AnnotationTableConfiguration"), States, "ConfigurationState");
    if (state === "ENABLED") throw new S3Error("NotImplemented", "S3 Metadata annotation tables are not implemented.");
  }
  const inventoryEl = elementOf(doc, "InventoryTableConfiguration");
  return {
    journal: parseJournalTable(required(doc, "JournalTableConfiguration", "MetadataConfiguration"), "JournalTableConfiguration", true),
    inventory: inventoryEl ? parseInventoryTable(inventoryEl, "InventoryTableConfiguration") : undefined,
  };
}

/** Validates the children of a <JournalTableConfiguration> (UpdateBucketMetadataJournalTableConfiguration). */
export function parseJournalTableUpdate(doc: Element): RecordExpiration {
  return parseJournalTable(doc, "JournalTableConfiguration", false).recordExpiration;
}

/** Validates the children of an <InventoryTableConfiguration> (UpdateBucketMetadataInventoryTableConfiguration). */
export function parseInventoryTableUpdate(doc: Element): InventoryTableRequest {
  return parseInventoryTable(doc, "InventoryTableConfiguration");
}

const TABLE_BUCKET_ARN = /^arn:aws:s3tables:([a-z0-9-]+):(\d{12}):bucket\/([^/]+)$/;

/** S3 Tables' table bucket naming rules (no dots or underscores, unlike general purpose buckets). */
export function isValidTableBucketName(name: string): boolean {
  if (!/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(name)) return false;
  if (["xn--", "sthree-", "amzn-s3-demo-", "aws"].some((p) => name.startsWith(p))) return false;
  return !["-s3alias", "--ol-s3", "--x-s3", "--table-s3"].some((s) => name.endsWith(s));
}

/** S3 Tables' table and namespace naming rules. */
export function isValidTableName(name: string): boolean {
  return /^[a-z0-9][a-z0-9_]{0,254}$/.test(name);
}

/** Validates the children of a <MetadataTableConfiguration> (CreateBucketMetadataTableConfiguration, V1). */
export function parseMetadataTableConfiguration(doc: Element): MetadataTableConfigurationRequest {
  onlyChildren(doc, ["S3TablesDestination"], "MetadataTableConfiguration");
  const dest = required(doc, "S3TablesDestination", "MetadataTableConfiguration");
  onlyChildren(dest, ["TableBucketArn", "TableName"], "S3TablesDestination");
  const tableBucketArn = requiredText(dest, "TableBucketArn", "S3TablesDestination");
  const tableName = requiredText(dest, "TableName", "S3TablesDestination");
  const m = TABLE_BUCKET_ARN.exec(tableBucketArn);
  if (!m || !isValidTableBucketName(m[3]!)) {
    throw invalid("TableBucketArn", tableBucketArn, "The TableBucketArn must be a table bucket ARN: arn:aws:s3tables:<region>:<account>:bucket/<name>.");
  }
  if (!isValidTableName(tableName)) {
    throw invalid("TableName", tableName, "A table name is 1 to 255 lowercase letters, numbers and underscores, beginning with a letter or number.");
  }
  return { tableBucketArn, region: m[1]!, accountId: m[2]!, tableBucketName: m[3]!, tableName };
}

// ---- Building the stored record ----------------------------------------------------------------

/** The Stocktake bucket that stands for an account's AWS managed table bucket "aws-s3". */
export function managedTableBucketName(accountId: string): string {
  return `${AWS_MANAGED_TABLE_BUCKET}-${accountId}`;
}

const MANAGED_TABLE_BUCKET_NAME = new RegExp(`^${AWS_MANAGED_TABLE_BUCKET}-(\\d{12})$`);

/**
 * A name only S3 Metadata creates, for the account it names: CreateBucket refuses it, or another
 * account could take it first and then block or feed that account's metadata tables.
 */
export function isManagedTableBucketName(name: string): boolean {
  return managedTableBucketAccount(name) !== undefined;
}

/** The account a managed table bucket's name (aws-s3-<account>) is for; undefined for any other name. */
export function managedTableBucketAccount(name: string): string | undefined {
  return MANAGED_TABLE_BUCKET_NAME.exec(name)?.[1];
}

export function tableBucketArn(region: string, accountId: string, tableBucketName: string): string {
  return `arn:aws:s3tables:${region}:${accountId}:bucket/${tableBucketName}`;
}

/** A new table's ARN: S3 Tables names a table by a UUID under its table bucket. */
export function newTableArn(bucketArn: string): string {
  return `${bucketArn}/table/${randomUUID()}`;
}

/** The namespace of a V2 configuration's tables: b_ and the source bucket's name, as S3 names it. */
export function v2Namespace(sourceBucket: string): string {
  return `b_${sourceBucket}`;
}

function newTable(name: string, bucketArn: string, encryption: TableEncryption | undefined): MetadataTable {
  return { name, arn: newTableArn(bucketArn), status: "CREATING", encryption };
}

export function newV2Configuration(input: {
  sourceBucket: string;
  accountId: string;
  region: string;
  now: Date;
  request: MetadataConfigurationRequest;
}): MetadataConfigurationV2 {
  const arn = tableBucketArn(input.region, input.accountId, AWS_MANAGED_TABLE_BUCKET);
  const inventory = input.request.inventory ?? { state: "DISABLED" as const };
  return {
    version: 2,
    id: randomUUID(),
    accountId: input.accountId,
    createdAt: input.now.toISOString(),
    destination: { bucket: managedTableBucketName(input.accountId), namespace: v2Namespace(input.sourceBucket), tableBucketArn: arn, tableBucketType: "aws" },
    journal: { ...newTable(JOURNAL_TABLE_NAME, arn, input.request.journal.encryption), recordExpiration: input.request.journal.recordExpiration },
    inventory: {
      state: inventory.state,
      encryption: inventory.encryption,
      table: inventory.state === "ENABLED" ? newTable(INVENTORY_TABLE_NAME, arn, inventory.encryption) : undefined,
    },
  };
}

export function newV1Configuration(input: { accountId: string; now: Date; request: MetadataTableConfigurationRequest }): MetadataConfigurationV1 {
  const r = input.request;
  return {
    version: 1,
    id: randomUUID(),
    accountId: input.accountId,
    createdAt: input.now.toISOString(),
    destination: { bucket: r.tableBucketName, namespace: V1_NAMESPACE, tableBucketArn: r.tableBucketArn, tableBucketType: "customer" },
    journal: newTable(r.tableName, r.tableBucketArn, undefined),
  };
}

/** The configuration with the journal table's record expiration changed. */
export function withRecordExpiration(c: MetadataConfigurationV2, recordExpiration: RecordExpiration): MetadataConfigurationV2 {
  return { ...c, journal: { ...c.journal, recordExpiration } };
}

/**
 * The configuration with the inventory table enabled or disabled. Enabling a disabled one makes a
 * new table (CREATING, then BACKFILLING); enabling an enabled one keeps its table; disabling
 * stops answering the table but does not delete it (as S3 keeps it).
 */
export function withInventoryState(c: MetadataConfigurationV2, update: InventoryTableRequest): MetadataConfigurationV2 {
  if (update.state === "DISABLED") return { ...c, inventory: { state: "DISABLED", encryption: update.encryption ?? c.inventory.encryption } };
  if (c.inventory.state === "ENABLED" && c.inventory.table) return c;
  return {
    ...c,
    inventory: {
      state: "ENABLED",
      encryption: update.encryption,
      table: newTable(INVENTORY_TABLE_NAME, c.destination.tableBucketArn, update.encryption),
    },
  };
}

/** The configuration with one table's status (and error, for FAILED) changed: for the tables engine. */
export function withTableStatus<C extends MetadataConfiguration>(c: C, table: "journal" | "inventory", status: TableStatus, error?: TableError): C {
  const set = <T extends MetadataTable>(t: T): T => ({ ...t, status, error: status === "FAILED" ? error : undefined });
  if (table === "journal") return { ...c, journal: set(c.journal) };
  if (c.version !== 2 || !c.inventory.table) return c;
  return { ...c, inventory: { ...c.inventory, table: set(c.inventory.table) } };
}

/** The Stocktake bucket and key prefix a table's files go under: `<namespace>/<table name>/`. */
export function tableLocation(c: MetadataConfiguration, table: MetadataTable): { bucket: string; prefix: string } {
  return { bucket: c.destination.bucket, prefix: `${c.destination.namespace}/${table.name}/` };
}

// ---- Checks at creation ------------------------------------------------------------------------

export const ERROR_ACCESS_DENIED_CREATING = "AccessDeniedCreatingResources";
export const ERROR_TABLE_BUCKET_NOT_FOUND = "TableBucketNotFound";

/**
 * Creates the account's managed table bucket (aws-s3-<account>) if it does not exist yet. Returns
 * an error for the tables when the name is another account's.
 */
export async function ensureManagedTableBucket(ctx: Context, accountId: string): Promise<TableError | undefined> {
  const name = managedTableBucketName(accountId);
  const existing = await ctx.metadata.getBucket(name);
  if (existing === undefined && (await createBucket(ctx, { name, ownerAccountId: accountId, settings: [] }))) return undefined;
  const owner = existing ?? (await ctx.metadata.getBucket(name));
  if (owner?.ownerAccountId === accountId) return undefined;
  return {
    code: ERROR_ACCESS_DENIED_CREATING,
    message: `The table bucket ${name} that holds this account's metadata tables belongs to another account.`,
  };
}

/** V1: the named table bucket must exist in this region and belong to the ARN's account, the source bucket's owner. */
export async function checkV1Destination(ctx: Context, c: MetadataConfigurationV1, request: MetadataTableConfigurationRequest): Promise<TableError | undefined> {
  const bucket = await ctx.metadata.getBucket(request.tableBucketName);
  const found = request.region === ctx.config.region && request.accountId === c.accountId && bucket !== undefined && bucket.ownerAccountId === c.accountId;
  if (found) return undefined;
  return { code: ERROR_TABLE_BUCKET_NOT_FOUND, message: "The table bucket that you specified doesn't exist in this Region and account." };
}

/** A table whose KMS key cannot be found cannot be created (as S3 reports it). */
export async function checkTableKey(ctx: Context, accountId: string, table: MetadataTable): Promise<TableError | undefined> {
  const arn = table.encryption?.kmsKeyArn;
  if (arn === undefined) return undefined;
  try {
    await ctx.keys.resolve(accountId, arn);
    return undefined;
  } catch (e) {
    if (!(e instanceof KmsKeyNotFound)) throw e;
    return { code: ERROR_ACCESS_DENIED_CREATING, message: `The KMS key ${arn} that encrypts the ${table.name} table was not found.` };
  }
}

// ---- Results -----------------------------------------------------------------------------------

function errorXml(e: TableError | undefined): Record<string, unknown> | undefined {
  return e ? { ErrorCode: e.code, ErrorMessage: e.message } : undefined;
}

function recordExpirationXml(r: RecordExpiration): Record<string, unknown> {
  return { Days: r.days, Expiration: r.enabled ? "ENABLED" : "DISABLED" };
}

/** The children of <GetBucketMetadataConfigurationResult> (V1 and V2 configurations alike). */
export function metadataConfigurationResultXml(c: MetadataConfiguration): Record<string, unknown> {
  const d = c.destination;
  const journal = c.journal;
  return {
    MetadataConfigurationResult: {
      DestinationResult: { TableBucketArn: d.tableBucketArn, TableBucketType: d.tableBucketType, TableNamespace: d.namespace },
      InventoryTableConfigurationResult:
        c.version === 2
          ? {
              ConfigurationState: c.inventory.state,
              Error: errorXml(c.inventory.table?.error),
              TableArn: c.inventory.table?.arn,
              TableName: c.inventory.table?.name,
              TableStatus: c.inventory.table?.status,
            }
          : undefined,
      JournalTableConfigurationResult: {
        Error: errorXml(journal.error),
        RecordExpiration: recordExpirationXml(c.version === 2 ? c.journal.recordExpiration : { enabled: false }),
        TableArn: journal.arn,
        TableName: journal.name,
        TableStatus: journal.status,
      },
    },
  };
}

/** The children of <GetBucketMetadataTableConfigurationResult> (V1 configurations only). */
export function metadataTableConfigurationResultXml(c: MetadataConfigurationV1): Record<string, unknown> {
  return {
    MetadataTableConfigurationResult: {
      S3TablesDestinationResult: {
        TableArn: c.journal.arn,
        TableBucketArn: c.destination.tableBucketArn,
        TableName: c.journal.name,
        TableNamespace: c.destination.namespace,
      },
    },
    Status: c.journal.status,
    Error: errorXml(c.journal.error),
  };
}

// ---- The store ---------------------------------------------------------------------------------

/** The bucket's configuration, or undefined when it has none. */
export async function readMetadataConfiguration(metadata: MetadataStore, bucket: string): Promise<MetadataConfiguration | undefined> {
  const [row] = await metadata.listBucketConfigs(bucket, METADATA_CONFIG_KIND, undefined, 1);
  return row === undefined ? undefined : (JSON.parse(row.json) as MetadataConfiguration);
}

/**
 * Stores a new configuration; false (nothing stored) when the bucket already has one. Each
 * creation has an id of its own and the store admits one per bucket, so of two racing creations
 * exactly one is stored.
 */
export function createMetadataConfiguration(metadata: MetadataStore, bucket: BucketRef, c: MetadataConfiguration): Promise<boolean> {
  return metadata.putBucketConfig(bucket, METADATA_CONFIG_KIND, c.id, JSON.stringify(c), 1);
}

/**
 * Changes the stored configuration `c` by `change`, compare-and-set: when the record changed in
 * between (another update, the engine moving a status) the change is made again on the new
 * record. Resolves with the record stored, or undefined when the configuration `c` is gone
 * (deleted, or deleted and created anew: a change never reaches a configuration it was not asked of).
 */
export async function updateMetadataConfiguration<C extends MetadataConfiguration>(
  metadata: MetadataStore,
  bucket: BucketRef | string,
  c: C,
  change: (current: C) => C,
): Promise<C | undefined> {
  let current: MetadataConfiguration | undefined = c;
  for (;;) {
    if (current === undefined || current.id !== c.id || current.version !== c.version) return undefined;
    const next = change(current as C);
    if (await metadata.replaceBucketConfig(bucket, METADATA_CONFIG_KIND, c.id, JSON.stringify(current), JSON.stringify(next))) return next;
    current = await readMetadataConfiguration(metadata, typeof bucket === "string" ? bucket : bucket.name);
  }
}

/** Removes the configuration; false when it was gone already. The tables themselves stay. */
export function deleteMetadataConfiguration(metadata: MetadataStore, bucket: BucketRef, c: MetadataConfiguration): Promise<boolean> {
  return metadata.deleteBucketConfig(bucket, METADATA_CONFIG_KIND, c.id);
}
