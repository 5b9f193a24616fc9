"""`renkei assessments create|show|answer|submit` (docs/questionnaires.md).

    renkei assessments create --supplier CODE --template KEY [--organization SLUG]
                              [--due YYYY-MM-DD] [--json]          prints {"id": ...}
    renkei assessments show ID [--json]       status, score (0–100 or null), answers
    renkei assessments answer ID ITEM VALUE [--comment TEXT] [--json]
    renkei assessments submit ID [--json]

KEY is the latest version among the organization's templates, then the built-in ones. Messages
are Japanese unless --lang en is given; errors go to stderr with exit status 1.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.utils.translation import gettext as _

from renkei.audit.services import Actor
from renkei.core.management.base import RenkeiCommand, fail
from renkei.questionnaires.assessment_data import assessment_document, load_assessment
from renkei.questionnaires.assessments_services import (
    AssessmentError,
    create_assessment,
    latest_template,
    save_answer,
    submit,
)
from renkei.questionnaires.management.commands.templates import resolve_organization
from renkei.questionnaires.models import Assessment
from renkei.questionnaires.values import AnswerError
from renkei.suppliers.models import Supplier


def parse_due(text: str | None) -> datetime.date | None:
    if not text:
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError as exc:
        raise fail(_("--due must be a date as YYYY-MM-DD, not “%(value)s”.") % {"value": text}) from exc


class Command(RenkeiCommand):
    help = "Send questionnaires to suppliers, answer them and show them."

    def add_actions(self, subparsers: Any) -> None:
        create = subparsers.add_parser("create", help="Send a questionnaire to one supplier.")
        create.add_argument("--supplier", required=True, metavar="CODE", help="Supplier code.")
        create.add_argument("--template", required=True, metavar="KEY", help="Template key.")
        create.add_argument("--organization", metavar="SLUG",
                            help="The buyer organization; optional when there is only one.")
        create.add_argument("--due", metavar="YYYY-MM-DD", help="Due date.")
        show = subparsers.add_parser("show", help="Status, scores and answers of an assessment.")
        show.add_argument("id", type=int)
        answer = subparsers.add_parser("answer", help="Answer one item (validated as in the portal).")
        answer.add_argument("id", type=int)
        answer.add_argument("item", help="Item id, e.g. P-01.")
        answer.add_argument("value", help="The answer: ○ △ × はい 該当なし 2025-03-31 ...")
        answer.add_argument("--comment", help="A comment on the answer.")
        submission = subparsers.add_parser("submit", help="Submit an assessment.")
        submission.add_argument("id", type=int)


    def run(self, action: str, **options: Any) -> Any:
        try:
            if action == "create":
                return self.create(**options)
            assessment = load_assessment(options["id"])
            if assessment is None:
                raise fail(_("No assessment #%(id)d.") % {"id": options["id"]})
            if action == "answer":
                save_answer(Actor.cli(), assessment, options["item"], options["value"],
                            comment=options.get("comment"))
            elif action == "submit":
                submit(Actor.cli(), assessment)
            return assessment_document(load_assessment(assessment.pk))
        except (AssessmentError, AnswerError) as exc:
            raise fail(exc.message) from exc

    def create(self, **options: Any) -> dict[str, Any]:
        organization = resolve_organization(options.get("organization"), required=False)
        suppliers = Supplier.objects.filter(code=options["supplier"])
        if organization is not None:
            suppliers = suppliers.filter(organization=organization)
        found = list(suppliers.select_related("organization")[:2])
        if not found:
            raise fail(_("No supplier with code “%(code)s”.") % {"code": options["supplier"]})
        if len(found) > 1:
            raise fail(_("Several organizations have a supplier “%(code)s”: give --organization "
                         "SLUG.") % {"code": options["supplier"]})
        supplier = found[0]
        template = latest_template(supplier.organization_id, options["template"])
        if template is None:
            raise fail(_("No template “%(key)s” (see `renkei templates list`).")
                       % {"key": options["template"]})
        assessment = create_assessment(Actor.cli(), supplier, template,
                                       due_on=parse_due(options.get("due")))
        return {"id": assessment.pk, "supplier": supplier.code, "template": template.key,
                "version": template.version, "status": assessment.status}

    def render_text(self, action: str, data: Any) -> str:
        if action == "create":
            return _("Assessment #%(id)d: %(template)s v%(version)d sent to %(supplier)s.") % data
        score = "—" if data["score"] is None else f"{data['score']:.1f}"
        lines = [
            _("Assessment #%(id)d  %(supplier)s  %(template)s v%(version)d") % data,
            _("Status: %(status)s  Score: %(score)s") % {
                "status": dict(Assessment._meta.get_field("status").choices)[data["status"]],
                "score": score},
        ]
        if data["critical_failures"]:
            lines.append(_("Critical items answered ×: %(items)s")
                         % {"items": ", ".join(data["critical_failures"])})
        lines += [f"  {row['item']}: {row['value']}" for row in data["answers"]]
        return "\n".join(lines)
