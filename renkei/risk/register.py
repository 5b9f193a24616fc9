"""The risk register (リスク登録簿): candidates from × answers, risks raised by hand or by other
capabilities, confirmation, treatment, acceptance and closing. Pages, API, CLI, the questionnaire
submit/approve path and other apps (contract checks, audits) call these functions.

Every change is validated before anything is written and recorded in the audit trail in the same
transaction. A call with a user (`actor.user`) is checked against the user's staff role here as
well as in the view; a call without one (CLI, jobs, the submit hook) is trusted. Supplier contacts
never act on the register: `Risk` has no supplier path.

Acceptance (docs/risk.md): only an administrator of the organization approves, and never the
person who raised the risk (four eyes); a justification and an expiry date (at most
MAX_ACCEPTANCE_DAYS ahead) are required. An acceptance that has expired reopens the risk.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from renkei.accounts.services import active_member
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, PendingEntry, record_many, snapshot
from renkei.core.errors import NotAllowed as BaseNotAllowed
from renkei.core.errors import ServiceError
from renkei.core.models import staff_may
from renkei.core.permissions import ADD, CHANGE, MANAGE
from renkei.risk.choices import LEVEL_RANK, SCALE, RiskSource, RiskStatus, Treatment
from renkei.risk.models import Risk, RiskAcceptance, SupplierRisk

MAX_ACCEPTANCE_DAYS = 3 * 365
TEXT_MAX = 2000
# A × on a critical item is judged more likely to be exploited than on an ordinary one; staff
# adjust the judgement when they confirm the candidate.
CANDIDATE_LIKELIHOOD = {True: 4, False: 3}
NOT_DONE = "not_done"
# The models' labels share msgids with other screens ("Open", "Accepted", "Closed" mean other
# things there), so pages show a risk's status with these context-specific ones.
STATUS_LABELS = {
    RiskStatus.CANDIDATE: pgettext_lazy("risk status", "Candidate"),
    RiskStatus.OPEN: pgettext_lazy("risk status", "Open"),
    RiskStatus.TREATED: pgettext_lazy("risk status", "Being treated"),
    RiskStatus.ACCEPTED: pgettext_lazy("risk status", "Accepted"),
    RiskStatus.CLOSED: pgettext_lazy("risk status", "Closed"),
}
ACTIVE_STATUSES = (RiskStatus.CANDIDATE, RiskStatus.OPEN, RiskStatus.TREATED, RiskStatus.ACCEPTED)


class RegisterError(ServiceError):
    """A refused change to the register."""


class NotAllowed(RegisterError, BaseNotAllowed):
    """The user may see the risk but not do this with it."""


# --- Helpers ------------------------------------------------------------------------------------


def _require(actor: Actor, organization_id: int, action: str) -> None:
    if actor.user is not None and not staff_may(actor.user, organization_id, action):
        raise NotAllowed(_("You may not change the risk register."))


def _scale(name: str, value: Any, *, required: bool = True) -> int | None:
    if value in (None, ""):
        if required:
            raise RegisterError(
                _("Enter a whole number from 1 to 5."), {name: _("Enter a whole number from 1 to 5.")}
            )
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number not in SCALE or isinstance(value, bool):
        raise RegisterError(
            _("Enter a whole number from 1 to 5."), {name: _("Enter a whole number from 1 to 5.")}
        )
    return number


def _text(name: str, value: Any, *, required: bool = False, limit: int = TEXT_MAX) -> str:
    text = str(value or "").strip()
    if required and not text:
        message = _("This field is required.")
        raise RegisterError(message, {name: message})
    if len(text) > limit:
        message = _("Enter at most %(limit)d characters.") % {"limit": limit}
        raise RegisterError(message, {name: message})
    return text


def _config(organization_id: int) -> dict[str, Any]:
    from renkei.risk.services import config_for

    return config_for(organization_id)


def level_for(config: dict[str, Any], impact: int, likelihood: int) -> str:
    return config["matrix"][likelihood - 1][impact - 1]


def impacts_of(organization_id: int, supplier_ids: Iterable[int]) -> dict[int, int]:
    """The impact of each supplier: its stored rating, else computed from its profile now (a
    supplier saved in this very transaction has not been rated yet). One or two queries."""
    ids = sorted(set(supplier_ids))
    found = dict(SupplierRisk.objects.filter(supplier_id__in=ids).values_list("supplier_id", "impact"))
    missing = [pk for pk in ids if pk not in found]
    if missing:
        from renkei.risk.impact import Profile, impact
        from renkei.suppliers.models import Supplier

        config = _config(organization_id)["impact"]
        rows = Supplier.objects.filter(pk__in=missing).prefetch_related("tags")
        for s in rows:
            profile = Profile(
                s.personal_info_records,
                tuple(s.data_classes),
                s.export_controlled,
                tuple(s.access_methods),
                s.business_function,
                s.chain_type,
                frozenset(t.name for t in s.tags.all()),
            )
            found[s.pk] = impact(profile, config)[0]
    return found


def _owner_ok(organization_id: int, owner: Any) -> Any:
    """OWNER (a user or an id) if they are staff of the organization; None for no owner."""
    try:
        return active_member(organization_id, owner)
    except LookupError:
        message = _("Choose a member of the organization.")
        raise RegisterError(message, {"owner": message}) from None


def owner_choices(organization_id: int) -> list[Any]:
    from renkei.accounts.models import User

    return list(
        User.objects.filter(memberships__organization_id=organization_id, is_active=True)
        .order_by("username")
        .distinct()
    )


def _save(
    actor: Actor,
    risk: Risk,
    before: dict[str, Any] | None,
    extra: dict[str, Any] | None = None,
    entries: list[PendingEntry] | None = None,
) -> Risk:
    risk.full_clean(
        exclude=["organization", "supplier", "assessment", "item", "owner", "created_by"],
        validate_unique=False,
        validate_constraints=False,
    )
    created = risk.pk is None
    risk.save()
    after = {**snapshot(risk), **(extra or {})}
    action = AuditEntry.Action.CREATE if created else AuditEntry.Action.UPDATE
    record_many(actor, [PendingEntry(action, risk, before, after), *(entries or [])])
    return risk


def _locked(risk: Risk) -> Risk:
    return Risk.objects.select_for_update().get(pk=risk.pk)


# --- Candidates from × answers ------------------------------------------------------------------


def raise_candidates(assessment: Any, actor: Actor | None = None) -> int:
    """A risk candidate for every × (tri-state "not_done") answer of ASSESSMENT that has none yet;
    candidates whose answer is no longer × are closed. Set-based: one query for the × answers,
    one for the existing risks, one bulk insert and one audit insert, whatever the number of
    answers. Idempotent. Called by the submit and approve services inside their transaction."""
    from renkei.questionnaires.choices import AnswerType
    from renkei.questionnaires.models import Answer

    actor = actor or Actor.system("risk-register")
    crosses = list(
        Answer.objects.filter(
            assessment_id=assessment.pk,
            item__answer_type=AnswerType.TRI_STATE,
            not_applicable=False,
            value=NOT_DONE,
        ).values_list("item_id", "item__item_id", "item__text_ja", "item__critical")
    )
    existing = {
        item_id: (pk, status)
        for pk, item_id, status in Risk.objects.filter(
            assessment_id=assessment.pk, item__isnull=False
        ).values_list("pk", "item_id", "status")
    }
    wanted = {row[0] for row in crosses}
    stale = [
        pk
        for item_id, (pk, status) in existing.items()
        if item_id not in wanted and status == RiskStatus.CANDIDATE
    ]
    new = [row for row in crosses if row[0] not in existing]
    if not new and not stale:
        return 0
    entries: list[PendingEntry] = []
    with transaction.atomic():
        if new:
            config = _config(assessment.organization_id)
            impact = impacts_of(assessment.organization_id, [assessment.supplier_id])[assessment.supplier_id]
            rows = []
            for item_pk, item_id, text, critical in new:
                likelihood = CANDIDATE_LIKELIHOOD[bool(critical)]
                rows.append(
                    Risk(
                        organization_id=assessment.organization_id,
                        supplier_id=assessment.supplier_id,
                        title=f"{item_id} {text}"[:200],
                        source=RiskSource.ANSWER,
                        assessment_id=assessment.pk,
                        item_id=item_pk,
                        status=RiskStatus.CANDIDATE,
                        inherent_impact=impact,
                        inherent_likelihood=likelihood,
                        inherent_level=level_for(config, impact, likelihood),
                    )
                )
            created = Risk.objects.bulk_create(rows)
            if any(r.pk is None for r in created):  # a backend that returns no ids
                by_item = dict(Risk.objects.filter(assessment_id=assessment.pk).values_list("item_id", "pk"))
                for r in created:
                    r.pk = by_item[r.item_id]
            entries += [
                PendingEntry(
                    AuditEntry.Action.CREATE, r, None, snapshot(r), organization_id=assessment.organization_id
                )
                for r in created
            ]
        if stale:
            now = timezone.now()
            Risk.objects.filter(pk__in=stale).update(status=RiskStatus.CLOSED, closed_at=now)
            for risk in Risk.objects.filter(pk__in=stale):
                entries.append(
                    PendingEntry(
                        AuditEntry.Action.UPDATE,
                        risk,
                        {"status": RiskStatus.CANDIDATE, "closed_at": None},
                        {
                            "status": RiskStatus.CLOSED,
                            "closed_at": now.isoformat(),
                            "reason": "answer no longer ×",
                        },
                        organization_id=assessment.organization_id,
                    )
                )
        record_many(actor, entries)
    return len(new)


# --- Raising and changing risks -----------------------------------------------------------------


def raise_risk(
    actor: Actor,
    supplier: Any,
    *,
    title: str,
    source: str = RiskSource.MANUAL,
    source_key: str = "",
    description: str = "",
    inherent_likelihood: int | None = None,
    owner: Any = None,
    status: str = RiskStatus.OPEN,
) -> Risk:
    """Add a risk of SUPPLIER to the register (open unless STATUS says candidate), or return the
    one already raised for SOURCE_KEY in the organization (idempotent; nothing is changed then).
    Impact is the supplier's; likelihood is judged (default 3); the level comes from the matrix."""
    organization_id = supplier.organization_id
    _require(actor, organization_id, ADD)
    source_key = _text("source_key", source_key, limit=100)
    if source_key:
        found = Risk.objects.filter(organization_id=organization_id, source_key=source_key).first()
        if found is not None:
            return found
    if source not in RiskSource.values:
        raise RegisterError(_("Unknown source."), {"source": _("Unknown source.")})
    if status not in (RiskStatus.OPEN, RiskStatus.CANDIDATE):
        raise RegisterError(_("A new risk is open or a candidate."), {"status": _("Unknown status.")})
    title = _text("title", title, required=True, limit=200)
    description = _text("description", description)
    likelihood = _scale(
        "inherent_likelihood", 3 if inherent_likelihood in (None, "") else inherent_likelihood
    )
    owner_user = _owner_ok(organization_id, owner)
    impact = impacts_of(organization_id, [supplier.pk])[supplier.pk]
    risk = Risk(
        organization_id=organization_id,
        supplier=supplier,
        title=title,
        description=description,
        source=source,
        source_key=source_key,
        status=status,
        owner=owner_user,
        inherent_impact=impact,
        inherent_likelihood=likelihood,
        inherent_level=level_for(_config(organization_id), impact, likelihood),
        created_by=actor.user,
    )
    try:
        with transaction.atomic():
            return _save(actor, risk, None)
    except IntegrityError:
        # Raised at the same moment by another request with the same key.
        found = Risk.objects.filter(organization_id=organization_id, source_key=source_key).first()
        if source_key and found is not None:
            return found
        raise


