"""Bulk enrollment from a CSV: UTF-8 with BOM and Shift_JIS as Excel writes them, every problem
reported by row and column with nothing created, then one batch of links mailed through a real
SMTP server; the page's preview-then-create flow and `renkei pki enroll-bulk`."""

from __future__ import annotations

import base64
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import translation

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.core.errors import NotAllowed
from renkei.core.testing import make_user
from renkei.pki import bulk, enrollment
from renkei.pki.models import EnrollmentLink

pytestmark = pytest.mark.django_db

GOOD = (
    "ユーザー名,プロファイル,端末名,方式,互換,メールアドレス\r\n"
    "supplier1,client,PC-佐藤-01,,,supplier1@example.jp\r\n"
    "supplier2,device,PC-鈴木-02,csr,,\r\n"
    "admin,smime,,pkcs12,はい,\r\n"
)


def admin_actor(world):
    return Actor(user=world.admin, address="127.0.0.1", label="admin")


def errors_of(world, text: str, encoding: str = "utf-8") -> list[str]:
    with translation.override("en"):
        return [str(e) for e in bulk.plan(world.buyer, text.encode(encoding)).errors]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "cp932"])
def test_a_good_file_in_each_excel_encoding_makes_one_batch_and_mails_it(ca, world, smtp, encoding):
    result = bulk.create_batch(admin_actor(world), world.buyer, GOOD.encode(encoding), batch="2026年度 春")
    assert result.as_dict() == {"batch": "2026年度 春", "created": 3, "mailed": 3, "failed": []}
    links = {link.user.username: link for link in EnrollmentLink.objects.select_related("user")}
    assert set(links) == {"supplier1", "supplier2", "admin"}
    assert {link.batch for link in links.values()} == {"2026年度 春"}
    assert links["supplier1"].device_name == "PC-佐藤-01" and links["supplier1"].method == "pkcs12"
    assert links["supplier2"].method == "csr" and links["supplier2"].profile == "device"
    assert links["admin"].legacy_pkcs12 and links["admin"].profile == "smime"
    assert AuditEntry.objects.filter(object_type="pki.enrollmentlink", action="create").count() == 3
    for user in (world.supplier1, world.supplier2, world.admin):
        mails = smtp.to(user.email)
        assert len(mails) == 1
        token = re.search(r"/pki/enroll/([A-Za-z0-9_-]+)/", mails[0].text).group(1)
        assert enrollment.find_link(token) == links[user.username]


def test_every_problem_is_reported_by_row_and_column_and_nothing_is_created(ca, world, smtp):
    make_user("inactive", is_active=False)
    text = (
        "username,profile,device,method,legacy,email\n"
        "supplier1,client,,,,\n"  # row 2: fine
        "ghost,client,,,,\n"  # row 3
        "xcontact,client,,,,\n"  # row 4: the other buyer's contact
        "supplier2,device,,,,\n"  # row 5: no device
        "supplier2,server,,,,\n"  # row 6
        "supplier2,client,,fax,,\n"  # row 7
        "supplier2,client,,csr,yes,\n"  # row 8: legacy is for PKCS#12
        "supplier2,client,,,maybe,\n"  # row 9
        "supplier2,client,,,,someone@else.example.jp\n"  # row 10
        "supplier1,client,,,,\n"  # row 11: duplicate of row 2
        "inactive,client,,,,\n"  # row 12
        ",client,,,,\n"  # row 13
    )
    assert errors_of(world, text) == [
        "Row 3 (username): No user “ghost” was found.",
        "Row 4 (username): The user xcontact is neither staff of buyer nor a contact of one of its "
        "suppliers.",
        "Row 5 (device): The device profile needs a device name.",
        "Row 6 (profile): There is no profile server (profiles: client, device, smime, signing, test).",
        "Row 7 (method): Unknown method “fax” (pkcs12 or csr).",
        "Row 8 (legacy): The compatibility option applies to PKCS#12 links only.",
        "Row 9 (legacy): Write yes or no, not “maybe”.",
        "Row 10 (email): “someone@else.example.jp” is not the address of the user supplier2; the link is "
        "always sent to the account's own address. Check that the row names the right user.",
        "Row 11 (username): The same user, profile and device as row 2.",
        "Row 12 (username): The user does not exist or is inactive.",
        "Row 13 (username): The login ID is empty.",
    ]
    with pytest.raises(bulk.BulkError) as caught:
        bulk.create_batch(admin_actor(world), world.buyer, text.encode("cp932"))
    assert len(caught.value.row_errors) == 11 and caught.value.row_errors[0].as_dict() == {
        "row": 3,
        "column": "username",
        "message": caught.value.row_errors[0].message,
    }
    assert EnrollmentLink.objects.count() == 0 and not smtp.messages
    assert not AuditEntry.objects.filter(object_type="pki.enrollmentlink").exists()


