// RestoreObject: starts the retrieval of an archived object (GLACIER, DEEP_ARCHIVE, or an
// Intelligent-Tiering object in an opt-in archive tier), extends a finished one, or refuses.
// The retrieval takes time on the injectable clock; the tiering pass completes it (src/tiering/).
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_RestoreObject.html
import { S3Error } from "../errors.js";
import { elementOf, parseXml, readBody, textOf } from "../xml/codec.js";
import type { Handler } from "./types.js";
import { addressedVersion } from "./request.js";
import { RestoreTiers, decideRestore, type RestoreRequest, type RestoreTier } from "../tiering/tiers.js";
import { markTieredBucket } from "../tiering/hooks.js";

const MAX_BODY_BYTES = 64 * 1024;
const MAX_DAYS = 2_147_483_647;

const malformed = () => new S3Error("MalformedXML");

/** The RestoreRequest document; an empty body asks for a restore with no parameters. */
export function parseRestoreRequest(body: Buffer): RestoreRequest {
  if (body.length === 0) return { tier: "Standard" };
  const doc = parseXml(body, "RestoreRequest");
  for (const name of Object.keys(doc)) {
    if (!["Days", "GlacierJobParameters", "Tier", "Description", "Type", "SelectParameters", "OutputLocation"].includes(name)) throw malformed();
  }
  // The select form of RestoreObject (S3 Select on archived data) is retired on S3 and not built here.
  if (doc.Type !== undefined || doc.SelectParameters !== undefined || doc.OutputLocation !== undefined) {
    throw new S3Error("NotImplemented", "RestoreObject with a select request (S3 Select on archived data) is not implemented.");
  }
  let days: number | undefined;
  const rawDays = textOf(doc, "Days");
  if (rawDays !== undefined) {
    if (!/^-?\d{1,10}$/.test(rawDays.trim())) throw malformed();
    days = Number(rawDays.trim());
    if (days < 1 || days > MAX_DAYS) {
      throw new S3Error("InvalidArgument", "Days must be a positive integer.", { ArgumentName: "Days", ArgumentValue: rawDays });
    }
  }
  const job = elementOf(doc, "GlacierJobParameters");
  if (job !== undefined) {
    for (const name of Object.keys(job)) if (name !== "Tier") throw malformed();
    if (job.Tier === undefined) throw malformed();
  }
  const rawTier = (job !== undefined ? textOf(job, "Tier") : undefined) ?? textOf(doc, "Tier") ?? "Standard";
  if (!(RestoreTiers as readonly string[]).includes(rawTier)) throw malformed();
  return { days, tier: rawTier as RestoreTier };
}

export const restoreObject: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!;
  const request = parseRestoreRequest(await readBody(req.body, MAX_BODY_BYTES));
  const v = await addressedVersion(req, ctx);
  const now = ctx.clock.now().getTime();
  let status: 200 | 202 = 202;
  const updated = await ctx.metadata.updateVersion(bucket, v.key, v.versionId, (current) => {
    const decision = decideRestore(
      { key: current.key, size: current.size, storageClass: current.storageClass, lastModified: current.lastModified.getTime(), extra: current.extra },
      request,
      now,
    );
    status = decision.status;
    return { extra: decision.extra };
  });
  if (updated === undefined) throw new S3Error("NoSuchKey", undefined, { Key: req.key });
  // Objects written before buckets were marked are found from their first restore on.
  markTieredBucket(ctx, bucket.name);
  return { status };
};
