"""Delivered software: the one place deliveries, findings and the licence policy change
(docs/deliveries.md). Pages, the portal, the API, the CLI and the demo call these.

Registering a delivery reads and checks everything first — sizes before reading, the SBOM parsed,
every signature verified, every component keyed for matching — and only then writes, in one
transaction with its audit entry: a bad file leaves nothing behind.

Who may do what: staff with add/change rights (admin, analyst) register deliveries, triage findings
and keep the licence policy; auditors read; a supplier contact registers deliveries of its own
supplier and triages their findings (the supplier knows its product).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from renkei.accounts.models import Organization
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, PendingEntry, record_many, snapshot
from renkei.core.errors import NotAllowed as BaseNotAllowed
from renkei.core.errors import ServiceError
from renkei.core.models import contact_supplier_ids, staff_may
from renkei.core.permissions import ADD, CHANGE
from renkei.deliveries import findings as finding_rows
from renkei.deliveries import licences
from renkei.deliveries.matching import component_key
from renkei.deliveries.models import (
    Artifact,
    Component,
    Delivery,
    Finding,
    ForbiddenLicence,
    Justification,
    Sbom,
    SignatureStatus,
    Source,
    VexState,
)
from renkei.deliveries.sbom import SbomError, parse_sbom
from renkei.deliveries.sbom import max_bytes as max_sbom_bytes
from renkei.deliveries.signing import SignatureCheck, check_signature
from renkei.suppliers.models import Supplier

logger = logging.getLogger("renkei.deliveries")

MAX_SIGNATURE_BYTES = 1024 * 1024
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+-]*")
CHUNK = 1024 * 1024


def max_artifact_bytes() -> int:
    return int(getattr(settings, "RENKEI_ARTIFACT_MAX_BYTES", 512 * 1024 * 1024))


class DeliveryError(ServiceError):
    """A refused change to a delivery."""


class NotAllowed(DeliveryError, BaseNotAllowed):
    """The user may see the delivery but not do this with it."""


@dataclass
class ArtifactUpload:
    file: File
    signature: File | None = None


def is_contact_of(user: Any, supplier_id: int) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return contact_supplier_ids(user).filter(supplier_id=supplier_id).exists()


def may_register(user: Any, supplier: Supplier) -> bool:
    """Staff who may add in the supplier's organization, or a contact of that supplier."""
    return staff_may(user, supplier.organization_id, ADD) or is_contact_of(user, supplier.pk)


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.0f}"


def _sha256(upload: File) -> str:
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks(CHUNK):
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def _read_small(upload: File, field: str, limit: int) -> bytes:
    """The whole file, refused by its declared size before anything is read."""
    size = upload.size or 0
    if size > limit:
        raise DeliveryError(
            _("Correct the errors below."),
            {
                field: _("%(name)s is %(size)s MB; the limit is %(limit)s MB.")
                % {"name": upload.name, "size": _mb(size), "limit": _mb(limit)}
            },
        )
    upload.seek(0)
    data = upload.read(limit + 1)
    upload.seek(0)
    if len(data) > limit:
        raise DeliveryError(
            _("Correct the errors below."),
            {field: _("%(name)s is larger than %(limit)s MB.") % {"name": upload.name, "limit": _mb(limit)}},
        )
    return data


@dataclass
class _Checked:
    """What registration computed before writing anything."""

    artifacts: list[tuple[ArtifactUpload, str, SignatureCheck | None, bytes]]
    sbom: Any  # ParsedSbom | None
    sbom_data: bytes
    sbom_check: SignatureCheck | None
    sbom_signature_data: bytes


