"""The request object of the API and the control plane (plain werkzeug, no Flask): a multipart form is bounded, and
its first file part streams straight into the blob store's staging folder, hashed as it arrives."""
from __future__ import annotations

import io
from typing import Any, Callable

from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from .responses import json_response

# A multipart form is bounded: at most this many parts, and each part other than the uploaded file at most this many
# bytes, held in memory (werkzeug answers 413 beyond either). One upload costs one staging file, never one per part.
MAX_FORM_PARTS = 32
MAX_FORM_FIELD_BYTES = 256 * 1024  # above the parser's 64 KiB reads, which werkzeug counts against it too


class UploadRequest(Request):
    """Any part with a file name other than the first is a small in-memory value, like a form field. The staged
    upload that no handler claimed is discarded once the response is built (`discard_unclaimed`)."""

    max_form_parts = MAX_FORM_PARTS
    max_form_memory_size = MAX_FORM_FIELD_BYTES

    def __init__(self, environ: dict[str, Any], stage: Callable[[], Any]) -> None:
        super().__init__(environ)
        self._stage = stage
        self.staged: list[Any] = []

    def _get_file_stream(self, total_content_length: Any, content_type: Any, filename: Any = None,
                         content_length: Any = None) -> Any:
        if self.staged:
            return BoundedPart(MAX_FORM_FIELD_BYTES)
        staged = self._stage()
        self.staged.append(staged)
        return staged

    def discard_unclaimed(self) -> None:
        for staged in self.staged:
            staged.discard()
        self.staged.clear()


class BoundedPart(io.BytesIO):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def write(self, data: Any) -> int:
        if self.tell() + len(data) > self.limit:
            raise RequestEntityTooLarge()
        return super().write(data)


def refusal_response(err: HTTPException, request: Request) -> Response:
    """werkzeug's own refusals (a malformed multipart body, a form too large) in Rescale's JSON shape."""
    headers = {k: v for k, v in err.get_headers() if k.lower() != "content-type"}
    text = err.description
    if err.code == 413 and request.mimetype == "multipart/form-data":
        text = (f"The multipart form is too large: at most {MAX_FORM_PARTS} parts, and at most "
                f"{MAX_FORM_FIELD_BYTES} bytes in each part other than the file.")
    return json_response(err.code or 400, {"detail": text or ""}, headers)
