"""Crosswalks: the YAML loader, pre-fill through crosswalks and across buyers, pages, API, CLI."""

from __future__ import annotations

import copy
import io
import json

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.questionnaires.assessments_services import (
    approve,
    create_assessment,
    save_answers,
    submit,
)
from renkei.questionnaires.crosswalks import CrosswalkError, load_crosswalk_data, load_crosswalk_file
from renkei.questionnaires.models import Answer, Crosswalk, CrosswalkEntry
from renkei.questionnaires.portal import create_access_link, prefill_candidates, prefill_section
from renkei.questionnaires.prefill import CROSSWALK, OTHER_CUSTOMER, PREVIOUS, convert
from renkei.questionnaires.tests.helpers import load, small
from renkei.suppliers.models import Contact

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")

OLD = {
    "key": "old-sheet",
    "name": {"ja": "旧チェックシート", "en": "Old check sheet"},
    "sections": [{
        "key": "all",
        "title": "全部",
        "items": [
            {"id": "O-1", "text": "バックアップを取得していますか（旧）", "type": "tri_state"},
            {"id": "O-2", "text": "委託先がありますか（旧）", "type": "yes_no"},
            {"id": "O-3", "text": "委託先と秘密保持契約を結んでいますか（旧）", "type": "yes_no"},
            {"id": "O-4", "text": "備考（旧）", "type": "text", "required": False},
            {"id": "O-5", "text": "従業員数", "type": "number"},
            {"id": "O-6", "text": "証跡", "type": "file", "required": False},
            {"id": "O-7", "text": "クラウド", "type": "single_choice",
             "choices": [{"value": "m365", "label": "M365", "points": 100},
                         {"value": "none", "label": "なし", "points": 0}]},
        ],
    }],
}


def old(**changes):
    data = copy.deepcopy(OLD)
    data.update(changes)
    return data


def xwalk(items=None, **header):
    return {
        "crosswalk": {"key": "old-to-mini", "name": {"ja": "旧シート → ミニ", "en": "Old → mini"},
                      "from": "old-sheet", "to": "mini", **header},
        "items": items if items is not None else [
            {"from": "O-1", "to": ["B-01"]},
            {"from": "O-2", "to": ["B-02"]},
            {"from": "O-3", "to": ["B-03"], "values": {"yes": "done", "no": "not_done"}},
            {"from": "O-4", "to": ["M-02"]},
        ],
    }


@pytest.fixture
def templates(world):
    return load(old(), world.buyer).template, load(small(), world.buyer).template


@pytest.fixture
def crosswalk(world, templates):
    return load_crosswalk_data(xwalk(), organization=world.buyer, actor=SYSTEM).crosswalk


# Required answers filled in by `answered` unless a test gives its own.
DEFAULTS = {"O-1": "○", "O-2": "はい", "O-3": "はい", "O-5": "10", "O-7": "m365",
            "B-01": "○", "B-02": "いいえ", "M-01": "n/a"}


def answered(supplier, template, answers):
    assessment = create_assessment(SYSTEM, supplier, template)
    ids = set(template.items.values_list("item_id", flat=True))
    given = {k: v for k, v in DEFAULTS.items() if k in ids}
    if answers.get("B-02") in ("はい", "yes") and "B-03" not in answers:
        given["B-03"] = "○"
    save_answers(SYSTEM, assessment, {**given, **answers})
    submit(SYSTEM, assessment)
    approve(SYSTEM, assessment)
    return assessment


def values(assessment):
    return {a.item.item_id: (a.value if not a.not_applicable else "n/a")
            for a in Answer.objects.filter(assessment=assessment).select_related("item")}


def problems(data, organization):
    with pytest.raises(CrosswalkError) as exc:
        load_crosswalk_data(data, organization=organization, actor=SYSTEM)
    return {p.path: p.message for p in exc.value.problems}


# --- Loading --------------------------------------------------------------------------------------


def test_loading_stores_entries_and_audits(world, crosswalk):
    assert crosswalk.source_key == "old-sheet" and crosswalk.target_key == "mini"
    entries = {(e.source_item, e.target_item): e.values for e in crosswalk.entries.all()}
    assert entries == {("O-1", "B-01"): {}, ("O-2", "B-02"): {},
                       ("O-3", "B-03"): {"yes": "done", "no": "not_done"}, ("O-4", "M-02"): {}}
    entry = AuditEntry.objects.get(object_type__icontains="crosswalk", action="create")
    assert entry.organization_id == world.buyer.pk and entry.changes["entries"][-1] == 4


