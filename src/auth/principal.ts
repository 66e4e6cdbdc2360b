// Who is making a request, once authentication has decided: the one fact about a caller that
// authorization needs, kept here so that auth/ depends on nothing above it.

export type Principal =
  | { kind: "anonymous" }
  | { kind: "account"; accountId: string; accessKeyId: string }
  /**
   * An S3 service acting for a source bucket: inventory reports (s3.amazonaws.com), server access
   * logs (logging.s3.amazonaws.com). `sourceAccount` is the source bucket owner, under each name
   * a policy may use for it (aws:SourceAccount).
   */
  | { kind: "service"; service: "s3.amazonaws.com" | "logging.s3.amazonaws.com"; sourceAccount: string | string[]; sourceArn: string };
