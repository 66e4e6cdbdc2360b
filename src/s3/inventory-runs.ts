// Stocktake's own operations for inventory reports on demand (S3 has none): start a run of a
// configuration, and list runs with their outcome and their report's summary. They sit beside the
// configuration API:
//   POST /{bucket}?inventory&id={id}&run[&wait]   -> <InventoryRun> (202, or 200 with wait)
//   GET  /{bucket}?inventory-runs[&id=][&run-id=][&max-runs=][&continuation-token=]
//                                                   -> <ListInventoryRunsResult>, newest first
// With `Accept: application/json` both answer the same as JSON (a run; {"runs": [...]}), for
// scripts and the console. Errors stay S3 error documents (XML).
// Starting a run needs s3:PutInventoryConfiguration, listing s3:GetInventoryConfiguration.
// A summary's top-level prefixes are key names, which S3 shows only to those who may list the
// bucket: a caller not allowed s3:ListBucket gets the summary without them.
import { S3Error } from "../errors.js";
import type { Handler, S3Request, S3Result, ServerContext } from "./types.js";
import { authorize, requestConditionContext } from "../auth/authorize.js";
import { aclGrants } from "./acl.js";
import { getRun, listRunsPage, MAX_RUNS_LISTED, startRun, type InventoryRun, type RunPage } from "../inventory/run.js";
import type { InventorySummary, Tally } from "../inventory/summary.js";
import { requiredId } from "./config-pages.js";

const tallyXml = (t: Tally) => ({ Count: t.count, Bytes: t.bytes });
const namedXml = (tallies: Record<string, Tally>) => Object.entries(tallies).map(([name, t]) => ({ Name: name, ...tallyXml(t) }));

/** A summary as a caller may see it: without the prefixes (key names) unless it may list the bucket. */
type ShownSummary = Omit<InventorySummary, "prefixes" | "otherPrefixes" | "prefixBound"> & Partial<Pick<InventorySummary, "prefixes" | "otherPrefixes" | "prefixBound">>;

function shown(s: InventorySummary, mayList: boolean): ShownSummary {
  if (mayList) return s;
  const { prefixes: _prefixes, otherPrefixes: _other, prefixBound: _bound, ...rest } = s;
  return rest;
}

async function mayListBucket(req: S3Request, ctx: ServerContext): Promise<boolean> {
  const bucket = req.bucketRecord!;
  try {
    await authorize({
      principal: req.principal,
      action: "s3:ListBucket",
      bucket,
      policies: ctx.policies,
      context: requestConditionContext(req.headers, new URLSearchParams(), req.sourceIp, req.secureTransport, ctx.clock.now(), req.principal.kind !== "anonymous"),
      aclGrants: aclGrants(ctx, req.principal, bucket, undefined, undefined),
    });
    return true;
  } catch (err) {
    if (err instanceof S3Error && err.code === "AccessDenied") return false;
    throw err;
  }
}

function summaryXml(s: ShownSummary): Record<string, unknown> {
  return {
    SnapshotAt: s.snapshotAt,
    Rows: s.rows,
    Objects: tallyXml(s.objects),
    Current: tallyXml(s.current),
    Noncurrent: tallyXml(s.noncurrent),
    DeleteMarkers: s.deleteMarkers,
    Multipart: tallyXml(s.multipart),
    StorageClass: namedXml(s.storageClasses),
    EncryptionStatus: namedXml(s.encryption),
    ReplicationStatus: namedXml(s.replication),
    AgeBand: s.ageBands.map((b) => ({ Name: b.band, ...tallyXml(b) })),
    Prefix: s.prefixes?.map((p) => ({ Name: p.prefix, ...tallyXml(p) })),
    OtherPrefixes: s.otherPrefixes && tallyXml(s.otherPrefixes),
    PrefixBound: s.prefixBound,
  };
}

function runXml(run: InventoryRun, mayList: boolean): Record<string, unknown> {
  return {
    RunId: run.runId,
    Bucket: run.bucket,
    Id: run.configId,
    Trigger: run.trigger,
    Status: run.status,
    StartedAt: run.startedAt,
    SnapshotAt: run.snapshotAt,
    FinishedAt: run.finishedAt,
    Rows: run.rows,
    Bytes: run.bytes,
    Files: run.files,
    ManifestKey: run.manifestKey,
    DestinationBucket: run.destinationBucket,
    Error: run.error,
    Summary: run.summary && summaryXml(shown(run.summary, mayList)),
  };
}