def _check_fields(product: str, version: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not product.strip():
        errors["product"] = _("Enter the product name.")
    elif len(product.strip()) > 200:
        errors["product"] = _("Use at most %(n)d characters.") % {"n": 200}
    if not version.strip():
        errors["version"] = _("Enter the version delivered.")
    elif len(version.strip()) > 100:
        errors["version"] = _("Use at most %(n)d characters.") % {"n": 100}
    return errors


def _check_files(
    organization: Organization,
    supplier: Supplier,
    *,
    artifacts: list[ArtifactUpload],
    sbom: File | None,
    sbom_signature: File | None,
    at: Any,
) -> _Checked:
    if not artifacts and sbom is None:
        raise DeliveryError(
            _("Correct the errors below."),
            {"__all__": _("Attach the delivered files, an SBOM, or both.")},
        )
    if sbom_signature is not None and sbom is None:
        raise DeliveryError(
            _("Correct the errors below."), {"sbom_signature": _("A signature of the SBOM needs the SBOM.")}
        )
    limit = max_artifact_bytes()
    checked: list[tuple[ArtifactUpload, str, SignatureCheck | None, bytes]] = []
    for upload in artifacts:
        if (upload.file.size or 0) > limit:
            raise DeliveryError(
                _("Correct the errors below."),
                {
                    "artifacts": _("%(name)s is %(size)s MB; the limit is %(limit)s MB.")
                    % {"name": upload.file.name, "size": _mb(upload.file.size), "limit": _mb(limit)}
                },
            )
        if upload.signature is not None and (upload.signature.size or 0) > MAX_SIGNATURE_BYTES:
            raise DeliveryError(
                _("Correct the errors below."),
                {
                    "artifacts": _("%(name)s is %(size)s MB; the limit is %(limit)s MB.")
                    % {
                        "name": upload.signature.name,
                        "size": _mb(upload.signature.size),
                        "limit": _mb(MAX_SIGNATURE_BYTES),
                    }
                },
            )
    for upload in artifacts:
        digest = _sha256(upload.file)
        check = None
        signature_data = b""
        if upload.signature is not None:
            signature_data = _read_small(upload.signature, "artifacts", MAX_SIGNATURE_BYTES)
            upload.file.seek(0)
            check = check_signature(
                organization, supplier, _file_bytes_or_path(upload.file), signature_data, at
            )
            upload.file.seek(0)
        checked.append((upload, digest, check, signature_data))
    parsed = None
    sbom_data = b""
    sbom_check = None
    signature_data = b""
    if sbom is not None:
        sbom_data = _read_small(sbom, "sbom", max_sbom_bytes())
        try:
            parsed = parse_sbom(sbom_data, sbom.name or "")
        except SbomError as exc:
            where = f" ({exc.location})" if getattr(exc, "location", "") else ""
            raise DeliveryError(_("Correct the errors below."), {"sbom": f"{exc}{where}"}) from None
        if sbom_signature is not None:
            signature_data = _read_small(sbom_signature, "sbom_signature", MAX_SIGNATURE_BYTES)
            sbom_check = check_signature(organization, supplier, sbom_data, signature_data, at)
    return _Checked(checked, parsed, sbom_data, sbom_check, signature_data)


def _file_bytes_or_path(upload: File) -> Any:
    """verify_detached reads a path in chunks; an in-memory upload is given as bytes."""
    path = getattr(upload, "temporary_file_path", None)
    if callable(path):
        return path()
    name = getattr(getattr(upload, "file", None), "name", None)
    if isinstance(name, str) and not isinstance(upload, ContentFile) and os.path.isfile(name):
        return name
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    return data


def _apply_check(row: Any, check: SignatureCheck | None, signature_name: str, signature_data: bytes) -> None:
    if check is None:
        return
    row.signature_name = signature_name[:255]
    row.signature.save(signature_name or "signature.p7s", ContentFile(signature_data), save=False)
    row.signature_status = check.status
    row.signature_message = check.message
    row.signer = check.signer
    row.signature_checked_at = check.checked_at


def _overall_signature(statuses: list[str]) -> str:
    """The delivery's signature badge: the worst of its files' statuses; `none` when nothing is signed."""
    signed = [s for s in statuses if s != SignatureStatus.NONE]
    if not signed:
        return SignatureStatus.NONE
    bad = [s for s in signed if s != SignatureStatus.VALID]
    return bad[0] if bad else SignatureStatus.VALID


def _components(delivery: Delivery, sbom: Sbom, parsed: Any) -> list[Component]:
    rows = []
    for item in parsed.components:
        key, version, reason = component_key(item.purl, item.name, item.version)
        rows.append(
            Component(
                delivery=delivery,
                sbom=sbom,
                ref=item.ref[:500],
                name=(item.name or item.purl or "?")[:500],
                version=(item.version or version or "")[:200],
                purl=item.purl[:1000],
                ecosystem=key.ecosystem if key else "",
                package=key.package[:500] if key else "",
                release=key.release[:60] if key else "",
                unmatched_reason=reason,
                supplier_name=item.supplier[:300],
                licenses=item.licenses[:500],
                missing=list(item.missing),
                problem=item.problem,
            )
        )
    return rows


def register_delivery(
    actor: Actor,
    organization: Organization,
    supplier: Supplier,
    *,
    product: str,
    version: str,
    description: str = "",
    source: str,
    artifacts: list[ArtifactUpload] | None = None,
    sbom: File | None = None,
    sbom_signature: File | None = None,
    received_at: Any = None,
) -> Delivery:
    """Record a delivery of SUPPLIER with its files; its components are matched at once."""
    artifacts = list(artifacts or [])
    if supplier.organization_id != organization.pk:
        raise NotAllowed(_("This supplier is not in your organization's registry."))
    if actor.user is not None and not may_register(actor.user, supplier):
        raise NotAllowed(_("You may not register deliveries for this supplier."))
    if source not in Source.values:
        raise DeliveryError(_("Unknown source %(source)s.") % {"source": source})
    errors = _check_fields(product, version)
    if errors:
        raise DeliveryError(_("Correct the errors below."), errors)
    received_at = received_at or timezone.now()
    checked = _check_files(
        organization, supplier, artifacts=artifacts, sbom=sbom, sbom_signature=sbom_signature, at=received_at
    )
    with transaction.atomic():
        delivery = Delivery.objects.create(
            organization=organization,
            supplier=supplier,
            product=product.strip(),
            version=version.strip(),
            description=description.strip(),
            source=source,
            submitted_by=actor.user,
            received_at=received_at,
        )
        statuses: list[str] = []
        for upload, digest, check, signature_data in checked.artifacts:
            name = (upload.file.name or "artifact").rsplit("/", 1)[-1]
            row = Artifact(delivery=delivery, name=name[:255], size=upload.file.size or 0, sha256=digest)
            upload.file.seek(0)
            row.file.save(name, upload.file, save=False)
            _apply_check(
                row, check, (upload.signature.name or "") if upload.signature else "", signature_data
            )
            row.save()
            statuses.append(row.signature_status)
        components: list[Component] = []
        if checked.sbom is not None and sbom is not None:
            parsed = checked.sbom
            name = (sbom.name or "sbom").rsplit("/", 1)[-1]
            row = Sbom(
                delivery=delivery,
                name=name[:255],
                size=len(checked.sbom_data),
                sha256=hashlib.sha256(checked.sbom_data).hexdigest(),
                format=parsed.format,
                encoding=parsed.encoding,
                spec_version=parsed.spec_version,
                authors=parsed.authors[:50],
                created=parsed.created[:40],
                tools=parsed.tools[:50],
                component_count=len(parsed.components),
                completeness=parsed.completeness,
                quality=parsed.quality,
                schema_checked=parsed.schema_checked,
                schema_messages=parsed.schema_messages,
            )
            row.file.save(name, ContentFile(checked.sbom_data), save=False)
            _apply_check(
                row,
                checked.sbom_check,
                sbom_signature.name if sbom_signature else "",
                checked.sbom_signature_data,
            )
            row.save()
            statuses.append(row.signature_status)
            components = Component.objects.bulk_create(_components(delivery, row, parsed), batch_size=2000)
        delivery.signature_status = _overall_signature(statuses)
        delivery.save(update_fields=["signature_status"])
        finding_rows.rematch(components, now=received_at)
        # What a delivery holds when it arrives is on its page and in the registration notice;
        # only later news (a re-check after new vulnerability data) is mailed as new findings.
        Finding.objects.filter(delivery=delivery).update(notified_at=received_at)
        finding_rows.refresh_summaries([delivery.pk])
        delivery.refresh_from_db()
        record_many(actor, [PendingEntry(AuditEntry.Action.CREATE, delivery, None, snapshot(delivery))])
        from renkei.risk import signals

        signals.mark([supplier.pk])
    from renkei.deliveries import notices

    transaction.on_commit(lambda: notices.delivery_registered(delivery.pk))
    return delivery


# --- Triage (VEX) -------------------------------------------------------------------------------


def may_triage(user: Any, finding: Finding) -> bool:
    return Finding.objects.for_user(user, CHANGE).filter(pk=finding.pk).exists()


def triage(
    actor: Actor, finding: Finding, *, state: str, justification: str = "", detail: str = ""
) -> Finding:
    """Record the triage of FINDING (VexState); `not affected` needs a justification or a detail."""
    if actor.user is not None and not may_triage(actor.user, finding):
        raise NotAllowed(_("You may not triage this finding."))
    errors: dict[str, str] = {}
    if state not in VexState.values:
        errors["state"] = _("Choose a triage state.")
    if justification and justification not in Justification.values:
        errors["justification"] = _("Choose a justification from the list.")
    if state == VexState.NOT_AFFECTED and not justification and not detail.strip():
        errors["justification"] = _("Say why the delivery is not affected: a justification or a detail.")
    if len(detail) > 5000:
        errors["detail"] = _("Use at most %(n)d characters.") % {"n": 5000}
    if errors:
        raise DeliveryError(_("Correct the errors below."), errors)
    with transaction.atomic():
        finding = Finding.objects.select_for_update().get(pk=finding.pk)
        before = snapshot(finding)
        finding.vex_state = state
        finding.vex_justification = justification if state == VexState.NOT_AFFECTED else ""
        finding.vex_detail = detail.strip()
        finding.vex_by = actor.user
        finding.vex_at = timezone.now()
        finding.save(update_fields=["vex_state", "vex_justification", "vex_detail", "vex_by", "vex_at"])
        record_many(
            actor,
            [
                PendingEntry(
                    AuditEntry.Action.UPDATE,
                    finding,
                    before,
                    snapshot(finding),
                    organization_id=finding.delivery.organization_id,
                    supplier_id=finding.delivery.supplier_id,
                )
            ],
        )
        finding_rows.refresh_summaries([finding.delivery_id])
        from renkei.risk import signals

        signals.mark([finding.delivery.supplier_id])
    return finding


# --- Licence policy -----------------------------------------------------------------------------


def add_forbidden_licence(
    actor: Actor, organization: Organization, identifier: str, note: str = ""
) -> ForbiddenLicence:
    if actor.user is not None and not staff_may(actor.user, organization.pk, CHANGE):
        raise NotAllowed(_("You may not change the licence policy."))
    identifier = identifier.strip()
    error = _check_identifier(identifier)
    if error:
        raise DeliveryError(_("Correct the errors below."), {"identifier": error})
    if ForbiddenLicence.objects.filter(organization=organization, identifier__iexact=identifier).exists():
        raise DeliveryError(
            _("Correct the errors below."),
            {"identifier": _("%(id)s is already forbidden.") % {"id": identifier}},
        )
    with transaction.atomic():
        row = ForbiddenLicence.objects.create(
            organization=organization, identifier=identifier, note=note.strip()[:300], added_by=actor.user
        )
        record_many(actor, [PendingEntry(AuditEntry.Action.CREATE, row, None, snapshot(row))])
    return row


def _check_identifier(identifier: str) -> str:
    """'' when IDENTIFIER is a licence identifier the policy can hold, else the message."""
    if not identifier:
        return _("Enter an SPDX licence identifier, e.g. AGPL-3.0-only.")
    if len(identifier) > 100 or not _IDENTIFIER.fullmatch(identifier):
        return _("%(id)s is not an SPDX licence identifier (letters, digits, '.', '-' and '+').") % {
            "id": identifier[:100]
        }
    return ""


def remove_forbidden_licence(actor: Actor, row: ForbiddenLicence) -> None:
    if actor.user is not None and not staff_may(actor.user, row.organization_id, CHANGE):
        raise NotAllowed(_("You may not change the licence policy."))
    with transaction.atomic():
        record_many(actor, [PendingEntry(AuditEntry.Action.DELETE, row, snapshot(row), None)])
        row.delete()


def licence_report(delivery: Delivery) -> dict[str, Any]:
    """The delivery's licences (expression → components) and the components the policy forbids."""
    forbidden = list(
        ForbiddenLicence.objects.filter(organization_id=delivery.organization_id).values_list(
            "identifier", flat=True
        )
    )
    counts: Counter[str] = Counter()
    flagged = []
    for component in delivery.components.only(
        "id", "delivery_id", "name", "version", "purl", "licenses"
    ).order_by("pk"):
        counts[component.licenses] += 1
        if forbidden and component.licenses:
            hit = licences.forbidden_in(component.licenses, forbidden)
            if hit:
                flagged.append({"component": component, "forbidden": hit})
    summary = licences.summarize(counts.elements())
    return {"summary": summary, "flagged": flagged, "policy": forbidden}


# --- Search -------------------------------------------------------------------------------------


def search_components(queryset: QuerySet[Component], text: str) -> QuerySet[Component]:
    """Components matching "NAME [VERSION-PREFIX]" (e.g. "log4j-core 2.14"), or a purl."""
    text = " ".join(text.split())[:300]
    if not text:
        return queryset.none()
    if text.startswith("pkg:"):
        return queryset.filter(purl__istartswith=text)
    name, _sep, version = text.rpartition(" ")
    if not name or not version[:1].isdigit():
        name, version = text, ""
    condition = Q(name__icontains=name) | Q(package__icontains=name.lower())
    queryset = queryset.filter(condition)
    if version:
        queryset = queryset.filter(version__startswith=version)
    return queryset
