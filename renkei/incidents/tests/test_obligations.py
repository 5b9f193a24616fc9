"""The obligations rules engine (rules/obligations.yaml) and `renkei incidents obligations`.

Table-driven: every rule's trigger alone and at its boundary (1,000 vs 1,001 people; 30 vs 60
days), deadlines across month ends and midnight in Japan time, naive vs aware aware_at, the checks
on the rules file and on the facts, and the command's JSON contract in-process and as a process.
"""

import datetime as dt
import io
import json
import os
import subprocess
import sys
from zoneinfo import ZoneInfo

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.utils import translation
from django.utils.translation import gettext

from renkei.incidents.obligations import (
    CONTRACT_KEYS,
    RULES_PATH,
    Facts,
    FactsError,
    RulesError,
    clear_rules_cache,
    evaluate,
    load_rules,
    parse_rules,
)

JST = ZoneInfo("Asia/Tokyo")
BASE = {
    "aware_at": "2026-12-01T10:00:00+09:00",
    "personal_data": False,
    "persons_affected": 0,
    "sensitive_personal_data": False,
    "financial_harm_possible": False,
    "unauthorized_access": False,
    "export_controlled_tech": False,
}
ALWAYS = {"partners-share", "public-announcement"}
PPC = {"ppc-preliminary", "ppc-final", "persons-notice"}


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def facts(**changes):
    return Facts.from_mapping(BASE | changes)


def found(**changes):
    return {o.id: o for o in evaluate(facts(**changes))}


def jst(text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=JST)


def builtin():
    return yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))


def rule_in(data, rule_id):
    return next(rule for rule in data["rules"] if rule["id"] == rule_id)


# -- which rules apply ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, ALWAYS),
        # Personal data plus one of the four cases of 施行規則第7条, each alone.
        ({"personal_data": True}, ALWAYS),
        ({"personal_data": True, "sensitive_personal_data": True}, ALWAYS | PPC),
        ({"personal_data": True, "financial_harm_possible": True}, ALWAYS | PPC),
        (
            {"personal_data": True, "unauthorized_access": True},
            ALWAYS | PPC | {"police-consultation", "ipa-access-report", "jpcert-report"},
        ),
        ({"personal_data": True, "persons_affected": 1000}, ALWAYS),
        ({"personal_data": True, "persons_affected": 1001}, ALWAYS | PPC),
        # Without personal data none of the PPC rules apply, whatever else is true.
        (
            {"sensitive_personal_data": True, "financial_harm_possible": True, "persons_affected": 50000},
            ALWAYS,
        ),
        (
            {"unauthorized_access": True},
            ALWAYS | {"police-consultation", "ipa-access-report", "jpcert-report"},
        ),
        ({"export_controlled_tech": True}, ALWAYS | {"meti-report"}),
        ({"we_are_contractor": True}, ALWAYS | {"client-notice"}),
        ({"malware": True}, ALWAYS | {"ipa-virus-report", "jpcert-report"}),
        ({"regulated_sector": True}, ALWAYS | {"ministry-report"}),
    ],
)
def test_which_rules_apply(changes, expected):
    assert set(found(**changes)) == expected


def test_every_rule_in_the_file_can_apply():
    everything = found(
        personal_data=True,
        persons_affected=5000,
        sensitive_personal_data=True,
        financial_harm_possible=True,
        unauthorized_access=True,
        export_controlled_tech=True,
        we_are_contractor=True,
        malware=True,
        regulated_sector=True,
    )
    assert set(everything) == {rule.id for rule in load_rules().rules}


# -- deadlines ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "days"),
    [
        ({"sensitive_personal_data": True}, 30),
        ({"financial_harm_possible": True}, 30),
        ({"persons_affected": 1001}, 30),
        ({"sensitive_personal_data": True, "persons_affected": 99999, "financial_harm_possible": True}, 30),
        ({"unauthorized_access": True}, 60),
        # 第7条第3号 together with other cases: still 60.
        ({"unauthorized_access": True, "sensitive_personal_data": True}, 60),
        ({"unauthorized_access": True, "persons_affected": 1001, "financial_harm_possible": True}, 60),
    ],
)
def test_final_report_is_due_after_30_or_60_days(changes, days):
    final = found(personal_data=True, **changes)["ppc-final"]
    # The day of awareness (2026-12-01) is day 1: day 30 is 12-30, day 60 is 2027-01-29.
    assert final.due == jst("2026-12-01T23:59:59") + dt.timedelta(days=days - 1)
    assert final.due.isoformat() == {30: "2026-12-30T23:59:59+09:00", 60: "2027-01-29T23:59:59+09:00"}[days]


