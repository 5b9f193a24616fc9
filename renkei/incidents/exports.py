"""One incident as a file for the 個人情報保護委員会 report and the record (docs/incidents.md, "Export").

    incident_workbook(incident, *, language) -> bytes   .xlsx: 報告書, 対応期限, 時系列, 影響範囲
    incident_pdf(incident, *, language) -> bytes        A4 PDF with the same content
    export_to(incident, path, *, language="ja") -> Path  by the suffix of PATH (.xlsx or .pdf)

The caller has checked access (renkei.incidents.views_export; the CLI). The report items are the
nine of 個人情報の保護に関する法律施行規則 第8条第1項, labelled with the regulation's own words in
Japanese (a translator's paraphrase would not be the form's item), so they are a fixed table here
rather than gettext messages; every other label follows LANGUAGE. Times are Japan time
(Asia/Tokyo), the time the PPC's deadlines are counted in, whatever the installation's time zone.
The data is read in four queries (the incident's organization and supplier are expected to be
selected with it) whatever the length of the timeline.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from renkei.incidents.models import (
    AffectedItem,
    Category,
    Event,
    EventKind,
    Incident,
    ItemOrigin,
    Obligation,
    ObligationStatus,
    Severity,
    Source,
    Status,
)

TOKYO = ZoneInfo("Asia/Tokyo")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_CONTENT_TYPE = "application/pdf"

Value = str | int | datetime.datetime | None

# 個人情報の保護に関する法律施行規則 第8条第1項 第1号〜第9号 (the items of 別記様式第一).
PPC_ITEMS: tuple[tuple[str, str, str], ...] = (
    ("1", "概要", "Overview"),
    (
        "2",
        "漏えい等が発生し、又は発生したおそれがある個人データの項目",
        "Items of the personal data leaked, lost or damaged, or possibly so",
    ),
    (
        "3",
        "漏えい等が発生し、又は発生したおそれがある個人データに係る本人の数",
        "Number of people whose personal data was, or may have been, leaked, lost or damaged",
    ),
    ("4", "原因", "Cause"),
    (
        "5",
        "二次被害又はそのおそれの有無及びその内容",
        "Whether there is secondary harm or a risk of it, and what it is",
    ),
    ("6", "本人への対応の実施状況", "Status of the response to the people affected"),
    ("7", "公表の実施状況", "Status of publication"),
    ("8", "再発防止のための措置", "Measures to prevent recurrence"),
    ("9", "その他参考となる事項", "Other matters for reference"),
)
# The Incident field that answers each item (item 1 also shows the current state and systems).
PPC_FIELDS = {
    "1": "description",
    "2": "data_text",
    "3": "persons_affected",
    "4": "cause",
    "5": "secondary_harm",
    "6": "response_to_persons",
    "7": "publication",
    "8": "recurrence_prevention",
    "9": "lessons",
}
# Fixed words of the form: the sheet names are what a Japanese reader of the file looks for.
WORDS = {
    "ja": {
        "heading": "個人データの漏えい等報告",
        "items": "報告事項（個人情報の保護に関する法律施行規則 第8条第1項）",
        "facts": "報告対象事態の判断に用いた事実",
        "report": "報告書",
        "obligations": "対応期限",
        "timeline": "時系列",
        "affected": "影響範囲",
    },
    "en": {
        "heading": "Report of a personal data breach",
        "items": "Items of the report (APPI Enforcement Rules, Article 8(1))",
        "facts": "Facts used to decide whether it must be reported",
        "report": "Report",
        "obligations": "Deadlines",
        "timeline": "Timeline",
        "affected": "Affected",
    },
}
FACT_FIELDS = (
    "personal_data",
    "sensitive_personal_data",
    "financial_harm_possible",
    "unauthorized_access",
    "export_controlled_tech",
    "we_are_contractor",
    "regulated_sector",
)


@dataclass(frozen=True)
class Sheet:
    """A table: a worksheet in the workbook, a table with a heading in the PDF."""

    title: str
    headers: list[str]
    # Column widths in Excel characters; the PDF divides the page width in the same proportions.
    widths: list[float]
    rows: list[list[Value]] = field(default_factory=list)
    # Points on the A4 page where Excel's proportions would squeeze a column (None: the same).
    pdf_widths: list[float] | None = None


@dataclass(frozen=True)
class Line:
    """One line of the report sheet: an item number (or ""), its label and its value."""

    number: str
    label: str
    value: Value
    section: bool = False  # a heading line between the parts of the report


@dataclass(frozen=True)
class Report:
    number: str
    title: str
    heading: str
    language: str
    generated_at: datetime.datetime
    report_title: str
    report_headers: list[str]
    lines: list[Line]
    tables: list[Sheet]
    missing: str  # what the PDF shows for an item not filled in yet

    @property
    def filename_stem(self) -> str:
        return self.number or "incident"


def tokyo(moment: datetime.datetime | None) -> datetime.datetime | None:
    return None if moment is None else timezone.localtime(moment, TOKYO)


def _words(language: str) -> dict[str, str]:
    return WORDS["en"] if language.startswith("en") else WORDS["ja"]


def _label(model: type, name: str) -> str:
    return capfirst(str(model._meta.get_field(name).verbose_name))


def _choice(choices: Any, value: str) -> str:
    if not value:
        return ""
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


def _person(user: Any, fallback: str = "") -> str:
    if user is None:
        return fallback
    return user.get_full_name() or fallback or user.get_username()


def build_report(incident: Incident, *, language: str) -> Report:
    """Everything the files show, in LANGUAGE; both renderers read only this."""
    with translation.override(language):
        words = _words(language)
        lines = _header_lines(incident, words)
        lines += _item_lines(incident, words, language)
        return Report(
            number=incident.number,
            title=incident.title,
            heading=words["heading"],
            language=language,
            generated_at=timezone.localtime(timezone.now(), TOKYO),
            report_title=words["report"],
            report_headers=[
                pgettext("incident export", "No."),
                pgettext("incident export", "Item"),
                pgettext("incident export", "Content"),
            ],
            lines=lines,
            tables=[_obligations(incident, words), _timeline(incident, words), _affected(incident, words)],
            missing=_("(not entered yet)"),
        )


def _header_lines(incident: Incident, words: dict[str, str]) -> list[Line]:
    supplier = incident.supplier
    reporter = " ".join(
        p
        for p in (incident.reporter_name, f"<{incident.reporter_email}>" if incident.reporter_email else "")
        if p
    )
    organization = incident.organization
    org_name = (
        organization.name_en
        if translation.get_language() == "en" and organization.name_en
        else organization.name
    )
    facts: list[tuple[str, Value]] = [
        (_label(Incident, "number"), incident.number),
        (pgettext("incident export", "Title"), incident.title),
        (_label(Incident, "organization"), org_name),
        (_label(Incident, "supplier"), f"{supplier.code} {supplier.name}" if supplier else ""),
        (_label(Incident, "source"), _choice(Source, incident.source)),
        (_label(Incident, "reporter_name"), reporter),
        (_label(Incident, "detected_at"), tokyo(incident.detected_at)),
        (_label(Incident, "aware_at"), tokyo(incident.aware_at)),
        (_label(Incident, "category"), _choice(Category, incident.category)),
        (_label(Incident, "severity"), _choice(Severity, incident.severity)),
        (_label(Incident, "status"), _choice(Status, incident.status)),
    ]
    if incident.closed_at:
        facts.append((_label(Incident, "closed_at"), tokyo(incident.closed_at)))
    lines = [Line("", label, value) for label, value in facts]
    lines.append(Line("", words["facts"], None, section=True))
    lines += [Line("", _label(Incident, name), _yes_no(getattr(incident, name))) for name in FACT_FIELDS]
    return lines


def _item_lines(incident: Incident, words: dict[str, str], language: str) -> list[Line]:
    english = language.startswith("en")
    lines = [Line("", words["items"], None, section=True)]
    for number, label_ja, label_en in PPC_ITEMS:
        value: Value = getattr(incident, PPC_FIELDS[number])
        if number == "3" and value is None:
            value = pgettext("persons affected", "Not yet known")
        lines.append(Line(number, label_en if english else label_ja, value))
        if number == "1":
            lines.append(Line("", _label(Incident, "current_state"), incident.current_state))
            lines.append(Line("", _label(Incident, "systems_text"), incident.systems_text))
    return lines


def _obligations(incident: Incident, words: dict[str, str]) -> Sheet:
    from renkei.incidents.obligations import AUTHORITIES, KINDS

    english = (translation.get_language() or "").startswith("en")
    sheet = Sheet(
        words["obligations"],
        [
            pgettext("incident export", "Authority"),
            pgettext("incident export", "Kind"),
            pgettext("incident export", "Title"),
            pgettext("incident export", "Due"),
            pgettext("incident export", "Owner"),
            pgettext("incident export", "Status"),
            pgettext("incident export", "Basis"),
            pgettext("incident export", "Done"),
            pgettext("incident export", "Note"),
        ],
        [30, 14, 44, 18, 18, 16, 50, 18, 40],
        pdf_widths=[60, 40, 80, 56, 42, 42, 104, 40, 40],
    )
    rows = Obligation.objects.filter(incident=incident).select_related("owner")
    for row in rows:
        status = (
            _("Withdrawn: the facts no longer call for it")
            if row.withdrawn
            else _choice(ObligationStatus, row.status)
        )
        sheet.rows.append(
            [
                str(AUTHORITIES.get(row.authority, row.authority)),
                str(KINDS.get(row.kind, row.kind)),
                (row.title_en or row.title_ja) if english else row.title_ja,
                tokyo(row.due_at) if row.due_at else _("Promptly (no fixed deadline)"),
                _person(row.owner),
                status,
                row.basis,
                tokyo(row.done_at),
                row.note,
            ]
        )
    return sheet


def _timeline(incident: Incident, words: dict[str, str]) -> Sheet:
    sheet = Sheet(
        words["timeline"],
        [
            pgettext("incident export", "When"),
            pgettext("incident export", "Kind"),
            pgettext("incident export", "Who"),
            pgettext("incident export", "Text"),
            pgettext("incident export", "Attachment"),
        ],
        [22, 16, 18, 76, 22],
    )
    for event in Event.objects.filter(incident=incident).select_related("user").order_by("at", "pk"):
        sheet.rows.append(
            [
                tokyo(event.at),
                _choice(EventKind, event.kind),
                _person(event.user, event.actor_label),
                event.text,
                event.attachment_name or (event.attachment.name if event.attachment else ""),
            ]
        )
    return sheet


EFFECTS = {
    "compromised": lambda: pgettext("impact effect", "Compromised"),
    "stops": lambda: pgettext("impact effect", "Stops"),
    "degraded": lambda: pgettext("impact effect", "Affected"),
}


def _affected(incident: Incident, words: dict[str, str]) -> Sheet:
    from renkei.graph.choices import NodeKind

    sheet = Sheet(
        words["affected"],
        [
            pgettext("incident export", "Kind"),
            pgettext("incident export", "Name"),
            pgettext("incident export", "Effect"),
            pgettext("incident export", "Hops"),
            pgettext("incident export", "Origin"),
            pgettext("incident export", "Excluded"),
        ],
        [18, 50, 14, 8, 24, 10],
    )
    for item in AffectedItem.objects.filter(incident=incident):
        effect = EFFECTS.get(item.effect)
        sheet.rows.append(
            [
                _choice(NodeKind, item.kind),
                item.name,
                effect() if effect else item.effect,
                item.hops,
                _choice(ItemOrigin, item.origin),
                _yes_no(item.excluded),
            ]
        )
    return sheet


# --- Files --------------------------------------------------------------------------------------


def incident_workbook(incident: Incident, *, language: str) -> bytes:
    from renkei.incidents.export_xlsx import render

    return render(build_report(incident, language=language))


def incident_pdf(incident: Incident, *, language: str) -> bytes:
    from renkei.incidents.export_pdf import render

    return render(build_report(incident, language=language))


EXPORTERS = {".xlsx": incident_workbook, ".pdf": incident_pdf}


def export_to(incident: Incident, path: str | Path, *, language: str = "ja") -> Path:
    """Write the export chosen by PATH's suffix (.xlsx or .pdf); ValueError for any other."""
    target = Path(path)
    exporter = EXPORTERS.get(target.suffix.lower())
    if exporter is None:
        raise ValueError(f"unknown export format {target.suffix!r}: use .xlsx or .pdf")
    target.write_bytes(exporter(incident, language=language))
    return target
