"""Evidence files on answers: checking an upload, attaching, replacing and removing it.

For an item of answer type `file` the upload is the answer; any other item may carry a
supporting file. Files come from outside the buyer, so an upload is checked before anything is
written: its size (RENKEI_MAX_UPLOAD_MB, from the upload's declared size, before reading it), its
extension against an allow-list, its first bytes against the extension (a .pdf must start like a
PDF, an .xlsx must be a zip holding a workbook, ...) and its name (cleaned, kept short). Only then is
it stored under the answer's evidence folder (models.answer_evidence_path) and the answer changed
with its audit entry, in one transaction; a failure after the file was written removes the file,
and a replaced or removed file is deleted once the change has committed.

Downloads go through renkei.core.downloads.attachment_response after the caller's access check.
File names never go to the logs (they may say more than the supplier meant to share).
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, PendingEntry, record_many
from renkei.core.permissions import CHANGE
from renkei.questionnaires.assessments_services import (
    AssessmentError,
    NotAllowed,
    _answer_snapshot,
    _require,
    _transition,
    actor_scope,
)
from renkei.questionnaires.choices import ANSWERABLE_STATUSES, AnswerType, AssessmentStatus, ReviewState
from renkei.questionnaires.models import Answer, Assessment, Item, answer_evidence_path

# Extension -> kind of content check.
ALLOWED = {
    "pdf": "pdf", "png": "png", "jpg": "jpeg", "jpeg": "jpeg", "zip": "zip",
    "xlsx": "xlsx", "docx": "docx", "pptx": "pptx", "csv": "text", "txt": "text",
}
ALLOWED_LABEL = "PDF, PNG, JPEG, Excel (.xlsx), Word (.docx), PowerPoint (.pptx), CSV, TXT, ZIP"
# The folder an Office Open XML file of each kind must hold.
OOXML_PART = {"xlsx": "xl/", "docx": "word/", "pptx": "ppt/"}
HEAD_BYTES = 8192
NAME_MAX = 120
# Starts of binary formats a text file must not have (a renamed executable or archive).
BINARY_STARTS = (b"PK\x03\x04", b"%PDF", b"MZ", b"\x7fELF", b"\x89PNG", b"\xff\xd8\xff", b"\xd0\xcf\x11\xe0",
                 b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b")


class EvidenceRefused(AssessmentError):
    """The upload cannot be used; str() says why (active language)."""


def max_bytes() -> int:
    return int(settings.RENKEI_MAX_UPLOAD_MB) * 1024 * 1024


def clean_name(name: str) -> str:
    """The file's own name without any folder, control characters or characters that mean
    something to a shell or a file system; Japanese letters survive. Empty when nothing is left."""
    name = unicodedata.normalize("NFKC", str(name or ""))
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"[<>:\"|?*;'`$&%#{}\[\]=+,!~^]", "", name).strip().replace(" ", "_")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    stem = re.sub(r"\.{2,}", ".", stem).strip("._-")
    ext = re.sub(r"[^A-Za-z0-9]", "", ext)[:10]
    if not ext:
        return stem[:NAME_MAX]
    return f"{stem[:NAME_MAX - len(ext) - 1] or 'evidence'}.{ext}"


def _extension(name: str) -> str:
    return name.rpartition(".")[2].lower() if "." in name else ""


def _head(upload: IO[bytes]) -> bytes:
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    upload.seek(0)
    return head


def _mismatch(ext: str) -> EvidenceRefused:
    return EvidenceRefused(_("The file's content does not match its extension “.%(ext)s”. Save it "
                             "again in that format, or use the right extension.") % {"ext": ext})


def _check_content(kind: str, ext: str, upload: IO[bytes]) -> None:
    head = _head(upload)
    if kind == "pdf" and not head.startswith(b"%PDF-"):
        raise _mismatch(ext)
    if kind == "png" and not head.startswith(b"\x89PNG\r\n\x1a\n"):
        raise _mismatch(ext)
    if kind == "jpeg" and not head.startswith(b"\xff\xd8\xff"):
        raise _mismatch(ext)
    if kind in ("zip", "xlsx", "docx", "pptx"):
        if not head.startswith(b"PK\x03\x04"):
            raise _mismatch(ext)
        try:
            # Reads the central directory only (seeks to the end); nothing is unpacked.
            with zipfile.ZipFile(upload) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise _mismatch(ext) from exc
        finally:
            upload.seek(0)
        if kind in OOXML_PART:
            if "[Content_Types].xml" not in names or not any(
                    n.startswith(OOXML_PART[kind]) for n in names):
                raise _mismatch(ext)
            if any(n.lower().endswith("vbaproject.bin") for n in names):
                raise EvidenceRefused(_("Files with macros are not accepted. Save the file without "
                                        "macros (.%(ext)s) and upload it again.") % {"ext": ext})
    if kind == "text" and (b"\x00" in head or head.startswith(BINARY_STARTS)):
        raise _mismatch(ext)


@dataclass(frozen=True)
class CheckedUpload:
    upload: Any
    name: str
    size: int


def check_upload(upload: Any) -> CheckedUpload:
    """Refuse an upload that is missing, empty, too large, of a type not on the allow-list or
    whose content does not match its extension; otherwise its cleaned name and size."""
    if upload is None:
        raise EvidenceRefused(_("Choose the file to upload."))
    size = getattr(upload, "size", None)
    if size is None:
        raise EvidenceRefused(_("Choose the file to upload."))
    if size > max_bytes():
        raise EvidenceRefused(_("The file is too large. Files up to %(mb)d MB can be uploaded.")
                              % {"mb": settings.RENKEI_MAX_UPLOAD_MB})
    if size == 0:
        raise EvidenceRefused(_("The file is empty."))
    name = clean_name(getattr(upload, "name", "") or "")
    ext = _extension(name)
    if ext not in ALLOWED:
        raise EvidenceRefused(_("This type of file is not accepted. Upload one of: %(types)s.")
                              % {"types": ALLOWED_LABEL})
    _check_content(ALLOWED[ext], ext, upload)
    return CheckedUpload(upload, name, size)


def _sha256(upload: IO[bytes]) -> str:
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in iter(lambda: upload.read(65536), b""):
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def _item(assessment: Assessment, item_id: str) -> Item:
    item = Item.objects.filter(template_id=assessment.template_id, item_id=item_id).first()
    if item is None:
        raise AssessmentError(_("No such item in this questionnaire."))
    return item


def require_in_scope(actor: Actor, item_id: str) -> None:
    """A colleague's link reaches only the items handed to it."""
    scope = actor_scope(actor)
    if scope is not None and item_id not in scope:
        raise NotAllowed(_("This item was not handed to you."))