def confirm(actor: Actor, risk: Risk, *, inherent_likelihood: Any = None, owner: Any = None) -> Risk:
    """A candidate becomes an open risk (likelihood judged, an owner named)."""
    _require(actor, risk.organization_id, CHANGE)
    likelihood = _scale("inherent_likelihood", inherent_likelihood, required=False)
    owner_user = _owner_ok(risk.organization_id, owner)
    with transaction.atomic():
        locked = _locked(risk)
        if locked.status != RiskStatus.CANDIDATE:
            raise RegisterError(_("Only a candidate can be confirmed."))
        before = snapshot(locked)
        locked.status = RiskStatus.OPEN
        if likelihood is not None:
            locked.inherent_likelihood = likelihood
            locked.inherent_level = level_for(
                _config(locked.organization_id), locked.inherent_impact, likelihood
            )
        if owner_user is not None:
            locked.owner = owner_user
        return _save(actor, locked, before)


def dismiss(actor: Actor, risk: Risk, reason: str) -> Risk:
    """A candidate is not a risk: closed, with the reason in the audit trail."""
    _require(actor, risk.organization_id, CHANGE)
    reason = _text("reason", reason, required=True)
    with transaction.atomic():
        locked = _locked(risk)
        if locked.status != RiskStatus.CANDIDATE:
            raise RegisterError(_("Only a candidate can be dismissed; close the risk instead."))
        before = snapshot(locked)
        locked.status, locked.closed_at = RiskStatus.CLOSED, timezone.now()
        return _save(actor, locked, before, {"reason": reason})