def test_loading_the_same_file_again_changes_nothing(world, crosswalk):
    before = AuditEntry.objects.count(), list(CrosswalkEntry.objects.values_list("pk", flat=True))
    result = load_crosswalk_data(xwalk(), organization=world.buyer, actor=SYSTEM)
    assert result.unchanged and not result.created and not result.updated
    assert (AuditEntry.objects.count(), list(CrosswalkEntry.objects.values_list("pk", flat=True))) \
        == before


def test_a_changed_file_replaces_the_entries_in_one_audited_change(world, crosswalk):
    result = load_crosswalk_data(xwalk([{"from": "O-1", "to": "B-01"}], name="改訂"),
                                 organization=world.buyer, actor=SYSTEM)
    assert result.updated and result.crosswalk.pk == crosswalk.pk
    assert list(crosswalk.entries.values_list("source_item", "target_item")) == [("O-1", "B-01")]
    update = AuditEntry.objects.get(object_type__icontains="crosswalk", action="update")
    assert update.changes["entries"] == [4, 1] and update.changes["name_ja"][1] == "改訂"


def test_a_refused_change_keeps_the_stored_entries(world, crosswalk):
    with pytest.raises(CrosswalkError):
        load_crosswalk_data(xwalk([{"from": "O-1", "to": ["B-01"]}, {"from": "NOPE", "to": ["B-02"]}]),
                            organization=world.buyer, actor=SYSTEM)
    assert crosswalk.entries.count() == 4


def test_loader_reports_every_problem_with_its_place(world, templates):
    found = problems(xwalk([
        {"from": "O-1", "to": ["B-01"], "values": {"done": "yes"}},        # 0: value not in B-01
        {"from": "NOPE", "to": ["B-02"]},                                 # 1: unknown source item
        {"from": "O-2", "to": ["B-99"]},                                  # 2: unknown target item
        {"from": "O-4", "to": ["M-01"], "values": {"x": "m365"}},         # 3: map on a text item
        {"from": "O-2", "to": ["B-01"]},                                  # 4: B-01 mapped twice
        {"from": "O-5", "to": ["B-03"]},                                  # 5: number → tri_state
        {"from": "O-6", "to": ["M-02"]},                                  # 6: a file item
        {"from": "O-2", "to": ["B-02", "B-02"]},                          # 7: listed twice
        {"from": "O-1", "to": ["B-03"], "typo": 1},                       # 8: unknown field
    ]), world.buyer)
    assert "items[0].values.done" in found
    assert "items[1].from" in found and "items[2].to[0]" in found
    assert "items[3].values" in found and "items[4].to[0]" in found
    assert "items[5].to[0]" in found and "items[6].from" in found
    assert "items[7].to[1]" in found and "items[8].typo" in found
    assert "B-99" in found["items[2].to[0]"]


def test_loader_checks_the_header(world, templates):
    found = problems(xwalk(key="Bad Key", to="old-sheet", extra=1), world.buyer)
    assert {"crosswalk.key", "crosswalk.to", "crosswalk.extra"} <= set(found)
    found = problems(xwalk(**{"from": "missing"}), world.buyer)
    assert "crosswalk.from" in found
    assert set(problems({"crosswalk": {"key": "x"}}, world.buyer)) >= {
        "crosswalk.name", "crosswalk.from", "crosswalk.to", "items"}
    assert problems(["not", "a", "mapping"], world.buyer)
    too_many = [{"from": "O-1", "to": ["B-01"]}] * 2001
    assert "items" in problems(xwalk(too_many), world.buyer)


def test_other_organizations_templates_cannot_be_named(world, templates):
    load(old(key="their-sheet"), world.other)
    assert "crosswalk.from" in problems(xwalk(**{"from": "their-sheet"}), world.buyer)
    # A built-in crosswalk may only name built-in templates.
    assert set(problems(xwalk(), None)) == {"crosswalk.from", "crosswalk.to"}


