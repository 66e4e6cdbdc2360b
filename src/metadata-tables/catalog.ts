// The tables as an Iceberg REST catalog sees them (src/server/iceberg-catalog.ts serves it): a
// warehouse is a Stocktake bucket holding tables (`aws-s3-<account>` for V2 configurations, a V1
// configuration's table bucket), a namespace is the first level of keys under it, a table the next,
// with its files under `<namespace>/<table>/` as table-store.ts writes them. Nothing here decides
// who may see what: the HTTP side authorizes each call as the S3 read it stands for.
// docs/metadata-tables.md, "The REST catalog".
import type { Context } from "../core/context.js";
import type { ObjectVersionRecord } from "../storage/types.js";
import { isValidBucketName } from "../bucket-names.js";
import { AWS_MANAGED_TABLE_BUCKET, isValidTableName, managedTableBucketAccount, managedTableBucketName } from "./config.js";
import { keyOfUri, locateTable, type TableLocation, type TableMetadataFile } from "./table-store.js";
import { tableFiles } from "./iceberg-metadata.js";

/**
 * A namespace name: `b_<source bucket>` (which keeps the bucket name's dots and hyphens) or
 * `aws_s3_metadata`. One level, never a `/`, and never starting with a dot, so a name is exactly
 * one key segment and cannot step outside the warehouse's first level.
 */
const NAMESPACE_NAME = /^[a-z0-9][a-z0-9_.-]{0,254}$/;

export function isCatalogNamespaceName(name: string): boolean {
  return NAMESPACE_NAME.test(name);
}

/** A table name: S3 Tables' rule (lowercase letters, digits, underscores), which `journal`, `inventory` and V1 names follow. */
export function isCatalogTableName(name: string): boolean {
  return isValidTableName(name);
}

/** Larger than any UTF-8 continuation of a prefix: listing after `<p>` + this skips everything under `<p>`. */
const PAST_PREFIX = "\u{10FFFF}";

/**
 * More namespaces or tables than this are not listed by a request that asks for no page (the spec
 * lets a server return everything at once); an account has far fewer buckets than this, hence far
 * fewer `b_<bucket>` namespaces. A client that pages (pageToken, pageSize) gets every name.
 */
export const MAX_LISTED = 10_000;

/** A page of names in key order; `more` when names follow the last one. */
export interface NamePage {
  names: string[];
  more: boolean;
}

/** Where a page starts (after the name a previous page ended with) and how many names it holds. */
export interface PageRequest {
  after?: string;
  limit?: number;
}

/** A warehouse: its bucket, and the account that must own it when the name says whose it is. */
export interface Warehouse {
  bucket: string;
  owner?: string;
}

/** The warehouse of a bucket named on its own (a path's prefix): a managed name says its owner. */
export function warehouseNamed(bucket: string): Warehouse {
  const owner = managedTableBucketAccount(bucket);
  return owner === undefined ? { bucket } : { bucket, owner };
}

/**
 * The warehouse a `warehouse` parameter names: the bucket's name, `s3://<bucket>[/]`, or a table
 * bucket ARN (`arn:aws:s3tables:<region>:<account>:bucket/<name>`, what S3 Tables' own endpoint
 * takes), where AWS's managed `aws-s3` stands for `aws-s3-<account>` and the bucket must be the
 * ARN's account's. Undefined when it names none of these, or an ARN of another region.
 */
export function warehouseOf(warehouse: string, region: string): Warehouse | undefined {
  const arn = /^arn:aws:s3tables:([a-z0-9-]+):(\d{12}):bucket\/([a-z0-9-]+)$/.exec(warehouse);
  if (arn) {
    if (arn[1] !== region) return undefined;
    return { bucket: arn[3] === AWS_MANAGED_TABLE_BUCKET ? managedTableBucketName(arn[2]!) : arn[3]!, owner: arn[2]! };
  }
  const name = warehouse.startsWith("s3://") ? warehouse.slice(5).replace(/\/$/, "") : warehouse;
  return isValidBucketName(name) ? warehouseNamed(name) : undefined;
}

/** Where a table's files are: `<namespace>/<table>/` in the warehouse bucket. */
export function catalogTableLocation(bucket: string, namespace: string, table: string): TableLocation {
  if (!isCatalogNamespaceName(namespace) || !isCatalogTableName(table)) throw new RangeError(`not a catalog table name: ${namespace}.${table}`);
  return { bucket, prefix: `${namespace}/${table}/` };
}

