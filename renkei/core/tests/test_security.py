"""Attacks on the application, each written as the safe behaviour it must meet.

Attackers: a supplier contact reaching for another supplier or another buyer, an auditor trying
to write, an outsider from another organization, an anonymous visitor, a malicious uploader and
a phisher. Access rules already covered elsewhere (test_views, test_api, test_invitations,
test_password_reset, test_export) are not repeated; the sweeps here walk every URL pattern so a
new page or endpoint is attacked without anyone remembering to add it.
"""

from __future__ import annotations

import datetime
import logging
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.regex_helper import normalize
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from renkei.accounts.models import Membership
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.core.testing import PASSWORD
from renkei.deliveries.tests.helpers import SWEEP_ADVISORY
from renkei.suppliers.models import Certification, Contact, Contract, Supplier
from renkei.suppliers.services import save_record

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert(1)</script>"onmouseover="alert(2)'
EVIL = "https://evil.example/phish"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "files"
    return settings.MEDIA_ROOT


@pytest.fixture
def smtp_down(settings):
    """Mail goes through SMTP to a port nothing listens on: sending fails and is logged."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False


# --- Sweeping every URL pattern ---------------------------------------------------------------


def _walk(patterns, prefix=""):
    for pattern in patterns:
        regex = pattern.pattern.regex.pattern.removeprefix("^")
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + regex)
        else:
            yield prefix + regex


def url_templates() -> list[tuple[str, list[str]]]:
    """Every route of the project as ('suppliers/%(pk)s/', ['pk']), from the live URLconf."""
    found = []
    for regex in _walk(get_resolver().url_patterns):
        found.extend(normalize(regex))
    return found


API_MODELS = {
    "organizations": "organization", "suppliers": "supplier", "contacts": "contact",
    "contracts": "contract", "certifications": "certification", "audit-entries": "auditentry",
    "templates": "template", "assessments": "assessment", "campaigns": "campaign",
    "supplier-risks": "supplierrisk",
    "intakes": "intake", "contract-checklist": "contractcheck", "audits": "audit",
    "audit-findings": "finding",
    "alerts": "alert",
    "risks": "risk", "remediation-plans": "remediationplan", "actions": "action",
    "crosswalks": "crosswalk",
    "map-nodes": "mapnode", "map-edges": "mapedge",
    "certificates": "certificate",
    "enrollment-links": "enrollmentlink",
    "incidents": "incident",
    "deliveries": "delivery", "software-findings": "softwarefinding",
}
KINDS = ("contacts", "contracts", "certifications")


def _foreign(world, viewer):
    """(own supplier, foreign objects by kind, text that must never reach VIEWER)."""
    if viewer == world.supplier1:
        own, suppliers, orgs = world.s1, [world.s2, world.x1], [world.other, world.buyer]
    else:  # the other organization's admin
        own, suppliers, orgs = world.x1, [world.s1, world.s2], [world.buyer]
    for supplier in suppliers:
        # Something the page would show if it leaked: internal notes and a child's note.
        supplier.notes = f"LEAK-{supplier.code}-NOTES"
        save_record(Actor.system("test"), supplier)
        Contact.objects.filter(supplier=supplier).update(notes=f"LEAK-{supplier.code}-CONTACT")
    objects = {
        "supplier": suppliers,
        "contacts": list(Contact.objects.filter(supplier__in=suppliers)),
        "contracts": list(Contract.objects.filter(supplier__in=suppliers)),
        "certifications": list(Certification.objects.filter(supplier__in=suppliers)),
        "organization": [o for o in orgs if viewer not in (m.user for m in o.memberships.all())],
        "auditentry": list(
            AuditEntry.objects.filter(supplier_id_ref__in=[s.pk for s in suppliers])
        ),
    }
    # Staff memberships of organizations the viewer does not administer (member management).
    objects["membership"] = list(
        Membership.objects.filter(organization__in=orgs).select_related("user")
    )
    # Questionnaire templates the viewer may not see: other organizations' (and, for a supplier
    # contact, every template, the built-in one included).
    from renkei.questionnaires.models import Assessment, Template
    from renkei.questionnaires.tests.helpers import load, small

    for org in (world.buyer, world.other):
        load(small(key="secret-sheet", name=f"LEAK-TEMPLATE-{org.slug}"), org)
    # Crosswalks between two of each organization's templates.
    from renkei.questionnaires.crosswalks import load_crosswalk_data
    from renkei.questionnaires.models import Crosswalk

    for org in (world.buyer, world.other):
        load(small(key="secret-old", name=f"LEAK-OLD-{org.slug}"), org)
        load_crosswalk_data({"crosswalk": {"key": "secret-walk", "name": f"LEAK-CROSSWALK-{org.slug}",
                                           "from": "secret-old", "to": "secret-sheet"},
                             "items": [{"from": "B-01", "to": ["B-01"]}]},
                            organization=org, actor=Actor.system("test"))
    objects["crosswalk"] = list(
        Crosswalk.objects.exclude(pk__in=Crosswalk.objects.for_user(viewer).values("pk")))
    hidden = Template.objects.exclude(pk__in=Template.objects.for_user(viewer).values("pk"))
    objects["template"] = list(hidden)
    # Assessments of the foreign suppliers, with an answer each.
    from renkei.questionnaires.assessments_services import create_assessment, save_answer

    for supplier in suppliers:
        sent = create_assessment(Actor.system("test"), supplier, Template.objects.get(
            key="scrm-sheet"))
        save_answer(Actor.system("test"), sent, "C-03", f"LEAK-{supplier.code}-ANSWER")
    objects["assessment"] = list(Assessment.objects.filter(supplier__in=suppliers))
    # Campaigns of the organizations the viewer is not staff of, to the foreign suppliers only.
    from renkei.campaigns.services import create_campaign

    objects["campaign"] = []
    for org in {s.organization for s in suppliers}:
        if Membership.objects.filter(user=viewer, organization=org).exists():
            continue
        codes = [s.code for s in suppliers if s.organization_id == org.pk]
        for code in codes:
            objects["campaign"].append(create_campaign(
                Actor.system("test"), org, name=f"LEAK-CAMPAIGN-{code}",
                template=Template.objects.get(key="secret-sheet", organization=org),
                due_on=datetime.date(2030, 4, 30), selection={"q": code},
            ).campaign)
    # The buyer's risk rating of the foreign suppliers (id = supplier id).
    from renkei.risk.models import SupplierRisk
    from renkei.risk.services import recompute_suppliers

    recompute_suppliers([s.pk for s in suppliers])
    objects["supplierrisk"] = list(SupplierRisk.objects.filter(supplier__in=suppliers))
    # Alerts of the foreign suppliers (the monitoring job's, raised for each of them).
    from django.utils import timezone

    from renkei.monitoring.models import Alert

    objects["alert"] = [Alert.objects.create(
        organization=s.organization, supplier=s, kind="critical_gap", key=f"critical_gap:{s.pk}",
        params={"items": [f"LEAK-{s.code}-ALERT"]}, raised_at=timezone.now(),
        raised_on=timezone.localdate()) for s in suppliers]
    # Selection, contract checks and audits of the foreign suppliers (report released).
    from renkei.oversight.tests.helpers import foreign_objects

    objects.update(foreign_objects(suppliers))
    # Register entries, remediation plans and actions of the foreign suppliers.
    from renkei.remediation.tests.helpers import foreign_objects as foreign_remediation

    objects.update(foreign_remediation(suppliers))
    # Subcontractors the foreign suppliers declared, and their buyers' own map nodes and edges.
    from renkei.graph.tests.helpers_portal import foreign_objects as foreign_map

    objects.update(foreign_map(suppliers))
    # Client certificates of other people (another supplier's contact, the buyer's staff, another buyer).
    from renkei.pki.tests.helpers import foreign_objects as foreign_certificates

    objects.update(foreign_certificates(world, viewer))
    # Enrollment links made for other people (another supplier's contact, staff, another buyer).
    from renkei.pki.tests.helpers_enroll import foreign_links

    objects.update(foreign_links(world, viewer))
    # Trusted external certificates (signature verification) of organizations the viewer is not staff of.
    from renkei.pki.tests.helpers_trust import foreign_trusted

    objects.update(foreign_trusted(world, viewer))
    # Incidents of the foreign suppliers and the reporting links made for them.
    from renkei.incidents.tests.helpers import foreign_objects as foreign_incidents

    objects.update(foreign_incidents(suppliers))
    # Deliveries of the foreign suppliers (SBOM, artifact, a finding) and their buyers' licence policy.
    from renkei.deliveries.tests.helpers import foreign_objects as foreign_deliveries

    objects.update(foreign_deliveries(suppliers))
    objects["contact"] = objects["contacts"]
    objects["contract"] = objects["contracts"]
    objects["certification"] = objects["certifications"]
    markers = [f"LEAK-{s.code}-" for s in suppliers] + [s.name for s in suppliers]
    markers += [c.name for c in objects["contacts"]] + [c.title for c in objects["contracts"]]
    markers += [c.number for c in objects["certifications"]]
    markers += [m.user.email for m in objects["membership"] if m.user != viewer]
    markers += [t.name_ja for t in objects["template"] if t.organization_id]
    markers += [c.name for c in objects["campaign"]]
    markers += [c.name_ja for c in objects["crosswalk"]]
    markers += [c.device_name for c in objects["certificate"]]
    markers += [t.name for t in objects["trustedcertificate"]]
    markers += [link.device_name for link in objects["enrollmentlink"]]
    return own, objects, markers


def _urls_with_foreign_objects(world, viewer):
    """(url, True if it names a foreign object) for every route, ids filled in."""
    own, objects, _markers = _foreign(world, viewer)
    urls: list[tuple[str, bool]] = []
    for template, params in url_templates():
        values: dict[str, str] = {"format": "json", "fmt": "csv", "uidb64": "MQ", "token": "x-y",
                                  "item": "C-03", "handover": "1", "org": "buyer", "encoded": "MAo=",
                                  "osv_id": SWEEP_ADVISORY}
        names = set(params)
        if template.startswith("incidents/portal/suppliers/"):
            for supplier in objects["supplier"]:
                urls.append(("/" + template % {**values, "supplier": supplier.pk}, True))
            continue
        if not names & {"pk", "child_pk", "key"}:
            urls.append(("/" + template % values, False))
            continue
        if template.startswith("suppliers/"):
            kinds = ["certifications"] if "/certifications/" in template else KINDS
            for kind in kinds if ("kind" in names or "child_pk" in names) else [None]:
                values["kind"] = kind or "contacts"
                if "child_pk" in names:
                    for child in objects[kind]:
                        # The foreign child under its own supplier, and under the viewer's one.
                        for supplier_pk in {child.supplier_id, own.pk}:
                            filled = {**values, "pk": supplier_pk, "child_pk": child.pk}
                            urls.append(("/" + template % filled, True))
                else:
                    for supplier in objects["supplier"]:
                        urls.append(("/" + template % {**values, "pk": supplier.pk}, True))
        elif template.startswith("accounts/contacts/"):
            for contact in objects["contacts"]:
                urls.append(("/" + template % {**values, "pk": contact.pk}, True))
        elif template.startswith("accounts/members/"):
            for member in objects["membership"]:
                urls.append(("/" + template % {**values, "pk": member.pk}, True))
        elif template.startswith("questionnaires/assessments/"):
            for obj in objects["assessment"]:
                urls.append(("/" + template % {**values, "pk": obj.pk}, True))
        elif template.startswith("questionnaires/crosswalks/"):
            for obj in objects["crosswalk"]:
                urls.append(("/" + template % {**values, "pk": obj.pk}, True))
        elif template.startswith("questionnaires/templates/"):
            for obj in objects["template"]:
                urls.append(("/" + template % {**values, "pk": obj.pk}, True))
        elif template.startswith("campaigns/"):
            for obj in objects["campaign"]:
                urls.append(("/" + template % {**values, "pk": obj.pk}, True))
        elif template.startswith("monitoring/alerts/"):
            for obj in objects["alert"]:
                urls.append(("/" + template % {**values, "pk": obj.pk}, True))
        elif template.startswith("oversight/"):
            model = {"intakes": "intake", "audits": "audit", "findings": "finding"}[template.split("/")[1]]
            for obj in objects[model]:
                urls.append(("/" + template % {**values, "pk": obj.pk}, True))
        elif template.startswith(("risk/register/", "remediation/")):
            model = ("risk" if template.startswith("risk/") else
                     "action" if template.startswith("remediation/actions/") else "remediationplan")
            for obj in objects[model]:
                urls.append(("/" + template % {**values, "pk": obj.pk}, True))
        elif template.startswith("pki/trusted/"):
            for obj in objects["trustedcertificate"]:
                urls.append(("/" + template % {**values, "pk": obj.pk}, True))
        elif template.startswith("pki/certificates/"):
            for obj in objects["certificate"]:
                urls.append(("/" + template % {**values, "pk": obj.pk}, True))
        elif template.startswith("pki/links/"):
            for obj in objects["enrollmentlink"]:
                urls.append(("/" + template % {**values, "pk": obj.pk}, True))
        elif template.startswith("incidents/"):
            model = "reportlink" if template.startswith("incidents/links/") else "incident"
            for obj in objects[model]:
                first = {"event": obj.events.first().pk, "obligation": obj.obligations.first().pk,
                         "item": 1} if model == "incident" else {}
                urls.append(("/" + template % {**values, **first, "pk": obj.pk}, True))
        elif template.startswith("deliveries/"):
            model = ("softwarefinding" if template.startswith("deliveries/findings/") else
                     "forbiddenlicence" if template.startswith("deliveries/licences/") else "delivery")
            kind = "sbom" if "/sboms/" in template else "artifact"
            for index, obj in enumerate(objects[model]):
                item = objects[kind][index].pk if model == "delivery" else 1
                urls.append(("/" + template % {**values, "pk": obj.pk, "item": item}, True))
        elif template.startswith("map/"):
            model = ("supplier" if template.startswith("map/portal/suppliers/") else
                     "mapedge" if template.startswith("map/edges/") else "mapnode")
            for obj in objects[model]:
                urls.append(("/" + template % {**values, "pk": obj.pk, "key": getattr(obj, "key", "")}, True))
        elif template.startswith("api/v1/"):
            model = API_MODELS[re.match(r"api/v1/([^/.]+)", template).group(1)]
            assert objects[model], f"no foreign {model} to attack {template} with"
            for obj in objects[model]:
                urls.append(("/" + template % {**values, "pk": obj.pk, "key": getattr(obj, "key", "")}, True))
        else:
            raise AssertionError(f"teach this sweep the ids of {template!r}")
    return urls, _markers


@pytest.mark.parametrize("who", ["supplier1", "outsider"])
def test_every_page_and_endpoint_hides_foreign_objects(world, client_for, api_for, who):
    viewer = getattr(world, who)
    urls, markers = _urls_with_foreign_objects(world, viewer)
    assert len(urls) > 60
    entries = AuditEntry.objects.count()
    rows = [Supplier.objects.count(), Contact.objects.count(), Certification.objects.count()]
    page, api = client_for(viewer), api_for(viewer)
    for url, names_foreign in urls:
        client = api if url.startswith("/api/") else page
        methods = ["get", "post", "put", "patch", "delete"] if names_foreign else ["get"]
        for method in methods:
            response = getattr(client, method)(url)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            text = body.decode("utf-8", "replace")
            if names_foreign:
                assert response.status_code in (404, 405), (method, url, response.status_code)
            else:
                assert response.status_code < 500, (method, url)
            leaked = [m for m in markers if m in text]
            assert not leaked, (method, url, leaked)
    assert AuditEntry.objects.count() == entries
    assert [Supplier.objects.count(), Contact.objects.count(),
            Certification.objects.count()] == rows


def test_api_lists_and_filters_never_contain_foreign_rows(world, api_for):
    client = api_for(world.supplier1)
    _own, objects, markers = _foreign(world, world.supplier1)
    for basename in ("supplier", "contact", "contract", "certification", "auditentry"):
        for query in ("", f"?supplier={world.s2.pk}", f"?organization={world.other.pk}",
                      f"?subcontracted_by={world.s2.pk}", "?page_size=500"):
            response = client.get(reverse(f"{basename}-list") + query)
            assert response.status_code in (200, 400), (basename, query)
            text = response.content.decode()
            assert not [m for m in markers if m in text], (basename, query)


def test_auditor_cannot_write_anything_through_pages_or_api(world, client_for, api_for):
    """Every write an auditor tries is refused (403 for what it may see) and nothing changes."""
    page, api = client_for(world.auditor), api_for(world.auditor)
    s1 = world.s1
    contact = Contact.objects.filter(supplier=s1).first()
    cert = Certification.objects.filter(supplier=s1).first()
    entries = AuditEntry.objects.count()
    for url in (
        reverse("suppliers:create"), reverse("suppliers:import"),
        reverse("suppliers:edit", args=[s1.pk]), reverse("suppliers:delete", args=[s1.pk]),
        *[reverse("suppliers:child-create", args=[s1.pk, kind]) for kind in KINDS],
        reverse("suppliers:child-edit", args=[s1.pk, "contacts", contact.pk]),
        reverse("suppliers:child-delete", args=[s1.pk, "certifications", cert.pk]),
        reverse("contact-invite", args=[contact.pk]), reverse("contact-revoke", args=[contact.pk]),
    ):
        assert page.post(url, {"name": "監査者が書いた", "code": "A1"}).status_code == 403, url
    for url, body in (
        (reverse("supplier-list"), {"code": "A1", "name": "監査者"}),
        (reverse("contact-list"), {"supplier": s1.pk, "name": "監査者"}),
        (reverse("certification-list"), {"supplier": s1.pk, "kind": "isms"}),
    ):
        assert api.post(url, body, format="json").status_code == 403, url
    for url in (reverse("supplier-detail", args=[s1.pk]),
                reverse("contact-detail", args=[contact.pk])):
        assert api.patch(url, {"name": "監査者"}, format="json").status_code == 403
        assert api.delete(url).status_code == 403
    assert AuditEntry.objects.count() == entries
    assert not Supplier.objects.filter(code="A1").exists()


# --- Mass assignment ----------------------------------------------------------------------------


def test_supplier_contact_cannot_move_or_grant_through_child_forms(world, client_for):
    client = client_for(world.supplier1)
    contact = Contact.objects.create(supplier=world.s1, name="山田 三郎", email="y@s1.example.jp")
    cert = Certification.objects.get(supplier=world.s1)
    response = client.post(
        reverse("suppliers:child-edit", args=[world.s1.pk, "contacts", contact.pk]),
        {"name": "山田 三郎", "email": "y@s1.example.jp", "portal_access": "on",
         "user": world.admin.pk, "supplier": world.s2.pk},
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.supplier, contact.user, contact.portal_access) == (world.s1, None, False)
    response = client.post(
        reverse("suppliers:child-edit", args=[world.s1.pk, "certifications", cert.pk]),
        {"kind": "isms", "number": "IS 1", "supplier": world.x1.pk},
    )
    assert response.status_code == 302
    cert.refresh_from_db()
    assert cert.supplier == world.s1


def test_supplier_contact_cannot_set_buyer_fields_of_its_supplier_by_form(world, client_for):
    client = client_for(world.supplier1)
    client.post(reverse("suppliers:edit", args=[world.s1.pk]), {
        "name": "東海", "country": "JP", "organization": world.other.pk, "code": "HACK",
        "portal_access": "on", "access_methods": ["none"], "subcontracted_by": "S2",
        "personal_info_records": 0, "export_controlled": "on", "tags": "hacked",
    })
    s1 = Supplier.objects.get(pk=world.s1.pk)
    assert (s1.organization, s1.code, s1.subcontracted_by, s1.export_controlled) == (
        world.buyer, "S1", None, False
    )
    assert s1.personal_info_records == 1200 and not s1.tags.exists()


def test_supplier_contact_cannot_set_buyer_fields_through_api(world, api_for):
    client = api_for(world.supplier1)
    contact = Contact.objects.get(user=world.supplier1)
    response = client.patch(reverse("contact-detail", args=[contact.pk]),
                            {"user": world.admin.pk, "supplier": world.s2.pk}, format="json")
    contact.refresh_from_db()
    assert response.status_code in (200, 400)
    assert (contact.user, contact.supplier) == (world.supplier1, world.s1)
    response = client.patch(reverse("supplier-detail", args=[world.s1.pk]),
                            {"organization": world.other.pk, "tags": ["x"]}, format="json")
    assert response.status_code == 400
    assert Supplier.objects.get(pk=world.s1.pk).organization == world.buyer


def test_outsider_cannot_hang_a_supplier_under_another_buyers_supplier_by_form(world, client_for):
    client = client_for(world.outsider)
    data = {
        "organization": world.other.pk, "code": "X9", "name": "子会社", "country": "JP",
        "relationship": "subcontractor", "chain_type": "business",
        "business_function": "procurement", "tier": 2, "personal_info_records": 0,
    }
    existing = client.post(reverse("suppliers:create"), {**data, "subcontracted_by": "S1"})
    missing = client.post(reverse("suppliers:create"), {**data, "subcontracted_by": "NOPE"})
    assert existing.status_code == missing.status_code == 200
    assert existing.context["form"].errors == missing.context["form"].errors
    # Naming the other buyer's organization directly is an invalid choice, like a missing one.
    other_org = client.post(reverse("suppliers:create"), {**data, "organization": world.buyer.pk})
    none_org = client.post(reverse("suppliers:create"), {**data, "organization": 999999})
    assert other_org.context["form"].errors == none_org.context["form"].errors
    assert not Supplier.objects.filter(code="X9").exists()


def _corporate_number(base12: str) -> str:
    from renkei.suppliers.validators import corporate_number_check_digit

    return f"{corporate_number_check_digit(base12)}{base12}"


# A contact may not change its corporate number at all: were it allowed, the uniqueness check per
# buyer would tell it whether the buyer registers another company under a given (public) number.
def test_supplier_contact_cannot_probe_for_other_suppliers_by_corporate_number(world, client_for):
    taken, free = _corporate_number("100001234567"), _corporate_number("100007654321")
    Supplier.objects.filter(pk=world.s2.pk).update(corporate_number=taken)
    client = client_for(world.supplier1)
    url = reverse("suppliers:edit", args=[world.s1.pk])
    answers = [
        client.post(url, {"name": world.s1.name, "country": "JP", "corporate_number": number})
        for number in (taken, free)
    ]
    assert answers[0].status_code == answers[1].status_code


# --- The subcontracting chain does not leak to a subcontractor's contact ------------------------


def test_subcontractor_contact_does_not_see_its_parent_or_siblings(world, client_for):
    t2 = Supplier.objects.create(
        organization=world.buyer, code="T2", name="二次請負株式会社", tier=2,
        relationship="subcontractor", subcontracted_by=world.s2,
    )
    Supplier.objects.create(
        organization=world.buyer, code="T3", name="三次請負秘密株式会社", tier=3,
        relationship="subcontractor", subcontracted_by=t2,
    )
    Contact.objects.create(supplier=t2, name="田中", user=world.nobody, portal_access=True)
    client = client_for(world.nobody)
    for tab in ("overview", "chain"):
        page = client.get(reverse("suppliers:detail", args=[t2.pk]) + f"?tab={tab}")
        text = page.content.decode()
        assert page.status_code == 200
        assert world.s2.name not in text and "三次請負秘密" not in text, tab
        assert reverse("suppliers:detail", args=[world.s2.pk]) not in text
    # Nor how many subcontractors the buyer has registered under it.
    assert page.context["supplier"].subcontractor_count == 0
    staff = client_for(world.analyst).get(reverse("suppliers:detail", args=[t2.pk]))
    assert world.s2.name in staff.content.decode()
    assert staff.context["supplier"].subcontractor_count == 1


# --- Open redirects -----------------------------------------------------------------------------


OFFSITE = [EVIL, "//evil.example/x", "/\\evil.example", "https:evil.example", "javascript:alert(1)"]


@pytest.mark.parametrize("target", OFFSITE)
def test_login_next_stays_on_site(world, target):
    client = Client()
    response = client.post(reverse("login") + "?next=" + target,
                           {"username": "admin", "password": PASSWORD, "next": target})
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    # An already logged-in user sent to the login page with a hostile next is not bounced out.
    again = client.get(reverse("login"), {"next": target})
    assert "evil.example" not in again.get("Location", "") and "javascript" not in again.get(
        "Location", "")


@pytest.mark.parametrize("target", OFFSITE)
def test_language_switch_and_logout_next_stay_on_site(world, client_for, target):
    client = client_for(world.admin)
    response = client.post(reverse("set_language"), {"language": "en", "next": target},
                           HTTP_REFERER=EVIL)
    assert "evil.example" not in response.get("Location", "")
    assert not response.get("Location", "/").startswith(("javascript", "//"))
    response = client.post(reverse("logout") + "?next=" + target, {"next": target})
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]
    assert not response["Location"].startswith(("javascript", "//"))


def test_login_page_escapes_a_hostile_next(world):
    page = Client().get(reverse("login"), {"next": '"><script>alert(1)</script>'})
    assert "<script>alert(1)" not in page.content.decode()


# --- Uploaded evidence --------------------------------------------------------------------------


def _upload_certification(client, supplier, name, content, content_type="text/html"):
    return client.post(
        reverse("suppliers:child-create", args=[supplier.pk, "certifications"]),
        {"kind": "isms", "number": f"IS-{len(name)}", "expires_on": "2031-01-31",
         "evidence": SimpleUploadedFile(name, content, content_type=content_type)},
    )


@pytest.mark.parametrize("name", ["evil.html", "evil.svg", "evil.xhtml", "evil.js", "evil.xml"])
def test_active_content_is_downloaded_never_rendered(world, client_for, api_for, media, name):
    body = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(document.cookie)</script></svg>"
    assert _upload_certification(client_for(world.supplier1), world.s1, name, body).status_code == 302
    cert = Certification.objects.exclude(evidence="").get(supplier=world.s1)
    for response in (
        client_for(world.admin).get(reverse("suppliers:evidence", args=[world.s1.pk, cert.pk])),
        api_for(world.admin).get(reverse("certification-evidence", args=[cert.pk])),
    ):
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment")
        assert response["X-Content-Type-Options"] == "nosniff"
        content_type = response["Content-Type"].split(";")[0].strip()
        assert content_type == "application/octet-stream", content_type
        assert "sandbox" in response["Content-Security-Policy"]


def test_ordinary_evidence_keeps_its_type(world, client_for, media):
    _upload_certification(client_for(world.supplier1), world.s1, "isms.pdf", b"%PDF-1.4",
                          content_type="application/pdf")
    cert = Certification.objects.exclude(evidence="").get(supplier=world.s1)
    response = client_for(world.admin).get(
        reverse("suppliers:evidence", args=[world.s1.pk, cert.pk])
    )
    assert response["Content-Type"] == "application/pdf"


@pytest.mark.parametrize("name", [
    "../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/passwd", "....//....//x.pdf",
    "a/../../../b.pdf",
])
def test_path_traversal_in_file_names_stays_under_the_evidence_folder(
    world, client_for, media, name
):
    response = _upload_certification(client_for(world.supplier1), world.s1, name, b"data")
    assert response.status_code == 302
    cert = Certification.objects.exclude(evidence="").get(supplier=world.s1)
    stored = Path(cert.evidence.path).resolve()
    folder = (Path(media) / "evidence" / str(world.buyer.pk) / str(world.s1.pk)).resolve()
    assert stored.parent == folder, stored
    assert stored.read_bytes() == b"data"


@pytest.mark.parametrize("name", ['a"b\r\nX-Injected: 1.pdf', '証明書 "最新"\n.pdf', "x\\y;.pdf"])
def test_file_names_cannot_inject_headers(world, client_for, api_for, media, name):
    # Stored as is (uploads are cleaned by the storage, but files may also arrive by other paths).
    folder = Path(media) / "evidence"
    folder.mkdir(parents=True)
    (folder / name).write_bytes(b"%PDF")
    cert = Certification.objects.get(supplier=world.s1)
    Certification.objects.filter(pk=cert.pk).update(evidence=f"evidence/{name}")
    for response in (
        client_for(world.admin).get(reverse("suppliers:evidence", args=[world.s1.pk, cert.pk])),
        api_for(world.admin).get(reverse("certification-evidence", args=[cert.pk])),
    ):
        assert response.status_code == 200
        disposition = response["Content-Disposition"]
        assert "X-Injected" not in response.headers
        assert "\r" not in disposition and "\n" not in disposition
        assert disposition.startswith("attachment; filename")
        assert disposition.count("filename") == 1, disposition


def test_uploaded_file_names_are_cleaned_and_japanese_survives(world, client_for, media):
    name = "ＩＳＭＳ 認証書.pdf"
    assert _upload_certification(client_for(world.supplier1), world.s1, name, b"%PDF").status_code == 302
    cert = Certification.objects.exclude(evidence="").get(supplier=world.s1)
    response = client_for(world.admin).get(
        reverse("suppliers:evidence", args=[world.s1.pk, cert.pk])
    )
    assert response["Content-Disposition"].startswith("attachment; filename*=utf-8''")
    assert "%E8%AA%8D%E8%A8%BC%E6%9B%B8" in response["Content-Disposition"]  # 認証書


def test_default_files_live_under_renkei_home():
    assert Path(settings.MEDIA_ROOT) == Path(settings.RENKEI_HOME) / "files"


# --- Stored XSS -------------------------------------------------------------------------------


def _assert_escaped(text, where):
    assert "<script>alert(1)" not in text, where
    assert '"onmouseover="' not in text, where


def test_hostile_text_is_escaped_on_every_page(world, client_for, media):
    admin = client_for(world.admin)
    supplier = world.s1
    supplier.name = supplier.name_kana = supplier.notes = HOSTILE
    save_record(Actor.system("test"), supplier, tags=[HOSTILE[:50]])
    Supplier.objects.create(organization=world.buyer, code="T2", name=HOSTILE, tier=2,
                            relationship="subcontractor", subcontracted_by=supplier)
    contact = Contact.objects.get(supplier=supplier)
    contact.name = contact.department = contact.title = HOSTILE
    save_record(Actor.system("test"), contact)
    contract = Contract.objects.get(supplier=supplier)
    contract.title = contract.notes = HOSTILE
    save_record(Actor.system("test"), contract)
    cert = Certification.objects.get(supplier=supplier)
    cert.issuer = cert.scope = HOSTILE
    save_record(Actor.system("test"), cert)
    pages = [reverse("dashboard"), reverse("suppliers:list"), reverse("suppliers:list") + "?q="
             + "%3Cscript%3Ealert(1)%3C/script%3E", reverse("suppliers:edit", args=[supplier.pk])]
    for tab in ("overview", "contacts", "contracts", "certifications", "chain", "history"):
        pages.append(reverse("suppliers:detail", args=[supplier.pk]) + f"?tab={tab}")
    for kind, child in (("contacts", contact), ("contracts", contract),
                        ("certifications", cert)):
        pages.append(reverse("suppliers:child-edit", args=[supplier.pk, kind, child.pk]))
        pages.append(reverse("suppliers:child-delete", args=[supplier.pk, kind, child.pk]))
    for url in pages:
        for client in (admin, client_for(world.supplier1)):
            response = client.get(url)
            if response.status_code == 200:
                _assert_escaped(response.content.decode(), url)
    # The history tab showed the hostile before/after values, escaped.
    history = admin.get(reverse("suppliers:detail", args=[supplier.pk]) + "?tab=history")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in history.content.decode()


def test_hostile_cells_in_an_import_are_escaped_in_the_error_table(world, client_for):
    csv = ("取引先コード,名称,法人番号\n"
           f'N1,"{HOSTILE.replace(chr(34), chr(34) * 2)}","{HOSTILE.replace(chr(34), chr(34) * 2)}"\n')
    upload = SimpleUploadedFile("hostile.csv", csv.encode("utf-8"), content_type="text/csv")
    response = client_for(world.admin).post(reverse("suppliers:import"),
                                            {"file": upload, "dry_run": "1"})
    assert response.status_code == 400
    _assert_escaped(response.content.decode(), "import")


def test_invitation_mail_escapes_hostile_names(world, client_for, mailoutbox):
    contact = Contact.objects.create(supplier=world.s1, name=HOSTILE, email="new@s1.example.jp")
    world.s1.name = f'<a href="{EVIL}">click</a>'
    save_record(Actor.system("test"), world.s1)
    client_for(world.admin).post(reverse("contact-invite", args=[contact.pk]))
    [mail] = mailoutbox
    html = mail.alternatives[0][0]
    _assert_escaped(html, "invitation html")
    assert f'<a href="{EVIL}"' not in html
    assert "\n" not in mail.subject and "\r" not in mail.subject


# --- CSRF ---------------------------------------------------------------------------------------


def test_forms_refuse_posts_without_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.admin)
    contact = Contact.objects.get(supplier=world.s1)
    for url, data in (
        (reverse("suppliers:edit", args=[world.s1.pk]), {"name": "CSRF"}),
        (reverse("suppliers:delete", args=[world.s2.pk]), {}),
        (reverse("account"), {}),
        (reverse("contact-revoke", args=[contact.pk]), {}),
        (reverse("logout"), {}),
    ):
        assert client.post(url, data).status_code == 403, url
    assert Supplier.objects.filter(pk=world.s2.pk).exists()
    assert Contact.objects.get(pk=contact.pk).portal_access
    assert not Token.objects.filter(user=world.admin).exists()


def test_api_with_a_session_needs_csrf_but_with_a_token_does_not(world, api_for):
    session = APIClient(enforce_csrf_checks=True)
    session.force_login(world.admin)
    url = reverse("supplier-detail", args=[world.s1.pk])
    assert session.patch(url, {"name": "CSRF"}, format="json").status_code == 403
    assert session.get(url).status_code == 200
    token = api_for(world.admin)
    token.handler.enforce_csrf_checks = True
    assert token.patch(url, {"name": "トークン"}, format="json").status_code == 200
    assert Supplier.objects.get(pk=world.s1.pk).name == "トークン"


# --- Secrets ----------------------------------------------------------------------------------


def test_no_page_or_response_shows_password_hashes_tokens_or_the_secret_key(
    world, client_for, api_for
):
    token = Token.objects.create(user=world.supplier1).key
    secrets = [settings.SECRET_KEY, world.admin.password, world.supplier1.password, token]
    admin_pages = [
        reverse("dashboard"), reverse("suppliers:list"),
        reverse("suppliers:detail", args=[world.s1.pk]) + "?tab=contacts",
        reverse("suppliers:detail", args=[world.s1.pk]) + "?tab=history",
        reverse("api-me"), reverse("contact-list"), reverse("auditentry-list"),
        reverse("supplier-list"), reverse("api-schema"),
    ]
    Contact.objects.filter(user=world.supplier1).update(phone="03-0000-0000")
    save_record(Actor.system("test"), Contact.objects.get(user=world.supplier1))
    for url in admin_pages:
        text = client_for(world.admin).get(url).content.decode()
        assert not [s for s in secrets if s in text], url
    # The owner sees its own token on its account page, and nowhere in the API.
    assert token in client_for(world.supplier1).get(reverse("account")).content.decode()
    me = api_for(world.supplier1).get(reverse("api-me")).content.decode()
    assert token not in me and world.supplier1.password not in me
    assert "password" not in me


def test_audit_entries_never_store_password_hashes(world, client_for, smtp_down):
    contact = Contact.objects.create(supplier=world.s1, name="新人", email="newbie@s1.example.jp")
    admin = client_for(world.admin)
    admin.post(reverse("contact-invite", args=[contact.pk]))
    admin.post(reverse("contact-revoke", args=[contact.pk]))
    for entry in AuditEntry.objects.all():
        flat = repr(entry.changes) + entry.object_repr
        assert "password" not in flat and "md5$" not in flat and "pbkdf2" not in flat


def test_invitation_link_is_not_logged(world, client_for, smtp_down, caplog):
    contact = Contact.objects.create(supplier=world.s1, name="新人", email="newbie@s1.example.jp")
    with caplog.at_level(logging.DEBUG):
        client_for(world.admin).post(reverse("contact-invite", args=[contact.pk]))
    contact.refresh_from_db()
    assert contact.portal_access
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "could not be sent" in logged
    assert "/accounts/invitation/" not in logged


def test_server_errors_do_not_leak_details(world, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError(f"secret detail {settings.SECRET_KEY}")

    monkeypatch.setattr("renkei.core.views.render", explode)
    client = Client(raise_request_exception=False)
    client.force_login(world.admin)
    assert settings.DEBUG is False
    response = client.get(reverse("dashboard"))
    assert response.status_code == 500
    text = response.content.decode()
    assert settings.SECRET_KEY not in text and "Traceback" not in text and "secret detail" not in text


# --- Sessions and revocation ------------------------------------------------------------------


def test_logout_needs_post_and_pages_after_it_send_to_login(world, client_for):
    client = client_for(world.supplier1)
    detail = reverse("suppliers:detail", args=[world.s1.pk])
    assert client.get(detail).status_code == 200
    assert client.get(reverse("logout")).status_code == 405
    assert client.get(detail).status_code == 200
    client.post(reverse("logout"))
    for url in (detail, reverse("account"), reverse("suppliers:list")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert client.get(reverse("api-me")).status_code in (401, 403)


def test_pages_for_signed_in_users_are_not_cached(world, client_for):
    """The back button after logging out must not show a cached page (the token page above all)."""
    client = client_for(world.admin)
    for url in (reverse("account"), reverse("suppliers:detail", args=[world.s1.pk]),
                reverse("api-me")):
        cache_control = client.get(url)["Cache-Control"]
        assert "no-store" in cache_control and "private" in cache_control, url


def test_deactivated_user_loses_pages_and_api_at_once(world, client_for, api_for):
    page, api = client_for(world.analyst), api_for(world.analyst)
    assert page.get(reverse("suppliers:list")).status_code == 200
    world.analyst.is_active = False
    world.analyst.save(update_fields=["is_active"])
    assert page.get(reverse("suppliers:list")).status_code == 302
    assert api.get(reverse("supplier-list")).status_code == 401
    session_api = APIClient()
    session_api.force_login(world.analyst)
    assert session_api.get(reverse("supplier-list")).status_code in (401, 403)


def test_revoked_contact_loses_pages_and_api_at_once(world, client_for, api_for):
    page, api = client_for(world.supplier1), api_for(world.supplier1)
    Contact.objects.filter(user=world.supplier1).update(portal_access=False)
    assert page.get(reverse("suppliers:detail", args=[world.s1.pk])).status_code == 404
    assert api.get(reverse("supplier-detail", args=[world.s1.pk])).status_code == 404
    assert api.get(reverse("supplier-list")).json()["count"] == 0
    assert api.patch(reverse("supplier-detail", args=[world.s1.pk]), {"name": "x"},
                     format="json").status_code == 404
    evidence = reverse("certification-evidence",
                       args=[Certification.objects.get(supplier=world.s1).pk])
    assert api.get(evidence).status_code == 404


def test_resetting_the_password_ends_the_api_token_and_other_sessions(world, client_for, api_for):
    api, other_session = api_for(world.analyst), client_for(world.analyst)
    assert api.get(reverse("api-me")).status_code == 200
    uid = urlsafe_base64_encode(force_bytes(world.analyst.pk))
    token = default_token_generator.make_token(world.analyst)
    client = Client()
    form_url = client.get(reverse("password_reset_confirm", args=[uid, token]))["Location"]
    new = "a-brand-new-passphrase-7"
    done = client.post(form_url, {"new_password1": new, "new_password2": new})
    assert done.status_code == 302
    assert api.get(reverse("api-me")).status_code == 401
    assert other_session.get(reverse("suppliers:list")).status_code == 302
    assert not Token.objects.filter(user=world.analyst).exists()


def test_login_failure_reads_the_same_for_unknown_users(world):
    wrong = Client().post(reverse("login"), {"username": "admin", "password": "nope-nope-1"})
    unknown = Client().post(reverse("login"), {"username": "ghost", "password": "nope-nope-1"})
    inactive_user = world.auditor
    inactive_user.is_active = False
    inactive_user.save()
    inactive = Client().post(reverse("login"), {"username": "auditor", "password": PASSWORD})
    errors = [r.context["form"].non_field_errors() for r in (wrong, unknown, inactive)]
    assert errors[0] == errors[1] == errors[2]


def test_anonymous_visitor_gets_nothing_from_any_route(world):
    _own, _objects, markers = _foreign(world, world.supplier1)
    markers += [world.s1.name]
    client = Client()
    for template, params in url_templates():
        values = {"format": "json", "fmt": "csv", "uidb64": "MQ", "token": "x-y", "pk": world.s1.pk,
                  "item": "C-03", "handover": "1",
                  "child_pk": Certification.objects.get(supplier=world.s1).pk, "kind": "contacts",
                  "key": world.s1.code, "org": "buyer", "encoded": "MAo=", "supplier": world.s1.pk,
                  "event": 1, "obligation": 1, "osv_id": SWEEP_ADVISORY}
        url = "/" + template % {k: values[k] for k in params}
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            text = response.content.decode("utf-8", "replace") if not response.streaming else ""
            assert response.status_code in (200, 302, 400, 401, 403, 404, 405, 410), (method, url)
            assert not [m for m in markers if m in text], (method, url)
            if url.startswith(("/suppliers/", "/accounts/me/", "/accounts/contacts/")):
                assert response.status_code in (302, 405), (method, url)


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy_without_inline_script(world, client_for):
    policy = client_for(world.admin).get("/suppliers/")["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]