def test_lossless_conversions_and_subset_choices_need_no_value_map(world, templates):
    load(small(key="wide", sections=[{"key": "s", "title": "s", "items": [
        {"id": "W-1", "text": "t", "type": "text"},
        {"id": "W-2", "text": "c", "type": "multiple_choice", "choices": [
            {"value": "m365", "label": "M", "points": 1}, {"value": "none", "label": "N", "points": 0},
            {"value": "gws", "label": "G", "points": 1}]},
    ]}]), world.buyer)
    result = load_crosswalk_data(xwalk([{"from": "O-5", "to": ["W-1"]}, {"from": "O-7", "to": ["W-2"]}],
                                       to="wide"), organization=world.buyer, actor=SYSTEM)
    assert result.entries == 2


def test_yaml_file_with_unquoted_yes_no(world, templates):
    text = ("crosswalk: {key: k1, name: 旧→ミニ, from: old-sheet, to: mini}\n"
            "items:\n  - {from: O-3, to: [B-02], values: {yes: yes, no: no}}\n")
    result = load_crosswalk_file(text.encode(), organization=world.buyer, actor=SYSTEM)
    assert list(result.crosswalk.entries.values_list("values", flat=True)) == [
        {"yes": "yes", "no": "no"}]
    with pytest.raises(CrosswalkError) as exc:
        load_crosswalk_file(b"crosswalk: [unclosed", organization=world.buyer, actor=SYSTEM)
    assert "YAML" in str(exc.value.problems[0])


def test_convert_through_value_maps():
    assert convert("yes", {"yes": "done"}, multiple=False) == "done"
    assert convert("maybe", {"yes": "done"}, multiple=False) is None
    assert convert(["a", "b"], {"a": "x", "b": "x"}, multiple=False) == "x"
    assert convert(["a", "b"], {"a": "x", "b": "y"}, multiple=False) is None
    assert convert(["a", "c"], {"a": "x"}, multiple=True) is None
    assert convert("a", {}, multiple=True) == ["a"]
    assert convert("n/a", {"yes": "done"}, multiple=False) == "n/a"


# --- Pre-fill -------------------------------------------------------------------------------------


def test_prefill_through_a_crosswalk_with_a_value_map(world, templates, crosswalk):
    old_template, mini = templates
    answered(world.s1, old_template, {"O-1": "○", "O-2": "はい", "O-3": "はい", "O-4": "前回メモ"})
    new = create_assessment(SYSTEM, world.s1, mini)
    candidates = prefill_candidates(new)
    assert {k: c.value for k, c in candidates.items()} == {
        "B-01": "done", "B-02": "yes", "B-03": "done", "M-02": "前回メモ"}
    source = candidates["B-03"].source
    assert source.kind == CROSSWALK and source.crosswalk_key == "old-to-mini"
    assert "旧シート → ミニ" in source.label and "旧チェックシート" in source.label
    assert prefill_section(Actor(user=world.supplier1, label="s1"), new, "basics") == 3
    assert values(new) == {"B-01": "done", "B-02": "yes", "B-03": "done"}


def test_prefill_backwards_only_for_entries_without_a_value_map(world, templates, crosswalk):
    old_template, mini = templates
    answered(world.s1, mini, {"B-01": "△", "B-02": "はい", "B-03": "○", "M-01": "n/a",
                              "M-02": "ミニのメモ"})
    new = create_assessment(SYSTEM, world.s1, old_template)
    candidates = prefill_candidates(new)
    assert {k: c.value for k, c in candidates.items()} == {
        "O-1": "in_progress", "O-2": "yes", "O-4": "ミニのメモ"}  # not O-3: it has a value map
    assert {c.source.kind for c in candidates.values()} == {CROSSWALK}


def test_prefill_respects_conditions_under_the_answers_after_prefill(world, templates, crosswalk):
    old_template, mini = templates
    answered(world.s1, old_template, {"O-1": "○", "O-2": "いいえ", "O-3": "はい"})
    new = create_assessment(SYSTEM, world.s1, mini)
    # B-02 would be "no": B-03 (shown only when B-02 is yes) is hidden, so it is not pre-filled.
    assert set(prefill_candidates(new)) == {"B-01", "B-02"}
    prefill_section(Actor(user=world.supplier1, label="s1"), new, "basics")
    assert values(new) == {"B-01": "done", "B-02": "no"}


