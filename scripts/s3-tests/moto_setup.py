"""Prepares a moto server for s3-tests (scripts/s3-tests.sh with S3TESTS_MOTO set): the comparison run.

moto takes an account from the access key only for keys its own IAM made, so the suite's alt and
tenant accounts are IAM users created in accounts of their own (moto's `x-moto-account-id` header
picks the account); the main account is moto's default one, whatever its key. The two KMS keys the
SSE-KMS tests name are made in the main account. Prints shell assignments for the script to eval.

    python3 moto_setup.py http://127.0.0.1:PORT
"""
import shlex
import sys

import boto3

ACCOUNTS = {"alt": "210987654321", "tenant": "345678901234"}


def in_account(account):
    def add_header(request, **_):
        request.headers["x-moto-account-id"] = account

    return add_header


def client(service, endpoint):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="moto", aws_secret_access_key="moto")


def main(endpoint):
    assignments = {}
    for name, account in ACCOUNTS.items():
        iam = client("iam", endpoint)
        iam.meta.events.register("before-send.iam.*", in_account(account))
        iam.create_user(UserName=f"s3-tests-{name}")
        key = iam.create_access_key(UserName=f"s3-tests-{name}")["AccessKey"]
        assignments[f"{name}_key"] = key["AccessKeyId"]
        assignments[f"{name}_secret"] = key["SecretAccessKey"]
    kms = client("kms", endpoint)
    for n in (1, 2):
        assignments[f"kms_key_{n}"] = kms.create_key(Description=f"s3-tests {n}")["KeyMetadata"]["Arn"]
    for name, value in assignments.items():
        print(f"{name}={shlex.quote(value)}")


if __name__ == "__main__":
    main(sys.argv[1])
