"""CSV downloads for staff, made for the spreadsheets they open them in."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from fastapi.responses import Response, StreamingResponse

from server.core.localtime import as_local

ROWS_PER_CHUNK = 1000


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    return "".join(csv_chunks(header, rows))


def csv_chunks(
    header: Sequence[str], rows: Iterable[Sequence[object]], rows_per_chunk: int = ROWS_PER_CHUNK
) -> Iterator[str]:
    """CSV text a chunk at a time, with a byte-order mark: spreadsheet programs in China open
    UTF-8 names correctly only with it. Cells that a spreadsheet would run as a formula are
    quoted with a '."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for count, row in enumerate(rows, start=1):
        writer.writerow([_cell(value) for value in row])
        if count % rows_per_chunk == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return as_local(value).isoformat(timespec="seconds")
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _download(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def csv_response(text: str, filename: str) -> Response:
    return Response(text, media_type="text/csv; charset=utf-8", headers=_download(filename))


def csv_stream(chunks: Iterator[str], filename: str) -> StreamingResponse:
    """A download written while it is read: memory stays one chunk whatever the row count."""
    return StreamingResponse(
        chunks, media_type="text/csv; charset=utf-8", headers=_download(filename)
    )