def test_prefill_does_not_fill_items_hidden_by_the_current_answers(world, templates):
    _old, mini = templates
    answered(world.s1, mini, {"B-01": "○", "B-02": "はい", "B-03": "△"})
    new = create_assessment(SYSTEM, world.s1, load(small(description="v2"), world.buyer).template)
    save_answers(SYSTEM, new, {"B-02": "いいえ"})
    assert "B-03" not in prefill_candidates(new)
    assert prefill_section(Actor(user=world.supplier1, label="s1"), new, "basics") == 1
    assert values(new) == {"B-01": "done", "B-02": "no"}


def test_the_previous_assessment_comes_before_crosswalks(world, templates, crosswalk):
    old_template, mini = templates
    answered(world.s1, old_template, {"O-1": "×", "O-4": "旧メモ"})
    answered(world.s1, mini, {"B-01": "○", "B-02": "いいえ"})
    new = create_assessment(SYSTEM, world.s1, load(small(description="v2"), world.buyer).template)
    candidates = prefill_candidates(new)
    assert candidates["B-01"].value == "done" and candidates["B-01"].source.kind == PREVIOUS
    assert candidates["M-02"].value == "旧メモ" and candidates["M-02"].source.kind == CROSSWALK


# --- Answer once, reuse for every customer --------------------------------------------------------


@pytest.fixture
def two_buyers(world):
    """supplier1 is a contact of S1 (buyer) and of X1 (other). X1 answered the built-in
    questionnaire for the other buyer; S1 now gets the same built-in questionnaire."""
    builtin = load(small(key="shared-sheet"), None).template
    Contact.objects.create(supplier=world.x1, name="佐藤 一郎", user=world.supplier1,
                           portal_access=True)
    answered(world.x1, builtin, {"B-01": "○", "B-02": "はい", "B-03": "△",
                                 "M-02": "OTHER-BUYER-SECRET"})
    return create_assessment(SYSTEM, world.s1, builtin)


def test_a_contact_of_both_suppliers_reuses_their_answers_for_another_buyer(world, two_buyers):
    candidates = prefill_candidates(two_buyers, user=world.supplier1)
    assert {k: c.value for k, c in candidates.items()} == {
        "B-01": "done", "B-02": "yes", "B-03": "in_progress", "M-01": "n/a",
        "M-02": "OTHER-BUYER-SECRET"}
    source = candidates["B-01"].source
    assert source.kind == OTHER_CUSTOMER and source.customer == world.other.name
    assert prefill_section(Actor(user=world.supplier1, label="s1"), two_buyers, "more") == 2
    assert values(two_buyers) == {"M-01": "n/a", "M-02": "OTHER-BUYER-SECRET"}


def test_staff_and_link_holders_never_get_another_buyers_answers(world, client_for, two_buyers):
    for user in (world.admin, world.analyst, world.outsider, world.supplier2, None):
        assert prefill_candidates(two_buyers, user=user) == {}, user
    url = reverse("questionnaires:assessment-detail", args=[two_buyers.pk])
    page = client_for(world.admin).get(url).content.decode()
    assert "OTHER-BUYER-SECRET" not in page and world.other.name not in page
    assert client_for(world.admin).post(
        reverse("questionnaires:assessment-prefill", args=[two_buyers.pk]),
        {"section": "more"}).status_code == 302
    assert values(two_buyers) == {}
    _link, path = create_access_link(Actor(user=world.analyst, label="analyst"), two_buyers)
    link = Client()
    assert link.get(path).status_code == 302
    page = link.get("/questionnaires/portal/").content.decode()
    assert "OTHER-BUYER-SECRET" not in page and world.other.name not in page
    link.post("/questionnaires/portal/prefill/", {"section": "more"})
    assert values(two_buyers) == {}
    # The contact of both sees where the pre-fill comes from.
    page = client_for(world.supplier1).get(url).content.decode()
    assert "OTHER-BUYER-SECRET" in page and world.other.name in page


def test_another_buyers_own_template_is_never_a_source(world):
    mine = load(small(key="same-key"), world.buyer).template
    theirs = load(small(key="same-key"), world.other).template
    Contact.objects.create(supplier=world.x1, name="佐藤", user=world.supplier1, portal_access=True)
    answered(world.x1, theirs, {"B-01": "○", "M-02": "THEIR-OWN"})
    assert prefill_candidates(create_assessment(SYSTEM, world.s1, mine), user=world.supplier1) == {}


