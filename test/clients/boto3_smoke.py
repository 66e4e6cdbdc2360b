"""boto3 against a running Stocktake: the main paths a Python user takes.

Reads STOCKTAKE_URL, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment; prints
one line per check and exits non-zero on the first failure.
"""
import hashlib
import os
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

url = os.environ["STOCKTAKE_URL"]
style = os.environ.get("ADDRESSING", "path")
s3 = boto3.client(
    "s3",
    endpoint_url=url,
    region_name="us-east-1",
    config=Config(s3={"addressing_style": style}, retries={"max_attempts": 1}),
)


def check(name, cond):
    print(("ok   " if cond else "FAIL ") + name)
    if not cond:
        sys.exit(1)


def error_code(fn):
    try:
        fn()
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    return None, 200


bucket = "boto3-" + style
s3.create_bucket(Bucket=bucket)
check("create_bucket then head_bucket", s3.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200)
check("create_bucket again by its owner in us-east-1 answers 200 (S3's legacy rule there)", s3.create_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200)

body = b"hello from boto3 " * 100
put = s3.put_object(Bucket=bucket, Key="dir/hello.txt", Body=body, Metadata={"k": "v"}, ContentType="text/plain")
check("put_object ETag is the MD5", put["ETag"] == '"%s"' % hashlib.md5(body).hexdigest())
got = s3.get_object(Bucket=bucket, Key="dir/hello.txt")
check("get_object body", got["Body"].read() == body)
check("get_object metadata", got["Metadata"] == {"k": "v"} and got["ContentType"] == "text/plain")
# botocore sends a non-ASCII header value as UTF-8 and signs those bytes; S3 answers a metadata
# value holding one RFC 2047-encoded ("mail-safe"), as its guide to object metadata says.
# botocore refuses non-ASCII in Metadata=, so the header goes in as s3-tests puts it.
def unicode_meta(params, **_):
    params["headers"]["x-amz-meta-greeting"] = "Hello World\u00e9"
s3.meta.events.register("before-call.s3.PutObject", unicode_meta)
s3.put_object(Bucket=bucket, Key="unicode-meta", Body=b"x")
s3.meta.events.unregister("before-call.s3.PutObject", unicode_meta)
check("non-ASCII metadata is signed as sent and answered RFC 2047-encoded",
      s3.head_object(Bucket=bucket, Key="unicode-meta")["Metadata"] == {"greeting": "=?UTF-8?B?SGVsbG8gV29ybGTDqQ==?="})
s3.delete_object(Bucket=bucket, Key="unicode-meta")
rng = s3.get_object(Bucket=bucket, Key="dir/hello.txt", Range="bytes=0-4")
check("ranged get", rng["Body"].read() == b"hello" and rng["ContentRange"] == "bytes 0-4/%d" % len(body))
check("NoSuchKey", error_code(lambda: s3.get_object(Bucket=bucket, Key="missing"))[0] == "NoSuchKey")

big = os.urandom(12 * 1024 * 1024)
with open("/tmp/stocktake-boto3-big.bin", "wb") as f:
    f.write(big)
s3.upload_file("/tmp/stocktake-boto3-big.bin", bucket, "big.bin", Config=boto3.s3.transfer.TransferConfig(multipart_threshold=64 * 1024 * 1024))
check("upload_file below the multipart threshold round-trips", s3.get_object(Bucket=bucket, Key="big.bin")["Body"].read() == big)
os.remove("/tmp/stocktake-boto3-big.bin")

s3.copy_object(Bucket=bucket, Key="copy.txt", CopySource={"Bucket": bucket, "Key": "dir/hello.txt"})
check("copy_object", s3.get_object(Bucket=bucket, Key="copy.txt")["Body"].read() == body)

keys = []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 1}):
    keys += [c["Key"] for c in page.get("Contents", [])]
check("list_objects_v2 paginates in key order", keys == ["big.bin", "copy.txt", "dir/hello.txt"])
v1 = s3.list_objects(Bucket=bucket, Delimiter="/")
check("list_objects v1 with delimiter", [p["Prefix"] for p in v1.get("CommonPrefixes", [])] == ["dir/"])

url_get = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "dir/hello.txt"}, ExpiresIn=60)
import urllib.request

check("presigned URL", urllib.request.urlopen(url_get).read() == body)

res = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})
check("delete_objects", sorted(d["Key"] for d in res["Deleted"]) == sorted(keys))
s3.delete_bucket(Bucket=bucket)
check("delete_bucket", error_code(lambda: s3.head_bucket(Bucket=bucket))[1] == 404)
print("boto3 checks passed")
