"""Renewal (a replacement for the same user, device and profile) and the expiry reminders of the
daily job, mailed over real SMTP and never twice."""

from __future__ import annotations

import datetime
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from renkei.pki import services
from renkei.pki.models import Certificate, CertificateReminder, CertificateRevocationList
from renkei.pki.reminders import run_daily, send_reminders
from renkei.pki.tests.helpers import SYSTEM, issue_for, openssl, openssl_csr

pytestmark = pytest.mark.django_db


def pki(*args: str) -> dict:
    out = StringIO()
    call_command("pki", *args, "--json", "--lang", "en", stdout=out)
    return json.loads(out.getvalue())


def test_renewal_issues_a_replacement_for_the_same_holder(ca, world, chain_file, tmp_path):
    old = issue_for(world.supplier1, world.buyer, "device", "PC-SATO-01")
    result = pki("renew", old.serial, "--csr", str(openssl_csr(tmp_path)), "--out", str(tmp_path / "new.pem"))
    new = Certificate.objects.get(serial=result["serial"])
    assert (new.user, new.device_name, new.profile, new.organization) == (
        world.supplier1,
        "PC-SATO-01",
        "device",
        world.buyer,
    )
    assert new.renewed_from == old and old.revoked_at is None  # the old one works until it expires
    assert openssl("verify", "-CAfile", str(chain_file), str(tmp_path / "new.pem")).returncode == 0
    with pytest.raises(CommandError, match="already renewed"):
        pki("renew", old.serial, "--csr", str(openssl_csr(tmp_path)))
    services.revoke(SYSTEM, new, "superseded")
    with pytest.raises(CommandError, match="A revoked certificate is not renewed"):
        pki("renew", new.serial, "--csr", str(openssl_csr(tmp_path)))


def test_renewal_as_pkcs12_keeps_the_key_type(ca, world, tmp_path):
    old = issue_for(world.admin, world.buyer, "smime")
    (tmp_path / "pw").write_text("renewal-password\n")
    result = pki(
        "renew",
        old.serial,
        "--p12",
        str(tmp_path / "new.p12"),
        "--password-file",
        str(tmp_path / "pw"),
        "--legacy",
    )
    new = Certificate.objects.get(serial=result["serial"])
    assert (new.method, new.key_type, new.renewed_from) == ("pkcs12", old.key_type, old)
    info = openssl(
        "pkcs12", "-info", "-in", str(tmp_path / "new.p12"), "-nokeys", "-passin", "pass:renewal-password"
    )
    assert info.returncode == 0 and "pbeWithSHA1And3-KeyTripleDES-CBC" in info.stdout + info.stderr


def expire_in(cert: Certificate, days: float) -> None:
    Certificate.objects.filter(pk=cert.pk).update(not_after=timezone.now() + datetime.timedelta(days=days))


def test_reminders_at_30_and_7_days_are_sent_once(ca, world, smtp):
    cert = issue_for(world.supplier1, world.buyer, "client", "PC-SATO-01")
    assert send_reminders()["sent"] == 0
    expire_in(cert, 20)
    assert send_reminders() == {"sent": 1, "skipped": 0, "failed": 0, "unreachable": 0}
    assert send_reminders()["sent"] == 0
    mails = smtp.to(world.supplier1.email)
    assert len(mails) == 1
    assert f"https://renkei.example.jp/pki/certificates/{cert.pk}/" in mails[0].text
    assert cert.serial in mails[0].text and "PC-SATO-01" in mails[0].text
    assert "PC-SATO-01" in mails[0].subject
    expire_in(cert, 5)
    assert send_reminders()["sent"] == 1
    assert send_reminders()["sent"] == 0
    assert len(smtp.to(world.supplier1.email)) == 2
    assert sorted(CertificateReminder.objects.filter(certificate=cert).values_list("kind", flat=True)) == [
        "30d",
        "7d",
    ]


def test_a_certificate_first_seen_within_7_days_gets_only_the_7_day_reminder(ca, world, smtp):
    expire_in(issue_for(world.admin, world.buyer), 3)
    assert send_reminders()["sent"] == 1
    assert list(CertificateReminder.objects.values_list("kind", flat=True)) == ["7d"]


def test_renewed_revoked_and_unreachable_holders_get_no_reminder(ca, world, smtp, tmp_path):
    renewed = issue_for(world.admin, world.buyer)
    services.renew_from_csr(SYSTEM, renewed, open(openssl_csr(tmp_path), "rb").read())
    revoked = issue_for(world.analyst, world.buyer)
    services.revoke(SYSTEM, revoked, "cessationOfOperation")
    silent = issue_for(world.supplier2, world.buyer)
    for cert in (renewed, revoked, silent):
        expire_in(cert, 10)
    world.supplier2.email = ""
    world.supplier2.save()
    result = send_reminders()
    assert result["sent"] == 0 and result["unreachable"] == 1
    assert not smtp.messages
    assert not CertificateReminder.objects.exists()  # released: tried again once there is an address


def test_the_daily_job_refreshes_every_crl_and_is_registered(ca, world, smtp):
    from renkei.core.scheduling import jobs

    assert "pki_daily" in jobs()
    number = CertificateRevocationList.objects.get().number
    expire_in(issue_for(world.supplier1, world.buyer), 25)
    result = run_daily()
    assert result["crls"] == 1 and result["sent"] == 1
    assert CertificateRevocationList.objects.get().number == number + 1


def test_list_by_user_state_and_expiry(ca, world):
    sato = issue_for(world.supplier1, world.buyer, "device", "PC-SATO-01")
    admin = issue_for(world.admin, world.buyer, "smime")
    gone = issue_for(world.supplier2, world.buyer)
    services.revoke(SYSTEM, gone, "privilegeWithdrawn")
    expire_in(sato, 12)
    everything = pki("list", "--organization", "buyer")["certificates"]
    assert {c["serial"] for c in everything} == {sato.serial, admin.serial, gone.serial}
    row = next(c for c in everything if c["serial"] == sato.serial)
    assert (row["user"], row["device"], row["profile"], row["state"]) == (
        "supplier1",
        "PC-SATO-01",
        "device",
        "expiring",
    )
    assert [c["serial"] for c in pki("list", "--user", "supplier1")["certificates"]] == [sato.serial]
    assert [c["serial"] for c in pki("list", "--expiring-days", "30")["certificates"]] == [sato.serial]
    assert [c["serial"] for c in pki("list", "--state", "revoked")["certificates"]] == [gone.serial]
    assert pki("list", "--expiring-days", "5")["certificates"] == []
    with pytest.raises(CommandError, match="No user 'ghost'"):
        pki("list", "--user", "ghost")
