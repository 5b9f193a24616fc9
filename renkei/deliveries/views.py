"""Staff pages of delivered software (docs/deliveries.md): the list, registering a delivery, the
delivery's page (artifacts and signatures, SBOM quality, findings, components, licences), triaging
a finding and VEX export/import.

Rows come from for_user; a foreign or missing delivery is 404. Supplier contacts have the portal
pages (renkei.deliveries.views_portal), which share the detail page; a contact who opens a staff
page is sent there, and triage and VEX answer both and return to the page they came from.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from renkei.audit.services import Actor
from renkei.core.downloads import attachment_response
from renkei.core.models import member_organization_ids, staff_may
from renkei.core.permissions import ADD, CHANGE, VIEW
from renkei.deliveries import services
from renkei.deliveries.filtersets import SIGNATURE_CHOICES, DeliveryFilterSet, open_q, severity_rank
from renkei.deliveries.forms import DeliveryForm, TriageForm, VexImportForm
from renkei.deliveries.models import Advisory, Artifact, Delivery, Finding, Sbom, Source
from renkei.deliveries.presenters import quality_rows
from renkei.suppliers.models import Supplier

PAGE_SIZE = 50
FINDINGS_PAGE = 100
COMPONENTS_PAGE = 50
RESOLVED_SHOWN = 200


def may_triage(user: Any, delivery: Delivery) -> bool:
    """Staff who may change in its organization, or a contact of its supplier (Finding.supplier_actions)."""
    return staff_may(user, delivery.organization_id, CHANGE) or services.is_contact_of(
        user, delivery.supplier_id
    )


def is_staff_of(user: Any, delivery: Delivery) -> bool:
    return staff_may(user, delivery.organization_id, VIEW)


def detail_url(user: Any, delivery: Delivery) -> str:
    """The staff page for the buyer's staff, the portal page for a contact."""
    name = "deliveries:detail" if is_staff_of(user, delivery) else "deliveries:portal_detail"
    return reverse(name, args=[delivery.pk])


def visible_delivery(request: HttpRequest, pk: int) -> Delivery:
    delivery = (
        Delivery.objects.for_user(request.user, VIEW)
        .select_related("supplier", "organization", "submitted_by")
        .filter(pk=pk)
        .first()
    )
    if delivery is None:
        raise Http404
    return delivery


def query_without(request: HttpRequest, *names: str) -> str:
    query = QueryDict(mutable=True)
    for key, values in request.GET.lists():
        if key not in names:
            query.setlist(key, values)
    return query.urlencode()