def close(actor: Actor, risk: Risk, reason: str) -> Risk:
    _require(actor, risk.organization_id, CHANGE)
    reason = _text("reason", reason, required=True)
    with transaction.atomic():
        locked = _locked(risk)
        if locked.status == RiskStatus.CLOSED:
            raise RegisterError(_("The risk is already closed."))
        before = snapshot(locked)
        locked.status, locked.closed_at = RiskStatus.CLOSED, timezone.now()
        return _save(actor, locked, before, {"reason": reason})


def reopen(actor: Actor, risk: Risk, reason: str = "") -> Risk:
    _require(actor, risk.organization_id, CHANGE)
    reason = _text("reason", reason)
    with transaction.atomic():
        locked = _locked(risk)
        if locked.status not in (RiskStatus.CLOSED, RiskStatus.ACCEPTED):
            raise RegisterError(_("Only a closed or accepted risk can be reopened."))
        before = snapshot(locked)
        entries = []
        if locked.status == RiskStatus.ACCEPTED:
            entries = _revoke_current(locked)
            locked.treatment = ""
        locked.status, locked.closed_at = RiskStatus.OPEN, None
        return _save(actor, locked, before, {"reason": reason} if reason else None, entries)


def _revoke_current(risk: Risk) -> list[PendingEntry]:
    entries = []
    now = timezone.now()
    for acceptance in RiskAcceptance.objects.select_for_update().filter(risk=risk, revoked_at__isnull=True):
        before = snapshot(acceptance)
        acceptance.revoked_at = now
        acceptance.save(update_fields=["revoked_at"])
        entries.append(PendingEntry(AuditEntry.Action.UPDATE, acceptance, before, snapshot(acceptance)))
    return entries


