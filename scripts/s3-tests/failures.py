"""Sorts the failures of an s3-tests run (the S3TESTS_RESULTS JSON of scripts/s3-tests.sh) by
reason and prints the Markdown that docs/conformance.md keeps: the results table by feature, the
pass rates, and every failure with its reason.

    python3 scripts/s3-tests/failures.py results.json

The reasons live here, one line per test (or per parametrized test's base name), so the page is
regenerated rather than edited by hand; a failure with no reason here is listed as open, with the
first line of its error.
"""
import collections
import json
import sys

PRE_2023 = "pre-2023 default"
DELIBERATE = "deliberate"
NOT_APPLICABLE = "not applicable"
NOT_BUILT = "not built"
TO_CHECK = "to check"
OPEN = "open"
ORDER = [PRE_2023, DELIBERATE, NOT_APPLICABLE, NOT_BUILT, TO_CHECK, OPEN]

ACL_DEFAULT = (
    "sets an ACL on a bucket created with S3's default ObjectOwnership (BucketOwnerEnforced since "
    "April 2023), where S3 too refuses it"
)
BPA_ON_DEFAULT = (
    "sets a public ACL under Block Public Access on a bucket created with S3's default "
    "ObjectOwnership; with ACLs disabled the ACL is refused first (400 AccessControlListNotSupported), "
    "the test expects Block Public Access's 403, which applies only where ACLs are enabled"
)
OWNER_BY_WRITER = (
    "expects the writer, not the bucket owner, to own an object in a bucket created with S3's "
    "default ObjectOwnership (BucketOwnerEnforced since April 2023, where the bucket owner owns every object)"
)
DEFAULT_SSE = (
    "since January 2023 every S3 bucket has SSE-S3 default encryption, so GetBucketEncryption "
    "answers it; the test expects ServerSideEncryptionConfigurationNotFoundError"
)
PART_416 = (
    "a part number past the last part: S3 answers 416 InvalidPartNumber (its error table; moto's "
    "AWS-verified test_head_object sees 416 for part 2 of a one-part object), the test expects 400"
)
IF_NONE_MATCH_ETAG = (
    "If-None-Match with an ETag on a write: S3 accepts only `*` and answers 501 NotImplemented "
    "otherwise (S3's answer quoted in aws/aws-sdk-ruby#3144; ceph/s3-tests#735 proposes aligning the "
    "tests); the test expects an ETag to be compared"
)
TENANTS = "Ceph RGW tenants (a bucket namespace per tenant, \"tenant:bucket\" names) are not an S3 concept"
TENANT_PRINCIPAL = (
    "names the principal arn:aws:iam::s3tenant1:root, an RGW tenant; S3 refuses a principal that is "
    "not an account it knows with MalformedPolicy \"Invalid principal in policy\", as Stocktake does"
)
SSE_C_WRONG_KEY = (
    "reading an SSE-C object with another key: Stocktake answers 403 AccessDenied as S3 does "
    "(MinIO changed to 403 to match S3, minio/minio#5202 and #6432); the test expects 400"
)
COMPOSITE_PART_CHECKSUMS = (
    "completing a SHA-256 (COMPOSITE) upload without each part's checksum: S3 answers InvalidRequest "
    "\"The upload was created using a sha256 checksum. The complete request must include the checksum "
    "for each part\" (quoted from S3 in apache/opendal#4580); the test expects success or BadDigest"
)
OWNER_PRIVATE_ACL = (
    "PutObject with ACL private on a BucketOwnerEnforced bucket: Stocktake accepts it, as issue 21 "
    "asks from S3's behaviour with rclone's default (private grants the owner nothing new); the test "
    "expects AccessControlListNotSupported"
)
COPY_READ_BACK = (
    "the copy is allowed (its s3:x-amz-copy-source / s3:x-amz-metadata-directive conditions hold), but "
    "it lands in a bucket with S3's default ObjectOwnership, where the bucket owner owns it and the "
    "writer, granted only s3:PutObject, may not read it back, as on S3; with ObjectWriter the test passes"
)
POLICY_STATUS = (
    "GetBucketPolicyStatus on a bucket without a policy: S3 answers 404 NoSuchBucketPolicy (S3's answer "
    "logged in cloudquery/cloudquery#12163), as Stocktake does; the test expects IsPublic from the ACL"
)
SSE_C_COMPLETE = (
    "CompleteMultipartUpload of an SSE-C upload without the key: S3's reference asks for it only when "
    "the upload has a checksum algorithm, and this one has none; a wrong key is refused (RGW made the key "
    "optional on completion too, ceph/ceph#71241)"
)

