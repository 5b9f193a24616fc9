"""Streaming an uploaded file back to a user who may see it (evidence, later attachments).

Uploads come from suppliers, i.e. from outside the buyer: a file may be HTML or SVG with script
in it. It is always sent as an attachment, with its type only when that type cannot run in the
browser (anything else is application/octet-stream), `nosniff`, and a sandboxing CSP so even a
browser that opened it inline would not run it with the site's cookies.
"""

from __future__ import annotations

import mimetypes
import os

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404

# Types a browser shows without running anything of the sender's.
PASSIVE_TYPES = frozenset({
    "application/pdf",
    "application/zip",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "text/csv",
    "text/plain",
})


def attachment_response(file: FieldFile) -> FileResponse:
    """FILE as a download; 404 when there is none (or it vanished from the disk)."""
    if not file:
        raise Http404
    try:
        handle = file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    name = os.path.basename(file.name)
    guessed, encoding = mimetypes.guess_type(name)
    content_type = guessed if guessed in PASSIVE_TYPES and not encoding else "application/octet-stream"
    response = FileResponse(handle, as_attachment=True, filename=name, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
