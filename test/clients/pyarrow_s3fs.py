"""pyarrow's S3FileSystem against a running Stocktake, one workflow step per run.

Usage: pyarrow_s3fs.py STEP BUCKET WORK_DIR, with STOCKTAKE_URL, AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY in the environment. Each step prints one JSON object on stdout: what
pyarrow saw, for test/clients/pyarrow-s3fs.test.ts to assert on. Any pyarrow error ends the run
with a traceback and a non-zero exit. The steps run in order against the same bucket:
create-bucket, upload, list, sync, download, delete. (pyarrow has no presigned URLs, so none here.)
"""
import hashlib
import json
import os
import sys
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.fs as fs
import pyarrow.parquet as pq

step, bucket, work = sys.argv[1], sys.argv[2], sys.argv[3]
url = urlparse(os.environ["STOCKTAKE_URL"])

s3 = fs.S3FileSystem(
    access_key=os.environ["AWS_ACCESS_KEY_ID"],
    secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
    endpoint_override=url.netloc,
    scheme=url.scheme,
    region="us-east-1",
    # Both default to False (since pyarrow 10): create_dir("bucket") then fails with "Bucket
    # 'x' not found. To create buckets, enable the allow_bucket_creation option.", and
    # delete_dir("bucket") refuses likewise. A user managing buckets through pyarrow turns them on.
    allow_bucket_creation=True,
    allow_bucket_deletion=True,
)

MiB = 1024 * 1024


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def info(i):
    entry = {"path": i.path, "type": i.type.name}
    if i.type == fs.FileType.File:
        entry["size"] = i.size
    return entry


def listing(base, recursive):
    return sorted((info(i) for i in s3.get_file_info(fs.FileSelector(base, recursive=recursive))), key=lambda e: e["path"])


def table(first_id, count):
    ids = list(range(first_id, first_id + count))
    return pa.table({"id": ids, "name": ["row %d" % i for i in ids], "score": [i * 0.5 for i in ids]})


def create_bucket():
    s3.create_dir(bucket)
    s3.create_dir(bucket + "/empty-folder")
    return {"bucket": s3.get_file_info(bucket).type.name, "folder": s3.get_file_info(bucket + "/empty-folder").type.name}


def upload():
    with open(os.path.join(work, "small.txt"), "rb") as src, s3.open_output_stream(bucket + "/small.txt") as out:
        out.write(src.read())
    # Written as a program streams its output: 1 MiB at a time, the total unknown to pyarrow.
    with open(os.path.join(work, "big.bin"), "rb") as src, s3.open_output_stream(bucket + "/data/big.bin") as out:
        while chunk := src.read(MiB):
            out.write(chunk)
    pq.write_table(table(0, 100), bucket + "/table/part-0.parquet", filesystem=s3)
    pq.write_table(table(100, 50), bucket + "/table/part-1.parquet", filesystem=s3)
    return {}


def list_():
    return {"root": listing(bucket, False), "data": listing(bucket + "/data", False)}


def sync():
    fs.copy_files(os.path.join(work, "tree"), bucket + "/tree", destination_filesystem=s3)
    return {"tree": listing(bucket + "/tree", True)}


def download():
    with s3.open_input_stream(bucket + "/small.txt") as f:
        small = f.read()
    with s3.open_input_stream(bucket + "/data/big.bin") as f:
        whole = f.read()
    with s3.open_input_file(bucket + "/data/big.bin") as f:
        size = f.size()
        # Across the boundary of pyarrow's 10 MiB upload parts.
        f.seek(10 * MiB - 1000)
        ranged = f.read(4096)
        tell = f.tell()
        f.seek(size - 10)
        tail = f.read(100)
    fs.copy_files(bucket + "/tree", os.path.join(work, "back"), source_filesystem=s3)
    dataset = pq.read_table(bucket + "/table", filesystem=s3).sort_by("id")
    single = pq.read_table(bucket + "/table/part-1.parquet", filesystem=s3, columns=["id"])
    return {
        "small": small.decode(),
        "whole": {"size": len(whole), "sha256": sha256(whole)},
        "size": size,
        "ranged": {"size": len(ranged), "sha256": sha256(ranged), "tell": tell},
        "tail": {"size": len(tail), "sha256": sha256(tail)},
        "dataset": {"rows": dataset.num_rows, "schema": ["%s: %s" % (field.name, field.type) for field in dataset.schema], "equal": dataset.equals(pa.concat_tables([table(0, 100), table(100, 50)]))},
        "single": single.column("id").to_pylist()[:3],
    }


def delete():
    s3.delete_file(bucket + "/small.txt")
    small = s3.get_file_info(bucket + "/small.txt").type.name
    s3.delete_dir_contents(bucket + "/tree")
    tree = listing(bucket + "/tree", True)
    tree_dir = s3.get_file_info(bucket + "/tree").type.name
    s3.delete_dir(bucket)
    return {"small": small, "tree": tree, "treeDir": tree_dir, "bucket": s3.get_file_info(bucket).type.name}


steps = {"create-bucket": create_bucket, "upload": upload, "list": list_, "sync": sync, "download": download, "delete": delete}
print(json.dumps(steps[step]()))
