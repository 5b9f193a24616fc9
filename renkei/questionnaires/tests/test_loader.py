"""The loader: the built-in sheet, validation with paths, versions, locks, query counts."""

from __future__ import annotations

import io

import pytest
import yaml
from django.utils import translation

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.questionnaires.loader import TemplateError, read_yaml, validate
from renkei.questionnaires.models import Choice, Item, Section, Template
from renkei.questionnaires.services import (
    load_builtin_templates,
    load_template_data,
    load_template_file,
    lock_template,
)
from renkei.questionnaires.tests.helpers import load, many_items, small

pytestmark = pytest.mark.django_db


def builtin() -> Template:
    return Template.objects.get(organization=None, key="scrm-sheet")


def counts() -> list[int]:
    return [m.objects.count() for m in (Template, Section, Item, Choice, AuditEntry)]


# --- The built-in サプライチェーンリスク管理シート -----------------------------------------------------


def test_builtin_sheet_is_loaded_by_migrate_with_its_25_items():
    template = builtin()
    assert (template.version, template.name_ja) == (1, "サプライチェーンリスク管理シート")
    sections = list(template.sections.order_by("order"))
    assert [s.key for s in sections] == ["certifications", "protection", "cybersecurity"]
    assert [s.items.count() for s in sections] == [3, 7, 15]
    assert template.items.count() == 25
    ids = list(template.items.order_by("order").values_list("item_id", flat=True))
    assert ids == ["C-01", "C-02", "C-03", *[f"P-{n:02d}" for n in range(1, 8)],
                   *[f"S-{n:02d}" for n in range(1, 16)]]


def test_builtin_sheet_transcribes_the_questions_exactly():
    items = {i.item_id: i for i in builtin().items.all()}
    assert items["C-01"].text_ja == "P マークを取得していますか"
    assert items["P-03"].text_ja == "データのバックアップを定期的の実施していますか"
    assert items["P-04"].text_ja == (
        "委託先と機密情報保護に関する責任及び安全管理を明確にした委託契約を締結していますか")
    assert items["S-07"].text_ja == (
        "PC・サーバーの各種 OS や アプリケーション、VPN 機器のパッチを定期的に適用していますか")
    assert items["S-15"].text_ja == (
        "サプライチェーン攻撃対策のため、定期的取引先のセキュリティレベルを確認していますか")
    for item in items.values():
        assert item.text_en and item.help_ja and item.help_en, item.item_id


def test_builtin_sheet_types_critical_items_and_not_applicable():
    items = {i.item_id: i for i in builtin().items.prefetch_related("choices")}
    assert [items[i].answer_type for i in ("C-01", "C-02", "C-03")] == [
        "certificate", "certificate", "text"]
    assert not items["C-03"].required
    assert all(items[i].answer_type == "tri_state" for i in items if i[0] in "PS")
    assert {i for i, item in items.items() if item.critical} == {
        "P-03", "P-06", "S-05", "S-07", "S-12"}
    assert {i for i, item in items.items() if item.allow_na} == {"P-04", "S-10", "S-15"}
    assert [(c.value, c.label_ja, c.points) for c in items["P-01"].choices.all()] == [
        ("done", "○ 対応済み", 100), ("in_progress", "△ 対応中", 50), ("not_done", "× 未対応", 0)]


def test_loading_the_builtin_again_changes_nothing():
    before = counts()
    results = load_builtin_templates()
    assert [(r.unchanged, r.created, r.version) for r in results] == [(True, False, 1)]
    assert counts() == before


def test_builtin_templates_write_no_audit_entries(world):
    data = small(key="shared-one")
    before = AuditEntry.objects.count()
    result = load(data)
    assert result.template.organization is None and result.created
    assert AuditEntry.objects.count() == before


# --- Happy path and versions ---------------------------------------------------------------------


