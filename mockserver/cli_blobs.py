"""`serve --blobs`: where file contents live (issue 18): the data dir's folder (default), another folder (storage
several hosts share), or an S3-compatible object store (`s3://bucket/prefix`, boto3: the `s3` extra)."""
from __future__ import annotations

import argparse
from typing import Any


def add_serve_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--blobs", default=None, metavar="LOCATION",
                       help="where file contents live: s3://bucket/prefix or a folder (default: the data dir's "
                            "blobs/); S3 credentials the usual AWS way (AWS_ACCESS_KEY_ID..., AWS_PROFILE)")
    serve.add_argument("--s3-endpoint-url", default=None, metavar="URL",
                       help="an S3-compatible endpoint (MinIO, Ceph, moto) for --blobs s3://...")
    serve.add_argument("--s3-region", default=None, metavar="REGION", help="the bucket's region (default: AWS_REGION)")


def config_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"blobs": args.blobs, "s3_endpoint_url": args.s3_endpoint_url, "s3_region": args.s3_region}