@pytest.mark.parametrize(
    ("aware_at", "preliminary", "final_30", "final_60"),
    [
        # Across month ends, a non-leap and a leap February, and the turn of the year.
        ("2026-01-31T09:00:00+09:00", "2026-02-02", "2026-03-01", "2026-03-31"),
        ("2028-01-31T09:00:00+09:00", "2028-02-02", "2028-02-29", "2028-03-30"),
        ("2026-12-30T18:00:00+09:00", "2027-01-01", "2027-01-28", "2027-02-27"),
        # The day is the Japanese one: 15:30 UTC on 11-30 is 00:30 on 12-01 in Tokyo...
        ("2026-11-30T15:30:00Z", "2026-12-03", "2026-12-30", "2027-01-29"),
        # ...and 14:59:59 UTC still 11-30.
        ("2026-11-30T14:59:59+00:00", "2026-12-02", "2026-12-29", "2027-01-28"),
        # A zone with summer time on the day it changes (US, 2026-03-08): Japan has none.
        ("2026-03-08T01:30:00-05:00", "2026-03-10", "2026-04-06", "2026-05-06"),
    ],
)
def test_day_deadlines_end_at_the_end_of_the_day_in_japan(aware_at, preliminary, final_30, final_60):
    sensitive = found(aware_at=aware_at, personal_data=True, sensitive_personal_data=True)
    wrongful = found(aware_at=aware_at, personal_data=True, unauthorized_access=True)
    assert sensitive["ppc-preliminary"].due == jst(f"{preliminary}T23:59:59")
    assert sensitive["ppc-final"].due == jst(f"{final_30}T23:59:59")
    assert wrongful["ppc-final"].due == jst(f"{final_60}T23:59:59")
    assert sensitive["ppc-final"].due.utcoffset() == dt.timedelta(hours=9)


def test_hour_deadlines_are_exact_and_shown_in_japan_time():
    share = found(aware_at="2026-03-07T12:00:00.750-05:00")["partners-share"]
    # 24 hours to the second (the fraction dropped), whatever the offset it was given in.
    assert share.due.isoformat() == "2026-03-09T02:00:00+09:00"


@pytest.mark.parametrize(
    ("naive", "aware"),
    [
        ("2026-12-01T00:30:00", "2026-12-01T00:30:00+09:00"),
        ("2026-12-01 23:59:59", "2026-12-01T23:59:59+09:00"),
        ("2026-11-30T23:59:59.999999", "2026-11-30T23:59:59.999999+09:00"),
    ],
)
def test_naive_aware_at_is_in_the_installation_time_zone(naive, aware):
    assert facts(aware_at=naive).aware_at == facts(aware_at=aware).aware_at
    assert [o.due for o in evaluate(facts(aware_at=naive, personal_data=True, malware=True))] == [
        o.due for o in evaluate(facts(aware_at=aware, personal_data=True, malware=True))
    ]


def test_naive_aware_at_follows_settings_time_zone(settings):
    settings.TIME_ZONE = "UTC"
    # 20:00 UTC on 11-30 is 05:00 on 12-01 in Japan: the deadline day counts from 12-01.
    preliminary = found(aware_at="2026-11-30T20:00:00", personal_data=True, financial_harm_possible=True)
    assert preliminary["ppc-preliminary"].due.isoformat() == "2026-12-03T23:59:59+09:00"


def test_counting_without_the_day_of_awareness_moves_day_deadlines_one_day_later():
    data = builtin()
    data["counting"]["first_day_counts"] = False
    rules = parse_rules(data)
    final = {o.id: o for o in evaluate(facts(personal_data=True, persons_affected=1001), rules)}["ppc-final"]
    assert final.due.isoformat() == "2026-12-31T23:59:59+09:00"
    share = {o.id: o for o in evaluate(facts(), rules)}["partners-share"]
    assert share.due.isoformat() == "2026-12-02T10:00:00+09:00"  # hours are not counted in days