def test_organization_template_is_stored_with_defaults_and_audited(world):
    result = load(small(), world.buyer)
    assert (result.created, result.unchanged, result.version) == (True, False, 1)
    template = result.template
    assert (template.organization, template.key, template.name_en) == (world.buyer, "mini",
                                                                        "Mini questionnaire")
    items = {i.item_id: i for i in template.items.prefetch_related("choices")}
    assert list(items) == ["B-01", "B-02", "B-03", "M-01", "M-02"]
    assert items["B-02"].text_en == "" and items["B-02"].answer_type == "yes_no"
    assert [c.value for c in items["B-02"].choices.all()] == ["yes", "no"]
    assert items["B-03"].condition == {"item": "B-02", "in": ["yes"]}
    assert items["B-03"].weight == 2 and items["B-01"].critical
    assert items["M-01"].allow_na and [c.points for c in items["M-01"].choices.all()] == [80, 40]
    assert items["M-02"].choices.count() == 0 and not items["M-02"].required
    assert items["M-01"].section.key == "more"
    entry = AuditEntry.objects.get(object_type="questionnaires.template")
    assert (entry.organization, entry.action, entry.object_id) == (world.buyer, "create",
                                                                    str(template.pk))
    assert entry.changes["key"] == [None, "mini"] and entry.changes["items"] == [None, 5]


def test_same_content_is_unchanged_and_writes_nothing(world):
    first = load(small(), world.buyer)
    before = counts()
    # The same content written differently: plain strings vs {ja: ...}, explicit defaults.
    data = small(name={"ja": "ミニ質問票", "en": "Mini questionnaire"})
    data["sections"][0]["items"][1]["text"] = {"ja": " 委託先はありますか\n"}
    data["sections"][0]["items"][1]["required"] = True
    data["sections"][0]["items"][1]["weight"] = 1.0
    again = load(data, world.buyer)
    assert (again.unchanged, again.created, again.version) == (True, False, 1)
    assert again.template == first.template
    assert counts() == before


def test_changed_content_creates_the_next_version_and_keeps_the_old_one(world):
    first = load(small(), world.buyer).template
    old_items = list(first.items.values())
    data = small()
    data["sections"][0]["items"][0]["text"] = "バックアップを週 1 回以上取っていますか"
    second = load(data, world.buyer)
    assert (second.created, second.version) == (True, 2)
    assert list(first.items.values()) == old_items
    assert second.template.items.get(item_id="B-01").text_ja.startswith("バックアップを週")
    entry = AuditEntry.objects.filter(object_type="questionnaires.template").latest("sequence")
    assert entry.changes["version"] == [None, 2] and entry.changes["previous_version"] == [None, 1]
    assert load(small(), world.buyer).version == 3  # going back is a change too


def test_same_key_is_separate_per_owner(world):
    assert load(small(), world.buyer).version == 1
    assert load(small(), world.other).version == 1
    assert load(small()).version == 1  # built-in
    assert Template.objects.filter(key="mini").count() == 3


def test_locked_version_is_never_modified(world):
    first = load(small(), world.buyer).template
    assert lock_template(first) and first.is_locked
    assert not lock_template(first)  # already locked
    snapshot = (list(Template.objects.filter(pk=first.pk).values()),
                list(first.items.values()), list(Choice.objects.filter(item__template=first).values()))
    assert load(small(), world.buyer).template == first  # unchanged: the locked one stays current
    data = small()
    data["sections"][1]["items"][0]["choices"][0]["points"] = 90
    second = load(data, world.buyer)
    assert second.version == 2 and not second.template.is_locked
    assert (list(Template.objects.filter(pk=first.pk).values()), list(first.items.values()),
            list(Choice.objects.filter(item__template=first).values())) == snapshot


