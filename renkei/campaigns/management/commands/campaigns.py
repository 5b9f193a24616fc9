"""`renkei campaigns create|show|close` (docs/campaigns.md).

    renkei campaigns create --name N --template KEY --due YYYY-MM-DD [--organization SLUG]
        [--tier N] [--chain-type T] [--function F] [--relationship R] [--tag TAG] [--json]
        prints {"id", "assessments", "skipped"}
    renkei campaigns show ID [--json]     per-status counts and the completion rate
    renkei campaigns close ID [--json]    no more invitations or reminders (never reopened)
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from renkei.audit.services import Actor
from renkei.campaigns.models import Campaign
from renkei.campaigns.services import CampaignError, campaign_document, close_campaign, create_campaign
from renkei.core.management.base import RenkeiCommand, fail
from renkei.questionnaires.assessments_services import latest_template
from renkei.questionnaires.management.commands.assessments import parse_due
from renkei.questionnaires.management.commands.templates import resolve_organization


class Command(RenkeiCommand):
    help = "Send a questionnaire to many suppliers at once and follow its completion."

    def add_actions(self, subparsers: Any) -> None:
        create = subparsers.add_parser("create", help="Create a campaign.")
        create.add_argument("--name", required=True)
        create.add_argument("--template", required=True, metavar="KEY")
        create.add_argument("--due", required=True, metavar="YYYY-MM-DD")
        create.add_argument("--organization", metavar="SLUG")
        create.add_argument("--tier", type=int)
        create.add_argument("--chain-type", action="append", dest="chain_type", metavar="T")
        create.add_argument("--function", action="append", dest="business_function", metavar="F")
        create.add_argument("--relationship", action="append", metavar="R")
        create.add_argument("--tag")
        show = subparsers.add_parser("show", help="Per-status counts and completion rate.")
        show.add_argument("id", type=int)
        close = subparsers.add_parser(
            "close", help="Close a campaign: no more invitations or reminders.")
        close.add_argument("id", type=int)


    def run(self, action: str, **options: Any) -> Any:
        if action in ("show", "close"):
            campaign = Campaign.objects.select_related("organization", "template", "closed_by").filter(
                pk=options["id"]).first()
            if campaign is None:
                raise fail(_("No campaign #%(id)d.") % {"id": options["id"]})
            if action == "show":
                return campaign_document(campaign)
            campaign, changed = close_campaign(Actor.cli(), campaign)
            return {**campaign_document(campaign), "changed": changed}
        organization = resolve_organization(options.get("organization"), required=True)
        template = latest_template(organization.pk, options["template"])
        if template is None:
            raise fail(_("No template “%(key)s” (see `renkei templates list`).")
                       % {"key": options["template"]})
        due_on = parse_due(options["due"])
        selection = {name: options[name] for name in
                     ("tier", "chain_type", "business_function", "relationship", "tag")
                     if options.get(name) not in (None, [])}
        try:
            result = create_campaign(Actor.cli(), organization, name=options["name"],
                                     template=template, due_on=due_on, selection=selection)
        except CampaignError as exc:
            raise fail(exc.message) from exc
        return {"id": result.campaign.pk, "assessments": result.created, "skipped": result.skipped}

    def render_text(self, action: str, data: Any) -> str:
        if action == "create":
            return _("Campaign #%(id)d: %(n)d questionnaires sent, %(skipped)d suppliers skipped.") % {
                "id": data["id"], "n": data["assessments"], "skipped": len(data["skipped"])}
        if action == "close":
            if data["changed"]:
                return _("Campaign #%(id)d closed: no more invitations or reminders.") % {"id": data["id"]}
            return _("Campaign #%(id)d was already closed (%(when)s).") % {
                "id": data["id"], "when": data["closed_at"]}
        lines = [f"#{data['id']} {data['name']}  {data['template']} v{data['version']}  "
                 f"{_('Due date')} {data['due_on']}",
                 _("Completion: %(rate)s%% (%(done)d / %(total)d), overdue %(overdue)d") % {
                     "rate": data["completion_rate"], "done": data["completed"],
                     "total": data["targets"], "overdue": data["overdue"]}]
        lines += [f"  {status}: {n}" for status, n in data["counts"].items()]
        if data["closed_at"]:
            lines.append(_("Closed %(when)s by %(who)s") % {
                "when": data["closed_at"], "who": data["closed_by"] or "cli"})
        lines.append(_("Skipped %(skipped)d, without a contact %(none)d") % {
            "skipped": len(data["skipped"]), "none": data["no_contact"]})
        return "\n".join(lines)