def test_order_is_by_deadline_then_undated_in_rule_order():
    result = evaluate(facts(personal_data=True, unauthorized_access=True, we_are_contractor=True))
    assert [o.id for o in result] == [
        "partners-share",  # 12-02 10:00
        "ppc-preliminary",  # 12-03 23:59:59, before client-notice (same time) by rule order
        "client-notice",
        "ppc-final",
        "persons-notice",
        "public-announcement",
        "police-consultation",
        "ipa-access-report",
        "jpcert-report",
    ]
    dated = [o.due for o in result if o.due]
    assert dated == sorted(dated) and all(o.due is None for o in result[len(dated) :])


def test_obligation_carries_titles_version_and_the_five_contract_keys():
    preliminary = found(personal_data=True, persons_affected=1001)["ppc-preliminary"]
    assert preliminary.title == "Preliminary report to the Personal Information Protection Commission"
    assert preliminary.title_ja == "個人情報保護委員会への速報"
    assert preliminary.rules_version == load_rules().version
    assert preliminary.source in load_rules().sources
    assert preliminary.authority == "ppc" and preliminary.kind == "report"
    assert "第26条第1項" in preliminary.basis
    assert tuple(preliminary.to_json()) == CONTRACT_KEYS
    with translation.override("ja"):
        assert found(we_are_contractor=True)["client-notice"].title == "委託元への通知"


# -- facts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "name", "message"),
    [
        ({"aware_at": None}, "aware_at", "aware_at is missing."),
        ({"personal_data": None}, "personal_data", "personal_data is missing."),
        ({"personal_data": "true"}, "personal_data", "personal_data must be true or false."),
        ({"malware": 1}, "malware", "malware must be true or false."),
        (
            {"persons_affected": 1000.5},
            "persons_affected",
            "persons_affected must be a whole number of 0 or more.",
        ),
        (
            {"persons_affected": True},
            "persons_affected",
            "persons_affected must be a whole number of 0 or more.",
        ),
        (
            {"persons_affected": -1},
            "persons_affected",
            "persons_affected must be a whole number of 0 or more.",
        ),
        (
            {"persons_affected": "1001"},
            "persons_affected",
            "persons_affected must be a whole number of 0 or more.",
        ),
        ({"aware_at": "2026-12-01"}, "aware_at", "aware_at must be an ISO-8601 date and time"),
        ({"aware_at": "2026-13-01T10:00:00"}, "aware_at", "aware_at must be an ISO-8601 date and time"),
        ({"aware_at": "yesterday afternoon"}, "aware_at", "aware_at must be an ISO-8601 date and time"),
        ({"aware_at": 1764550800}, "aware_at", "aware_at must be an ISO-8601 date and time"),
    ],
)
def test_bad_facts_name_the_fact(changes, name, message):
    data = {k: v for k, v in (BASE | changes).items() if v is not None}
    with pytest.raises(FactsError) as caught:
        Facts.from_mapping(data)
    assert [problem[0] for problem in caught.value.problems] == [name]
    assert caught.value.problems[0][1].startswith(message)


def test_every_problem_in_the_facts_is_reported_at_once():
    with pytest.raises(FactsError) as caught:
        Facts.from_mapping({"aware_at": "x", "personal_data": 1, "we_are_the_client": True, "extra": 1})
    names = [name for name, _message in caught.value.problems]
    assert names[:3] == ["", "aware_at", "personal_data"]
    assert caught.value.problems[0][1].startswith("Unknown fact(s): extra, we_are_the_client. Known facts: ")
    assert set(names[3:]) == {
        "persons_affected",
        "sensitive_personal_data",
        "financial_harm_possible",
        "unauthorized_access",
        "export_controlled_tech",
    }


@pytest.mark.parametrize("data", [[], "facts", None, 3])
def test_facts_must_be_an_object(data):
    with pytest.raises(FactsError, match="must be a JSON object"):
        Facts.from_mapping(data)


def test_optional_facts_default_to_false():
    plain = facts()
    assert (plain.we_are_contractor, plain.malware, plain.regulated_sector) == (False, False, False)
    assert plain.aware_at == jst("2026-12-01T10:00:00")


