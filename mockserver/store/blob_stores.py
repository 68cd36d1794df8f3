"""Which blob store `serve --blobs` names (see blobs.py and s3blobs.py)."""
from __future__ import annotations

from pathlib import Path

from .blobs import Blobs, BlobStore, BlobStoreError


def open_blob_store(location: str | None, data_dir: Path, endpoint_url: str | None = None,
                    region: str | None = None) -> Blobs:
    """The store `--blobs` names: None for the data dir's folder, `s3://bucket/prefix` for an object store (staged
    in the data dir's `tmp/`), anything else a folder (e.g. on storage several hosts share)."""
    if location is not None and not location.strip():
        raise BlobStoreError("--blobs: empty; give a folder or s3://bucket/prefix")
    is_s3 = location is not None and location.lower().startswith("s3://")
    if (endpoint_url or region) and not is_s3:
        raise BlobStoreError("--s3-endpoint-url and --s3-region are for --blobs s3://bucket/prefix only")
    if location is None:
        return BlobStore(data_dir)
    if is_s3:
        try:  # boto3 is an optional extra
            from .s3blobs import S3BlobStore
        except ModuleNotFoundError as err:
            raise BlobStoreError(f"--blobs {location}: needs {err.name} (pip install 'rescale-mockkit[s3]')") from None
        return S3BlobStore.from_url(location, data_dir / "tmp", endpoint_url, region)
    if "://" in location:
        raise BlobStoreError(f"--blobs {location!r}: expected a folder or s3://bucket/prefix")
    return BlobStore(Path(location))
