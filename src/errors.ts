// The S3 error catalogue: every error code Stocktake can answer, with its HTTP status and message.
// Nothing else in the codebase renders an error body; handlers throw S3Error and the responder
// (src/server/respond.ts) turns it into S3's <Error> document.
// https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html

export const S3Errors = {
  AccessControlListNotSupported: { status: 400, message: "The bucket does not allow ACLs" },
  AccessDenied: { status: 403, message: "Access Denied" },
  AccessForbidden: { status: 403, message: "CORSResponse: This CORS request is not allowed." },
  AuthorizationHeaderMalformed: { status: 400, message: "The authorization header is malformed." },
  AuthorizationQueryParametersError: {
    status: 400,
    message: "Error parsing the X-Amz-Credential parameter.",
  },
  BadDigest: { status: 400, message: "The Content-MD5 you specified did not match what we received." },
  BadRequest: { status: 400, message: "Bad Request" },
  BucketAlreadyExists: {
    status: 409,
    message:
      "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.",
  },
  BucketAlreadyOwnedByYou: {
    status: 409,
    message: "Your previous request to create the named bucket succeeded and you already own it.",
  },
  BucketNotEmpty: { status: 409, message: "The bucket you tried to delete is not empty" },
  EntityTooLarge: { status: 400, message: "Your proposed upload exceeds the maximum allowed size" },
  EntityTooSmall: {
    status: 400,
    message: "Your proposed upload is smaller than the minimum allowed object size.",
  },
  ExpiredToken: { status: 400, message: "The provided token has expired." },
  IdMismatch: { status: 400, message: "Document ID does not match the specified configuration ID." },
  IllegalLocationConstraintException: {
    status: 400,
    message: "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.",
  },
  IncompleteBody: {
    status: 400,
    message: "You did not provide the number of bytes specified by the Content-Length HTTP header.",
  },
  // Not an S3 code (S3's storage never fills up): Stocktake's own, with HTTP's status for exactly
  // this (507, RFC 4918). AWS SDKs do not retry a 507 (they do retry 500 and 503), so a client
  // learns at once instead of retrying against a disk that will not empty in seconds.
  InsufficientStorage: {
    status: 507,
    message: "The server's storage is full: new data is refused until deletes free space. Reads and deletes still work.",
  },
  InternalError: { status: 500, message: "We encountered an internal error. Please try again." },
  InvalidAccessKeyId: {
    status: 403,
    message: "The AWS Access Key Id you provided does not exist in our records.",
  },
  InvalidArgument: { status: 400, message: "Invalid Argument" },
  InvalidBucketAclWithObjectOwnership: { status: 400, message: "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting" },
  InvalidBucketName: { status: 400, message: "The specified bucket is not valid." },
  InvalidBucketState: { status: 409, message: "The request is not valid with the current state of the bucket." },
  InvalidDigest: { status: 400, message: "The Content-MD5 you specified is not valid." },
  InvalidEncryptionAlgorithmError: {
    status: 400,
    message: "The encryption request you specified is not valid. The valid value is AES256.",
  },
  InvalidLocationConstraint: { status: 400, message: "The specified location-constraint is not valid" },
  InvalidObjectState: { status: 403, message: "The operation is not valid for the object's storage class" },
  InvalidPart: {
    status: 400,
    message:
      "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
  },
  InvalidPartOrder: {
    status: 400,
    message: "The list of parts was not in ascending order. Parts must be ordered by part number.",
  },
  InvalidPartNumber: { status: 416, message: "The requested partnumber is not satisfiable" },
  InvalidRange: { status: 416, message: "The requested range is not satisfiable" },
  InvalidRequest: { status: 400, message: "Invalid Request" },
  InvalidS3DestinationBucket: { status: 400, message: "Invalid bucket ARN." },
  InvalidStorageClass: { status: 400, message: "The storage class you specified is not valid" },
  InvalidTag: { status: 400, message: "The tag provided was not a valid tag." },
  InvalidTargetBucketForLogging: {
    status: 400,
    message: "The target bucket for logging does not exist, is not owned by you, or does not have the appropriate grants for the log-delivery group.",
  },
  InvalidURI: { status: 400, message: "Couldn't parse the specified URI." },
  "KMS.NotFoundException": { status: 400, message: "Invalid keyId" },
  KeyTooLongError: { status: 400, message: "Your key is too long" },
  MalformedPOSTRequest: { status: 400, message: "The body of your POST request is not well-formed multipart/form-data." },
  MaxPostPreDataLengthExceeded: { status: 400, message: "Your POST request fields preceding the upload file were too large." },
  MalformedACLError: { status: 400, message: "The XML you provided was not well-formed or did not validate against our published schema." },
  MalformedPolicy: { status: 400, message: "Policy has invalid resource" },
  MalformedXML: {
    status: 400,
    message: "The XML you provided was not well-formed or did not validate against our published schema",
  },
  MaxMessageLengthExceeded: { status: 400, message: "Your request was too big." },
  // S3 Metadata: AWS answers MetadataConfigurationNotFound (404) when a bucket has no configuration;
  // it documents no code for creating a second one, so the conflict's name is Stocktake's.
  MetadataConfigurationAlreadyExists: { status: 409, message: "The bucket already has a metadata configuration." },
  MetadataConfigurationNotFound: { status: 404, message: "The metadata configuration does not exist." },
  MetadataTooLarge: {
    status: 400,
    message: "Your metadata headers exceed the maximum allowed metadata size.",
  },
  InvalidPolicyDocument: { status: 400, message: "The content of the form does not meet the conditions specified in the policy document." },
  MethodNotAllowed: { status: 405, message: "The specified method is not allowed against this resource." },
  MissingContentLength: { status: 411, message: "You must provide the Content-Length HTTP header." },
  MissingSecurityHeader: { status: 400, message: "Your request is missing a required header." },
  NoSuchBucket: { status: 404, message: "The specified bucket does not exist" },
  NoSuchBucketPolicy: { status: 404, message: "The bucket policy does not exist" },
  NoSuchConfiguration: { status: 404, message: "The specified configuration does not exist." },
  NoSuchKey: { status: 404, message: "The specified key does not exist." },
  NoSuchCORSConfiguration: { status: 404, message: "The CORS configuration does not exist" },
  NoSuchLifecycleConfiguration: { status: 404, message: "The lifecycle configuration does not exist" },
  NoSuchObjectLockConfiguration: { status: 404, message: "The specified object does not have a ObjectLock configuration" },
  NoSuchPublicAccessBlockConfiguration: { status: 404, message: "The public access block configuration was not found" },
  NoSuchTagSet: { status: 404, message: "The TagSet does not exist" },
  NoSuchUpload: {
    status: 404,
    message:
      "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
  },
  NoSuchVersion: {
    status: 404,
    message: "The specified version does not exist.",
  },
  NotImplemented: {
    status: 501,
    message: "A header you provided implies functionality that is not implemented.",
  },
  NotModified: { status: 304, message: "Not Modified" },
  ObjectLockConfigurationNotFoundError: { status: 404, message: "Object Lock configuration does not exist for this bucket" },
  OperationAborted: { status: 409, message: "A conflicting conditional operation is currently in progress against this resource. Please try again." },
  OwnershipControlsNotFoundError: { status: 404, message: "The bucket ownership controls were not found" },
  PreconditionFailed: {
    status: 412,
    message: "At least one of the pre-conditions you specified did not hold",
  },
  ReplicationConfigurationNotFoundError: { status: 404, message: "The replication configuration was not found" },
  RequestHeaderSectionTooLarge: { status: 400, message: "Your request header section exceeds the maximum allowed size." },
  RequestTimeout: {
    status: 400,
    message: "Your socket connection to the server was not read from or written to within the timeout period.",
  },
  RequestTimeTooSkewed: {
    status: 403,
    message: "The difference between the request time and the server's time is too large.",
  },
  RestoreAlreadyInProgress: { status: 409, message: "Object restore is already in progress" },
  ServerSideEncryptionConfigurationNotFoundError: {
    status: 404,
    message: "The server side encryption configuration was not found",
  },
  SignatureDoesNotMatch: {
    status: 403,
    message:
      "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
  },
  SlowDown: { status: 503, message: "Please reduce your request rate." },
  TooManyConfigurations: {
    status: 400,
    message: "You are attempting to create a new configuration but have already reached the 1,000-configuration limit.",
  },
  UnexpectedContent: { status: 400, message: "This request does not support content" },
  UnresolvableGrantByEmailAddress: { status: 400, message: "The email address you provided does not match any account on record." },
  XAmzContentSHA256Mismatch: {
    status: 400,
    message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
  },
} as const;

export type S3ErrorCode = keyof typeof S3Errors;

/** Extra elements S3 adds to some error bodies (BucketName, Key, ArgumentName, ...). */
export type S3ErrorDetails = Record<string, string | number | undefined>;

export class S3Error extends Error {
  readonly code: S3ErrorCode;
  readonly status: number;
  readonly details: S3ErrorDetails;
  /** Headers S3 sends with this error (x-amz-delete-marker on a 404 for a deleted key, ...). */
  readonly headers: Record<string, string>;

  constructor(
    code: S3ErrorCode,
    message?: string,
    details: S3ErrorDetails = {},
    headers: Record<string, string> = {},
  ) {
    super(message ?? S3Errors[code].message);
    this.name = "S3Error";
    this.code = code;
    this.status = S3Errors[code].status;
    this.details = details;
    this.headers = headers;
  }
}

export function isS3Error(e: unknown): e is S3Error {
  return e instanceof S3Error;
}
