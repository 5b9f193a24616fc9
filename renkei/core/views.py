"""The dashboard: where each role starts."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count, F, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import i18n as i18n_views

from renkei.accounts.models import Organization
from renkei.core.models import contact_supplier_ids
from renkei.core.permissions import ADD, VIEW
from renkei.questionnaires.choices import ANSWERABLE_STATUSES
from renkei.questionnaires.models import Assessment
from renkei.remediation.models import Action, ActionStatus, OwnerSide, PlanStatus
from renkei.suppliers.choices import AccessMethod, Relationship
from renkei.suppliers.filtersets import CertificationStatus, SupplierFilterSet
from renkei.suppliers.models import Supplier
from renkei.suppliers.views import supplier_filter_url, with_certification_counts


def _staff_summary(user: Any) -> dict[str, Any]:
    suppliers = Supplier.objects.for_user(user, VIEW)
    access_counts = {
        f"access_{method.value}": Count("pk", filter=Q(access_methods__contains=f",{method},"))
        for method in AccessMethod
    }
    totals = suppliers.aggregate(
        total=Count("pk"), with_access=Count("pk", filter=~Q(access_methods="")), **access_counts
    )
    by_relationship = dict(
        suppliers.order_by().values_list("relationship").annotate(n=Count("pk"))
    )
    # Counted with the list's own FilterSet so the number and the linked list always agree.
    certification_rows = []
    for status in (CertificationStatus.EXPIRED, CertificationStatus.EXPIRING):
        filtered = SupplierFilterSet({"certification_status": status}, queryset=suppliers).qs
        label = dict(CertificationStatus.CHOICES)[status]
        url = supplier_filter_url(certification_status=status)
        certification_rows.append({"status": status, "label": label, "count": filtered.count(),
                                   "url": url})
    return {
        "total": totals["total"],
        "with_access": totals["with_access"],
        "relationships": [
            {"label": label, "count": by_relationship.get(value, 0),
             "url": supplier_filter_url(relationship=value)}
            for value, label in Relationship.choices
        ],
        "access_rows": [
            {"label": method.label, "count": totals[f"access_{method.value}"],
             "url": supplier_filter_url(access=method.value)}
            for method in AccessMethod
        ],
        "certification_rows": certification_rows,
        "can_add": Organization.for_user(user, ADD).exists(),
    }


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    is_staff = Organization.for_user(user, VIEW).exists()
    own_suppliers = list(
        with_certification_counts(
            Supplier.objects.for_user(user, VIEW).filter(pk__in=contact_supplier_ids(user))
        )
        .select_related("organization")
    )
    context = {
        "is_staff": is_staff,
        "staff": _staff_summary(user) if is_staff else None,
        "own_suppliers": own_suppliers,
        "todo": _supplier_todo(user, [s.pk for s in own_suppliers]) if own_suppliers else None,
    }
    return render(request, "core/dashboard.html", context)


TASK_ROWS = 20


def _supplier_todo(user: Any, supplier_ids: list[int]) -> dict[str, list[Any]]:
    """What a supplier contact has to do, soonest due first: questionnaires open for answers and
    the supplier's own actions of agreed remediation plans (two queries)."""
    due_first = (F("due_on").asc(nulls_last=True), "pk")
    assessments = (Assessment.objects.for_user(user, VIEW)
                   .filter(supplier_id__in=supplier_ids, status__in=list(ANSWERABLE_STATUSES))
                   .select_related("template", "supplier").order_by(*due_first)[:TASK_ROWS])
    actions = (Action.objects.for_user(user, VIEW)
               .filter(plan__supplier_id__in=supplier_ids, plan__status=PlanStatus.AGREED,
                       owner_side=OwnerSide.SUPPLIER,
                       status__in=[ActionStatus.OPEN, ActionStatus.IN_PROGRESS])
               .select_related("plan", "plan__supplier").order_by(*due_first)[:TASK_ROWS])
    return {"assessments": list(assessments), "actions": list(actions)}


def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, which also remembers the choice on the signed-in user.

    The saved language then follows the person to other browsers and into the e-mails Renkei
    sends them (invitations, notices).
    """
    response = i18n_views.set_language(request)
    language = request.POST.get("language")
    user = request.user
    if (
        request.method == "POST"
        and user.is_authenticated
        and language in dict(settings.LANGUAGES)
        and user.language != language
    ):
        user.language = language
        user.save(update_fields=["language"])
    return response