# -- the rules file -------------------------------------------------------------------------------


def test_builtin_rules_load_once_per_process():
    clear_rules_cache()
    first = load_rules()
    assert load_rules() is first
    assert load_rules(RULES_PATH) is first
    clear_rules_cache()
    assert load_rules() is not first
    assert first.version == "2026-12-01" and first.zone.key == "Asia/Tokyo" and first.first_day_counts


def bad(mutate):
    data = builtin()
    mutate(data)
    with pytest.raises(RulesError) as caught:
        parse_rules(data, "test.yaml")
    assert str(caught.value).splitlines()[0] == "The rules file test.yaml cannot be used:"
    return caught.value.problems


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (
            lambda d: rule_in(d, "ppc-preliminary").update(authority="cabinet"),
            "rules[0] (ppc-preliminary).authority: must be one of: ppc, meti, police, ipa, jpcert, ministry, "
            "client, partners, public, persons",
        ),
        (
            lambda d: rule_in(d, "ppc-final").update(kind="tell"),
            "rules[1] (ppc-final).kind: must be one of: share, report, publish, notify",
        ),
        (
            lambda d: rule_in(d, "ppc-final")["due"].update(days=0),
            "rules[1] (ppc-final).due.days: must be a whole number from 1 to 3650",
        ),
        (
            lambda d: rule_in(d, "ppc-final")["due"]["alternatives"][0].update(days="60"),
            "rules[1] (ppc-final).due.alternatives[0].days: must be a whole number from 1 to 3650",
        ),
        (
            lambda d: rule_in(d, "ppc-final")["due"].update(hours=5),
            "rules[1] (ppc-final).due: give exactly one of: days, hours",
        ),
        (lambda d: rule_in(d, "ppc-final").pop("due"), "rules[1] (ppc-final).due: is missing"),
        (lambda d: rule_in(d, "ppc-final").pop("basis"), "rules[1] (ppc-final).basis: is missing"),
        (
            lambda d: rule_in(d, "meti-report")["basis"].update(source="meti-2099"),
            "rules[5] (meti-report).basis.source: must be one of: appi, appi-rules, ppc-guideline, meti-sc3, "
            "sharing-guidance, ipa-access, ipa-virus, jpcert, police",
        ),
        (
            lambda d: rule_in(d, "ppc-final")["when"]["all"][1]["any"][3].update(fact="people"),
            "rules[1] (ppc-final).when.all[1].any[3].fact: must be one of: personal_data, persons_affected, "
            "sensitive_personal_data, financial_harm_possible, unauthorized_access, export_controlled_tech, "
            "we_are_contractor, malware, regulated_sector",
        ),
        (
            lambda d: rule_in(d, "meti-report").update(when={"fact": "export_controlled_tech", "gt": 0}),
            "rules[5] (meti-report).when: a yes/no fact is compared with “is: true” or “is: false”",
        ),
        (
            lambda d: rule_in(d, "ppc-final")["when"]["all"][1]["any"][3].update(gt=True),
            "rules[1] (ppc-final).when.all[1].any[3]: "
            "a number fact is compared with gt, gte, lt or lte and a number",
        ),
        (
            lambda d: rule_in(d, "ppc-final")["when"]["all"][1].update(any=[]),
            "rules[1] (ppc-final).when.all[1].any: must be a list with at least one entry",
        ),
        (
            lambda d: rule_in(d, "ppc-final").update(when=False),
            "rules[1] (ppc-final).when: must be true or a condition (all, any, not or fact)",
        ),
        (
            lambda d: rule_in(d, "meti-report").update(when={"fact": "aware_at", "is": True}),
            "rules[5] (meti-report).when.fact: must be one of: personal_data, persons_affected, "
            "sensitive_personal_data, financial_harm_possible, unauthorized_access, export_controlled_tech, "
            "we_are_contractor, malware, regulated_sector",
        ),
        (
            lambda d: rule_in(d, "ppc-final").update(id="PPC final"),
            "rules[1] (PPC final).id: must be lowercase letters, digits and “-” (at most 50 characters)",
        ),
        (
            lambda d: rule_in(d, "ppc-final").update(id="ppc-preliminary"),
            "rules[1] (ppc-preliminary).id: “ppc-preliminary” is already used by an earlier rule",
        ),
        (lambda d: rule_in(d, "ppc-final")["title"].pop("en"), "rules[1] (ppc-final).title.en: is missing"),
        (
            lambda d: rule_in(d, "ppc-final").update(titel={"ja": "x"}),
            "rules[1] (ppc-final): unknown key(s): titel",
        ),
        (lambda d: d.update(timezone="Japan/Nowhere"), "timezone: not a time zone name, e.g. Asia/Tokyo"),
        (lambda d: d.pop("version"), "version: is missing"),
        (
            lambda d: d["counting"].update(first_day_counts="yes"),
            "counting.first_day_counts: must be true or false",
        ),
        (lambda d: d["sources"]["jpcert"].pop("url"), "sources.jpcert.url: is missing"),
        (lambda d: d.update(rules=[]), "rules: must be a list with at least one entry"),
    ],
)
def test_a_malformed_rules_file_names_the_rule_and_field(mutate, problem):
    assert bad(mutate) == [problem]


