"""`renkei demo`: the sample supply chain of 株式会社みなと精機."""

import datetime
import io
import json

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory
from django.utils import timezone

from renkei.accounts.models import User
from renkei.audit.models import AuditEntry
from renkei.audit.services import verify
from renkei.core.demo import corporate_number
from renkei.questionnaires.models import Assessment
from renkei.suppliers.models import Certification, Contact, Contract, Supplier
from renkei.suppliers.validators import validate_corporate_number

FUNCTIONS = {"procurement", "production", "logistics", "sales"}


def demo_json():
    out = io.StringIO()
    call_command("demo", "--no-serve", "--json", stdout=out)
    return json.loads(out.getvalue())


def counts():
    return {
        model.__name__: model.objects.count()
        for model in (Supplier, Contact, Contract, Certification, User, AuditEntry, Assessment)
    }


@pytest.fixture
def demo(db):
    return demo_json()


@pytest.mark.django_db
class TestDemoCommand:
    def test_json_shape(self, demo):
        assert set(demo) == {"url", "logins"}
        assert demo["url"] == "http://127.0.0.1:8000/"
        for login in demo["logins"]:
            assert set(login) == {"username", "password", "role", "supplier"}
        roles = [login["role"] for login in demo["logins"]]
        assert {"admin", "analyst", "auditor", "supplier"} <= set(roles)
        staff = [login for login in demo["logins"] if login["role"] != "supplier"]
        assert all(login["supplier"] is None for login in staff)
        contacts = [login for login in demo["logins"] if login["role"] == "supplier"]
        assert len({login["supplier"] for login in contacts}) >= 2

    def test_every_login_works_and_has_its_role(self, demo):
        for login in demo["logins"]:
            user = authenticate(
                RequestFactory().post("/"), username=login["username"], password=login["password"]
            )
            assert user is not None, login
            assert user.primary_role() == login["role"]
            if login["supplier"]:
                assert (
                    user.supplier_contacts.get(portal_access=True).supplier.code
                    == login["supplier"]
                )

    def test_running_twice_adds_nothing_and_resets_passwords(self, demo):
        before = counts()
        admin = User.objects.get(username="admin")
        admin.set_password("changed-by-someone-123")
        admin.save()
        again = demo_json()
        assert again == demo
        assert counts() == before
        assert authenticate(
            RequestFactory().post("/"), username="admin", password="demo-admin-2026"
        ) is not None

    def test_questionnaires_in_every_stage(self, demo):
        stages = dict(Assessment.objects.values_list("supplier__code", "status"))
        assert stages == {"S-1001": "approved", "S-2006": "submitted", "S-3001": "in_progress",
                          "S-5001": "not_started"}
        submitted = Assessment.objects.get(supplier__code="S-2006")
        assert submitted.critical_failures == ["S-07", "S-12"] and 0 < submitted.score < 100

    def test_the_audit_trail_records_the_data_and_verifies(self, demo):
        checked, problems = verify()
        assert problems == []
        assert checked == AuditEntry.objects.count() >= Supplier.objects.count()
        # The demo itself, S-1001's contact declaring its subsidiary in the portal (the map), the
        # analyst triaging the demo incident and a partner acknowledging its notice by the link.
        analyst = str(User.objects.get(username="analyst"))
        assert set(AuditEntry.objects.values_list("actor_label", flat=True)) == {
            "demo", "tokai", analyst, "佐藤 一郎（確認リンク）"}

    def test_text_output_lists_the_logins(self, db):
        out = io.StringIO()
        call_command("demo", "--no-serve", "--port", "8123", stdout=out)
        text = out.getvalue()
        assert "http://127.0.0.1:8123/" in text and "demo-admin-2026" in text


@pytest.mark.django_db
class TestDemoData:
    def test_realistic_supply_chain(self, demo):
        suppliers = Supplier.objects.all()
        assert 35 <= suppliers.count() <= 50
        assert FUNCTIONS <= set(suppliers.values_list("business_function", flat=True))
        assert {"business", "software", "service"} == set(
            suppliers.values_list("chain_type", flat=True)
        )
        relationships = set(suppliers.values_list("relationship", flat=True))
        assert {"overseas_subsidiary", "group", "contractor", "subcontractor"} <= relationships
        assert suppliers.filter(tier=3, subcontracted_by__tier=2).exists()
        assert suppliers.filter(access_methods__contains=",vpn,").exists()
        assert suppliers.filter(access_methods__contains=",remote_desktop,").exists()
        assert suppliers.filter(export_controlled=True).exists()
        assert suppliers.filter(personal_info_records__gt=10000).exists()
        assert suppliers.exclude(country="JP").filter(relationship="overseas_subsidiary").exists()
        assert all(s.name_kana for s in suppliers)

    def test_corporate_numbers_are_valid(self, demo):
        numbers = [n for n in Supplier.objects.values_list("corporate_number", flat=True) if n]
        assert len(numbers) >= 30 and len(set(numbers)) == len(numbers)
        for number in numbers:
            validate_corporate_number(number)

    def test_certifications_include_expired_and_expiring(self, demo):
        today = timezone.localdate()
        statuses = {c.status(today) for c in Certification.objects.all()}
        assert {"expired", "expiring", "valid", "unknown"} <= statuses
        kinds = set(Certification.objects.values_list("kind", flat=True))
        assert {
            "isms",
            "pmark",
            "soc2",
            "ismap",
            "security_action_1",
            "security_action_2",
            "cs_mark",
        } <= kinds
        assert Certification.objects.filter(kind="pmark", number="10820123(05)").exists()

    def test_some_contracts_lack_security_clauses(self, demo):
        assert Contract.objects.filter(has_security_clause=False).exists()
        assert Contract.objects.filter(has_incident_notification=False).exists()
        assert Contract.objects.filter(
            has_security_clause=True, has_incident_notification=True
        ).exists()

    def test_dates_follow_today(self, db):
        from renkei.core.demo import build_demo

        later = timezone.localdate() + datetime.timedelta(days=400)
        build_demo(today=later)
        assert Certification.objects.filter(expires_on__gt=later).exists()


def test_corporate_number_helper_is_stable_and_valid():
    assert corporate_number("S-1") == corporate_number("S-1")
    validate_corporate_number(corporate_number("S-1"))
