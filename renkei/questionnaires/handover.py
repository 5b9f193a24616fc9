"""Handing questionnaire items to a colleague (担当者への依頼).

A supplier (a contact with an account, or whoever holds a whole-assessment answer link) chooses
some items and a colleague's name and address; Renkei issues an answer link of kind COLLEAGUE
limited to those items (portal.issue_link) and mails it. Through that link the colleague
answers, comments and uploads evidence for those items only: the services refuse every other
item (portal.ScopedActor, assessments_services.actor_scope), submitting and handing on. The
supplier sees "担当: 名前 (依頼中 / 回答済)" on each item and may withdraw the hand-over, which
revokes the link. Buyer staff see the hand-overs (never a token) in the answer links list.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, record
from renkei.core.mail import send_notice
from renkei.core.models import staff_may
from renkei.core.permissions import CHANGE, VIEW
from renkei.questionnaires.assessments_services import (
    AssessmentError,
    NotAllowed,
    _items,
    _require,
    actor_scope,
)
from renkei.questionnaires.choices import AnswerType, LinkKind
from renkei.questionnaires.models import AccessLink, Answer, Assessment, Item
from renkei.questionnaires.portal import _link_snapshot, issue_link, progress
from renkei.questionnaires.scoring import ScoreItem, visible_items
from renkei.questionnaires.values import COMMENT_MAX

logger = logging.getLogger(__name__)

# Active colleague links per assessment: enough for a company's departments, few enough that a
# stolen session cannot turn Renkei into a mail cannon.
MAX_ACTIVE = 20
NAME_MAX = 100
LANGUAGES = ("ja", "en")


class HandoverError(AssessmentError):
    """The hand-over was refused; str() says why."""


def _refuse_scoped(actor: Actor) -> None:
    if actor_scope(actor) is not None:
        raise NotAllowed(_("Items handed to you cannot be handed on."))


def _require_supplier_side(actor: Actor, assessment: Assessment) -> None:
    """The supplier hands items over: its contact (account) or a whole-assessment link (no
    user: the portal view checked the link). Buyer staff issue answer links instead."""
    _refuse_scoped(actor)
    _require(actor, assessment, CHANGE)
    if actor.user is not None and staff_may(actor.user, assessment.organization_id, VIEW):
        raise NotAllowed(_("Only the supplier hands items to its colleagues."))


def active_links(assessment: Assessment) -> Any:
    return AccessLink.objects.filter(assessment=assessment, kind=LinkKind.COLLEAGUE,
                                     revoked_at__isnull=True, expires_at__gt=timezone.now())


def clean_request(assessment: Assessment, *, items: Iterable[str], name: str, email: str,
                  message: str, language: str) -> dict[str, Any]:
    """Validated fields, or HandoverError with every problem (field -> message) in `errors`."""
    errors: dict[str, str] = {}
    wanted = sorted({str(i).strip() for i in items if str(i).strip()})
    known = set(Item.objects.filter(template_id=assessment.template_id, item_id__in=wanted)
                .values_list("item_id", flat=True))
    if not wanted:
        errors["items"] = _("Choose the items to hand over.")
    elif set(wanted) - known:
        errors["items"] = _("No such item in this questionnaire: %(items)s.") % {
            "items": ", ".join(sorted(set(wanted) - known))}
    name = " ".join((name or "").split())
    if not name:
        errors["name"] = _("Enter the colleague's name.")
    elif len(name) > NAME_MAX:
        errors["name"] = _("The name is longer than %(limit)d characters.") % {"limit": NAME_MAX}
    email = (email or "").strip()
    try:
        validate_email(email)
        if len(email) > 254:
            raise ValidationError("too long")
    except ValidationError:
        errors["email"] = _("Enter a valid e-mail address.")
    message = (message or "").strip()
    if len(message) > COMMENT_MAX:
        errors["message"] = _("The message is longer than %(limit)d characters.") % {
            "limit": COMMENT_MAX}
    language = language if language in LANGUAGES else "ja"
    if errors:
        error = HandoverError(" ".join(errors.values()))
        error.errors = errors  # type: ignore[attr-defined]
        raise error
    return {"items": wanted, "name": name, "email": email, "message": message,
            "language": language}


def hand_over(actor: Actor, assessment: Assessment, *, items: Iterable[str], name: str,
              email: str, message: str = "", language: str = "ja") -> AccessLink:
    """Issue a colleague's link for ITEMS and mail it to EMAIL in LANGUAGE. When the mail
    cannot be sent the link is revoked again (nobody has its token) and HandoverError says so."""
    _require_supplier_side(actor, assessment)
    data = clean_request(assessment, items=items, name=name, email=email, message=message,
                         language=language)
    with transaction.atomic():
        locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
        if active_links(locked).count() >= MAX_ACTIVE:
            raise HandoverError(_("This questionnaire already has %(limit)d active hand-overs. "
                                  "Withdraw one before handing over more.") % {"limit": MAX_ACTIVE})
        link, path = issue_link(
            actor, locked, kind=LinkKind.COLLEAGUE, items=data["items"], sent_to=data["email"],
            sent_to_name=data["name"], message=data["message"],
            issued_by_label=(actor.label or "")[:150])
    if not _send(link, path, data["language"]):
        _revoke(actor, link)
        raise HandoverError(_("The e-mail to %(email)s could not be sent, so nothing was handed "
                              "over. Check the address and try again later.")
                            % {"email": data["email"]})
    return link


def _revoke(actor: Actor, link: AccessLink) -> AccessLink:
    with transaction.atomic():
        locked = AccessLink.objects.select_for_update().get(pk=link.pk)
        if locked.revoked_at is None:
            before = _link_snapshot(locked)
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
            record(actor, AuditEntry.Action.UPDATE, locked, before, _link_snapshot(locked))
    return locked


def withdraw(actor: Actor, assessment: Assessment, link_id: Any) -> AccessLink:
    """Withdraw a hand-over of ASSESSMENT (revoke its link; audited). The supplier side and the
    buyer's staff who may change the assessment may; a colleague may not."""
    _refuse_scoped(actor)
    _require(actor, assessment, CHANGE)
    try:
        pk = int(link_id)
    except (TypeError, ValueError):
        pk = 0
    link = AccessLink.objects.filter(assessment=assessment, kind=LinkKind.COLLEAGUE, pk=pk).first()
    if link is None:
        raise HandoverError(_("No such hand-over."))
    return _revoke(actor, link)