/** The key prefix a namespace's tables are under. */
export function namespacePrefix(namespace: string): string {
  if (!isCatalogNamespaceName(namespace)) throw new RangeError(`not a catalog namespace name: ${namespace}`);
  return `${namespace}/`;
}

/** The most keys one listing of childNames reads past that name no child. */
const LOOSE_KEYS_PER_READ = 1000;

/**
 * The distinct first segments of the keys under `prefix` (as ListObjects' CommonPrefixes with
 * delimiter "/", without the slash), in key order (the order of `<name>/`, so "a-b" comes before
 * "a"): one index seek per name, whatever it holds. Names `accept` refuses are skipped. Keys with
 * no "/" after the prefix name no child; a run of them is read in growing pages, so a bucket of
 * millions of loose keys costs thousands of reads, not millions. A page starts past `after`'s keys.
 */
async function childNames(ctx: Context, bucket: string, prefix: string, accept: (name: string) => boolean | Promise<boolean>, page: PageRequest): Promise<NamePage> {
  const limit = page.limit ?? MAX_LISTED;
  const names: string[] = [];
  let after = page.after === undefined ? undefined : `${prefix}${page.after}/${PAST_PREFIX}`;
  let read = 1;
  for (;;) {
    const rows = await ctx.metadata.listCurrent({ bucket, prefix, after, limit: read });
    const row = rows.find((r) => r.key.includes("/", prefix.length));
    if (!row) {
      if (rows.length < read) return { names, more: false };
      after = rows[rows.length - 1]!.key;
      read = Math.min(read * 4, LOOSE_KEYS_PER_READ);
      continue;
    }
    read = 1;
    const slash = row.key.indexOf("/", prefix.length);
    const name = row.key.slice(prefix.length, slash);
    if (await accept(name)) {
      if (names.length === limit) return { names, more: true };
      names.push(name);
    }
    after = row.key.slice(0, slash + 1) + PAST_PREFIX;
  }
}

/** The warehouse's namespaces: its first-level key segments that are namespace names. */
export function listNamespaces(ctx: Context, bucket: string, page: PageRequest = {}): Promise<NamePage> {
  return childNames(ctx, bucket, "", isCatalogNamespaceName, page);
}

/** A namespace exists while any object is under it. */
export async function namespaceExists(ctx: Context, bucket: string, namespace: string): Promise<boolean> {
  return (await ctx.metadata.listCurrent({ bucket, prefix: namespacePrefix(namespace), limit: 1 })).length > 0;
}

async function current(ctx: Context, bucket: string, key: string): Promise<ObjectVersionRecord | undefined> {
  const v = await ctx.metadata.getLatest(bucket, key);
  return v && !v.isDeleteMarker ? v : undefined;
}

/**
 * Whether a table is there, without reading its metadata: table-store writes v1.metadata.json
 * first and the version hint after each commit, and never removes either while the table lives.
 */
export async function tableExists(ctx: Context, bucket: string, namespace: string, table: string): Promise<boolean> {
  const location = catalogTableLocation(bucket, namespace, table);
  const uri = `s3://${bucket}/${location.prefix.slice(0, -1)}`;
  for (const file of [tableFiles.versionHint(uri), tableFiles.metadata(uri, 1)]) {
    if (await current(ctx, bucket, keyOfUri(location, file))) return true;
  }
  return false;
}

/** The tables of a namespace: its second-level segments that name a table. */
export function listTables(ctx: Context, bucket: string, namespace: string, page: PageRequest = {}): Promise<NamePage> {
  return childNames(ctx, bucket, namespacePrefix(namespace), async (name) => isCatalogTableName(name) && (await tableExists(ctx, bucket, namespace, name)), page);
}

/** A table of the catalog whose metadata has been found, not yet read. */
export interface LocatedCatalogTable {
  location: TableLocation;
  /** The current v<N>.metadata.json: what a reader of the table must be allowed to GET. */
  file: TableMetadataFile;
}

/**
 * Where a table's current metadata is, or undefined when there is no table, from the bucket's
 * index alone: the caller authorizes the GET of that file before readTable opens it.
 */
export async function locateCatalogTable(ctx: Context, bucket: string, namespace: string, table: string): Promise<LocatedCatalogTable | undefined> {
  const location = catalogTableLocation(bucket, namespace, table);
  const file = await locateTable(ctx, location);
  return file && { location, file };
}
