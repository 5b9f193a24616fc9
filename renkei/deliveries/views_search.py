"""Across the portfolio: "which deliveries contain …" (a component, or an advisory id or alias),
the open findings of every delivery by severity, the vulnerability data loaded, and one advisory
with the deliveries it reaches (docs/deliveries.md, "Search").

Advisories are public OSV data and shown to staff and supplier contacts alike; the deliveries
they reach come from for_user, so a contact sees only its own supplier's.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import BooleanField, Count, ExpressionWrapper, Max, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from renkei.core.access import require_staff
from renkei.core.models import contact_supplier_ids, member_organization_ids
from renkei.core.permissions import VIEW
from renkei.deliveries import services
from renkei.deliveries.filtersets import TRIAGE_CHOICES, FindingFilterSet, open_q, severity_rank
from renkei.deliveries.models import CLOSED_VEX_STATES, Advisory, Component, Finding, OsvImport, Severity
from renkei.deliveries.views import query_without
from renkei.suppliers.models import Supplier

PAGE_SIZE = 50
ADVISORY_DELIVERIES = 500


def advisories_matching(text: str) -> list[int]:
    """Advisories whose id or one of whose aliases is TEXT (case-insensitive)."""
    if not text or " " in text or len(text) > 100:
        return []
    return list(
        Advisory.objects.filter(Q(osv_id__iexact=text) | Q(aliases__icontains=f'"{text}"')).values_list(
            "pk", flat=True
        )[:200]
    )


@login_required
@require_GET
def finding_search(request: HttpRequest) -> HttpResponse:
    """The search box and, below it, the open findings of the portfolio with filters."""
    require_staff(request.user)
    user = request.user
    text = " ".join(request.GET.get("contains", "").split())[:300]
    advisory_ids = advisories_matching(text)
    hits = None
    if advisory_ids:
        hits = (
            Finding.objects.for_user(user, VIEW)
            .filter(advisory_id__in=advisory_ids)
            .select_related("delivery", "delivery__supplier", "component", "advisory")
            .order_by("delivery__supplier__code", "delivery__product", "-delivery__received_at", "pk")
        )
    elif text:
        hits = (
            services.search_components(Component.objects.for_user(user, VIEW), text)
            .select_related("delivery", "delivery__supplier")
            .annotate(
                open_count=Count(
                    "findings",
                    filter=Q(findings__resolved_at__isnull=True)
                    & ~Q(findings__vex_state__in=list(CLOSED_VEX_STATES)),
                )
            )
            .order_by("delivery__supplier__code", "delivery__product", "-delivery__received_at", "name", "pk")
        )
    hit_page = Paginator(hits, PAGE_SIZE).get_page(request.GET.get("hpage")) if hits is not None else None

    data = request.GET.copy()
    data.setdefault("open", "true")
    base = Finding.objects.for_user(user, VIEW).filter(
        delivery__organization_id__in=member_organization_ids(user, VIEW)
    )
    filterset = FindingFilterSet(data, queryset=base)
    findings = filterset.qs.select_related(
        "delivery", "delivery__supplier", "component", "advisory"
    ).order_by(severity_rank(), "-first_seen", "pk")
    page = Paginator(findings, PAGE_SIZE).get_page(request.GET.get("page"))
    suppliers = (
        Supplier.objects.for_user(user, VIEW)
        .filter(organization_id__in=member_organization_ids(user, VIEW), deliveries__isnull=False)
        .distinct()
        .order_by("code")
        .only("pk", "code", "name")
    )
    context = {
        "contains": text,
        "advisory_mode": bool(advisory_ids),
        "hit_page": hit_page,
        "hit_query": query_without(request, "hpage"),
        "filterset": filterset,
        "page": page,
        "query": query_without(request, "page"),
        "severities": Severity.choices,
        "chosen_severities": data.getlist("severity"),
        "triage_choices": TRIAGE_CHOICES,
        "open": data.get("open"),
        "suppliers": suppliers,
    }
    return render(request, "deliveries/findings.html", context)


@login_required
@require_GET
def advisory_status(request: HttpRequest) -> HttpResponse:
    """What vulnerability data is loaded: per source, the advisories and the last import."""
    require_staff(request.user)
    sources = {
        row["source"]: row
        for row in Advisory.objects.order_by()
        .values("source")
        .annotate(
            total=Count("pk"),
            active=Count("pk", filter=Q(withdrawn__isnull=True, gone=False)),
            newest=Max("modified"),
        )
    }
    latest: dict[str, OsvImport] = {}
    for name in sources:  # a handful of sources: one small query each
        run = OsvImport.objects.filter(source=name).order_by("-started_at", "-pk").first()
        if run is not None:
            latest[name] = run
    rows = [{**sources[name], "last": latest.get(name)} for name in sorted(sources)]
    recent = list(OsvImport.objects.order_by("-started_at", "-pk")[:20])
    return render(request, "deliveries/advisories.html", {"rows": rows, "recent": recent})


def _may_read_advisories(user: Any) -> bool:
    return member_organization_ids(user, VIEW).exists() or contact_supplier_ids(user).exists()


@login_required
@require_GET
def advisory_detail(request: HttpRequest, osv_id: str) -> HttpResponse:
    if not _may_read_advisories(request.user):
        raise PermissionDenied
    records = list(
        Advisory.objects.filter(osv_id=osv_id).prefetch_related("packages").order_by("-modified", "pk")
    )
    if not records:
        raise Http404
    advisory = records[0]
    reached = (
        Finding.objects.for_user(request.user, VIEW)
        .filter(advisory__osv_id=osv_id)
        .select_related("delivery", "delivery__supplier", "component")
        .annotate(open_now=ExpressionWrapper(open_q(), output_field=BooleanField()))
        .order_by("-open_now", "delivery__supplier__code", "delivery__product", "pk")[:ADVISORY_DELIVERIES]
    )
    staff_orgs = set(member_organization_ids(request.user, VIEW).values_list("organization_id", flat=True))
    rows = list(reached)
    for row in rows:
        row.staff_view = row.delivery.organization_id in staff_orgs
    references = [
        ref
        for ref in advisory.references
        if isinstance(ref, dict) and str(ref.get("url", "")).startswith(("https://", "http://"))
    ]
    context = {
        "advisory": advisory,
        "records": records,
        "references": references,
        "reached": rows,
        "is_staff": bool(staff_orgs),
    }
    return render(request, "deliveries/advisory.html", context)