def test_every_problem_in_the_rules_file_is_reported_at_once():
    def two(data):
        rule_in(data, "ppc-preliminary")["due"] = {"days": -3}
        rule_in(data, "jpcert-report")["authority"] = "cert"

    assert bad(two) == [
        "rules[0] (ppc-preliminary).due.days: must be a whole number from 1 to 3650",
        "rules[10] (jpcert-report).authority: "
        "must be one of: ppc, meti, police, ipa, jpcert, ministry, client, partners, public, persons",
    ]


def test_an_unreadable_rules_file_says_why(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: [\n", encoding="utf-8")
    for path in (broken, tmp_path / "missing.yaml"):
        with pytest.raises(RulesError) as caught:
            load_rules(path)
        assert str(caught.value).startswith(f"The rules file {path} cannot be used:\ncannot be read: ")


def test_a_changed_copy_of_the_rules_is_used_when_given(tmp_path):
    data = builtin()
    data["version"] = "2027-04-01"
    rule_in(data, "ppc-preliminary")["due"] = {"days": 5}
    path = tmp_path / "obligations.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = {o.id: o for o in evaluate(facts(personal_data=True, persons_affected=1001), load_rules(path))}
    assert result["ppc-preliminary"].due.isoformat() == "2026-12-05T23:59:59+09:00"
    assert result["ppc-preliminary"].rules_version == "2027-04-01"


# -- the command ----------------------------------------------------------------------------------


def run(*args, stdin=None):
    out, err = io.StringIO(), io.StringIO()
    call_command("incidents", "obligations", *args, stdout=out, stderr=err, stdin=stdin)
    return out.getvalue(), err.getvalue()


def test_command_prints_exactly_the_contract_as_json(tmp_path):
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(BASE | {"personal_data": True, "persons_affected": 1001}), encoding="utf-8")
    out, err = run("--facts", str(path), "--json")
    data = json.loads(out)
    assert list(data) == ["obligations"] and err == ""
    assert all(tuple(entry) == CONTRACT_KEYS for entry in data["obligations"])
    assert data["obligations"][:3] == [
        {
            "id": "partners-share",
            "authority": "partners",
            "kind": "share",
            "due": "2026-12-02T10:00:00+09:00",
            "basis": rule_in(builtin(), "partners-share")["basis"]["text"],
        },
        {
            "id": "ppc-preliminary",
            "authority": "ppc",
            "kind": "report",
            "due": "2026-12-03T23:59:59+09:00",
            "basis": rule_in(builtin(), "ppc-preliminary")["basis"]["text"],
        },
        {
            "id": "ppc-final",
            "authority": "ppc",
            "kind": "report",
            "due": "2026-12-30T23:59:59+09:00",
            "basis": rule_in(builtin(), "ppc-final")["basis"]["text"],
        },
    ]
    assert [entry["due"] for entry in data["obligations"][3:]] == [None, None]


def test_command_reads_standard_input_and_writes_a_table():
    out, _err = run("--facts", "-", "--lang", "en", stdin=io.StringIO(json.dumps(BASE | {"malware": True})))
    lines = out.splitlines()
    assert lines[0] == "Rules version 2026-12-01; times in Asia/Tokyo."
    assert lines[1].split() == ["Due", "Kind", "To", "Obligation"]
    assert lines[2].startswith("2026-12-02 10:00  ") and lines[2].endswith(
        "Share with the supply-chain partners who may be affected"
    )
    assert lines[3].strip().startswith("Basis: 経済産業省 基本行動指針")
    assert any(line.startswith("promptly (no fixed deadline)") and "IPA" in line for line in lines)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"aware_at": "2026-12-01T10:00:00",\n  "personal_data": tru}',
            "standard input is not valid JSON (line 2, column 20): Expecting value",
        ),
        ("", "standard input is not valid JSON (line 1, column 1): Expecting value"),
        ("[1, 2]", "The facts must be a JSON object (names and values)."),
        (json.dumps(BASE | {"aware": "now"}), "Unknown fact(s): aware. Known facts: aware_at, "),
        (
            json.dumps(BASE | {"persons_affected": "many"}),
            "persons_affected must be a whole number of 0 or more.",
        ),
    ],
)
def test_command_rejects_bad_input_with_a_clear_message(text, message):
    with pytest.raises(CommandError) as caught:
        run("--facts", "-", "--json", "--lang", "en", stdin=io.StringIO(text))
    assert str(caught.value).startswith(message)


