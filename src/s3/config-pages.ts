// What the multi-id bucket configuration APIs share (inventory, Intelligent-Tiering, and any like
// them: analytics, metrics): the required `id` query parameter and the List operations' pages of
// 100 configurations sorted by id, with an opaque continuation token that names the last id.
import { S3Error } from "../errors.js";
import type { S3Request, ServerContext } from "./types.js";

const PAGE_SIZE = 100;

export function requiredId(req: S3Request): string {
  const id = req.query.get("id");
  if (id === null || id === "") throw new S3Error("InvalidArgument", "Missing required parameter: id", { ArgumentName: "id" });
  return id;
}

/**
 * One page of the bucket's configurations of `kind`, and the List result's token elements.
 * `tokenPrefix` tells one API's tokens from another's, so a token is never taken across them.
 */
export async function configPage(
  req: S3Request,
  ctx: ServerContext,
  kind: string,
  tokenPrefix: string,
): Promise<{ jsons: string[]; IsTruncated: boolean; ContinuationToken?: string; NextContinuationToken?: string }> {
  const token = req.query.get("continuation-token");
  let after: string | undefined;
  if (token !== null) {
    const decoded = Buffer.from(token, "base64url").toString("utf8");
    if (!decoded.startsWith(tokenPrefix)) {
      throw new S3Error("InvalidArgument", "The continuation token provided is incorrect", { ArgumentName: "continuation-token" });
    }
    after = decoded.slice(tokenPrefix.length);
  }
  const rows = await ctx.metadata.listBucketConfigs(req.bucketRecord!.name, kind, after, PAGE_SIZE + 1);
  const page = rows.slice(0, PAGE_SIZE);
  const truncated = rows.length > PAGE_SIZE;
  return {
    jsons: page.map((r) => r.json),
    IsTruncated: truncated,
    ContinuationToken: token ?? undefined,
    NextContinuationToken: truncated ? Buffer.from(tokenPrefix + page[page.length - 1]!.id).toString("base64url") : undefined,
  };
}
