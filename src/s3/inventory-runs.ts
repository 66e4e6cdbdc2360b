// Stocktake's own operations for inventory reports on demand (S3 has none): start a run of a
// configuration, and list runs with their outcome. They sit beside the configuration API:
//   POST /{bucket}?inventory&id={id}&run[&wait]   -> <InventoryRun> (202, or 200 with wait)
//   GET  /{bucket}?inventory-runs[&id=][&run-id=]  -> <ListInventoryRunsResult>
// Starting a run needs s3:PutInventoryConfiguration, listing s3:GetInventoryConfiguration.
import { S3Error } from "../errors.js";
import type { Handler } from "./types.js";
import { getRun, listRuns, startRun, type InventoryRun } from "../inventory/run.js";
import { requiredId } from "./config-pages.js";

function runXml(run: InventoryRun): Record<string, unknown> {
  return {
    RunId: run.runId,
    Bucket: run.bucket,
    Id: run.configId,
    Trigger: run.trigger,
    Status: run.status,
    StartedAt: run.startedAt,
    FinishedAt: run.finishedAt,
    Rows: run.rows,
    Bytes: run.bytes,
    Files: run.files,
    ManifestKey: run.manifestKey,
    Error: run.error,
  };
}

export const runBucketInventoryConfiguration: Handler = async (req, ctx) => {
  const id = requiredId(req);
  if (await ctx.metadata.getBucketConfig(req.bucketRecord!.name, "inventory", id) === undefined) throw new S3Error("NoSuchConfiguration");
  const started = await startRun(ctx, req.bucketRecord!, id, "on-demand");
  if (req.query.has("wait")) return { xml: { root: "InventoryRun", value: runXml(await started.finished) } };
  return { status: 202, xml: { root: "InventoryRun", value: runXml(started.run) } };
};

export const listBucketInventoryRuns: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!.name;
  const runId = req.query.get("run-id");
  if (runId !== null) {
    const run = await getRun(ctx, req.bucketRecord!, runId);
    if (!run) throw new S3Error("NoSuchConfiguration", "The specified inventory run does not exist.");
    return { xml: { root: "ListInventoryRunsResult", value: { InventoryRun: [runXml(run)] } } };
  }
  const runs = await listRuns(ctx, bucket, req.query.get("id") ?? undefined);
  return { xml: { root: "ListInventoryRunsResult", value: { InventoryRun: runs.map(runXml) } } };
};