# --- Query count ----------------------------------------------------------------------------------


def _count(assessment, user):
    from renkei.questionnaires.models import template_parts

    items = template_parts(assessment.template)["items"]
    with CaptureQueriesContext(connection) as queries:
        prefill_candidates(assessment, items, user=user)
    return len(queries)


def test_prefill_query_count_does_not_grow_with_items_crosswalks_or_sources(world, two_buyers):
    builtin = two_buyers.template
    small_count = _count(two_buyers, world.supplier1)
    assert small_count == 5
    # Ten more crosswalks into the sheet, answered, from S1 and from X1.
    for n in range(10):
        key = f"extra-{n}"
        extra = load(old(key=key), None).template
        load_crosswalk_data(xwalk(key=f"x-{n}", to="shared-sheet", **{"from": key}),
                            organization=None, actor=SYSTEM)
        answered(world.s1 if n % 2 else world.x1, extra, {"O-1": "○", "O-4": f"メモ{n}"})
    assert len(Crosswalk.objects.filter(target_key=builtin.key)) == 10
    assert _count(two_buyers, world.supplier1) == small_count


# --- The answer page ------------------------------------------------------------------------------


def test_the_answer_page_says_where_each_prefill_comes_from(world, client_for, templates, crosswalk):
    old_template, mini = templates
    answered(world.s1, old_template, {"O-1": "○", "O-2": "はい", "O-3": "はい"})
    new = create_assessment(SYSTEM, world.s1, mini)
    text = client_for(world.supplier1).get(
        reverse("questionnaires:assessment-detail", args=[new.pk])).content.decode()
    assert 'data-prefill-source="crosswalk"' in text and "旧シート → ミニ" in text
    assert text.count('data-prefill-section="') == 1  # "basics"; M-02 was not answered


# --- Pages ----------------------------------------------------------------------------------------


def test_list_and_detail_pages(world, client_for, crosswalk):
    client = client_for(world.auditor)
    text = client.get(reverse("questionnaires:crosswalk-list")).content.decode()
    assert "旧シート → ミニ" in text and "旧チェックシート" in text and "ミニ質問票" in text
    assert "crosswalk-upload-link" not in text
    detail = client.get(reverse("questionnaires:crosswalk-detail", args=[crosswalk.pk]))
    text = detail.content.decode()
    assert detail.status_code == 200
    assert "バックアップを取得していますか（旧）" in text and "バックアップを取っていますか" in text
    assert "はい → ○ 対応済み" in text
    assert 'class="unmapped"' in text  # O-5 … O-7 are not mapped
    assert 'id="crosswalk-unmapped-targets"' in text and "利用しているクラウド" in text
    assert client_for(world.admin).get(reverse("questionnaires:template-list")).content.decode() \
        .count('id="crosswalks-link"') == 1
    template_page = client.get(reverse("questionnaires:template-detail",
                                       args=[crosswalk_template(crosswalk)])).content.decode()
    assert 'data-crosswalk="old-to-mini"' in template_page


def crosswalk_template(crosswalk):
    from renkei.questionnaires.models import Template

    return Template.objects.get(key=crosswalk.target_key, organization=crosswalk.organization).pk


def test_pages_hide_foreign_crosswalks_and_refuse_suppliers(world, client_for, crosswalk):
    detail = reverse("questionnaires:crosswalk-detail", args=[crosswalk.pk])
    assert client_for(world.outsider).get(detail).status_code == 404
    assert client_for(world.supplier1).get(detail).status_code == 404
    assert client_for(world.supplier1).get(reverse("questionnaires:crosswalk-list")).status_code == 403
    listing = client_for(world.outsider).get(reverse("questionnaires:crosswalk-list")).content.decode()
    assert "旧シート → ミニ" not in listing


def _yaml_upload(data, name="xwalk.yaml"):
    return SimpleUploadedFile(name, yaml.safe_dump(data, allow_unicode=True).encode(),
                              content_type="application/x-yaml")