def _storage() -> Any:
    return Answer._meta.get_field("evidence").storage


def _delete_later(name: str) -> None:
    if name:
        transaction.on_commit(lambda: _storage().delete(name), robust=True)


def _locked(assessment: Assessment) -> Assessment:
    locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
    if locked.status not in ANSWERABLE_STATUSES:
        raise AssessmentError(_("This assessment is %(status)s; answers can no longer be changed.")
                              % {"status": locked.get_status_display()})
    return locked


def attach_evidence(actor: Actor, assessment: Assessment, item_id: str, upload: Any) -> Answer:
    """Store UPLOAD as the evidence of ITEM_ID's answer (replacing any earlier file), audited.
    For a `file` item this answers it (and clears 該当なし). Raises EvidenceRefused for a file
    that cannot be used, NotAllowed, or AssessmentError when the assessment is closed."""
    _require(actor, assessment, CHANGE)
    require_in_scope(actor, item_id)
    item = _item(assessment, item_id)
    checked = check_upload(upload)
    digest = _sha256(upload)
    stored = ""
    try:
        with transaction.atomic():
            locked = _locked(assessment)
            answer = (Answer.objects.select_for_update().filter(assessment=locked, item=item).first()
                      or Answer(assessment=locked, item=item))
            answer.assessment, answer.item = locked, item
            before = _answer_snapshot(answer) if answer.pk else None
            old_name = answer.evidence.name or ""
            stored = _storage().save(answer_evidence_path(answer, checked.name), upload,
                                     max_length=300)
            answer.evidence.name = stored
            if item.answer_type == AnswerType.FILE:
                answer.value, answer.not_applicable = None, False
            answer.answered_by, answer.answered_at = actor.user, timezone.now()
            after = {**_answer_snapshot(answer), "evidence_size": checked.size,
                     "evidence_sha256": digest}
            if answer.review_state != ReviewState.PENDING:
                # New evidence is reviewed again (it is how an evidence request is answered).
                before = {**(before or {}), "review_state": answer.review_state}
                after["review_state"] = ReviewState.PENDING
                answer.review_state = ReviewState.PENDING
            created = answer.pk is None
            answer.save()
            entries = [PendingEntry(AuditEntry.Action.CREATE if created else AuditEntry.Action.UPDATE,
                                    answer, before, after)]
            if locked.status == AssessmentStatus.NOT_STARTED:
                entries.append(_transition(locked, AssessmentStatus.IN_PROGRESS))
            record_many(actor, entries)
            if old_name and old_name != stored:
                _delete_later(old_name)
    except BaseException:
        if stored:
            _storage().delete(stored)
        raise
    assessment.refresh_from_db()
    return answer


def remove_evidence(actor: Actor, assessment: Assessment, item_id: str) -> Answer | None:
    """Remove ITEM_ID's evidence file (audited); the answer goes when nothing else is left.
    Removing when there is no file changes nothing."""
    _require(actor, assessment, CHANGE)
    require_in_scope(actor, item_id)
    item = _item(assessment, item_id)
    with transaction.atomic():
        locked = _locked(assessment)
        answer = Answer.objects.select_for_update().filter(assessment=locked, item=item).first()
        if answer is None or not answer.evidence:
            return answer
        answer.assessment, answer.item = locked, item
        before = _answer_snapshot(answer)
        old_name = answer.evidence.name
        answer.evidence.name = ""
        if answer.review_state != ReviewState.PENDING:
            before = {**before, "review_state": answer.review_state}
            answer.review_state = ReviewState.PENDING
        empty = answer.value is None and not answer.not_applicable and not answer.comment
        if empty:
            record_many(actor, [PendingEntry(AuditEntry.Action.DELETE, answer, before, None)])
            answer.delete()
            answer = None
        else:
            answer.answered_by, answer.answered_at = actor.user, timezone.now()
            answer.save()
            after = {**_answer_snapshot(answer)}
            if "review_state" in before:
                after["review_state"] = ReviewState.PENDING
            record_many(actor, [PendingEntry(AuditEntry.Action.UPDATE, answer, before, after)])
        _delete_later(old_name)
    assessment.refresh_from_db()
    return answer


def evidence_answer(assessment: Assessment, item_id: str, actor: Actor | None = None) -> Answer:
    """ITEM_ID's answer with a file, for a download (the caller checked access to ASSESSMENT);
    Http404 when there is none or it is outside a colleague's items."""
    from django.http import Http404

    if actor is not None and (actor_scope(actor) is not None and item_id not in actor_scope(actor)):
        raise Http404
    answer = (Answer.objects.filter(assessment=assessment, item__item_id=item_id)
              .exclude(evidence="").first())
    if answer is None:
        raise Http404
    return answer


def display_name(answer: Answer) -> str:
    return os.path.basename(answer.evidence.name) if answer.evidence else ""