EDITABLE = (
    "title",
    "description",
    "owner",
    "inherent_likelihood",
    "treatment",
    "residual_impact",
    "residual_likelihood",
)


def update(actor: Actor, risk: Risk, data: dict[str, Any]) -> Risk:
    """Change the title, description, owner, judged likelihood, treatment (not acceptance: see
    `accept`) and residual rating of an open or treated risk. Keys of DATA not given stay.
    Choosing mitigate, transfer or avoid marks the risk as being treated."""
    _require(actor, risk.organization_id, CHANGE)
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for name in EDITABLE:
        if name not in data:
            continue
        try:
            if name == "title":
                clean[name] = _text(name, data[name], required=True, limit=200)
            elif name == "description":
                clean[name] = _text(name, data[name])
            elif name == "owner":
                clean[name] = _owner_ok(risk.organization_id, data[name])
            elif name == "inherent_likelihood":
                clean[name] = _scale(name, data[name])
            elif name == "treatment":
                value = data[name] or ""
                if value == Treatment.ACCEPT:
                    raise RegisterError(
                        _("An acceptance needs an administrator's approval."),
                        {name: _("Record the acceptance with its approver instead.")},
                    )
                if value not in ("", *Treatment.values):
                    raise RegisterError(_("Unknown treatment."), {name: _("Unknown treatment.")})
                clean[name] = value
            else:
                clean[name] = _scale(name, data[name], required=False)
        except RegisterError as exc:
            errors.update(exc.errors or {name: exc.message})
    if errors:
        raise RegisterError(_("Correct the errors below."), errors)
    with transaction.atomic():
        locked = _locked(risk)
        if locked.status not in (RiskStatus.CANDIDATE, RiskStatus.OPEN, RiskStatus.TREATED):
            raise RegisterError(_("Reopen the risk to change it."))
        before = snapshot(locked)
        for name, value in clean.items():
            setattr(locked, name, value)
        config = _config(locked.organization_id)
        locked.inherent_level = level_for(config, locked.inherent_impact, locked.inherent_likelihood)
        if locked.residual_likelihood and not locked.residual_impact:
            locked.residual_impact = locked.inherent_impact
        if locked.residual_impact and locked.residual_likelihood:
            locked.residual_level = level_for(config, locked.residual_impact, locked.residual_likelihood)
        else:
            locked.residual_level = ""
        if locked.status != RiskStatus.CANDIDATE:
            locked.status = RiskStatus.TREATED if locked.treatment else RiskStatus.OPEN
        return _save(actor, locked, before)