def test_japanese_row_messages(ca, world):
    # The wording is translated with the catalog; the row and column are always there.
    errors = bulk.plan(world.buyer, b"username,profile\nsupplier1,client\nx,client\n").errors
    assert [(e.row, e.column) for e in errors] == [(3, "username")]
    assert "x" in errors[0].message


def test_file_level_problems(ca, world):
    assert errors_of(world, "") == ["Row 1: The file is empty: the first row must name the columns."]
    assert errors_of(world, "username,profile\n") == ["Row 2: The file has no rows below the header."]
    assert errors_of(world, "user,profil,device\nsupplier1,client,\n") == [
        "Row 1 (profil): Unknown column “profil” "
        "(columns: username, profile, device, method, legacy, email).",
        "Row 1 (profile): The column profile is missing.",
    ]
    assert errors_of(world, "username,username,profile\n") == [
        "Row 1 (username): The column username appears twice."
    ]
    utf16 = "username,profile\nsupplier1,client\n".encode("utf-16")
    assert "UTF-16" in str(bulk.plan(world.buyer, utf16).errors[0])
    assert errors_of(world, "") == ["Row 1: The file is empty: the first row must name the columns."]
    with translation.override("en"):
        garbled = bulk.plan(world.buyer, b"username,profile\nsupplier1,client\n\x82 x,client\n").errors
        garbled = [str(e) for e in garbled]
    assert garbled == [
        "Row 3: The file is neither UTF-8 nor Shift_JIS (near row 3). Save it as “CSV UTF-8”."
    ]
    with translation.override("en"):
        big = bulk.plan(world.buyer, b"username,profile\n" + b"x" * bulk.MAX_BYTES).errors
        assert "at most 2,097,152 bytes" in str(big[0])
        many = "username,profile\n" + "supplier1,client\n" * (bulk.MAX_ROWS + 1)
        assert str(bulk.plan(world.buyer, many.encode()).errors[0]) == (
            f"Row {bulk.MAX_ROWS + 2}: The file has more than 5,000 rows; split it into several files."
        )


def test_a_full_file_of_5000_rows_is_checked_with_a_constant_number_of_queries(
    ca, world, django_assert_max_num_queries
):
    rows = "".join(f"supplier1,device,PC-{i:05d}\n" for i in range(bulk.MAX_ROWS))
    with django_assert_max_num_queries(6):
        checked = bulk.plan(world.buyer, ("username,profile,device\n" + rows).encode())
    assert not checked.errors and len(checked.rows) == bulk.MAX_ROWS


def test_only_administrators_create_batches(ca, world):
    for user in (world.analyst, world.auditor, world.outsider):
        with pytest.raises(NotAllowed):
            bulk.create_batch(Actor(user=user, label=user.username), world.buyer, GOOD.encode())
    assert EnrollmentLink.objects.count() == 0


def test_a_mail_that_fails_withdraws_only_that_link(ca, world, smtp):
    # An address stored before validation that the mail library refuses to write.
    world.analyst.email = "<>@broken"
    world.analyst.save()
    text = "username,profile,device\nanalyst,device,PC-A\nadmin,device,PC-B\n"
    result = bulk.create_batch(admin_actor(world), world.buyer, text.encode(), batch="b")
    assert result.as_dict()["failed"] == [{"row": 2, "user": "analyst", "id": result.failed[0][1].pk}]
    assert result.as_dict()["mailed"] == 1 and len(smtp.messages) == 1
    assert EnrollmentLink.objects.get(user=world.analyst).revoked_at is not None
    assert EnrollmentLink.objects.get(user=world.admin).revoked_at is None