def test_load_template_file_reads_paths_bytes_and_file_objects(world, tmp_path):
    text = yaml.safe_dump(small(), allow_unicode=True)
    path = tmp_path / "mini.yaml"
    path.write_text(text, encoding="utf-8")
    actor = Actor.system("test")
    assert load_template_file(path, organization=world.buyer, actor=actor).version == 1
    assert load_template_file(str(path), organization=world.buyer, actor=actor).unchanged
    assert load_template_file(text.encode(), organization=world.buyer, actor=actor).unchanged
    with_bom = io.BytesIO(b"\xef\xbb\xbf" + text.encode())
    assert load_template_file(with_bom, organization=world.buyer, actor=actor).unchanged


# --- Validation: every problem with its place, nothing stored --------------------------------------


def problems_of(data) -> list[str]:
    with translation.override("en"):
        with pytest.raises(TemplateError) as caught:
            validate(data)
    return [str(p) for p in caught.value.problems]


def item(**fields):
    return {"id": "X-01", "text": "設問", "type": "tri_state", **fields}


def with_items(*items):
    return small(sections=[{"key": "s", "title": "S", "items": list(items)}])


CASES = [
    ("key", small(key="Bad Key"),
     "key: must be lowercase letters, digits and “-” (at most 50 characters), starting with a "
     "letter or digit"),
    ("missing key", {k: v for k, v in small().items() if k != "key"}, "key: is required"),
    ("missing ja name", small(name={"en": "English only"}),
     "name.ja: the Japanese text is required"),
    ("version field", small(version=2), "version: versions are numbered by Renkei; remove this field"),
    ("unknown field", with_items(item(critcal=True)),
     "sections[0].items[0].critcal: unknown field; expected one of: id, text, help, type, "
     "not_applicable, required, weight, critical, choices, condition"),
    ("no sections", small(sections=[]), "sections: must have at least one entry"),
    ("no items", small(sections=[{"key": "s", "title": "S", "items": []}]),
     "sections[0].items: must have at least one entry"),
    ("duplicate section", small(sections=[{"key": "s", "title": "S", "items": [item()]},
                                          {"key": "s", "title": "T", "items": [item(id="X-02")]}]),
     "sections[1].key: duplicate section key “s” (also at sections[0].key)"),
    ("bad section key", small(sections=[{"key": "S 1", "title": "S", "items": [item()]}]),
     "sections[0].key: must be lowercase letters, digits, “_” and “-” (at most 50 characters)"),
    ("duplicate item id", with_items(item(), item()),
     "sections[0].items[1].id: duplicate item id “X-01” (also at sections[0].items[0].id)"),
    ("bad item id", with_items(item(id="P 01")),
     "sections[0].items[0].id: must be letters, digits, “.”, “_” or “-” (at most 32 characters)"),
    ("unknown type", with_items(item(type="maybe")),
     "sections[0].items[0].type: unknown answer type “maybe”; one of: tri_state, yes_no, "
     "single_choice, multiple_choice, text, number, date, certificate, file"),
    ("missing text", with_items({"id": "X-01", "type": "text"}), "sections[0].items[0].text: is required"),
    ("missing ja text", with_items(item(text={"en": "Question"})),
     "sections[0].items[0].text.ja: the Japanese text is required"),
    ("too long text", with_items(item(text="あ" * 2001)),
     "sections[0].items[0].text.ja: must be at most 2000 characters"),
    ("points", with_items(item(type="single_choice", choices=[
        {"value": "a", "label": "A", "points": 100}, {"value": "b", "label": "B", "points": 150}])),
     "sections[0].items[0].choices[1].points: must be between 0 and 100"),
    ("fractional points", with_items(item(type="single_choice", choices=[
        {"value": "a", "label": "A", "points": 1.5}])),
     "sections[0].items[0].choices[0].points: must be a whole number"),
    ("choices required", with_items(item(type="single_choice")),
     "sections[0].items[0].choices: is required for the answer type single_choice"),
    ("choices not allowed", with_items(item(type="text", choices=[
        {"value": "a", "label": "A", "points": 1}])),
     "sections[0].items[0].choices: is not allowed for the answer type text"),
    ("duplicate choice", with_items(item(type="single_choice", choices=[
        {"value": "a", "label": "A", "points": 1}, {"value": "a", "label": "B", "points": 2}])),
     "sections[0].items[0].choices[1].value: duplicate value “a” (also at "
     "sections[0].items[0].choices[0].value)"),
    ("reserved n/a", with_items(item(type="single_choice", choices=[
        {"value": "n/a", "label": "なし", "points": 1}])),
     "sections[0].items[0].choices[0].value: “n/a” is reserved for 該当なし; use not_applicable: true"),
    ("tri_state override incomplete", with_items(item(choices=[
        {"value": "done", "label": "○", "points": 100}])),
     "sections[0].items[0].choices: must list every value of the answer type tri_state: done, "
     "in_progress, not_done"),
    ("weight", with_items(item(weight=-1)),
     "sections[0].items[0].weight: must be a number between 0 and 1000"),
    ("weight decimals", with_items(item(weight=0.125)),
     "sections[0].items[0].weight: may have at most two decimal places"),
    ("boolean", with_items(item(critical="yes")), "sections[0].items[0].critical: must be true or false"),
    ("condition unknown item", with_items(item(condition={"item": "Z-9", "in": ["done"]})),
     "sections[0].items[0].condition.item: refers to an unknown item “Z-9”"),
    ("condition later item", with_items(item(condition={"item": "X-02", "in": ["done"]}),
                                        item(id="X-02")),
     "sections[0].items[0].condition.item: refers to item “X-02”, which does not come earlier; a "
     "condition may only refer to an earlier item"),
    ("condition itself", with_items(item(condition={"item": "X-01", "in": ["done"]})),
     "sections[0].items[0].condition.item: refers to item “X-01”, which does not come earlier; a "
     "condition may only refer to an earlier item"),
    ("condition value", with_items(item(type="yes_no"),
                                   item(id="X-02", condition={"item": "X-01", "in": ["done"]})),
     "sections[0].items[1].condition.in[0]: “done” is not an answer of item “X-01” (yes, no)"),
    ("condition on text", with_items(item(type="text"),
                                     item(id="X-02", condition={"item": "X-01", "in": ["x"]})),
     "sections[0].items[1].condition.item: item “X-01” has no choices to test (answer type text)"),
    ("condition empty", with_items(item(), item(id="X-02", condition={"item": "X-01", "in": []})),
     "sections[0].items[1].condition.in: must be a list of at least one answer value"),
    ("section not a mapping", small(sections=["protection"]),
     "sections[0]: must be a mapping (key: value)"),
]


