// Requester Pays: Put/GetBucketRequestPayment. Stocktake bills no one, so a bucket's Payer is
// stored and reported and changes nothing else, except that S3 refuses a Requester Pays bucket
// as a server access logging target (bucket-logging.ts), and so does Stocktake.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketRequestPayment.html
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/RequesterPaysBuckets.html
import { S3Error } from "../errors.js";
import { onlyChildren, parseXml, readBody, requiredText } from "../xml/codec.js";
import type { BucketSettings } from "../core/bucket-settings.js";
import type { Handler, S3Request } from "./types.js";

export const Payers = ["BucketOwner", "Requester"] as const;
export type Payer = (typeof Payers)[number];

/** Stored only for Requester: BucketOwner, the default, is the absence of the setting. */
export const REQUEST_PAYMENT_KIND = "requestPayment";
const BODY_LIMIT = 64 * 1024;

export function parseRequestPayment(body: Buffer): Payer {
  const doc = parseXml(body, "RequestPaymentConfiguration");
  onlyChildren(doc, ["Payer"], "RequestPaymentConfiguration");
  const payer = requiredText(doc, "Payer", "RequestPaymentConfiguration").trim();
  if (!(Payers as readonly string[]).includes(payer)) throw new S3Error("MalformedXML");
  return payer as Payer;
}

export async function payerOf(settings: BucketSettings, bucket: string): Promise<Payer> {
  return (await settings.get<Payer>(bucket, REQUEST_PAYMENT_KIND)) ?? "BucketOwner";
}

/** S3 lets only the bucket owner read or set who pays, whatever a policy allows. */
function requireOwner(req: S3Request): void {
  if (req.principal.kind !== "account" || req.principal.accountId !== req.bucketRecord!.ownerAccountId) throw new S3Error("AccessDenied");
}

export const putBucketRequestPayment: Handler = async (req, ctx) => {
  requireOwner(req);
  const payer = parseRequestPayment(await readBody(req.body, BODY_LIMIT));
  if (payer === "Requester") await ctx.settings.put(req.bucketRecord!, REQUEST_PAYMENT_KIND, payer);
  else await ctx.settings.delete(req.bucketRecord!, REQUEST_PAYMENT_KIND);
  return {};
};

export const getBucketRequestPayment: Handler = async (req, ctx) => {
  requireOwner(req);
  return { xml: { root: "RequestPaymentConfiguration", value: { Payer: await payerOf(ctx.settings, req.bucketRecord!.name) } } };
};
