"""`renkei assessments create|show|answer|submit`: exact JSON shapes, errors on stderr, exit 1."""

import io
import json
import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from renkei.questionnaires.models import Assessment
from renkei.questionnaires.tests.helpers import load, small

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("assessments", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_prints_the_id_and_resolves_the_builtin_template(world):
    out, _ = run("create", "--supplier", "S1", "--template", "scrm-sheet", "--organization", "buyer",
                 "--due", "2030-04-30", "--json")
    data = json.loads(out)
    assessment = Assessment.objects.get()
    assert data["id"] == assessment.pk
    assert data == {"id": assessment.pk, "supplier": "S1", "template": "scrm-sheet", "version": 1,
                    "status": "not_started"}
    assert assessment.due_on.isoformat() == "2030-04-30" and assessment.template.is_locked


def test_create_prefers_the_organizations_latest_version(world):
    load(small(key="scrm-sheet"), world.buyer)
    own = load(small(key="scrm-sheet", name="改訂"), world.buyer).template
    out, _ = run("create", "--supplier", "S2", "--template", "scrm-sheet", "--organization", "buyer",
                 "--json")
    assert Assessment.objects.get(pk=json.loads(out)["id"]).template == own


def test_show_json_shape(world):
    out, _ = run("create", "--supplier", "S1", "--template", "scrm-sheet", "--organization", "buyer",
                 "--json")
    pk = json.loads(out)["id"]
    data = json.loads(run("show", str(pk), "--json")[0])
    assert data["id"] == pk and data["status"] == "not_started" and data["score"] is None
    assert data["answers"] == []
    run("answer", str(pk), "P-01", "○", "--comment", "方針あり")
    run("answer", str(pk), "P-03", "×")
    run("answer", str(pk), "C-01", "いいえ")
    data = json.loads(run("show", str(pk), "--json")[0])
    assert data["status"] == "in_progress" and data["score"] == 33.3
    assert data["answers"] == [
        {"item": "C-01", "value": {"held": False, "kind": "", "number": "", "expires_on": None},
         "comment": ""},
        {"item": "P-01", "value": "done", "comment": "方針あり"},
        {"item": "P-03", "value": "not_done", "comment": ""},
    ]
    assert data["critical_failures"] == ["P-03"]
    assert (data["supplier"], data["template"], data["version"]) == ("S1", "scrm-sheet", 1)
    assert data["sections"] == {"certifications": 0.0, "protection": 50.0, "cybersecurity": None}
    text, _ = run("show", str(pk))
    assert "P-03" in text


@pytest.mark.parametrize("args,message", [
    (["create", "--supplier", "NOPE", "--template", "scrm-sheet", "--organization", "buyer"],
     "NOPE"),
    (["create", "--supplier", "S1", "--template", "nothing", "--organization", "buyer"], "nothing"),
    (["create", "--supplier", "S1", "--template", "scrm-sheet", "--organization", "buyer",
      "--due", "31/4/2030"], "YYYY-MM-DD"),
    (["show", "999999", "--json"], "999999"),
])
def test_errors(world, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args, "--lang", "en")


def test_second_open_assessment_and_bad_answer_are_refused(world):
    pk = json.loads(run("create", "--supplier", "S1", "--template", "scrm-sheet",
                        "--organization", "buyer", "--json")[0])["id"]
    with pytest.raises(CommandError, match="already has an open"):
        run("create", "--supplier", "S1", "--template", "scrm-sheet", "--organization", "buyer",
            "--lang", "en")
    with pytest.raises(CommandError, match="○ Done"):
        run("answer", str(pk), "P-01", "maybe", "--lang", "en")
    with pytest.raises(CommandError, match="P-01"):
        run("submit", str(pk), "--lang", "en")


def test_real_process_exit_status_and_stderr(tmp_path):
    env = {**os.environ, "RENKEI_HOME": str(tmp_path), "RENKEI_DATABASE_URL": ""}
    subprocess.run([sys.executable, "-m", "renkei", "migrate", "-v0"], env=env, check=True)
    done = subprocess.run([sys.executable, "-m", "renkei", "assessments", "show", "5", "--json"],
                          check=False, env=env, capture_output=True, text=True)
    assert done.returncode == 1 and done.stdout == "" and "#5" in done.stderr