@pytest.mark.parametrize(("label", "data", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_problem_is_reported_with_its_path(label, data, expected):
    assert expected in problems_of(data)


@pytest.mark.parametrize(("label", "data", "expected"), CASES, ids=[c[0] for c in CASES])
def test_nothing_is_stored_on_any_problem(world, label, data, expected):
    before = counts()
    with pytest.raises(TemplateError):
        load(data, world.buyer)
    assert counts() == before


def test_all_problems_are_reported_at_once():
    data = with_items(item(id="bad id", weight="heavy"), item(id="X-02", type="nope"))
    data["key"] = "Nope!"
    found = problems_of(data)
    assert len(found) == 4, found
    assert [p.split(":")[0] for p in found] == [
        "key", "sections[0].items[0].id", "sections[0].items[0].weight", "sections[0].items[1].type"]


def test_condition_may_test_not_applicable_and_multiple_choices():
    spec = validate(with_items(item(not_applicable=True),
                               item(id="X-02", condition={"item": "X-01", "in": ["n/a", "done"]})))
    assert spec["sections"][0]["items"][1]["condition"] == {"item": "X-01", "in": ["n/a", "done"]}


def test_messages_are_japanese_by_default():
    with translation.override("ja"):
        with pytest.raises(TemplateError) as caught:
            validate(with_items(item(type="single_choice", choices=[
                {"value": "a", "label": "A", "points": 101}])))
    assert str(caught.value.problems[0]) == (
        "sections[0].items[0].choices[0].points: 0 から 100 の範囲で指定してください")


# --- Reading files ----------------------------------------------------------------------------------


def read_problem(source) -> str:
    with translation.override("en"):
        with pytest.raises(TemplateError) as caught:
            read_yaml(source)
    assert len(caught.value.problems) == 1
    return str(caught.value.problems[0])


def test_huge_file_is_refused_before_parsing(settings, tmp_path, monkeypatch):
    settings.RENKEI_MAX_UPLOAD_MB = 1
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"# " + b"x" * (1024 * 1024))
    monkeypatch.setattr("yaml.load", lambda *a, **k: pytest.fail("parsed a huge file"))
    assert read_problem(path) == "The file is larger than 1 MB; it was not read."
    assert read_problem(io.BytesIO(path.read_bytes())) == "The file is larger than 1 MB; it was not read."


def test_non_utf8_file_is_refused():
    message = read_problem("key: テスト\n".encode("cp932"))
    assert message.startswith("The file is not UTF-8 text (invalid byte at offset 5)")


def test_syntax_error_names_line_and_column():
    assert read_problem(b"key: x\nname: [a\n") == (
        "YAML syntax error at line 3, column 1: expected ',' or ']', but got '<stream end>'")


def test_anchors_and_aliases_are_refused():
    bomb = b'a: &a ["x","x"]\nb: &b [*a,*a]\nc: &c [*b,*b]\n'
    assert read_problem(bomb) == (
        "YAML syntax error at line 2, column 8: anchors and aliases (&, *) are not allowed")


def test_missing_file_and_non_mapping_document(tmp_path):
    assert read_problem(tmp_path / "nope.yaml").startswith("File not found:")
    with translation.override("en"), pytest.raises(TemplateError) as caught:
        validate(["a", "list"])
    assert str(caught.value) == "The template must be a mapping with key, name and sections."


# --- Queries ----------------------------------------------------------------------------------------


def test_loading_takes_a_bounded_number_of_queries(world, django_assert_num_queries):
    # Savepoint, the latest-version lookup, one insert each for the template, its sections, items
    # and choices, then the audit entry (lock the chain head, insert, save head).
    with django_assert_num_queries(15):  # the organization's first audit entry creates its chain
        load(many_items(10, key="first"), world.buyer)
    with django_assert_num_queries(10):
        load(many_items(10, key="small"), world.buyer)
    with django_assert_num_queries(10):  # five times the items, the same queries
        load(many_items(50, key="bigger"), world.buyer)
    with django_assert_num_queries(3):  # unchanged: look up the latest version only
        load(many_items(50, key="bigger"), world.buyer)
    with django_assert_num_queries(7):  # built-in: no audit trail
        load(many_items(50, key="shared"))


def test_large_templates_insert_in_batches_not_per_row(world):
    from math import ceil

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        load(many_items(400, key="large"), world.buyer)
    expected = 15  # as above, with the organization's first audit entry
    if connection.vendor == "sqlite":
        # Django's SQLite backend caps one statement at 999 parameters: 14 per item, 6 per choice.
        expected += ceil(400 / (999 // 14)) - 1 + ceil(1200 / (999 // 6)) - 1
    assert len(queries) == expected


def test_direct_call_with_the_importers_structure(world):
    """The Excel check-sheet import calls load_template_data with this dict structure."""
    result = load_template_data(
        {"key": "buyer-sheet", "name": "取引先チェックシート",
         "sections": [{"key": "s1", "title": "1. 管理体制",
                       "items": [{"id": "1", "text": "責任者を決めていますか", "type": "tri_state"}]}]},
        organization=world.buyer, actor=Actor.system("sheet-import"))
    assert result.created and result.template.items.get().item_id == "1"
