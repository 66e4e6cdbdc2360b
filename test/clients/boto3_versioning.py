"""boto3 against a running Stocktake: versioning, delete markers, the null version, version listing.

Reads STOCKTAKE_URL, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment.
"""
import os
import sys

import boto3
from botocore.exceptions import ClientError

s3 = boto3.client("s3", endpoint_url=os.environ["STOCKTAKE_URL"], region_name="us-east-1")


def check(name, cond):
    print(("ok   " if cond else "FAIL ") + name)
    if not cond:
        sys.exit(1)


bucket = "boto3-versioning"
s3.create_bucket(Bucket=bucket)
check("no status before enabling", "Status" not in s3.get_bucket_versioning(Bucket=bucket))
s3.put_object(Bucket=bucket, Key="k", Body=b"null version")
s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
check("enabled", s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled")
v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
check("distinct version ids", v1 != v2 and "null" not in (v1, v2))
check("get by version", s3.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"].read() == b"one")
check("the null version survives", s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"null version")
marker = s3.delete_object(Bucket=bucket, Key="k")
check("delete creates a marker", marker["DeleteMarker"] is True)
try:
    s3.get_object(Bucket=bucket, Key="k")
    check("deleted key is gone", False)
except ClientError as e:
    check("deleted key is NoSuchKey", e.response["Error"]["Code"] == "NoSuchKey")
listing = s3.list_object_versions(Bucket=bucket)
check("versions newest first", [v["VersionId"] for v in listing["Versions"]] == [v2, v1, "null"])
check("marker is latest", listing["DeleteMarkers"][0]["IsLatest"] is True and listing["DeleteMarkers"][0]["VersionId"] == marker["VersionId"])
s3.delete_object(Bucket=bucket, Key="k", VersionId=marker["VersionId"])
check("removing the marker restores the object", s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two")
pages = list(s3.get_paginator("list_object_versions").paginate(Bucket=bucket, PaginationConfig={"PageSize": 1}))
check("paginator walks every version", sum(len(p.get("Versions", [])) for p in pages) == 3)
print("boto3 versioning checks passed")