/** A run as JSON: the XML's fields in camelCase (`id` is the configuration's), the summary as stored. */
export interface InventoryRunJson {
  runId: string;
  bucket: string;
  id: string;
  trigger: InventoryRun["trigger"];
  status: InventoryRun["status"];
  startedAt: string;
  snapshotAt?: string;
  finishedAt?: string;
  rows: number;
  bytes: number;
  files: number;
  manifestKey?: string;
  destinationBucket?: string;
  error?: string;
  summary?: ShownSummary;
}

function runJson(run: InventoryRun, mayList: boolean): InventoryRunJson {
  return {
    runId: run.runId,
    bucket: run.bucket,
    id: run.configId,
    trigger: run.trigger,
    status: run.status,
    startedAt: run.startedAt,
    snapshotAt: run.snapshotAt,
    finishedAt: run.finishedAt,
    rows: run.rows,
    bytes: run.bytes,
    files: run.files,
    manifestKey: run.manifestKey,
    destinationBucket: run.destinationBucket,
    error: run.error,
    summary: run.summary && shown(run.summary, mayList),
  };
}

function wantsJson(req: S3Request): boolean {
  const accept = req.headers.accept;
  if (accept === undefined) return false;
  // Any listed application/json not refused with q=0; XML otherwise, as S3 clients expect.
  return accept.split(",").some((part) => {
    const [type, ...params] = part.split(";").map((p) => p.trim().toLowerCase());
    return type === "application/json" && !params.some((p) => /^q=0(\.0*)?$/.test(p));
  });
}

function answer(req: S3Request, status: number, root: string, xml: Record<string, unknown>, json: unknown): S3Result {
  if (!wantsJson(req)) return { status, headers: { Vary: "Accept" }, xml: { root, value: xml } };
  return { status, headers: { "Content-Type": "application/json", Vary: "Accept" }, body: Buffer.from(JSON.stringify(json)) };
}

async function oneRun(req: S3Request, ctx: ServerContext, status: number, run: InventoryRun): Promise<S3Result> {
  const mayList = run.summary !== undefined && (await mayListBucket(req, ctx));
  return answer(req, status, "InventoryRun", runXml(run, mayList), runJson(run, mayList));
}

async function runList(req: S3Request, ctx: ServerContext, { runs, next }: RunPage): Promise<S3Result> {
  const mayList = runs.some((r) => r.summary !== undefined) && (await mayListBucket(req, ctx));
  return answer(
    req,
    200,
    "ListInventoryRunsResult",
    { InventoryRun: runs.map((r) => runXml(r, mayList)), IsTruncated: next !== undefined, NextContinuationToken: next },
    { runs: runs.map((r) => runJson(r, mayList)), isTruncated: next !== undefined, ...(next === undefined ? {} : { nextContinuationToken: next }) },
  );
}

function maxRuns(req: S3Request): number {
  const text = req.query.get("max-runs");
  if (text === null) return MAX_RUNS_LISTED;
  if (!/^\d{1,4}$/.test(text) || Number(text) < 1 || Number(text) > MAX_RUNS_LISTED) {
    throw new S3Error("InvalidArgument", `max-runs must be an integer from 1 to ${MAX_RUNS_LISTED}.`, { ArgumentName: "max-runs", ArgumentValue: text });
  }
  return Number(text);
}

/** A run id from an earlier page; only ever compared with stored ids, so any short text is harmless. */
function continuationToken(req: S3Request): string | undefined {
  const token = req.query.get("continuation-token");
  if (token === null) return undefined;
  if (token === "" || token.length > 200) throw new S3Error("InvalidArgument", "The continuation token provided is incorrect", { ArgumentName: "continuation-token" });
  return token;
}

export const runBucketInventoryConfiguration: Handler = async (req, ctx) => {
  const id = requiredId(req);
  if (await ctx.metadata.getBucketConfig(req.bucketRecord!.name, "inventory", id) === undefined) throw new S3Error("NoSuchConfiguration");
  const started = await startRun(ctx, req.bucketRecord!, id, "on-demand");
  if (req.query.has("wait")) return oneRun(req, ctx, 200, await started.finished);
  return oneRun(req, ctx, 202, started.run);
};

export const listBucketInventoryRuns: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!.name;
  const runId = req.query.get("run-id");
  if (runId !== null) {
    const run = await getRun(ctx, req.bucketRecord!, runId);
    if (!run) throw new S3Error("NoSuchConfiguration", "The specified inventory run does not exist.");
    return runList(req, ctx, { runs: [run] });
  }
  const page = await listRunsPage(ctx, bucket, { configId: req.query.get("id") ?? undefined, before: continuationToken(req), max: maxRuns(req) });
  return runList(req, ctx, page);
};