def accept(
    actor: Actor, risk: Risk, *, justification: str, expires_on: Any, today: datetime.date | None = None
) -> RiskAcceptance:
    """Record the acceptance of RISK by ACTOR, who must be an administrator of the organization
    and not the person who raised the risk; the justification is required and the expiry lies
    after today and at most MAX_ACCEPTANCE_DAYS ahead."""
    today = today or timezone.localdate()
    user = actor.user
    if user is None or not staff_may(user, risk.organization_id, MANAGE):
        raise NotAllowed(_("Only an administrator of the organization may accept a risk."))
    if risk.created_by_id is not None and risk.created_by_id == user.pk:
        raise NotAllowed(_("The person who raised a risk cannot approve its acceptance."))
    errors: dict[str, str] = {}
    try:
        justification = _text("justification", justification, required=True)
    except RegisterError as exc:
        errors.update(exc.errors)
    if isinstance(expires_on, str):
        try:
            expires_on = datetime.date.fromisoformat(expires_on.strip())
        except ValueError:
            expires_on = None
    if not isinstance(expires_on, datetime.date):
        errors["expires_on"] = _("Enter a date (YYYY-MM-DD).")
    elif not today < expires_on <= today + datetime.timedelta(days=MAX_ACCEPTANCE_DAYS):
        errors["expires_on"] = _("Choose a date after today and within %(days)d days.") % {
            "days": MAX_ACCEPTANCE_DAYS
        }
    if errors:
        raise RegisterError(_("Correct the errors below."), errors)
    with transaction.atomic():
        locked = _locked(risk)
        if locked.status not in (RiskStatus.OPEN, RiskStatus.TREATED, RiskStatus.ACCEPTED):
            raise RegisterError(_("Confirm the candidate or reopen the risk before accepting it."))
        entries = _revoke_current(locked)  # a renewal replaces the current acceptance
        acceptance = RiskAcceptance(
            risk=locked, approver=user, justification=justification, accepted_on=today, expires_on=expires_on
        )
        acceptance.full_clean(exclude=["risk", "approver"])
        acceptance.save()
        entries.append(PendingEntry(AuditEntry.Action.CREATE, acceptance, None, snapshot(acceptance)))
        before = snapshot(locked)
        locked.status, locked.treatment = RiskStatus.ACCEPTED, Treatment.ACCEPT
        _save(actor, locked, before, None, entries)
    return acceptance


def expired_acceptances(organization: Any, today: datetime.date | None = None) -> QuerySet:
    """Acceptances of ORGANIZATION that ran out before TODAY and still stand: not revoked, the
    latest of their risk, whose risk is neither closed nor given another treatment since. The
    monitoring attention list shows these; the nightly job reopens their risks."""
    today = today or timezone.localdate()
    org_id = getattr(organization, "pk", organization)
    newer = RiskAcceptance.objects.filter(risk=OuterRef("risk"), pk__gt=OuterRef("pk"))
    return (
        RiskAcceptance.objects.filter(
            risk__organization_id=org_id, revoked_at__isnull=True, expires_on__lt=today
        )
        .filter(
            Q(risk__status=RiskStatus.ACCEPTED)
            | Q(risk__status=RiskStatus.OPEN, risk__treatment__in=["", Treatment.ACCEPT])
        )
        .exclude(Exists(newer))
        .select_related("risk", "risk__supplier", "approver")
        .order_by("expires_on", "pk")
    )


