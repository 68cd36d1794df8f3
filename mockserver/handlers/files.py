from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import quote

from werkzeug.wsgi import FileWrapper
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.utils import send_file
from werkzeug.wrappers import Response

from .. import ranges
from ..call import Call, Handler, Reply, registrar
from ..domain.errors import InvalidInput
from ..errors import detail
from ..views import FileView, file_views, view_context

OPERATIONS: dict[str, Handler] = {}
operation = registrar(OPERATIONS)


@operation("listFiles", "listFilesV3")
def list_files(call: Call) -> dict[str, Any]:
    call.backend.jobs.sync_outputs(call.tenant)
    if "limit" in call.params:  # the python-sdk's `limit`: a cap on the page size
        call.params["page_size"] = min(call.params["limit"], call.params.get("page_size") or call.params["limit"])

    def fetch(offset: int, limit: int) -> tuple[int, list[FileView]]:
        count, records = call.backend.files.page(call.tenant, offset, limit, search=call.params.get("search"),
                                                 ordering=call.params.get("ordering"))
        return count, file_views(call, records)

    return call.page(fetch)


@operation("uploadFile", "uploadFilePut", "uploadFileV3", "uploadFilePutV3")
def upload_file(call: Call) -> Reply:
    part = call.files.get("file")
    if part is None:
        raise InvalidInput({"file": ["No file was submitted."]})
    raw_type = call.body.get("typeId") or call.body.get("type_id")
    record = call.backend.files.add_upload(
        call.tenant, part.filename, part.stream, int(raw_type) if raw_type is not None else None
    )
    return Reply(201, FileView(record, view_context(call)))


@operation("getFile", "getFileV3")
def get_file(call: Call) -> FileView:
    return FileView(call.backend.files.get(call.tenant, call.params["file_id"]), view_context(call))


@operation("updateFile", "updateFileV3")
def update_file(call: Call) -> FileView:
    record = call.backend.files.update(call.tenant, call.params["file_id"], call.body or {})
    return FileView(record, view_context(call))


@operation("deleteFile", "deleteFileV3")
def delete_file(call: Call) -> Reply:
    call.backend.files.delete(call.tenant, call.params["file_id"])
    return Reply(204)


@operation("downloadFile", "downloadFileV3")
def download_file(call: Call) -> Response:
    """Streams the blob; werkzeug answers Range (206, suffix, open-ended, end clamped), If-Range and ETags. From the
    folder store the server sends the file with sendfile, whole files and ranges alike (see server.py); from an
    object store the bytes werkzeug will serve are fetched in one streamed ranged GET, 1 MiB at a time."""
    record = call.backend.files.get(call.tenant, call.params["file_id"])
    environ = call.request.environ
    wanted = ranges.normalize(call.request.headers.get("Range"), record.size)
    if wanted is None:
        environ.pop("HTTP_RANGE", None)
    else:
        environ["HTTP_RANGE"] = wanted
    blobs = call.backend.blobs
    try:
        path = blobs.local_path(record.blob)
        if path is not None:
            return send_file(path, environ, mimetype="application/octet-stream", as_attachment=True,
                             download_name=record.name, conditional=True, etag=record.sha512[:40], max_age=None)
        return _streamed(blobs.open(record.blob, ranges.span(wanted, record.size)), record, environ)
    except RequestedRangeNotSatisfiable:
        raise detail(416, "Requested range not satisfiable.", {"Content-Range": f"bytes */{record.size}"}) from None


def _streamed(reader: Any, record: Any, environ: dict[str, Any]) -> Response:
    """What `send_file` answers for a file on disk (werkzeug's send_file takes a size only from a path), from a
    seekable reader: werkzeug's range wrapper seeks it to the range's start and reads 1 MiB at a time."""
    response = Response(FileWrapper(reader, ranges.CHUNK), mimetype="application/octet-stream",
                        direct_passthrough=True)
    try:
        record.name.encode("ascii")
        names = {"filename": record.name}
    except UnicodeEncodeError:  # RFC 6266: an ASCII fallback and the UTF-8 name
        plain = unicodedata.normalize("NFKD", record.name).encode("ascii", "ignore").decode("ascii")
        names = {"filename": plain, "filename*": "UTF-8''" + quote(record.name, safe="!#$&+-.^_`|~")}
    response.headers.set("Content-Disposition", "attachment", **names)
    response.content_length = record.size
    response.cache_control.no_cache = True
    response.set_etag(record.sha512[:40])
    try:
        response.make_conditional(environ, accept_ranges=True, complete_length=record.size)
    except RequestedRangeNotSatisfiable:
        reader.close()
        raise
    return response


@operation("getFileLines", "getFileLinesV3")
def file_lines(call: Call) -> dict[str, list[str]]:
    return {"lines": call.backend.files.lines(call.tenant, call.params["file_id"])}