REASONS = {
    # ACLs on buckets with today's default ownership
    **{name: (PRE_2023, ACL_DEFAULT) for name in """
        test_100_continue test_access_bucket_private_object_publicread
        test_access_bucket_private_object_publicreadwrite test_access_bucket_private_objectv2_publicread
        test_access_bucket_private_objectv2_publicreadwrite test_access_bucket_publicread_object_private
        test_access_bucket_publicread_object_publicread test_access_bucket_publicread_object_publicreadwrite
        test_access_bucket_publicreadwrite_object_private test_access_bucket_publicreadwrite_object_publicread
        test_access_bucket_publicreadwrite_object_publicreadwrite test_bucket_acl_canned
        test_bucket_acl_canned_authenticatedread test_bucket_acl_canned_publicreadwrite
        test_bucket_acl_grant_email_not_exist test_bucket_acl_grant_nonexist_user test_bucket_acl_revoke_all
        test_bucket_list_objects_anonymous test_bucket_listv2_objects_anonymous test_bucket_policy_acl
        test_bucket_recreate_overwrite_acl test_bucketv2_policy_acl test_cors_header_option
        test_cors_origin_response test_cors_origin_wildcard test_cors_presigned_get_object
        test_cors_presigned_get_object_tenant test_cors_presigned_get_object_tenant_v2
        test_cors_presigned_get_object_v2 test_cors_presigned_put_object test_cors_presigned_put_object_tenant
        test_cors_presigned_put_object_tenant_v2 test_cors_presigned_put_object_tenant_with_acl
        test_cors_presigned_put_object_v2 test_cors_presigned_put_object_with_acl test_expected_bucket_owner
        test_get_authpublic_acl_bucket_policy_status test_get_public_acl_bucket_policy_status
        test_ignore_public_acls test_list_multipart_upload_owner test_object_acl_canned
        test_object_acl_canned_authenticatedread test_object_acl_canned_bucketownerfullcontrol
        test_object_acl_canned_bucketownerread test_object_acl_canned_during_create
        test_object_acl_canned_publicreadwrite test_object_acl_full_control_verify_attributes
        test_object_anon_put_write_access test_object_copy_canned_acl test_object_copy_not_owned_object_bucket
        test_object_delete_key_bucket_gone test_object_raw_authenticated test_object_raw_authenticated_bucket_acl
        test_object_raw_authenticated_bucket_gone test_object_raw_authenticated_object_acl
        test_object_raw_authenticated_object_gone test_object_raw_get test_object_raw_get_bucket_acl
        test_object_raw_get_bucket_gone test_object_raw_get_object_acl test_object_raw_get_object_gone
        test_object_raw_get_x_amz_expires_not_expired test_object_raw_get_x_amz_expires_not_expired_tenant
        test_object_raw_get_x_amz_expires_out_max_range test_object_raw_get_x_amz_expires_out_positive_range
        test_object_raw_get_x_amz_expires_out_range_zero test_post_object_anonymous_request
        test_post_object_authenticated_no_content_type test_post_object_authenticated_request_bad_access_key
        test_post_object_set_invalid_success_code test_post_object_set_success_code
        test_post_object_success_redirect_action test_post_object_tags_anonymous_request
        test_put_bucket_acl_grant_group_read test_put_bucket_ownership_bucket_owner_enforced
        test_versioned_object_acl test_versioned_object_acl_no_version_specified
        test_bucket_concurrent_set_canned_acl
    """.split()},
    "test_block_public_object_canned_acls": (PRE_2023, BPA_ON_DEFAULT),
    "test_block_public_put_bucket_acls": (PRE_2023, BPA_ON_DEFAULT),
    "test_bucket_policy_put_obj_grant": (PRE_2023, OWNER_BY_WRITER),
    **{name: (PRE_2023, COPY_READ_BACK) for name in ["test_bucket_policy_put_obj_copy_source", "test_bucket_policy_put_obj_copy_source_meta"]},
    # S3 documents (or shows) something else than the test expects
    "test_bucket_list_prefix_unreadable": (
        DELIBERATE,
        "ListObjects (v1) with encoding-type=url: S3 documents Prefix among the encoded elements and returns it "
        "encoded (aws/aws-sdk-java#611); boto3 does not decode it there (ceph/s3-tests#327)",
    ),
    "test_delete_bucket_encryption_kms": (DELIBERATE, DEFAULT_SSE),
    "test_delete_bucket_encryption_s3": (DELIBERATE, DEFAULT_SSE),
    "test_get_bucket_encryption_kms": (DELIBERATE, DEFAULT_SSE),
    "test_get_bucket_encryption_s3": (DELIBERATE, DEFAULT_SSE),
    "test_multipart_get_part": (DELIBERATE, PART_416),
    "test_multipart_single_get_part": (DELIBERATE, PART_416),
    "test_non_multipart_get_part": (DELIBERATE, PART_416),
    "test_non_multipart_sse_c_get_part": (DELIBERATE, PART_416),
    "test_multipart_sse_c_get_part": (
        DELIBERATE,
        "a part number past the last part of an SSE-C object, read without the key: Stocktake asks for the key "
        "first (400 InvalidRequest) and would then answer 416 InvalidPartNumber as S3's error table says; the test expects 400 InvalidPart",
    ),
    **{name: (DELIBERATE, IF_NONE_MATCH_ETAG) for name in """
        test_multipart_put_current_object_if_match test_multipart_put_current_object_if_none_match
        test_multipart_put_object_if_match test_put_current_object_if_match test_put_current_object_if_none_match
        test_put_object_current_if_match test_put_object_if_match
    """.split()},
    "test_put_excess_tags": (
        DELIBERATE,
        "more than 10 tags: S3 answers BadRequest \"Object tags cannot be greater than 10\", (S3's answer quoted in boto/boto3#1213), the test expects InvalidTag",
    ),
    "test_encryption_sse_c_multipart_bad_download": (DELIBERATE, SSE_C_WRONG_KEY),
    "test_encryption_sse_c_other_key": (DELIBERATE, SSE_C_WRONG_KEY),
    "test_object_lock_put_obj_lock_invalid_days": (
        DELIBERATE,
        "a non-positive default retention: S3 answers InvalidArgument \"Default retention period must be a positive "
        "integer value\" (S3's answer quoted in versity/versitygw#1738); the test expects InvalidRetentionPeriod",
    ),
    "test_object_lock_put_obj_lock_invalid_years": (
        DELIBERATE,
        "a non-positive default retention: S3 answers InvalidArgument (S3's answer quoted in "
        "versity/versitygw#1738); the test expects InvalidRetentionPeriod",
    ),
    "test_multipart_checksum_sha256": (DELIBERATE, COMPOSITE_PART_CHECKSUMS),
    "test_get_multipart_checksum_object_attributes": (DELIBERATE, COMPOSITE_PART_CHECKSUMS),
    "test_multipart_copy_invalid_range": (
        DELIBERATE,
        "UploadPartCopy with a range past the source's end: S3 answers InvalidArgument \"Range specified is not "
        "valid for source object of size\", as MinIO mirrors it; the test expects InvalidRange",
    ),
    "test_sse_kms_no_key": (
        DELIBERATE,
        "SSE-KMS without a key id: S3 uses the AWS managed key aws/s3 (its SSE-KMS guide), as Stocktake does; the test expects an error",
    ),
    "test_bucket_listv2_continuationtoken_empty": (
        DELIBERATE,
        "ListObjectsV2 with an empty continuation-token: S3 answered InvalidArgument \"The continuation token "
        "provided is incorrect\" (S3's traceback in minio/minio#5931), as Stocktake does; the test expects the first page",
    ),
    "test_bucket_policy_set_condition_operator_end_with_IfExists": (
        DELIBERATE,
        "the bucket owner's own GetObject is refused by the test when an Allow statement's condition does not "
        "match; on S3 the owner's identity allows it whatever an Allow says, and only a Deny refuses",
    ),
    "test_create_bucket_bucket_owner_enforced": (DELIBERATE, OWNER_PRIVATE_ACL),
    **{f"test_copy_part_enc[{mode}-sse-c-STANDARD-STANDARD-8388608]": (DELIBERATE, SSE_C_COMPLETE) for mode in ["sse-c", "sse-kms", "sse-s3"]},
    "test_bucket_policy_put_obj_request_obj_tag": (
        DELIBERATE,
        "it adds x-amz-tagging to the main client's PutObject (an event handler on `client`), then expects "
        "the alt client's PutObject without tags, the very request refused just before, to succeed; botocore "
        "gives each client its own handlers, so both are refused, as s3:RequestObjectTag/security requires",
    ),
    "test_object_set_get_unicode_metadata": (
        DELIBERATE,
        "a metadata value holding a non-ASCII character: S3's guide to object metadata says such values are "
        "returned RFC 2047-encoded (=?UTF-8?B?...?=), as Stocktake does; the test expects the raw text",
    ),
    "test_bucket_logging_owner": (
        DELIBERATE,
        "a bucket policy statement without Resource: S3 refuses it as MalformedPolicy, and so does Stocktake",
    ),
    "test_put_bucket_logging_errors": (
        DELIBERATE,
        "a missing logging target: S3 answers InvalidTargetBucketForLogging, the test expects NoSuchKey; it also "
        "expects a target with SSE-S3 default encryption refused, which S3 accepts (docs/bucket-logging.md)",
    ),
    "test_put_bucket_logging_policy_wildcard": (
        DELIBERATE,
        "logging into another account's bucket: S3 requires source and target of one account "
        "(InvalidTargetBucketForLogging); the suite marks its other cross-account logging tests fails_on_aws",
    ),
    # Ceph's own concepts
    "test_bucket_policy_different_tenant": (NOT_APPLICABLE, TENANTS),
    "test_bucket_policy_tenanted_bucket": (NOT_APPLICABLE, TENANTS),
    "test_block_public_policy_with_principal": (NOT_APPLICABLE, TENANT_PRINCIPAL),
    "test_get_nonpublicpolicy_principal_bucket_policy_status": (NOT_APPLICABLE, TENANT_PRINCIPAL),
    "test_get_object_torrent": (
        DELIBERATE,
        "GetObjectTorrent answers a real metainfo file, whose piece hashes are binary; the test decodes the body as "
        "UTF-8 text (or expects 404 NoSuchKey, RGW's answer with torrents off), which no real torrent of its object passes; "
        "S3 itself stopped serving torrents in 2022 (awsdocs/amazon-s3-userguide#27), and what it answers now is not documented",
    ),
    # Not settled either way
    "test_delete_marker_nonversioned": (
        DELIBERATE,
        "HEAD of a deleted key in an unversioned bucket: the test expects x-amz-delete-marker: false on the 404; "
        "S3's HeadObject reference says that when the value would be false the header does not appear, and Stocktake sends none",
    ),
    "test_put_bucket_logging": (
        DELIBERATE,
        "its last step sets TargetGrants and expects GetBucketLogging to leave them out (\"target grants are not "
        "implemented\", RGW's behaviour); S3's GetBucketLogging returns the TargetGrants it stores, and with S3's "
        "default ObjectOwnership on the target refuses them (AccessControlListNotSupported, as Stocktake does), so the "
        "test fails on S3 either way. Before that it expects TargetObjectKeyFormat SimplePrefix from GetBucketLogging "
        "when none was set (its `_has_target_object_key_format` always returns True); Stocktake answers what was set",
    ),
    "test_put_bucket_logging_permissions": (
        DELIBERATE,
        "a bucket policy naming the service `logging.s3.amazonaws.comkaboom`: S3 refuses a bucket policy naming a "
        "service principal it does not know with MalformedPolicy \"Invalid principal in policy\" (billingreports.amazonaws.com "
        "in a GovCloud bucket policy, where that service does not exist: awslabs/landing-zone-accelerator-on-aws#228), "
        "as Stocktake does; the test expects it stored",
    ),
    "test_get_bucket_policy_status": (
        DELIBERATE,
        POLICY_STATUS,
    ),
    "test_get_nonpublicpolicy_acl_bucket_policy_status": (
        DELIBERATE,
        POLICY_STATUS,
    ),
    "test_get_publicpolicy_acl_bucket_policy_status": (
        DELIBERATE,
        POLICY_STATUS,
    ),
    "test_bucket_recreate_new_acl": (
        DELIBERATE,
        "re-creating one's own bucket in us-east-1 with a public ACL: S3's CreateBucket reference says a "
        "re-create there answers 200 and resets the bucket's ACL, and a public ACL is refused under the default "
        "ObjectOwnership (400 InvalidBucketAclWithObjectOwnership), as Stocktake answers; the test expects 409 BucketAlreadyExists",
    ),
    "test_multipart_resend_first_finishes_last": (
        DELIBERATE,
        "a completion listing part 1 twice (two uploads of it raced): S3 refuses such a list with InvalidPartOrder "
        "(S3's answer to a client that sent a part twice, transloadit/uppy#2324), as Stocktake does; the test expects the later upload to win",
    ),
    "test_object_raw_put_authenticated_expired": (
        DELIBERATE,
        "a presigned PUT with a negative X-Amz-Expires: S3 answers 400 AuthorizationQueryParametersError "
        "\"X-Amz-Expires must be non-negative\" (S3's message in fog/fog#3528; its status reported in ceph/s3-tests#462), "
        "as Stocktake does; the test expects 403",
    ),
    "test_object_read_unreadable": (
        DELIBERATE,
        "a key holding the C1 control U+008A, which boto3 on Python 3 sends as UTF-8 (%C2%AE%C2%8A-): S3's "
        "key-naming guide allows any UTF-8 character in a key and lists the 128-255 range only among the "
        "characters to avoid, so Stocktake looks the key up (404 NoSuchKey); the test expects 400 \"Couldn't "
        "parse the specified URI.\", S3's answer to the bytes AE 8A, which are not UTF-8 (a HEAD recorded in "
        "gaul/s3proxy#201, the test's origin), and Stocktake answers those bytes with that 400 too",
    ),
}


