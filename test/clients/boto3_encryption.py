"""boto3 against a running Stocktake: server-side encryption as a Python user meets it.

Reads STOCKTAKE_URL, the AWS_* credentials and KMS_KEY_ARN (a key the test created, alias
alias/test-key) from the environment; prints one line per check and exits non-zero on the first
failure.
"""
import hashlib
import base64
import os
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

s3 = boto3.client(
    "s3",
    endpoint_url=os.environ["STOCKTAKE_URL"],
    region_name="us-east-1",
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
)
kms_arn = os.environ["KMS_KEY_ARN"]


def check(name, cond):
    print(("ok   " if cond else "FAIL ") + name)
    if not cond:
        sys.exit(1)


def error_of(fn):
    try:
        fn()
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    return None, 200


bucket = "boto3-sse"
s3.create_bucket(Bucket=bucket)

put = s3.put_object(Bucket=bucket, Key="default", Body=b"default")
check("SSE-S3 by default", put["ServerSideEncryption"] == "AES256")
check("get_bucket_encryption shows the default rule",
      s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256")

put = s3.put_object(Bucket=bucket, Key="kms", Body=b"kms body", ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/test-key")
check("SSE-KMS by alias answers the key ARN", put["ServerSideEncryption"] == "aws:kms" and put["SSEKMSKeyId"] == kms_arn)
got = s3.get_object(Bucket=bucket, Key="kms")
check("SSE-KMS get", got["Body"].read() == b"kms body" and got["SSEKMSKeyId"] == kms_arn)
check("unknown KMS key is KMS.NotFoundException",
      error_of(lambda: s3.put_object(Bucket=bucket, Key="x", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/missing")) == ("KMS.NotFoundException", 400))

key = os.urandom(32)
other = os.urandom(32)
body = os.urandom(150_000)
put = s3.put_object(Bucket=bucket, Key="ssec", Body=body, SSECustomerAlgorithm="AES256", SSECustomerKey=key)
check("SSE-C put echoes the key MD5", put["SSECustomerKeyMD5"] == base64.b64encode(hashlib.md5(key).digest()).decode())
got = s3.get_object(Bucket=bucket, Key="ssec", SSECustomerAlgorithm="AES256", SSECustomerKey=key)
check("SSE-C get with the key", got["Body"].read() == body)
rng = s3.get_object(Bucket=bucket, Key="ssec", Range="bytes=70000-70100", SSECustomerAlgorithm="AES256", SSECustomerKey=key)
check("SSE-C ranged get", rng["Body"].read() == body[70000:70101])
check("SSE-C get with a wrong key is 403",
      error_of(lambda: s3.get_object(Bucket=bucket, Key="ssec", SSECustomerAlgorithm="AES256", SSECustomerKey=other))[1] == 403)
check("SSE-C get without the key is 400", error_of(lambda: s3.get_object(Bucket=bucket, Key="ssec"))[1] == 400)

s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
    {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_arn}, "BucketKeyEnabled": True}]})
put = s3.put_object(Bucket=bucket, Key="by-default", Body=b"x")
check("bucket default SSE-KMS with a bucket key", put["ServerSideEncryption"] == "aws:kms" and put["SSEKMSKeyId"] == kms_arn and put["BucketKeyEnabled"] is True)
head = s3.head_object(Bucket=bucket, Key="by-default")
check("head shows the bucket key", head["BucketKeyEnabled"] is True and head["SSEKMSKeyId"] == kms_arn)
s3.delete_bucket_encryption(Bucket=bucket)
check("delete_bucket_encryption restores SSE-S3", s3.put_object(Bucket=bucket, Key="after", Body=b"x")["ServerSideEncryption"] == "AES256")

copied = s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "ssec"},
                        CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=key, ServerSideEncryption="aws:kms:dsse")
check("copy of an SSE-C object into DSSE-KMS", copied["ServerSideEncryption"] == "aws:kms:dsse")
check("the copy reads back", s3.get_object(Bucket=bucket, Key="copy")["Body"].read() == body)

print("boto3 encryption checks passed")
