// The S3 Metadata configuration API: V2 CreateBucketMetadataConfiguration,
// GetBucketMetadataConfiguration, DeleteBucketMetadataConfiguration,
// UpdateBucketMetadataInventoryTableConfiguration, UpdateBucketMetadataJournalTableConfiguration,
// and V1 CreateBucketMetadataTableConfiguration, GetBucketMetadataTableConfiguration,
// DeleteBucketMetadataTableConfiguration. The model and its record live in
// src/metadata-tables/config.ts; the tables are written by the metadata tables engine, which
// moves the statuses stored here. docs/metadata-tables.md.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucketMetadataConfiguration.html
import { S3Error } from "../errors.js";
import { parseXml } from "../xml/codec.js";
import type { Handler, S3Request, ServerContext } from "./types.js";
import { readChecksummedBody } from "./checksummed-body.js";
import {
  checkTableKey,
  checkV1Destination,
  createMetadataConfiguration,
  deleteMetadataConfiguration,
  ensureManagedTableBucket,
  managedTableBucketName,
  metadataConfigurationResultXml,
  metadataTableConfigurationResultXml,
  newV1Configuration,
  newV2Configuration,
  parseInventoryTableUpdate,
  parseJournalTableUpdate,
  parseMetadataConfiguration,
  parseMetadataTableConfiguration,
  readMetadataConfiguration,
  updateMetadataConfiguration,
  withInventoryState,
  withRecordExpiration,
  withTableStatus,
  type MetadataConfiguration,
  type MetadataConfigurationV2,
  type TableError,
} from "../metadata-tables/config.js";

/** Far above any valid configuration (a few hundred bytes). */
const MAX_BODY_BYTES = 64 * 1024;

function notFound(): S3Error {
  return new S3Error("MetadataConfigurationNotFound");
}

async function body(req: S3Request, root: string) {
  return parseXml(await readChecksummedBody(req, MAX_BODY_BYTES), root);
}

/**
 * S3 Metadata is for general purpose buckets only: the bucket that holds an account's tables is
 * a table bucket to S3, and journaling it would record the tables' own writes.
 */
function refuseTableBucket(source: string, tableBucket: string): void {
  if (source === tableBucket) {
    throw new S3Error("InvalidRequest", "S3 Metadata isn't supported for table buckets: the bucket that holds the metadata tables cannot have a metadata configuration.");
  }
}

async function current(req: S3Request, ctx: ServerContext): Promise<MetadataConfiguration> {
  const c = await readMetadataConfiguration(ctx.metadata, req.bucketRecord!.name);
  if (c === undefined) throw notFound();
  return c;
}

async function currentV2(req: S3Request, ctx: ServerContext): Promise<MetadataConfigurationV2> {
  const c = await current(req, ctx);
  if (c.version !== 2) {
    throw new S3Error("MethodNotAllowed", "This bucket has a V1 metadata table configuration: delete it and create a V2 configuration to use this operation.");
  }
  return c;
}

async function store(req: S3Request, ctx: ServerContext, c: MetadataConfiguration): Promise<void> {
  if (!(await createMetadataConfiguration(ctx.metadata, req.bucketRecord!, c))) throw new S3Error("MetadataConfigurationAlreadyExists");
}

function failIf<C extends MetadataConfiguration>(c: C, table: "journal" | "inventory", error: TableError | undefined): C {
  return error ? withTableStatus(c, table, "FAILED", error) : c;
}

export const createBucketMetadataConfiguration: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!;
  refuseTableBucket(bucket.name, managedTableBucketName(bucket.ownerAccountId));
  const request = parseMetadataConfiguration(await body(req, "MetadataConfiguration"));
  if (await readMetadataConfiguration(ctx.metadata, bucket.name)) throw new S3Error("MetadataConfigurationAlreadyExists");
  let c = newV2Configuration({ sourceBucket: bucket.name, accountId: bucket.ownerAccountId, region: ctx.config.region, now: ctx.clock.now(), request });
  const noBucket = await ensureManagedTableBucket(ctx, bucket.ownerAccountId);
  c = failIf(c, "journal", noBucket ?? (await checkTableKey(ctx, c.accountId, c.journal)));
  if (c.inventory.table) c = failIf(c, "inventory", noBucket ?? (await checkTableKey(ctx, c.accountId, c.inventory.table)));
  await store(req, ctx, c);
  return {};
};

