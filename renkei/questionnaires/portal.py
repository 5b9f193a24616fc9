"""The supplier portal: answer links, progress and "same as last time".

An answer link (AccessLink) lets someone without an account answer one assessment. Only the
SHA-256 of its token is stored; the token is shown once to the staff member who issued it and is
never logged or written to the audit trail. Opening a link binds the browser session to that one
assessment (no login): every other page answers as for an anonymous visitor.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, record, snapshot
from renkei.core.permissions import CHANGE
from renkei.questionnaires.assessments_services import (
    AssessmentError,
    _items,
    _require,
    actor_scope,
    save_answers,
)
from renkei.questionnaires.choices import AnswerType, LinkKind
from renkei.questionnaires.models import AccessLink, Answer, Assessment, Item, Section
from renkei.questionnaires.prefill import (
    Candidate,
    all_candidates,
    candidates_by_section,
    shown_candidates,
)
from renkei.questionnaires.scoring import ScoreItem, visible_items

SESSION_KEY = "renkei_portal_link"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def link_days() -> int:
    return int(getattr(settings, "RENKEI_ACCESS_LINK_DAYS", 14))


def _link_snapshot(link: AccessLink) -> dict[str, Any]:
    data = snapshot(link)
    data.pop("token_hash", None)  # not even the hash goes to the audit trail
    return data


def _require_staff(actor: Actor, assessment: Assessment) -> None:
    _require(actor, assessment, CHANGE, staff_only=True)


def issue_link(actor: Actor, assessment: Assessment, *, kind: str = LinkKind.STAFF,
               days: int | None = None, expires_at: datetime.datetime | None = None,
               items: Iterable[str] = (), sent_to: str = "", sent_to_name: str = "",
               message: str = "", issued_by_label: str = "") -> tuple[AccessLink, str]:
    """Store a new answer link for ASSESSMENT (no permission check: callers check) and audit it.
    ITEMS limits it to those item ids (a colleague's link); empty: the whole assessment. Returns
    (link, path): the path holds the token, which is not stored anywhere."""
    if not assessment.is_answerable:
        raise AssessmentError(_("This assessment is %(status)s; no answer link can be issued.")
                              % {"status": assessment.get_status_display()})
    token = secrets.token_urlsafe(32)
    if expires_at is None:
        expires_at = timezone.now() + datetime.timedelta(days=days if days is not None else link_days())
    with transaction.atomic():
        link = AccessLink.objects.create(
            organization_id=assessment.organization_id, assessment=assessment,
            token_hash=token_hash(token), created_by=actor.user, expires_at=expires_at, kind=kind,
            items=sorted(set(items)), sent_to=sent_to, sent_to_name=sent_to_name, message=message,
            issued_by_label=issued_by_label)
        record(actor, AuditEntry.Action.CREATE, link, None, _link_snapshot(link))
    return link, reverse("questionnaires:portal-open", args=[token])


def create_access_link(actor: Actor, assessment: Assessment, *,
                       days: int | None = None) -> tuple[AccessLink, str]:
    """Issue an answer link for ASSESSMENT (staff who may change it; open for answers only).
    Returns (link, path): the path holds the token and is shown once."""
    _require_staff(actor, assessment)
    return issue_link(actor, assessment, days=days)


def revoke_access_link(actor: Actor, link: AccessLink) -> AccessLink:
    """Revoke LINK (staff who may change its assessment); revoking twice changes nothing."""
    _require_staff(actor, link.assessment)
    with transaction.atomic():
        locked = AccessLink.objects.select_for_update().get(pk=link.pk)
        if locked.revoked_at is None:
            before = _link_snapshot(locked)
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
            record(actor, AuditEntry.Action.UPDATE, locked, before, _link_snapshot(locked))
    link.refresh_from_db()
    return link


def find_link(token: str) -> AccessLink | None:
    """The link for TOKEN (any state), or None. Looked up by its hash, compared in constant time."""
    if not token or len(token) > 200:
        return None
    digest = token_hash(token)
    link = (AccessLink.objects.select_related("assessment", "assessment__template",
                                              "assessment__supplier", "assessment__organization")
            .filter(token_hash=digest).first())
    if link is None or not hmac.compare_digest(link.token_hash, digest):
        return None
    return link


def open_link(token: str) -> tuple[AccessLink | None, str]:
    """(link, state) for opening TOKEN; state is "unknown" when there is no such link. An active
    link counts the visit."""
    link = find_link(token)
    if link is None:
        return None, "unknown"
    state = link.state()
    if state == "active":
        AccessLink.objects.filter(pk=link.pk).update(use_count=F("use_count") + 1,
                                                     last_used_at=timezone.now())
    return link, state


def session_link(request: Any) -> AccessLink | None:
    """The active link the session was opened with, or None (and the session forgets it)."""
    link_id = request.session.get(SESSION_KEY)
    if not link_id:
        return None
    link = (AccessLink.objects.select_related("assessment", "assessment__template",
                                              "assessment__supplier", "assessment__organization")
            .filter(pk=link_id).first())
    if link is None or link.state() != "active":
        request.session.pop(SESSION_KEY, None)
        return None
    return link


@dataclass(frozen=True)
class ScopedActor(Actor):
    """Someone answering through a colleague's link: the services refuse every item outside
    ITEM_SCOPE (save, autosave, prefill, evidence), submitting and handing on."""

    item_scope: frozenset[str] = frozenset()


def link_actor(request: Any, link: AccessLink) -> Actor:
    from renkei.audit.services import client_address

    if link.kind == LinkKind.COLLEAGUE:
        return ScopedActor(user=None, address=client_address(request),
                           label=f"link:{link.assessment_id}:colleague:{link.pk}",
                           item_scope=frozenset(link.items))
    return Actor(user=None, address=client_address(request), label=f"link:{link.assessment_id}")


# --- Progress -----------------------------------------------------------------------------------


def progress(assessment: Assessment, items: list[Item] | None = None,
             answers: Iterable[Answer] | None = None) -> dict[str, int]:
    """{"answered", "total", "percent"}: required items shown under the current answers, and how
    many of them are answered (or 該当なし)."""
    items = items if items is not None else _items(assessment)
    if answers is None:
        answers = Answer.objects.filter(assessment=assessment).select_related("item")
    by_pk = {item.pk: item for item in items}
    given = {by_pk[a.item_id].item_id: a for a in answers if a.item_id in by_pk}
    values = {item_id: a.score_value for item_id, a in given.items()}
    score_items = [ScoreItem.from_item(item, section_key=str(item.section_id)) for item in items]
    shown = {s.item_id for s in visible_items(score_items, values)}
    total = done = 0
    for item in items:
        if not item.required or item.item_id not in shown:
            continue
        total += 1
        answer = given.get(item.item_id)
        if answer is not None and (answer.not_applicable or answer.value is not None
                                   or (item.answer_type == AnswerType.FILE and answer.evidence)):
            done += 1
    return {"answered": done, "total": total,
            "percent": round(100 * done / total) if total else 100}


# --- Same as last time --------------------------------------------------------------------------


def prefill_candidates(assessment: Assessment, items: list[Item] | None = None, *,
                       user: Any = None) -> dict[str, Candidate]:
    """Item id -> Candidate (value as stored, "n/a" for 該当なし, and its source) for this
    assessment's unanswered items: from the previous assessment, through crosswalks and — only
    when USER is a logged-in contact of this supplier — from their answers for other buyers
    (renkei.questionnaires.prefill). Only valid answers, only items the conditions show once
    their section is pre-filled. Evidence files are not copied."""
    items = items if items is not None else _items(assessment)
    return candidates_by_section(assessment, items, user=user)


def prefill_section(actor: Actor, assessment: Assessment, section_key: str) -> int:
    """Copy the candidates of SECTION_KEY's unanswered items (through save_answers: validated,
    audited). Returns the number copied."""
    items = _items(assessment)
    section_ids = set(Section.objects.filter(template_id=assessment.template_id, key=section_key)
                      .values_list("pk", flat=True))
    if not section_ids:
        raise AssessmentError(_("Unknown section."))
    found, current = all_candidates(assessment, items, user=actor.user)
    only = {item.item_id for item in items if item.section_id in section_ids}
    scope = actor_scope(actor)
    if scope is not None:  # a colleague's link pre-fills only the items handed to it
        only &= scope
    mapping = {k: c.value for k, c in shown_candidates(items, current, found, only).items()}
    if not mapping:
        return 0
    save_answers(actor, assessment, mapping)
    return len(mapping)
