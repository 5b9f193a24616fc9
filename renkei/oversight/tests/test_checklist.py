"""The contract checklist per 重要度, renewal, the likelihood factor and its monotonicity."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from renkei.oversight.attention import missing_clauses
from renkei.oversight.checklist import ClauseGaps, missing_clauses_of, present_clauses
from renkei.oversight.tests.helpers import SYSTEM
from renkei.risk import factors
from renkei.risk.config import CONTRACT_CLAUSES, default_config, validate
from renkei.risk.models import SupplierRisk
from renkei.risk.services import recompute_organization, save_settings
from renkei.suppliers.models import Contract
from renkei.suppliers.services import save_record

pytestmark = pytest.mark.django_db

FULL = {
    "has_nda": True,
    "has_security_clause": True,
    "re_outsourcing": "with_approval",
    "has_audit_right": True,
    "has_incident_notification": True,
    "incident_notification_hours": 24,
    "has_data_return": True,
}


def _contract(supplier, title="業務委託契約", **values):
    contract = Contract(supplier=supplier, title=title, **values)
    return save_record(SYSTEM, contract)


def _factor(supplier):
    risk = SupplierRisk.objects.get(supplier=supplier)
    return next((f for f in risk.factors if f["name"] == "contract_clauses"), None), risk


def test_required_clauses_follow_criticality(world):
    contracts = default_config()["contracts"]
    bare = {**FULL, "has_audit_right": False, "has_data_return": False}
    assert missing_clauses_of(bare, contracts, 1) == ["audit_right", "data_return"]
    assert missing_clauses_of(bare, contracts, 2) == ["data_return"]
    assert missing_clauses_of(bare, contracts, 3) == []


def test_incident_notification_counts_only_within_the_set_hours(world):
    assert "incident_notification" in present_clauses(FULL, 24)
    assert "incident_notification" not in present_clauses({**FULL, "incident_notification_hours": 48}, 24)
    assert "incident_notification" not in present_clauses({**FULL, "incident_notification_hours": None}, 24)
    assert "re_outsourcing" not in present_clauses({**FULL, "re_outsourcing": "allowed"}, 24)


def test_missing_clauses_raise_likelihood_with_reasons(world, django_capture_on_commit_callbacks):
    Contract.objects.filter(supplier=world.s1).delete()  # S1 is criticality 1 (VPN access)
    recompute_organization(world.buyer)
    assert _factor(world.s1)[0] is None  # no current contract: nothing to check
    with django_capture_on_commit_callbacks(execute=True):
        contract = _contract(world.s1, **{**FULL, "has_audit_right": False, "has_data_return": False})
    found, risk = _factor(world.s1)
    assert risk.criticality == 1
    assert found["contribution"] == 0.5 and found["params"]["clauses"] == ["audit_right", "data_return"]
    assert "監査権" in factors.describe(
        "contract_clauses", found["params"]
    ) or "Audit right" in factors.describe("contract_clauses", found["params"])
    with django_capture_on_commit_callbacks(execute=True):
        contract.has_audit_right = contract.has_data_return = True
        save_record(SYSTEM, contract)
    assert _factor(world.s1)[0] is None


def test_renewal_with_the_clause_clears_the_attention_entry(world):
    today = timezone.localdate()
    Contract.objects.filter(supplier=world.s1).delete()
    old = _contract(
        world.s1, "旧契約", **{**FULL, "has_data_return": False}, ends_on=today + datetime.timedelta(days=10)
    )
    recompute_organization(world.buyer)
    [row] = missing_clauses(world.buyer)
    assert (row["contract"], row["clauses"], row["renewal_on"]) == (
        old.pk,
        ["data_return"],
        old.ends_on.isoformat(),
    )
    # Renewed: the new term carries the clause; the old contract still counts until it ends.
    _contract(world.s1, "更新後の契約", **FULL, starts_on=old.ends_on + datetime.timedelta(days=1))
    assert [r["contract"] for r in missing_clauses(world.buyer)] == [old.pk]
    later = today + datetime.timedelta(days=11)
    assert missing_clauses(world.buyer, later) == []
    recompute_organization(world.buyer, today=later)
    assert _factor(world.s1)[0] is None


def test_settings_change_the_requirements_and_are_validated(world):
    _config, errors = validate({"contracts": {"required": {"3": ["nda", "audit_right"]}}})
    assert "contracts.required.2" in errors
    _config, errors = validate({"contracts": {"incident_notification_hours": 0}})
    assert "contracts.incident_notification_hours" in errors
    _config, errors = validate({"contracts": {"required": {"1": ["nda", "bogus"]}}})
    assert "contracts.required.1" in errors
    Contract.objects.filter(supplier=world.s1).delete()
    _contract(world.s1, **{**FULL, "has_data_return": False})
    recompute_organization(world.buyer)
    assert _factor(world.s1)[0] is not None
    config = default_config()
    config["contracts"]["required"]["1"] = ["nda", "security"]
    config["contracts"]["required"]["2"] = ["nda"]
    save_settings(SYSTEM, world.buyer, config)
    assert _factor(world.s1)[0] is None


def test_recompute_query_count_stays_constant_with_contracts(world, django_assert_max_num_queries):
    from renkei.suppliers.models import Supplier

    recompute_organization(world.buyer)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    SupplierRisk.objects.all().delete()  # cold runs both: every rating written
    with CaptureQueriesContext(connection) as few:
        recompute_organization(world.buyer)
    for n in range(20):
        supplier = Supplier.objects.create(organization=world.buyer, code=f"N{n}", name=f"N{n}")
        Contract.objects.create(supplier=supplier, title="契約")
    SupplierRisk.objects.all().delete()
    with CaptureQueriesContext(connection) as many:
        recompute_organization(world.buyer)
    assert len(few) == len(many)


CLAUSE_VALUES = st.fixed_dictionaries(
    {
        "has_nda": st.booleans(),
        "has_security_clause": st.booleans(),
        "re_outsourcing": st.sampled_from(["unspecified", "prohibited", "with_approval", "allowed"]),
        "has_audit_right": st.booleans(),
        "has_incident_notification": st.booleans(),
        "incident_notification_hours": st.one_of(st.none(), st.integers(1, 200)),
        "has_data_return": st.booleans(),
    }
)


def _add_clause(values, clause):
    changed = dict(values)
    field = {
        "nda": "has_nda",
        "security": "has_security_clause",
        "audit_right": "has_audit_right",
        "data_return": "has_data_return",
    }.get(clause)
    if field:
        changed[field] = True
    elif clause == "re_outsourcing":
        changed["re_outsourcing"] = "with_approval"
    else:
        changed["has_incident_notification"] = True
        changed["incident_notification_hours"] = min(changed["incident_notification_hours"] or 24, 24)
    return changed


def _likelihood(contracts, criticality):
    config = default_config()
    missing = tuple(
        (i, c)
        for i, values in enumerate(contracts)
        for c in missing_clauses_of(values, config["contracts"], criticality)
    )
    evidence = {
        "contract_clauses": ClauseGaps(criticality, missing),
        "assessment": None,
        "certifications": None,
    }
    return factors.likelihood(evidence, config["likelihood"], datetime.date(2030, 1, 1))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(CLAUSE_VALUES, min_size=1, max_size=3),
    st.integers(0, 2),
    st.sampled_from(CONTRACT_CLAUSES),
    st.sampled_from([1, 2, 3]),
)
def test_adding_a_clause_never_raises_likelihood(contracts, index, clause, criticality):
    index = index % len(contracts)
    before, before_factors = _likelihood(contracts, criticality)
    improved = [*contracts[:index], _add_clause(contracts[index], clause), *contracts[index + 1 :]]
    after, after_factors = _likelihood(improved, criticality)
    assert after <= before
    contribution = {f["name"]: f["contribution"] for f in before_factors}.get("contract_clauses", 0)
    assert {f["name"]: f["contribution"] for f in after_factors}.get("contract_clauses", 0) <= contribution


def test_checklist_page_filters_and_query_count(world, client_for, django_assert_max_num_queries):
    from renkei.suppliers.models import Supplier

    recompute_organization(world.buyer)
    client = client_for(world.analyst)
    url = reverse("oversight:contracts")
    with django_assert_max_num_queries(20) as few:
        page = client.get(url)
    assert page.status_code == 200
    for n in range(10):
        supplier = Supplier.objects.create(organization=world.buyer, code=f"N{n}", name=f"N{n}")
        Contract.objects.create(supplier=supplier, title="契約")
    recompute_organization(world.buyer)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)
    s1 = client.get(url + "?missing=audit_right&criticality=1").context["page"].object_list
    assert {c.supplier.code for c in s1} == {"S1"}
    assert client.get(url + "?missing=nda").context["page"].paginator.count == 10
    tab = client.get(reverse("suppliers:detail", args=[world.s1.pk]) + "?tab=contracts")
    assert 'data-missing="audit_right"' in tab.content.decode()
    contact_tab = client_for(world.supplier1).get(
        reverse("suppliers:detail", args=[world.s1.pk]) + "?tab=contracts"
    )
    assert "data-missing" not in contact_tab.content.decode()
    assert client_for(world.supplier1).get(url).status_code == 403


def test_cli_contracts_json(world, capsys):
    recompute_organization(world.buyer)
    call_command("oversight", "contracts", "--json", "--organization", "buyer")
    data = json.loads(capsys.readouterr().out)
    s1 = next(c for c in data["contracts"] if c["supplier"] == "S1")
    assert s1["criticality"] == 1 and "audit_right" in s1["missing"] and s1["present"] == ["nda"]
    assert set(s1) >= {"contract", "title", "required", "present", "missing", "ends_on"}