def test_upload_page_for_admins(world, client_for, templates):
    url = reverse("questionnaires:crosswalk-upload")
    assert client_for(world.analyst).get(url).status_code == 403
    admin = client_for(world.admin)
    assert admin.get(url).status_code == 200
    bad = admin.post(url, {"file": _yaml_upload(xwalk([{"from": "O-1", "to": ["B-99"]}]))})
    assert bad.status_code == 400 and "items[0].to[0]" in bad.content.decode()
    assert not Crosswalk.objects.exists()
    ok = admin.post(url, {"file": _yaml_upload(xwalk())})
    crosswalk = Crosswalk.objects.get()
    assert ok.status_code == 302 and ok.url == reverse("questionnaires:crosswalk-detail",
                                                       args=[crosswalk.pk])
    assert crosswalk.organization == world.buyer and crosswalk.entries.count() == 4
    entry = AuditEntry.objects.get(object_type__icontains="crosswalk")
    assert entry.actor_label == "admin"


# --- API ------------------------------------------------------------------------------------------


def test_api_list_detail_and_foreign_404(world, api_for, crosswalk):
    client = api_for(world.auditor)
    listing = client.get("/api/v1/crosswalks/").json()
    assert [row["key"] for row in listing["results"]] == ["old-to-mini"]
    assert listing["results"][0]["entry_count"] == 4
    detail = client.get(f"/api/v1/crosswalks/{crosswalk.pk}/").json()
    assert {(e["source"], e["target"]) for e in detail["entries"]} >= {("O-3", "B-03")}
    assert api_for(world.outsider).get(f"/api/v1/crosswalks/{crosswalk.pk}/").status_code == 404
    assert api_for(world.supplier1).get("/api/v1/crosswalks/").json()["results"] == []
    assert client.get("/api/v1/crosswalks/?template=mini").json()["count"] == 1
    assert client.get("/api/v1/crosswalks/?template=other").json()["count"] == 0


def test_api_upload(world, api_for, templates):
    url = "/api/v1/crosswalks/upload/"
    assert api_for(world.analyst).post(url, {"file": _yaml_upload(xwalk())},
                                       format="multipart").status_code == 403
    admin = api_for(world.admin)
    bad = admin.post(url, {"file": _yaml_upload(xwalk(key="BAD"))}, format="multipart")
    assert bad.status_code == 400 and bad.json()["errors"][0]["path"] == "crosswalk.key"
    created = admin.post(url, {"file": _yaml_upload(xwalk())}, format="multipart")
    assert created.status_code == 201 and created.json()["entries"] == 4
    again = admin.post(url, {"file": _yaml_upload(xwalk()), "organization": "buyer"},
                       format="multipart")
    assert again.status_code == 200 and again.json()["unchanged"] is True
    assert admin.post(url, {"file": _yaml_upload(xwalk()), "organization": "other"},
                      format="multipart").status_code == 403


# --- CLI ------------------------------------------------------------------------------------------


def test_cli_load_and_list_json(world, templates, tmp_path):
    path = tmp_path / "xwalk.yaml"
    path.write_text(yaml.safe_dump(xwalk(), allow_unicode=True), encoding="utf-8")
    out = io.StringIO()
    call_command("crosswalks", "load", str(path), "--organization", "buyer", "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["created"] is True and result["entries"] == 4 and result["organization"] == "buyer"
    out = io.StringIO()
    call_command("crosswalks", "list", "--organization", "buyer", "--json", stdout=out)
    assert json.loads(out.getvalue()) == [{"key": "old-to-mini", "name": "旧シート → ミニ",
                                           "from": "old-sheet", "to": "mini", "entries": 4}]
    path.write_text(yaml.safe_dump(xwalk([{"from": "O-1", "to": ["B-99"]}])), encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("crosswalks", "load", str(path), "--organization", "buyer", stderr=err)
    assert "items[0].to[0]" in err.getvalue()


# --- Demo -----------------------------------------------------------------------------------------


def test_demo_prefills_the_new_sheet_from_the_old_one_through_the_crosswalk(db):
    from renkei.core.demo import build_demo
    from renkei.questionnaires.models import Assessment

    build_demo()
    new = Assessment.objects.get(supplier__code="S-5001", template__key="scrm-sheet")
    candidates = prefill_candidates(new)
    assert candidates["S-02"].value == "done" and candidates["S-03"].value == "in_progress"
    assert candidates["C-02"].value["number"] == "IS 501234"
    assert {c.source.kind for c in candidates.values()} == {CROSSWALK}
    entries = AuditEntry.objects.count()
    build_demo()
    assert AuditEntry.objects.count() == entries