def reason_for(test):
    if test in REASONS:
        return REASONS[test]
    base = test.split("[", 1)[0]
    return REASONS.get(base)


def main(path):
    runs = json.load(open(path))
    by_feature = collections.defaultdict(collections.Counter)
    totals = collections.Counter()
    for run in runs:
        totals[run["outcome"]] += 1
        for feature in run["features"]:
            by_feature[feature][run["outcome"]] += 1
    print("| feature (marker) | passed | failed | error | skipped |")
    print("| --- | --- | --- | --- | --- |")
    for feature in sorted(by_feature):
        c = by_feature[feature]
        print(f"| {feature} | {c['passed']} | {c['failed']} | {c['error']} | {c['skipped']} |")
    print(f"| **all** | **{totals['passed']}** | **{totals['failed']}** | {totals['error']} | {totals['skipped']} |")
    print()

    failures = collections.defaultdict(list)
    for run in runs:
        if run["outcome"] not in ("failed", "error"):
            continue
        known = reason_for(run["test"])
        category, reason = known if known else (OPEN, "not analysed yet: " + run.get("message", "")[:160])
        failures[category].append((run["test"], reason))

    ran = totals["passed"] + totals["failed"] + totals["error"]
    pre = len(failures[PRE_2023])
    print(f"Pass rate: {totals['passed']} of {ran} run, {100 * totals['passed'] / ran:.1f}%.")
    print(
        f"Without the {pre} that fail only because they assume S3's pre-2023 default: "
        f"{totals['passed']} of {ran - pre}, {100 * totals['passed'] / (ran - pre):.1f}%."
    )
    print()
    for category in ORDER:
        rows = sorted(failures[category])
        if not rows:
            continue
        print(f"### {category} ({len(rows)})")
        print()
        print("| test | reason |")
        print("| --- | --- |")
        for test, reason in rows:
            print(f"| `{test}` | {reason.replace('|', '/')} |")
        print()


if __name__ == "__main__":
    main(sys.argv[1])