def _done(item: Item | None, answer: Answer | None) -> bool:
    if answer is None:
        return False
    return bool(answer.not_applicable or answer.value is not None
                or (item is not None and item.answer_type == AnswerType.FILE and answer.evidence))


def handovers_by_item(assessment: Assessment, items: Iterable[Item],
                      answers: dict[int, Answer]) -> dict[str, list[dict[str, Any]]]:
    """Item id -> the active hand-overs naming it: {"link", "name", "answered"} (answered:
    the item has an answer saved since it was handed over). One query."""
    by_id = {item.item_id: item for item in items}
    result: dict[str, list[dict[str, Any]]] = {}
    for link in active_links(assessment).order_by("created_at", "pk"):
        link.assessment = assessment
        if link.state() != "active":
            continue
        for item_id in link.items:
            item = by_id.get(item_id)
            if item is None:
                continue
            answer = answers.get(item.pk)
            answered = _done(item, answer) and answer is not None and (
                answer.answered_at is not None and answer.answered_at >= link.created_at)
            result.setdefault(item_id, []).append(
                {"link": link, "name": link.sent_to_name, "answered": answered})
    return result


def progress_for(actor: Actor, assessment: Assessment, items: list[Item] | None = None,
                 answers: Iterable[Answer] | None = None) -> dict[str, int]:
    """portal.progress, or for a colleague's link: the items handed over that the current answers
    show, and how many of them are answered."""
    items = items if items is not None else _items(assessment)
    answers = list(answers) if answers is not None else list(Answer.objects.filter(assessment=assessment))
    scope = actor_scope(actor)
    if scope is None:
        return progress(assessment, items, answers)
    by_pk = {item.pk: item for item in items}
    given = {by_pk[a.item_id].item_id: a for a in answers if a.item_id in by_pk}
    values = {item_id: a.score_value for item_id, a in given.items()}
    shown = {s.item_id for s in visible_items(
        [ScoreItem.from_item(item, section_key=str(item.section_id)) for item in items], values)}
    counted = [item for item in items if item.item_id in scope and item.item_id in shown]
    done = sum(1 for item in counted if _done(item, given.get(item.item_id)))
    return {"answered": done, "total": len(counted),
            "percent": round(100 * done / len(counted)) if counted else 100}


def _send(link: AccessLink, path: str, language: str) -> bool:
    from renkei.accounts.services import absolute_url, organization_name

    assessment = link.assessment
    items = list(Item.objects.filter(template_id=assessment.template_id, item_id__in=link.items)
                 .order_by("order"))
    with translation.override(language):
        context = {
            "link": link, "url": absolute_url(path), "items": items,
            "supplier": assessment.supplier, "template_name": assessment.template.name,
            "organization_name": organization_name(assessment.organization),
            "sender": link.issued_by_label if not link.issued_by_label.startswith("link:") else "",
            "expires_at": timezone.localtime(link.expires_at), "due_on": assessment.due_on,
        }
        subject = render_to_string("questionnaires/email/handover_subject.txt", context)
        subject = settings.EMAIL_SUBJECT_PREFIX + " ".join(subject.split())
        text = render_to_string("questionnaires/email/handover.txt", context)
        html = render_to_string("questionnaires/email/handover.html", context)
    mail = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [link.sent_to])
    mail.attach_alternative(html, "text/html")
    try:
        send_notice(mail, assessment.organization_id)
    except (smtplib.SMTPException, OSError, ValueError) as exc:
        # Neither the address nor the link goes to the log: the link id is enough to find it.
        logger.warning("hand-over mail for answer link %s could not be sent: %s", link.pk,
                       type(exc).__name__)
        return False
    return True
