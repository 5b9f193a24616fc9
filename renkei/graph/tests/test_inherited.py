"""Inherited risk: a supplier's likelihood includes its subcontractors' (renkei.graph.inherited)."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from renkei.audit.services import Actor
from renkei.graph import inherited, portal, services
from renkei.graph.inherited import Party, Reach
from renkei.graph.models import Edge, Node
from renkei.risk import factors
from renkei.risk.config import NUMBER_KEYS, default_config, validate
from renkei.risk.models import SupplierRisk
from renkei.risk.services import recompute_organization, recompute_suppliers, save_settings
from renkei.suppliers.models import Certification, Supplier
from renkei.suppliers.services import save_record

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")
TODAY = datetime.date(2030, 1, 1)
SETTINGS = default_config()["likelihood"]


def _settings(world, **likelihood):
    """Own factors all zero except a missing certification (3.0): a supplier without a valid
    certification has own likelihood 4, every other one 1."""
    config = default_config()
    config["likelihood"].update(dict.fromkeys(NUMBER_KEYS, 0))
    config["likelihood"]["missing_certification"] = 3.0
    config["likelihood"].update(likelihood)
    save_settings(SYSTEM, world.buyer, config)


def _sub(world, code, parent, *, certified=True):
    supplier = Supplier.objects.create(
        organization=world.buyer, code=code, name=f"{code}工業", subcontracted_by=parent, tier=parent.tier + 1
    )
    if certified:
        Certification.objects.create(supplier=supplier, kind="isms", expires_on=TODAY.replace(year=2040))
    return supplier


def _factor(supplier):
    risk = SupplierRisk.objects.get(supplier=supplier)
    found = [f for f in risk.factors if f["name"] == inherited.NAME]
    return risk, (found[0] if found else None)


@pytest.fixture
def chain(world):
    """S1 → A (certified, own 1) → B (no certification, own 4): B is two hops below S1."""
    a = _sub(world, "A", world.s1)
    b = _sub(world, "B", a, certified=False)
    _settings(world)
    return a, b


# --- the factor alone -------------------------------------------------------------------------


def _party(key, supplier_id=None, stored=None):
    return Party(key, f"{key}社", True, supplier_id, stored)


def test_decay_per_hop_and_the_highest_subcontractor_counts():
    reach = Reach(((_party("A", 1), 1), (_party("B", 2), 2), (_party("C", 3), 3)))
    own = {1: 2, 2: 5, 3: 5}
    value, params = inherited.inherited(
        {"subcontractors": reach, factors.OWN_LIKELIHOOD: own}, SETTINGS, TODAY
    )
    # A: (2 − 1) × 0.5 = 0.5; B: (5 − 1) × 0.25 = 1.0; C: (5 − 1) × 0.125 = 0.5.
    assert value == 1.0
    assert params == {
        "key": "B",
        "name": "B社",
        "hops": 2,
        "likelihood": 5,
        "weight": 0.25,
        "unrated": False,
        "count": 3,
    }


def test_hops_beyond_the_setting_do_not_count_and_zero_turns_it_off():
    reach = Reach(((_party("A", 1), 1), (_party("B", 2), 2)))
    own = {1: 1, 2: 5}
    evidence = {"subcontractors": reach, factors.OWN_LIKELIHOOD: own}
    assert inherited.inherited(evidence, {**SETTINGS, "inherited_hops": 1}, TODAY) is None
    assert inherited.inherited(evidence, {**SETTINGS, "inherited_hops": 0}, TODAY) is None
    value, params = inherited.inherited(evidence, {**SETTINGS, "inherited_decay": 0.8}, TODAY)
    assert (value, params["weight"]) == (pytest.approx(4 * 0.64), 0.64)


def test_an_unrated_subcontractor_counts_as_the_documented_default():
    reach = Reach(((_party("P-SUB-1"), 1),))
    value, params = inherited.inherited({"subcontractors": reach}, SETTINGS, TODAY)
    assert (value, params["unrated"], params["likelihood"]) == (1.0, True, 3)
    value, _params = inherited.inherited(
        {"subcontractors": reach}, {**SETTINGS, "inherited_unrated": 5}, TODAY
    )
    assert value == 2.0
    with translation.override("en"):
        text = factors.describe(inherited.NAME, params)
    assert (
        text
        == "Unrated subcontractor P-SUB-1社 (P-SUB-1), 1 hop down the chain: counted as likelihood 3 × 0.5"
    )


def test_a_stored_rating_stands_in_for_a_subcontractor_outside_the_recompute():
    reach = Reach(((_party("A", 7, stored=4), 1),))
    value, params = inherited.inherited(
        {"subcontractors": reach, factors.OWN_LIKELIHOOD: {}}, SETTINGS, TODAY
    )
    assert (value, params["unrated"]) == (1.5, False)


def test_the_settings_are_validated():
    config, errors = validate(
        {"likelihood": {"inherited_decay": 1.5, "inherited_hops": 9, "inherited_unrated": 0}}
    )
    assert set(errors) == {
        "likelihood.inherited_decay",
        "likelihood.inherited_hops",
        "likelihood.inherited_unrated",
    }
    config, errors = validate(
        {"likelihood": {"inherited_decay": 0.25, "inherited_hops": 2, "inherited_unrated": 4}}
    )
    assert not errors
    assert (config["likelihood"]["inherited_decay"], config["likelihood"]["inherited_hops"]) == (0.25, 2)


# --- in the recompute ------------------------------------------------------------------------


def test_registry_chain_is_inherited_with_decay_per_hop(world, chain):
    a, b = chain
    risk, found = _factor(world.s1)
    # B two hops down: (4 − 1) × 0.5² = 0.75 → 1 + 0.75 rounds to 2.
    assert found["contribution"] == 0.75 and risk.likelihood == 2
    assert found["params"] | {"count": None} == {
        "key": "B",
        "name": "B工業",
        "hops": 2,
        "likelihood": 4,
        "weight": 0.25,
        "unrated": False,
        "count": None,
    }
    risk, found = _factor(a)
    assert found["contribution"] == 1.5 and risk.likelihood == 3  # 1 + 1.5 rounds half up
    risk, found = _factor(b)
    assert found is None and risk.likelihood == 4
    with translation.override("en"):
        reason = next(
            f["reason"]
            for f in SupplierRisk.objects.get(supplier=world.s1).factor_list()
            if f["name"] == inherited.NAME
        )
    assert reason == (
        "Subcontractor B工業 (B), 2 hops down the chain: likelihood 4 × 0.25 "
        "(the highest of 2 subcontractors)"
    )


def test_a_contractor_inherits_own_likelihood_only_so_loops_end(world, chain):
    a, b = chain
    # B subcontracts back to S1 on the map: S1 → A → B → S1.
    services.create_edge(SYSTEM, world.buyer.pk, source="B", target="S1", kind="subcontracts")
    recompute_organization(world.buyer)
    # S1's own likelihood is 1, and it inherits 0.75: B sees S1 as 1 (own), not 2, so nothing.
    assert _factor(b)[1] is None
    assert _factor(world.s1)[1]["contribution"] == 0.75
    # S1 never inherits from itself, even though the loop reaches it.
    graph = inherited.load(world.buyer.pk)
    assert world.s1.pk not in {graph.parties[v].supplier_id for v, _h in graph.subcontractors(world.s1.pk)}


def test_settings_limit_the_hops(world, chain):
    _settings(world, inherited_hops=1)
    assert _factor(world.s1)[1] is None
    assert _factor(chain[0])[1]["contribution"] == 1.5


def test_declared_subcontractor_without_rating_counts_as_unrated(world, chain):
    services.create_node(
        SYSTEM, world.buyer.pk, key="S2-SUB-1", kind="supplier", name="無名の外注先", declared_by=world.s2
    )
    services.create_edge(
        SYSTEM, world.buyer.pk, source="S2", target="S2-SUB-1", kind="subcontracts", declared_by=world.s2
    )
    recompute_organization(world.buyer)
    risk, found = _factor(world.s2)
    assert found["contribution"] == 1.0 and found["params"]["unrated"] is True
    assert risk.likelihood == 2
    with translation.override("ja"):
        reason = risk.factor_list()[-1]["reason"]
    assert "無名の外注先" in reason and "S2-SUB-1" in reason


def test_map_changes_recompute_the_contractor_at_commit(world, chain, django_capture_on_commit_callbacks):
    c = Supplier.objects.create(organization=world.buyer, code="C", name="C電子")  # own 4, not in a chain
    recompute_organization(world.buyer)
    with django_capture_on_commit_callbacks(execute=True):
        edge = services.create_edge(SYSTEM, world.buyer.pk, source="S2", target="C", kind="subcontracts")
    assert _factor(world.s2)[1]["params"]["key"] == "C"
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_edge(SYSTEM, edge)
    assert _factor(world.s2)[1] is None
    # Deleting a node deletes its edges: the contractor is recomputed too.
    with django_capture_on_commit_callbacks(execute=True):
        services.create_edge(SYSTEM, world.buyer.pk, source="S2", target="C", kind="subcontracts")
    assert _factor(world.s2)[1] is not None
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_node(SYSTEM, Node.objects.get(organization=world.buyer, key="C"))
    assert _factor(world.s2)[1] is None
    assert c.pk


def test_a_subcontractors_change_recomputes_its_contractors(world, chain, django_capture_on_commit_callbacks):
    a, b = chain
    assert _factor(world.s1)[1] is not None
    with django_capture_on_commit_callbacks(execute=True):
        save_record(SYSTEM, Certification(supplier=b, kind="isms", number="IS 9"))
    # Only B was marked; the recompute widened to A and S1, which no longer inherit anything.
    assert _factor(b)[0].likelihood == 1
    assert _factor(a)[1] is None and _factor(world.s1)[1] is None


def test_recompute_query_count_is_constant_with_chains_and_declarations(world, chain):
    a, b = chain

    def count(run):
        with CaptureQueriesContext(connection) as queries:
            run()
        return len(queries)

    few_all = count(lambda: recompute_organization(world.buyer))
    few_some = count(lambda: recompute_suppliers([b.pk]))
    parent = b
    for n in range(15):
        parent = _sub(world, f"D{n}", parent, certified=n % 2 == 0)
        services.create_node(
            SYSTEM, world.buyer.pk, key=f"D{n}-SUB-1", kind="supplier", name=f"申告{n}", declared_by=parent
        )
        services.create_edge(
            SYSTEM,
            world.buyer.pk,
            source=parent.code,
            target=f"D{n}-SUB-1",
            kind="subcontracts",
            declared_by=parent,
        )
    SupplierRisk.objects.all().delete()
    recompute_organization(world.buyer)
    assert count(lambda: recompute_organization(world.buyer)) == few_all
    # A partial recompute is widened to the contractors (here every supplier of the chain).
    assert count(lambda: recompute_suppliers([parent.pk])) == few_some
    assert _factor(world.s1)[1]["params"]["count"] == 3  # A, B, D0 within 3 hops


def test_a_change_deep_in_a_declared_chain_recomputes_the_supplier(
    world, chain, django_capture_on_commit_callbacks
):
    first = portal.declare(SYSTEM, world.s2, name="一次", work="配送")
    recompute_organization(world.buyer)
    assert _factor(world.s2)[1]["params"]["count"] == 1
    # Only declared nodes in between: nothing of the registry is touched, S2 is still recomputed.
    with django_capture_on_commit_callbacks(execute=True):
        portal.declare(SYSTEM, world.s2, name="二次", work="梱包", via=first)
    assert _factor(world.s2)[1]["params"]["count"] == 2
    # A rename reaches the reason text (the highest is 一次, one hop down).
    with django_capture_on_commit_callbacks(execute=True):
        services.update_node(SYSTEM, first, name="一次（改名）")
    assert _factor(world.s2)[1]["params"]["name"] == "一次（改名）"
    # Deleting 一次 deletes both of its edges: 二次 hangs below nothing, S2 inherits nothing.
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_node(SYSTEM, Node.objects.get(pk=first.pk))
    assert _factor(world.s2)[1] is None


def test_after_an_import_the_organization_is_recomputed_at_commit(
    world, chain, django_capture_on_commit_callbacks
):
    # The import writes rows without model signals, like bulk_create.
    source = Node.objects.create(organization=world.buyer, key="S2", kind="supplier", name="北陸物流")
    node = Node.objects.create(organization=world.buyer, key="IMPORTED", kind="supplier", name="取込外注")
    Edge.objects.bulk_create(
        [Edge(organization=world.buyer, source=source, target=node, kind="subcontracts")]
    )
    assert _factor(world.s2)[1] is None
    with django_capture_on_commit_callbacks(execute=True):
        inherited.map_imported(world.buyer.pk)
    assert _factor(world.s2)[1]["params"]["key"] == "IMPORTED"


def test_touches_tells_whether_a_partial_recompute_needs_the_subcontracting_graph(world, chain):
    a, b = chain

    def touches(*suppliers):
        return inherited.touches(factors.Scope(world.buyer.pk, frozenset(s.pk for s in suppliers)))

    assert touches(world.s1) and touches(a) and touches(b)  # parent, middle, end of a registry chain
    assert not touches(world.s2)
    portal.declare(SYSTEM, world.s2, name="外注", work="配送")  # a map edge from S2's node
    assert touches(world.s2)
    c = Supplier.objects.create(organization=world.buyer, code="C", name="C電子")
    node = services.create_node(SYSTEM, world.buyer.pk, key="C-NODE", kind="supplier", name="C")
    Node.objects.filter(pk=node.pk).update(supplier=c)  # linked by the supplier column, another key
    assert not touches(c)
    services.create_edge(SYSTEM, world.buyer.pk, source="S2-SUB-1", target="C-NODE", kind="subcontracts")
    assert touches(c)
    assert not touches(world.x1) and not inherited.touches(
        factors.Scope(world.other.pk, frozenset([world.x1.pk]))
    )