def reopen_expired(today: datetime.date | None = None) -> int:
    """Reopen every accepted risk whose acceptance has expired (the nightly job). Audited as the
    system; the acceptance row stays as it was, so the attention list keeps showing it until
    someone treats, accepts again or closes the risk."""
    today = today or timezone.localdate()
    actor = Actor.system("risk-acceptance-expiry")
    count = 0
    ids = list(
        RiskAcceptance.objects.filter(
            risk__status=RiskStatus.ACCEPTED, revoked_at__isnull=True, expires_on__lt=today
        )
        .exclude(Exists(RiskAcceptance.objects.filter(risk=OuterRef("risk"), pk__gt=OuterRef("pk"))))
        .values_list("risk_id", flat=True)
    )
    for risk_id in ids:
        with transaction.atomic():
            locked = Risk.objects.select_for_update().get(pk=risk_id)
            if locked.status != RiskStatus.ACCEPTED:
                continue
            before = snapshot(locked)
            locked.status = RiskStatus.OPEN
            _save(actor, locked, before, {"reason": "acceptance expired"})
            count += 1
    return count


# --- Reading ------------------------------------------------------------------------------------


SORTS = {
    "level": ("-level_rank", "-inherent_impact", "-inherent_likelihood", "-pk"),
    "-level": ("level_rank", "inherent_impact", "inherent_likelihood", "pk"),
    "newest": ("-created_at", "-pk"),
    "supplier": ("supplier__code", "-level_rank", "pk"),
}


def with_rank(queryset: QuerySet) -> QuerySet:
    """Annotate the rank of the current level (residual when rated, else inherent)."""
    from django.db.models import Case, IntegerField, Value, When

    whens = []
    for level, rank in LEVEL_RANK.items():
        whens.append(When(~Q(residual_level="") & Q(residual_level=level), then=Value(rank)))
    for level, rank in LEVEL_RANK.items():
        whens.append(When(Q(residual_level="") & Q(inherent_level=level), then=Value(rank)))
    return queryset.annotate(level_rank=Case(*whens, default=Value(0), output_field=IntegerField()))


def current_level(risk: Risk) -> str:
    return risk.residual_level or risk.inherent_level


def risk_data(risk: Risk) -> dict[str, Any]:
    """One risk as `renkei risk register --json` and the API print it (keys are only added)."""
    return {
        "id": risk.pk,
        "organization": risk.organization.slug,
        "supplier": risk.supplier.code,
        "title": risk.title,
        "source": risk.source,
        "source_key": risk.source_key,
        "assessment": risk.assessment_id,
        "item": risk.item.item_id if risk.item_id else None,
        "status": risk.status,
        "treatment": risk.treatment or None,
        "owner": risk.owner.username if risk.owner_id else None,
        "inherent": {
            "impact": risk.inherent_impact,
            "likelihood": risk.inherent_likelihood,
            "level": risk.inherent_level,
        },
        "residual": (
            {
                "impact": risk.residual_impact,
                "likelihood": risk.residual_likelihood,
                "level": risk.residual_level,
            }
            if risk.residual_level
            else None
        ),
        "level": current_level(risk),
        "created_at": risk.created_at.isoformat(),
        "closed_at": risk.closed_at.isoformat() if risk.closed_at else None,
    }


def register_document(organizations: Iterable[Any], status: str | None = None) -> dict[str, Any]:
    """`renkei risk register --json`: {"risks": [risk_data, …], "counts": {status: n}}, highest
    level first. STATUS: one of RiskStatus, or "active" (everything not closed)."""
    rows = with_rank(Risk.objects.filter(organization__in=[o.pk for o in organizations]))
    if status == "active":
        rows = rows.exclude(status=RiskStatus.CLOSED)
    elif status:
        if status not in RiskStatus.values:
            raise ValueError(
                f"Unknown status {status!r}; use active or one of {', '.join(RiskStatus.values)}."
            )
        rows = rows.filter(status=status)
    rows = rows.select_related("organization", "supplier", "item", "owner").order_by(*SORTS["level"])
    risks = [risk_data(r) for r in rows]
    counts: dict[str, int] = {}
    for r in risks:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return {"risks": risks, "counts": counts}
