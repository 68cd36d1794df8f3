"""Blobs in an S3-compatible object store (AWS S3, MinIO, Ceph, moto's server): `serve --blobs s3://bucket/prefix`,
with `--s3-endpoint-url` and `--s3-region`; credentials come the usual AWS way (AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws, an instance role), read by boto3.

Memory stays bounded whatever the file size: an upload is staged in a local file while it is hashed (as the folder
store does), then sent with boto3's managed transfer (multipart above `TRANSFER.multipart_threshold`, parts in
parallel); reads are ranged GETs streamed a chunk at a time, exactly the bytes a download asks for."""
from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from .blobs import Blobs, BlobStoreError

MiB = 1 << 20
TRANSFER = TransferConfig(multipart_threshold=16 * MiB, multipart_chunksize=16 * MiB, max_concurrency=4,
                          io_chunksize=MiB)
READ_WINDOW = 8 * MiB  # one GET's bytes when a reader does not say how far it reads (archives, text lines)
MISSING = {"NoSuchKey", "404", "NotFound"}


def _missing(error: ClientError, key: str) -> Exception:
    code = error.response.get("Error", {}).get("Code", "")
    return FileNotFoundError(f"no blob {key}") if code in MISSING else error


class S3BlobStore(Blobs):
    def __init__(self, client: Any, bucket: str, prefix: str, staging: Path) -> None:
        super().__init__(staging)
        self.client, self.bucket, self.prefix = client, bucket, prefix

    @classmethod
    def from_url(cls, url: str, staging: Path, endpoint_url: str | None, region: str | None) -> "S3BlobStore":
        parts = urlsplit(url)
        if not parts.netloc or parts.query or parts.fragment:
            raise BlobStoreError(f"--blobs {url!r}: expected s3://bucket or s3://bucket/prefix")
        # Path-style addressing for an explicit endpoint: MinIO, moto and most S3-compatible stores need it.
        config = BotoConfig(max_pool_connections=64, retries={"mode": "standard"},
                            s3={"addressing_style": "path"} if endpoint_url else None)
        try:
            client = boto3.session.Session().client("s3", endpoint_url=endpoint_url, region_name=region, config=config)
            client.head_bucket(Bucket=parts.netloc)
        except (BotoCoreError, ClientError, ValueError) as err:
            raise BlobStoreError(f"--blobs {url}: the bucket cannot be used: {err}") from None
        return cls(client, parts.netloc, parts.path.strip("/"), staging)

    def key(self, blob: str) -> str:
        return f"{self.prefix}/{blob}" if self.prefix else blob

    def _store(self, staged: Path, blob: str) -> None:
        try:
            if staged.stat().st_size < TRANSFER.multipart_threshold:  # one PUT (a sweep writes thousands of these)
                with open(staged, "rb") as body:
                    self.client.put_object(Bucket=self.bucket, Key=self.key(blob), Body=body)
            else:
                self.client.upload_file(str(staged), self.bucket, self.key(blob), Config=TRANSFER)
        finally:
            with contextlib.suppress(FileNotFoundError):
                staged.unlink()

    def open(self, blob: str, span: tuple[int, int] | None = None) -> BinaryIO:
        reader = S3Reader(self.client, self.bucket, self.key(blob), span)
        # A download (a span) reads big chunks and stops at the span's end: unbuffered, so that nothing reads ahead
        # past it into another GET. Other readers (archives, lines) read small pieces: buffered.
        return reader if span else io.BufferedReader(reader, MiB)  # type: ignore[return-value]

    def copy_to(self, blob: str, destination: Path) -> None:
        try:
            self.client.download_file(self.bucket, self.key(blob), str(destination), Config=TRANSFER)
        except ClientError as err:
            raise _missing(err, self.key(blob)) from None

    def size(self, blob: str) -> int | None:
        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=self.key(blob))["ContentLength"])
        except ClientError as err:
            if isinstance(_missing(err, blob), FileNotFoundError):
                return None
            raise

    def delete(self, blob: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key(blob))  # no error for a missing key

    def close(self) -> None:
        self.client.close()

    def disk_usage(self) -> int:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}/" if self.prefix else "")
        return sum(item["Size"] for page in pages for item in page.get("Contents", []))


class S3Reader(io.RawIOBase):
    """A seekable reader of one object: each read continues one streamed ranged GET while the position follows
    it; a seek elsewhere starts another. `span` (start, stop) is where the caller means to read (a download's
    range), fetched in one GET; other reads fetch `READ_WINDOW` at a time."""

    def __init__(self, client: Any, bucket: str, key: str, span: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.client, self.bucket, self.key, self.span = client, bucket, key, span
        self._size: int | None = None
        self._pos = 0
        self._body: Any = None
        self._body_pos = self._body_end = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos}.get(whence)
        position = (self._length() if base is None else base) + offset
        if position < 0:
            raise ValueError(f"negative seek position {position}")
        self._pos = position
        return position

    def readinto(self, buffer: Any) -> int:
        if self._size is not None and self._pos >= self._size:
            return 0
        if self._body is None or self._body_pos != self._pos or self._pos >= self._body_end:
            if not self._fetch():
                return 0
        data = self._body.read(min(len(buffer), self._body_end - self._pos))
        if not data:  # the object is shorter than it said (replaced under us): end here
            self._size = self._pos
            return 0
        count = len(data)
        buffer[:count] = data
        self._pos += count
        self._body_pos += count
        return count

    def _fetch(self) -> bool:
        self._drop_body()
        start = self._pos
        stop = self.span[1] if self.span and start == self.span[0] else start + READ_WINDOW
        if self._size is not None:
            stop = min(stop, self._size)
        if stop <= start:
            return False
        try:
            reply = self.client.get_object(Bucket=self.bucket, Key=self.key, Range=f"bytes={start}-{stop - 1}")
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("InvalidRange", "416"):
                return False  # at or past the end
            raise _missing(err, self.key) from None
        total = str(reply.get("ContentRange", "")).rpartition("/")[2]
        if total.isdigit():
            self._size = int(total)
        self._body, self._body_pos, self._body_end = reply["Body"], start, start + int(reply["ContentLength"])
        return True

    def _length(self) -> int:
        if self._size is None:
            try:
                self._size = int(self.client.head_object(Bucket=self.bucket, Key=self.key)["ContentLength"])
            except ClientError as err:
                raise _missing(err, self.key) from None
        return self._size

    def _drop_body(self) -> None:
        if self._body is not None:
            self._body.close()  # a body not read to its end costs its connection, never the rest of the bytes
            self._body = None

    def close(self) -> None:
        self._drop_body()
        super().close()
