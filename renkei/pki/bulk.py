"""Bulk enrollment: a CSV of users (and devices) becomes a batch of enrollment links.

The file: UTF-8 with or without BOM, or Shift_JIS (cp932) as Excel saves it in Japan; at most
MAX_BYTES and MAX_ROWS data rows. The first line names the columns (any order, any case;
Japanese names accepted):

    username (ユーザー名, ログインID)  required  the user's login ID
    profile  (プロファイル)             required  client, device, smime, signing, test
    device   (端末名, 端末, デバイス)    optional  the device name (required by the device profile)
    method   (方式)                     optional  pkcs12 (default) or csr
    legacy   (互換)                     optional  yes/1/はい: PKCS#12 for older importers
    email    (メールアドレス, メール)    optional  a check, not an override: when given it must be
                                                  the account's own address

The link always goes to the address of the user's account: a CSV cannot send someone's
certificate to another mailbox, and a row whose `email` differs from the account (a wrong user
picked, an outdated list) is refused instead of silently going elsewhere.

Every row is checked first (`plan`) and every problem reported with its row number (the header
is row 1, as Excel numbers them) and column; only a file without problems creates links, all in
one transaction (`create_batch`), then the mails go out. A mail that fails withdraws its link and
is reported; the others stand.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from renkei.accounts.models import Membership, Organization, User
from renkei.audit.services import Actor
from renkei.pki import enrollment
from renkei.pki.ca import issuing_ca
from renkei.pki.choices import Method
from renkei.pki.enrollment import LinkRequest
from renkei.pki.keystore import PkiError

MAX_ROWS = 5000
MAX_BYTES = 2 * 1024 * 1024

COLUMNS: dict[str, tuple[str, ...]] = {
    "username": ("username", "user", "login", "ユーザー名", "ユーザー", "ログインid", "ログイン id"),
    "profile": ("profile", "プロファイル"),
    "device": ("device", "device_name", "端末名", "端末", "デバイス"),
    "method": ("method", "方式"),
    "legacy": ("legacy", "legacy_pkcs12", "互換"),
    "email": ("email", "e-mail", "mail", "メールアドレス", "メール"),
}
REQUIRED = ("username", "profile")
YES = {"1", "yes", "y", "true", "on", "はい", "○", "◯"}
NO = {"", "0", "no", "n", "false", "off", "いいえ", "×", "-"}
METHODS = {
    "pkcs12": Method.PKCS12,
    "p12": Method.PKCS12,
    "pkcs#12": Method.PKCS12,
    "pfx": Method.PKCS12,
    "csr": Method.CSR,
}
# What check_link's field names are called in the file.
FIELD_COLUMN = {
    "user": "username",
    "profile": "profile",
    "device": "device",
    "method": "method",
    "legacy": "legacy",
    "key_type": "method",
}


@dataclass(frozen=True)
class RowError:
    row: int  # as Excel numbers it: the header is row 1
    column: str
    message: str

    def __str__(self) -> str:
        if not self.column:
            return _("Row %(row)d: %(message)s") % {"row": self.row, "message": self.message}
        return _("Row %(row)d (%(column)s): %(message)s") % {
            "row": self.row,
            "column": self.column,
            "message": self.message,
        }

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


class BulkError(PkiError):
    """The file was refused; ERRORS lists every problem found."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.row_errors = errors


@dataclass
class Plan:
    """The checked file: one LinkRequest per data row (with its row number), or the errors."""

    rows: list[tuple[int, LinkRequest]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    text: str = ""  # the file as decoded (UTF-8), to confirm a preview without a second upload


@dataclass
class BatchResult:
    batch: str
    links: list[Any]
    failed: list[tuple[int, Any]]  # (row, link) whose mail could not be sent (link withdrawn)

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch": self.batch,
            "created": len(self.links),
            "mailed": len(self.links) - len(self.failed),
            "failed": [{"row": row, "user": link.user.username, "id": link.pk} for row, link in self.failed],
        }


def refused(row: int, message: str) -> BulkError:
    """A file-level refusal at ROW."""
    return BulkError([RowError(row, "", message)])