# --- The page -----------------------------------------------------------------------------------------


def test_the_page_previews_then_creates_from_the_checked_content(ca, world, smtp, client_for):
    client = client_for(world.admin)
    url = reverse("pki:link-bulk")
    assert client.get(url).status_code == 200
    bad = client.post(
        url,
        {
            "organization": world.buyer.pk,
            "days": 7,
            "file": SimpleUploadedFile("links.csv", "username,profile\nghost,client\n".encode("cp932")),
        },
    )
    assert bad.status_code == 400 and [e.row for e in bad.context["errors"]] == [2]
    assert 'id="bulk-errors"' in bad.content.decode()
    preview = client.post(
        url,
        {
            "organization": world.buyer.pk,
            "days": 7,
            "batch": "spring",
            "file": SimpleUploadedFile("links.csv", GOOD.encode("utf-8-sig")),
        },
    )
    assert preview.status_code == 200 and len(preview.context["plan"].rows) == 3
    assert EnrollmentLink.objects.count() == 0 and not smtp.messages
    confirm = preview.context["confirm"]
    assert base64.b64decode(confirm["content"]).decode() == GOOD.encode("utf-8-sig").decode("utf-8-sig")
    assert f'value="{confirm["content"]}"' in preview.content.decode()
    done = client.post(url, {**confirm, "confirm": "1"})
    assert done.status_code == 302 and "batch=spring" in done["Location"]
    assert EnrollmentLink.objects.filter(batch="spring").count() == 3 and len(smtp.messages) == 3
    # Tampered content is checked again in full.
    tampered = base64.b64encode(b"username,profile\nxcontact,client\n").decode()
    again = client.post(url, {**confirm, "content": tampered, "confirm": "1"})
    assert again.status_code == 400 and EnrollmentLink.objects.count() == 3


def test_the_page_refuses_a_file_over_2_mb(ca, world, client_for):
    response = client_for(world.admin).post(
        reverse("pki:link-bulk"),
        {
            "organization": world.buyer.pk,
            "days": 7,
            "file": SimpleUploadedFile("big.csv", b"username,profile\n" + b"x" * bulk.MAX_BYTES),
        },
    )
    assert response.status_code == 400 and response.context["errors"][0].row == 1
    assert EnrollmentLink.objects.count() == 0


# --- The CLI ------------------------------------------------------------------------------------------


def run(*args: str) -> dict:
    from io import StringIO

    out = StringIO()
    call_command("pki", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_cli_enroll_bulk_and_enroll(ca, world, smtp, tmp_path):
    path = tmp_path / "links.csv"
    path.write_bytes(GOOD.encode("cp932"))
    assert run("enroll-bulk", str(path), "--check") == {"organization": "buyer", "checked": 3, "created": 0}
    assert EnrollmentLink.objects.count() == 0
    result = run("enroll-bulk", str(path), "--batch", "cli", "--days", "3")
    assert result == {"organization": "buyer", "batch": "cli", "created": 3, "mailed": 3, "failed": []}
    assert len(smtp.messages) == 3
    assert all(link.created_by is None for link in EnrollmentLink.objects.all())
    bad = tmp_path / "bad.csv"
    bad.write_text("username,profile\nghost,client\n")
    with pytest.raises(CommandError, match="ghost"):
        run("enroll-bulk", str(bad))
    one = run("enroll", "--user", "supplier2", "--profile", "device", "--device", "PC-02", "--method", "csr")
    assert one["mailed"] and one["sent_to"] == world.supplier2.email and "url" not in one
    assert one["method"] == "csr" and one["state"] == "active" and one["device"] == "PC-02"
    printed = run(
        "enroll", "--user", "supplier1", "--profile", "test", "--no-mail", "--legacy", "--days", "1"
    )
    assert printed["url"].startswith("https://renkei.example.jp/pki/enroll/") and not printed["mailed"]
    assert enrollment.find_link(printed["url"].rstrip("/").rsplit("/", 1)[1]).legacy_pkcs12
    assert len(smtp.messages) == 4
    with pytest.raises(CommandError, match="1 to 30 days"), translation.override("en"):
        run("enroll", "--user", "supplier1", "--profile", "test", "--days", "90", "--lang", "en")
