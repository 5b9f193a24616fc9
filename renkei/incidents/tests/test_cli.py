"""`renkei incidents list|export|warn` (the obligations action has its own tests)."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from renkei.audit.services import Actor
from renkei.incidents import services
from renkei.incidents.tests.test_incidents import _intake

pytestmark = pytest.mark.django_db


def _run(*args):
    out = io.StringIO()
    call_command("incidents", *args, stdout=out)
    return out.getvalue()


def test_list_prints_incidents_with_their_obligations(world):
    incident = services.report(Actor(user=world.supplier1), world.s1, _intake(persons_affected="2000"))
    data = json.loads(_run("list", "--organization", "buyer", "--json"))
    [row] = data["incidents"]
    assert row["number"] == incident.number and row["supplier"] == "S1"
    assert row["open_obligations"] >= 2 and row["overdue_obligations"] == 0
    assert row["next_due"] is not None
    assert json.loads(_run("list", "--organization", "other", "--json")) == {"incidents": []}
    assert incident.number in _run("list", "--organization", "buyer")
    with pytest.raises(CommandError, match="--organization"):
        _run("list")
    with pytest.raises(CommandError):
        _run("list", "--organization", "buyer", "--status", "bogus")


def test_export_writes_the_workbook_and_refuses_unknown_numbers(world, tmp_path):
    incident = services.report(Actor(user=world.supplier1), world.s1, _intake())
    target = tmp_path / "report.xlsx"
    data = json.loads(_run("export", incident.number, str(target), "--organization", "buyer", "--json"))
    assert data["bytes"] == target.stat().st_size > 0
    book = openpyxl.load_workbook(target)
    assert any(incident.number in str(cell.value) for row in book.worksheets[0].iter_rows() for cell in row)
    with pytest.raises(CommandError, match="INC-1999-0001"):
        _run("export", "INC-1999-0001", str(target), "--organization", "buyer")
    with pytest.raises(CommandError):
        _run("export", incident.number, str(tmp_path / "report.docx"), "--organization", "buyer")
    # Another organization's number is not found there.
    with pytest.raises(CommandError):
        _run("export", incident.number, str(target), "--organization", "other")


def test_warn_reports_what_it_sent(world, smtp):
    data = json.loads(_run("warn", "--json"))
    assert set(data) >= {"warned", "stages", "mails", "failed", "retry"}