@login_required
def delivery_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not member_organization_ids(user, VIEW).exists():
        if Supplier.objects.for_user(user, VIEW).exists():
            return redirect("deliveries:portal_list")
        raise PermissionDenied
    base = Delivery.objects.for_user(user, VIEW).filter(
        organization_id__in=member_organization_ids(user, VIEW)
    )
    filterset = DeliveryFilterSet(request.GET, queryset=base)
    latest_sbom = Sbom.objects.filter(delivery=OuterRef("pk")).order_by("-pk")
    rows = (
        filterset.qs.select_related("supplier")
        .annotate(completeness=Subquery(latest_sbom.values("completeness")[:1]))
        .order_by("-received_at", "-pk")
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    suppliers = (
        Supplier.objects.for_user(user, VIEW)
        .filter(organization_id__in=member_organization_ids(user, VIEW), deliveries__isnull=False)
        .distinct()
        .order_by("code")
        .only("pk", "code", "name")
    )
    filtered = any(request.GET.get(k) for k in ("q", "supplier", "vulnerable", "signature"))
    context = {
        "page": page,
        "query": query_without(request, "page"),
        "filterset": filterset,
        "filtered": filtered,
        "suppliers": suppliers,
        "signature_choices": SIGNATURE_CHOICES,
        "can_add": member_organization_ids(user, ADD).exists(),
        "has_advisories": Advisory.objects.exists(),
    }
    return render(request, "deliveries/list.html", context)


def addable_suppliers(user: Any) -> QuerySet[Supplier]:
    """Suppliers whose deliveries USER may register as staff."""
    return (
        Supplier.objects.for_user(user, VIEW)
        .filter(organization_id__in=member_organization_ids(user, ADD))
        .select_related("organization")
        .order_by("code")
    )


def register(
    request: HttpRequest, form: DeliveryForm, source: str, fixed_supplier: Supplier | None = None
) -> Delivery | None:
    """Validate FORM and register the delivery; None (errors on the form) when refused."""
    if not form.is_valid():
        return None
    supplier = fixed_supplier or form.cleaned_data["supplier"]
    data = form.cleaned_data
    try:
        return services.register_delivery(
            Actor.from_request(request),
            supplier.organization,
            supplier,
            product=data["product"],
            version=data["version"],
            description=data.get("description", ""),
            source=source,
            artifacts=[services.ArtifactUpload(file, signature) for file, signature in form.uploads()],
            sbom=data.get("sbom"),
            sbom_signature=data.get("sbom_signature"),
        )
    except services.NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    except services.DeliveryError as exc:
        form.apply(exc.errors, exc.message)
        return None


def registered_message(request: HttpRequest, delivery: Delivery) -> None:
    messages.success(
        request,
        _("%(delivery)s was registered: %(components)d components, %(open)d open vulnerabilities.")
        % {"delivery": delivery, "components": delivery.component_count, "open": delivery.open_findings},
    )


@login_required
@require_http_methods(["GET", "POST"])
def delivery_new(request: HttpRequest) -> HttpResponse:
    suppliers = addable_suppliers(request.user)
    if not member_organization_ids(request.user, ADD).exists():
        if (
            not member_organization_ids(request.user, VIEW).exists()
            and Supplier.objects.for_user(request.user, VIEW).exists()
        ):
            return redirect("deliveries:portal_new")
        raise PermissionDenied
    initial = {}
    wanted = request.GET.get("supplier", "")
    if wanted.isdigit() and suppliers.filter(pk=int(wanted)).exists():
        initial["supplier"] = int(wanted)
    form = DeliveryForm(request.POST or None, request.FILES or None, suppliers=suppliers, initial=initial)
    if request.method == "POST":
        delivery = register(request, form, Source.STAFF)
        if delivery is not None:
            registered_message(request, delivery)
            return redirect("deliveries:detail", pk=delivery.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "deliveries/new.html", {"form": form, "portal": False}, status=status)


def detail_context(request: HttpRequest, delivery: Delivery, *, portal: bool) -> dict[str, Any]:
    """What the delivery page shows; PORTAL hides the buyer's parts (licence policy links, who
    registered it)."""
    user = request.user
    findings = (
        Finding.objects.filter(delivery=delivery)
        .select_related("component", "advisory")
        .order_by(severity_rank(), "osv_id", "pk")
    )
    open_page = Paginator(findings.filter(open_q()), FINDINGS_PAGE).get_page(request.GET.get("fpage"))
    closed = list(findings.exclude(open_q())[:RESOLVED_SHOWN])
    components = delivery.components.order_by("name", "version", "pk")
    component_q = " ".join(request.GET.get("cq", "").split())[:100]
    if component_q:
        components = services.search_components(components, component_q)
    component_page = Paginator(components, COMPONENTS_PAGE).get_page(request.GET.get("cpage"))
    sboms = list(delivery.sboms.all())
    for sbom in sboms:
        sbom.quality_rows = quality_rows(sbom)
    staff = not portal  # the staff page is only rendered for staff of its organization
    return {
        "delivery": delivery,
        "portal": portal,
        "back_url": reverse("deliveries:portal_list" if portal else "deliveries:list"),
        "artifacts": list(Artifact.objects.filter(delivery=delivery).order_by("pk")),
        "sboms": sboms,
        "open_page": open_page,
        "open_query": query_without(request, "fpage"),
        "closed_findings": closed,
        "component_page": component_page,
        "component_q": component_q,
        "component_query": query_without(request, "cpage"),
        "licences": services.licence_report(delivery),
        "can_triage": may_triage(user, delivery),
        "can_policy": staff,
        "vex_form": VexImportForm(),
    }


def render_detail(
    request: HttpRequest, delivery: Delivery, *, portal: bool, status: int = 200, **extra: Any
) -> HttpResponse:
    context = detail_context(request, delivery, portal=portal)
    context.update(extra)
    return render(request, "deliveries/detail.html", context, status=status)


@login_required
def delivery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = visible_delivery(request, pk)
    if not is_staff_of(request.user, delivery):
        return redirect("deliveries:portal_detail", pk=delivery.pk)
    return render_detail(request, delivery, portal=False)


def _finding(request: HttpRequest, pk: int) -> Finding:
    finding = (
        Finding.objects.for_user(request.user, VIEW)
        .select_related("delivery", "delivery__supplier", "component", "advisory", "vex_by")
        .filter(pk=pk)
        .first()
    )
    if finding is None:
        raise Http404
    return finding


@login_required
@require_http_methods(["GET", "POST"])
def finding_triage(request: HttpRequest, pk: int) -> HttpResponse:
    finding = _finding(request, pk)
    delivery = finding.delivery
    if request.method == "POST" and not Finding.objects.for_user(request.user, CHANGE).filter(pk=pk).exists():
        raise PermissionDenied
    initial = {
        "state": finding.vex_state,
        "justification": finding.vex_justification,
        "detail": finding.vex_detail,
    }
    form = TriageForm(request.POST or None, initial=initial)
    back = detail_url(request.user, delivery)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.triage(
                Actor.from_request(request),
                finding,
                state=data["state"],
                justification=data["justification"],
                detail=data["detail"],
            )
        except services.NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc
        except services.DeliveryError as exc:
            form.apply(exc.errors, exc.message)
        else:
            messages.success(request, _("The triage of %(id)s was saved.") % {"id": finding.osv_id})
            return redirect(f"{back}#finding-{finding.pk}")
    context = {
        "finding": finding,
        "delivery": delivery,
        "form": form,
        "back_url": back,
        "can_triage": Finding.objects.for_user(request.user, CHANGE).filter(pk=pk).exists(),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "deliveries/triage.html", context, status=status)


@login_required
def vex_export(request: HttpRequest, pk: int) -> HttpResponse:
    from renkei.deliveries.vex import export_vex

    delivery = visible_delivery(request, pk)
    response = HttpResponse(export_vex(delivery), content_type="application/vnd.cyclonedx+json")
    name = f"vex-{delivery.pk}.cdx.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_POST
def vex_import(request: HttpRequest, pk: int) -> HttpResponse:
    from renkei.deliveries.vex import MAX_VEX_BYTES, import_vex

    delivery = visible_delivery(request, pk)
    portal = not is_staff_of(request.user, delivery)
    if not may_triage(request.user, delivery):
        raise PermissionDenied
    form = VexImportForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        if (upload.size or 0) > MAX_VEX_BYTES:
            form.add_error("file", _("The file is larger than %(n)d MB.") % {"n": MAX_VEX_BYTES // 2**20})
        else:
            try:
                result = import_vex(Actor.from_request(request), delivery, upload.read())
            except services.NotAllowed as exc:
                raise PermissionDenied(exc.message) from exc
            except services.DeliveryError as exc:
                form.add_error("file", exc.message)
            else:
                messages.success(request, _("VEX imported: %(n)d findings updated.") % {"n": result.updated})
                if result.unknown:
                    shown = ", ".join(result.unknown[:10]) + (" …" if len(result.unknown) > 10 else "")
                    messages.warning(
                        request,
                        _("%(n)d statements matched no finding of this delivery: %(ids)s")
                        % {"n": len(result.unknown), "ids": shown},
                    )
                return redirect(detail_url(request.user, delivery) + "#findings")
    return render_detail(request, delivery, portal=portal, status=400, vex_form=form)


@login_required
def artifact_file(request: HttpRequest, pk: int, item: int) -> HttpResponse:
    """A delivered file (or, with ?signature=1, its signature), to anyone who may see the delivery."""
    return _download(request, pk, Artifact, item)


@login_required
def sbom_file(request: HttpRequest, pk: int, item: int) -> HttpResponse:
    return _download(request, pk, Sbom, item)


def _download(request: HttpRequest, pk: int, model: type[Artifact] | type[Sbom], item: int) -> HttpResponse:
    delivery = visible_delivery(request, pk)
    row = model.objects.filter(delivery=delivery, pk=item).first()
    if row is None:
        raise Http404
    return attachment_response(row.signature if request.GET.get("signature") else row.file)