def decode(data: bytes) -> str:
    """UTF-8 (a BOM is dropped) or, failing that, cp932; BulkError otherwise."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise refused(
            1, _("The file is UTF-16 (Excel's “Unicode text”). Save it as “CSV UTF-8” or “CSV” instead.")
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp932")
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        message = _("The file is neither UTF-8 nor Shift_JIS (near row %(row)d). Save it as “CSV UTF-8”.")
        raise refused(row, message % {"row": row}) from None


def _header(cells: list[str]) -> tuple[dict[str, int], list[RowError]]:
    aliases = {alias.lower(): name for name, names in COLUMNS.items() for alias in names}
    positions: dict[str, int] = {}
    errors = []
    for index, cell in enumerate(cells):
        label = " ".join(cell.split()).lower()
        if not label:
            continue
        name = aliases.get(label)
        if name is None:
            errors.append(
                RowError(
                    1,
                    cell.strip(),
                    _("Unknown column “%(column)s” (columns: %(columns)s).")
                    % {"column": cell.strip(), "columns": ", ".join(COLUMNS)},
                )
            )
        elif name in positions:
            errors.append(
                RowError(1, cell.strip(), _("The column %(column)s appears twice.") % {"column": name})
            )
        else:
            positions[name] = index
    for name in REQUIRED:
        if name not in positions:
            errors.append(RowError(1, name, _("The column %(column)s is missing.") % {"column": name}))
    return positions, errors


def read(data: bytes) -> tuple[str, list[tuple[int, dict[str, str]]]]:
    """(text, [(row number, {column: value})]) of a CSV file; BulkError for file-level problems."""
    if len(data) > MAX_BYTES:
        message = _(
            "The file is %(size)s bytes; at most %(max)s bytes (2 MB) are accepted. Split it into "
            "several files."
        )
        raise refused(1, message % {"size": f"{len(data):,}", "max": f"{MAX_BYTES:,}"})
    text = decode(data)
    if "\x00" in text:
        raise refused(1, _("The file is not a CSV text file."))
    records = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(records, None)
        if header is None or not any(cell.strip() for cell in header):
            raise refused(1, _("The file is empty: the first row must name the columns."))
        positions, errors = _header(header)
        if errors:
            raise BulkError(errors)
        rows = []
        for number, cells in enumerate(records, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= MAX_ROWS:
                message = _("The file has more than %(max)s rows; split it into several files.")
                raise refused(number, message % {"max": f"{MAX_ROWS:,}"})
            values = {name: (cells[i].strip() if i < len(cells) else "") for name, i in positions.items()}
            rows.append((number, values))
    except csv.Error as exc:
        raise refused(
            records.line_num or 1, _("The CSV is malformed: %(detail)s.") % {"detail": exc}
        ) from None
    if not rows:
        raise refused(2, _("The file has no rows below the header."))
    return text, rows


def _users(names: set[str]) -> dict[str, User]:
    wanted = names | {name.lower() for name in names}
    return {user.username: user for user in User.objects.filter(username__in=wanted)}


def _belonging(organization: Organization, users: list[User]) -> set[int]:
    from renkei.suppliers.models import Contact

    ids = [user.pk for user in users]
    staff = Membership.objects.filter(organization=organization, user_id__in=ids).values_list(
        "user_id", flat=True
    )
    contacts = Contact.objects.filter(
        user_id__in=ids, portal_access=True, supplier__organization=organization
    ).values_list("user_id", flat=True)
    return set(staff) | set(contacts)


def plan(organization: Organization, data: bytes) -> Plan:
    """Check DATA completely for ORGANIZATION without writing anything (a constant number of
    queries whatever the size)."""
    try:
        text, rows = read(data)
    except BulkError as exc:
        return Plan(errors=exc.row_errors)
    result = Plan(text=text)
    try:
        issuing_ca(organization)
    except PkiError as exc:
        result.errors.append(RowError(1, "", exc.message))
        return result
    users = _users({values["username"] for _row, values in rows if values["username"]})
    belongs = _belonging(organization, list(users.values()))
    seen: dict[tuple[int, str, str], int] = {}
    for number, values in rows:
        error = _row(organization, number, values, users=users, belongs=belongs, seen=seen, result=result)
        if error is not None:
            result.errors.append(error)
    return result


def _row(
    organization: Organization,
    number: int,
    values: dict[str, str],
    *,
    users: dict[str, User],
    belongs: set[int],
    seen: dict[tuple[int, str, str], int],
    result: Plan,
) -> RowError | None:
    username = values["username"]
    if not username:
        return RowError(number, "username", _("The login ID is empty."))
    user = users.get(username) or users.get(username.lower())
    if user is None:
        return RowError(number, "username", _("No user “%(username)s” was found.") % {"username": username})
    method = METHODS.get(values.get("method", "").lower() or "pkcs12")
    if method is None:
        return RowError(
            number, "method", _("Unknown method “%(method)s” (pkcs12 or csr).") % {"method": values["method"]}
        )
    legacy_text = values.get("legacy", "").lower()
    if legacy_text not in YES | NO:
        return RowError(
            number, "legacy", _("Write yes or no, not “%(value)s”.") % {"value": values["legacy"]}
        )
    email = values.get("email", "")
    if email and email.lower() != (user.email or "").strip().lower():
        return RowError(
            number,
            "email",
            _(
                "“%(email)s” is not the address of the user %(username)s; the link is always sent to the "
                "account's own address. Check that the row names the right user."
            )
            % {"email": email, "username": user.username},
        )
    if not values.get("profile"):
        return RowError(number, "profile", _("The profile is empty."))
    try:
        request = enrollment.check_link(
            organization,
            user,
            values["profile"],
            method,
            device_name=values.get("device", ""),
            legacy=legacy_text in YES,
            belongs=user.pk in belongs,
        )
    except PkiError as exc:
        column = FIELD_COLUMN.get(next(iter(exc.errors), ""), "")
        return RowError(number, column, exc.message)
    key = (user.pk, request.profile.name, request.device_name)
    if key in seen:
        return RowError(
            number, "username", _("The same user, profile and device as row %(row)d.") % {"row": seen[key]}
        )
    seen[key] = number
    result.rows.append((number, request))
    return None


def default_batch_label() -> str:
    return timezone.localtime().strftime("bulk-%Y%m%d-%H%M%S")


def create_batch(
    actor: Actor,
    organization: Organization,
    data: bytes,
    *,
    batch: str = "",
    days: int = enrollment.LINK_DAYS,
    send: bool = True,
) -> BatchResult:
    """Check DATA, then create every link in one transaction and mail them. BulkError (nothing
    created) if any row has a problem."""
    enrollment.require_manager(actor, organization)
    days = enrollment.clean_days(days)
    batch = enrollment.clean_batch(batch) or default_batch_label()
    checked = plan(organization, data)
    if checked.errors:
        raise BulkError(checked.errors)
    made = enrollment.create_links(
        actor, organization, [request for _row, request in checked.rows], days, batch
    )
    failed = []
    if send:
        for (number, _request), (link, token) in zip(checked.rows, made, strict=True):
            if not enrollment.send_link(link, token):
                enrollment.revoke_link(actor, link)
                failed.append((number, link))
    return BatchResult(batch, [link for link, _token in made], failed)