export const getBucketMetadataConfiguration: Handler = async (req, ctx) => ({
  xml: { root: "GetBucketMetadataConfigurationResult", value: metadataConfigurationResultXml(await current(req, ctx)) },
});

/** Removes a V1 or V2 configuration; the tables stay where they are, as on S3. */
export const deleteBucketMetadataConfiguration: Handler = async (req, ctx) => {
  if (!(await deleteMetadataConfiguration(ctx.metadata, req.bucketRecord!, await current(req, ctx)))) throw notFound();
  return { status: 204 };
};

export const updateBucketMetadataJournalTableConfiguration: Handler = async (req, ctx) => {
  const recordExpiration = parseJournalTableUpdate(await body(req, "JournalTableConfiguration"));
  const c = await currentV2(req, ctx);
  if (!(await updateMetadataConfiguration(ctx.metadata, req.bucketRecord!, c, (now) => withRecordExpiration(now, recordExpiration)))) throw notFound();
  return {};
};

export const updateBucketMetadataInventoryTableConfiguration: Handler = async (req, ctx) => {
  const update = parseInventoryTableUpdate(await body(req, "InventoryTableConfiguration"));
  const c = await currentV2(req, ctx);
  const enabled = withInventoryState(c, update);
  const makesTable = enabled.inventory.table !== undefined && enabled.inventory.table !== c.inventory.table;
  const error = makesTable ? ((await ensureManagedTableBucket(ctx, c.accountId)) ?? (await checkTableKey(ctx, c.accountId, enabled.inventory.table!))) : undefined;
  const change = (now: MetadataConfigurationV2): MetadataConfigurationV2 => {
    const next = withInventoryState(now, update);
    return next.inventory.table && next.inventory.table !== now.inventory.table ? failIf(next, "inventory", error) : next;
  };
  if (!(await updateMetadataConfiguration(ctx.metadata, req.bucketRecord!, c, change))) throw notFound();
  return {};
};

export const createBucketMetadataTableConfiguration: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!;
  const request = parseMetadataTableConfiguration(await body(req, "MetadataTableConfiguration"));
  refuseTableBucket(bucket.name, request.tableBucketName);
  if (await readMetadataConfiguration(ctx.metadata, bucket.name)) throw new S3Error("MetadataConfigurationAlreadyExists");
  const c = newV1Configuration({ accountId: bucket.ownerAccountId, now: ctx.clock.now(), request });
  await store(req, ctx, failIf(c, "journal", await checkV1Destination(ctx, c, request)));
  return {};
};

/** S3 answers the V1 operations on a V2 configuration with 405 Method Not Allowed. */
async function currentV1(req: S3Request, ctx: ServerContext) {
  const c = await current(req, ctx);
  if (c.version !== 1) {
    throw new S3Error("MethodNotAllowed", "This bucket has a V2 metadata configuration: use GetBucketMetadataConfiguration or DeleteBucketMetadataConfiguration.");
  }
  return c;
}

export const getBucketMetadataTableConfiguration: Handler = async (req, ctx) => ({
  xml: { root: "GetBucketMetadataTableConfigurationResult", value: metadataTableConfigurationResultXml(await currentV1(req, ctx)) },
});

export const deleteBucketMetadataTableConfiguration: Handler = async (req, ctx) => {
  if (!(await deleteMetadataConfiguration(ctx.metadata, req.bucketRecord!, await currentV1(req, ctx)))) throw notFound();
  return { status: 204 };
};
