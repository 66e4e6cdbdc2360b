"""boto3 against a running Stocktake: the inventory configuration API round trip and its errors.

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


def code_of(fn):
    try:
        fn()
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    return None, 200


bucket = "boto3-inventory"
s3.create_bucket(Bucket=bucket)
config = {
    "Id": "weekly-parquet",
    "IsEnabled": True,
    "Filter": {"Prefix": "data/"},
    "IncludedObjectVersions": "All",
    "OptionalFields": ["Size", "LastModifiedDate", "StorageClass", "ETag", "IsMultipartUploaded", "EncryptionStatus", "ChecksumAlgorithm"],
    "Schedule": {"Frequency": "Weekly"},
    "Destination": {
        "S3BucketDestination": {
            "AccountId": "111122223333",
            "Bucket": "arn:aws:s3:::boto3-reports",
            "Format": "Parquet",
            "Prefix": "inventory",
            "Encryption": {"SSEKMS": {"KeyId": "arn:aws:kms:us-east-1:111122223333:key/abcd"}},
        }
    },
}
put = s3.put_bucket_inventory_configuration(Bucket=bucket, Id="weekly-parquet", InventoryConfiguration=config)
check("put answers 204", put["ResponseMetadata"]["HTTPStatusCode"] == 204)
got = s3.get_bucket_inventory_configuration(Bucket=bucket, Id="weekly-parquet")["InventoryConfiguration"]
check("get returns what was put", got == config)
listed = s3.list_bucket_inventory_configurations(Bucket=bucket)
check("list shows it", [c["Id"] for c in listed["InventoryConfigurationList"]] == ["weekly-parquet"] and listed["IsTruncated"] is False)
bad = dict(config, Id="other")
check("IdMismatch", code_of(lambda: s3.put_bucket_inventory_configuration(Bucket=bucket, Id="weekly-parquet", InventoryConfiguration=bad)) == ("IdMismatch", 400))
check("NoSuchConfiguration", code_of(lambda: s3.get_bucket_inventory_configuration(Bucket=bucket, Id="missing")) == ("NoSuchConfiguration", 404))
s3.delete_bucket_inventory_configuration(Bucket=bucket, Id="weekly-parquet")
check("deleted", "InventoryConfigurationList" not in s3.list_bucket_inventory_configurations(Bucket=bucket))
print("boto3 inventory checks passed")