def test_command_says_when_the_file_cannot_be_read(tmp_path):
    with pytest.raises(CommandError, match=r"^Cannot read .*nope\.json: No such file or directory$"):
        run("--facts", str(tmp_path / "nope.json"), "--lang", "en")
    latin = tmp_path / "latin.json"
    latin.write_bytes('{"aware_at": "é"}'.encode("latin-1"))
    with pytest.raises(CommandError, match="is not UTF-8 text"):
        run("--facts", str(latin), "--lang", "en")


def test_command_messages_follow_lang():
    data = json.dumps({k: v for k, v in BASE.items() if k != "personal_data"})
    with pytest.raises(CommandError) as english:
        run("--facts", "-", "--lang", "en", stdin=io.StringIO(data))
    with pytest.raises(CommandError) as japanese:
        run("--facts", "-", "--lang", "ja", stdin=io.StringIO(data))
    assert str(english.value) == "personal_data is missing."
    # Japanese once the catalog is compiled; either way it names the fact.
    assert "personal_data" in str(japanese.value)
    with translation.override("ja"):
        assert str(japanese.value) == gettext("%(name)s is missing.") % {"name": "personal_data"}


def test_program_reads_facts_on_stdin_and_reports_errors_on_stderr(tmp_path):
    # A real process, as a user's script runs it: python -m renkei incidents obligations --facts - --json
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENKEI_")}
    env["RENKEI_HOME"] = str(tmp_path / "home")
    command = [sys.executable, "-m", "renkei", "incidents", "obligations", "--facts", "-", "--json"]
    good = json.dumps(
        BASE | {"personal_data": True, "unauthorized_access": True, "aware_at": "2026-12-01T10:00"}
    )
    done = subprocess.run(
        command, input=good, env=env, capture_output=True, text=True, check=False, timeout=120
    )
    assert (done.returncode, done.stderr) == (0, "")
    data = json.loads(done.stdout)
    assert {tuple(entry) for entry in data["obligations"]} == {CONTRACT_KEYS}
    assert {e["id"]: e["due"] for e in data["obligations"]}["ppc-final"] == "2027-01-29T23:59:59+09:00"
    failed = subprocess.run(
        [*command, "--lang", "en"],
        input='{"aware_at": ',
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert failed.returncode == 1 and failed.stdout == ""
    assert "standard input is not valid JSON (line 1, column 14)" in failed.stderr


def test_changing_the_data_after_parsing_does_not_change_the_rules():
    data = builtin()
    rules = parse_rules(data)
    rule_in(data, "partners-share")["due"]["hours"] = 1
    rule_in(data, "partners-share")["when"] = {"fact": "malware", "is": True}
    share = {o.id: o for o in evaluate(facts(), rules)}["partners-share"]
    assert share.due.isoformat() == "2026-12-02T10:00:00+09:00"
