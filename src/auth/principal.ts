// Who is making a request, once authentication has decided: the one fact about a caller that
// authorization needs, kept here so that auth/ depends on nothing above it.

export type Principal =
  | { kind: "anonymous" }
  | { kind: "account"; accountId: string; accessKeyId: string }
  /** The S3 service itself delivering inventory reports on behalf of a source bucket. */
  | { kind: "service"; service: "s3.amazonaws.com"; sourceAccount: string; sourceArn: string };
