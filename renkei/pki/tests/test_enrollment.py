"""Enrollment links: made by an administrator, mailed through a real SMTP server, redeemed once on
the public page (PKCS#12 checked with the real openssl, CSR checked like any other), refused when
replayed, expired, withdrawn or unknown — and then nothing is issued."""

from __future__ import annotations

import base64
import datetime
import re
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from renkei.audit.models import AuditEntry
from renkei.core.tokens import token_hash
from renkei.pki import enrollment
from renkei.pki.ca import init_ca
from renkei.pki.enrollment import LinkError
from renkei.pki.keystore import PkiError
from renkei.pki.models import Certificate, EnrollmentLink
from renkei.pki.tests.helpers import SYSTEM, csr_bytes, openssl, openssl_csr

pytestmark = pytest.mark.django_db

URL = re.compile(r"https://renkei\.example\.jp/pki/enroll/([A-Za-z0-9_-]{40,})/")


def admin_actor(world):
    from renkei.audit.services import Actor

    return Actor(user=world.admin, address="127.0.0.1", label="admin")


def make(world, **kwargs):
    options = {"profile": "client", "method": "pkcs12", **kwargs}
    user = options.pop("user", world.supplier1)
    profile = options.pop("profile")
    method = options.pop("method")
    return enrollment.create_link(admin_actor(world), world.buyer, user, profile, method, **options)


def redeem_page(token, client=None, **data):
    """POST the public page as the holder would (no login) -> (response, p12 bytes, password)."""
    client = client or Client()
    response = client.post(reverse("pki:enroll", args=[token]), data)
    if response.status_code != 200 or "p12-download" not in response.content.decode():
        return response, None, None
    html = response.content.decode()
    password = re.search(r'<code id="p12-password"[^>]*>([^<]+)</code>', html).group(1)
    encoded = re.search(r'href="data:application/x-pkcs12;base64,([A-Za-z0-9+/=]+)"', html).group(1)
    return response, base64.b64decode(encoded), password


def p12_info(tmp_path, data, password):
    path = tmp_path / "bundle.p12"
    path.write_bytes(data)
    return openssl("pkcs12", "-info", "-in", str(path), "-nokeys", "-passin", f"pass:{password}")


# --- Making and mailing ----------------------------------------------------------------------------


def test_link_is_mailed_in_japanese_and_redeemed_once_into_a_p12_openssl_opens(
    ca, world, smtp, client_for, tmp_path
):
    response = client_for(world.admin).post(
        reverse("pki:link-new"),
        {
            "organization": world.buyer.pk,
            "user": "supplier1",
            "profile": "client",
            "method": "pkcs12",
            "device": "PC-SATO-01",
            "days": 7,
        },
    )
    assert response.status_code == 302, response.content.decode()
    link = EnrollmentLink.objects.get()
    assert (link.user, link.profile, link.device_name, link.sent_to) == (
        world.supplier1,
        "client",
        "PC-SATO-01",
        world.supplier1.email,
    )
    assert link.created_by == world.admin and link.batch == ""
    mails = smtp.to(world.supplier1.email)
    assert len(mails) == 1
    match = URL.search(mails[0].text)
    assert match and match.group(0) in mails[0].html
    token = match.group(1)
    assert token not in str(EnrollmentLink.objects.values_list())  # only its hash is stored
    assert link.token_hash == token_hash(token)
    # Japanese by default: the organization's Japanese name (the wording comes with the catalog).
    assert "連携製作所" in mails[0].subject and "PC-SATO-01" in mails[0].text
    created = AuditEntry.objects.get(object_type="pki.enrollmentlink", action="create")
    assert "token_hash" not in created.changes and link.token_hash not in str(created.changes)

    # The holder opens the page without logging in.
    page = Client().get(reverse("pki:enroll", args=[token]))
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    assert Certificate.objects.count() == 0  # opening issues nothing
    response, data, password = redeem_page(token)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    cert = Certificate.objects.get()
    assert (cert.user, cert.device_name, cert.method, cert.issued_by) == (
        world.supplier1,
        "PC-SATO-01",
        "pkcs12",
        world.admin,
    )
    link.refresh_from_db()
    assert link.used_at is not None and link.certificate == cert
    assert link_state(link) == "used"
    ok = p12_info(tmp_path, data, password)
    assert ok.returncode == 0, ok.stderr
    assert cert.certificate_pem.strip() in ok.stdout  # the issued certificate, then the CA chain
    keys = openssl(
        "pkcs12", "-in", str(tmp_path / "bundle.p12"), "-nocerts", "-nodes", "-passin", f"pass:{password}"
    )
    (tmp_path / "key.pem").write_text(keys.stdout)
    (tmp_path / "cert.pem").write_text(cert.certificate_pem)
    key_pub = openssl("pkey", "-in", str(tmp_path / "key.pem"), "-pubout", check=True).stdout
    cert_pub = openssl("x509", "-in", str(tmp_path / "cert.pem"), "-pubkey", "-noout", check=True).stdout
    assert key_pub == cert_pub  # the bundle's key is the certificate's
    # Modern encryption by default: PBES2 with AES-256 (not 3DES).
    assert "PBES2" in ok.stdout + ok.stderr and "AES-256-CBC" in ok.stdout + ok.stderr
    assert "TripleDES" not in ok.stdout + ok.stderr
    wrong = p12_info(tmp_path, data, "wrong-password")
    assert wrong.returncode != 0 and "mac verify error" in (wrong.stdout + wrong.stderr).lower()
    # The password is not kept anywhere, nor the key.
    assert password not in str(list(AuditEntry.objects.values_list("changes", flat=True)))
    assert cert.key_file == ""

    # Replayed: a clear refusal, nothing issued, the audit trail unchanged.
    entries = AuditEntry.objects.count()
    again = Client().post(reverse("pki:enroll", args=[token]))
    assert again.status_code == 410 and "p12-download" not in again.content.decode()
    assert "already used" in _english(lambda: enrollment.redeem_pkcs12(token))
    assert Certificate.objects.count() == 1 and AuditEntry.objects.count() == entries


def link_state(link):
    return enrollment.link_state(link)


def _english(call) -> str:
    with translation.override("en"), pytest.raises(LinkError) as caught:
        call()
    return caught.value.message


def test_the_mail_follows_the_users_language(ca, world, smtp):
    world.supplier1.language = "en"
    world.supplier1.save()
    link, token = make(world, mailed=True)
    assert enrollment.send_link(link, token)
    mail = smtp.to(world.supplier1.email)[0]
    assert "Renkei Works" in mail.subject and "is ready to fetch" in mail.subject
    assert enrollment.enroll_url(token) in mail.text


def test_the_compatibility_option_gives_3des_and_sha1(ca, world, tmp_path):
    _link, token = make(world, legacy=True, mailed=False)
    _response, data, password = redeem_page(token)
    info = p12_info(tmp_path, data, password)
    assert info.returncode == 0, info.stderr
    assert "pbeWithSHA1And3-KeyTripleDES-CBC" in info.stdout + info.stderr
    assert "AES-256" not in info.stdout + info.stderr
    mac = openssl(
        "pkcs12", "-info", "-in", str(tmp_path / "bundle.p12"), "-noout", "-passin", f"pass:{password}"
    )
    assert "MAC: sha1" in mac.stdout + mac.stderr
    # The holder may also choose it on the page for a modern link.
    _link, token = make(world, mailed=False, device_name="OLD-MAC")
    _response, data, password = redeem_page(token, legacy="1")
    chosen = p12_info(tmp_path, data, password)
    assert "pbeWithSHA1And3-KeyTripleDES-CBC" in chosen.stdout + chosen.stderr


def test_a_logged_in_user_can_redeem_too(ca, world, client_for, tmp_path):
    _link, token = make(world, mailed=False)
    response, data, password = redeem_page(token, client=client_for(world.supplier1))
    assert response.status_code == 200 and p12_info(tmp_path, data, password).returncode == 0


def test_expired_withdrawn_and_unknown_links_are_refused_and_issue_nothing(ca, world, client_for):
    expired, expired_token = make(world, mailed=False)
    EnrollmentLink.objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    withdrawn, withdrawn_token = make(world, mailed=False, device_name="X")
    enrollment.revoke_link(admin_actor(world), withdrawn)
    for token, status, words in (
        (expired_token, 410, "expired"),
        (withdrawn_token, 410, "withdrawn"),
        ("no-such-token-" + "x" * 30, 404, "not valid"),
        ("x" * 500, 404, "not valid"),
    ):
        for method in ("get", "post"):
            response = getattr(Client(), method)(reverse("pki:enroll", args=[token]))
            assert response.status_code == status, (token[:20], method)
            assert "p12-download" not in response.content.decode()
        assert words in _english(lambda token=token: enrollment.redeem_pkcs12(token))
    assert Certificate.objects.count() == 0
    assert EnrollmentLink.objects.filter(used_at__isnull=False).count() == 0


def test_a_pkcs12_link_does_not_take_a_csr_and_the_other_way_round(ca, world):
    _link, p12_token = make(world, mailed=False)
    with pytest.raises(PkiError):
        enrollment.redeem_csr(p12_token, csr_bytes())
    _link, csr_token = make(world, method="csr", mailed=False)
    with pytest.raises(PkiError):
        enrollment.redeem_pkcs12(csr_token)
    assert Certificate.objects.count() == 0
    assert EnrollmentLink.objects.filter(used_at__isnull=False).count() == 0


# --- CSR links --------------------------------------------------------------------------------------


def test_csr_link_refuses_a_weak_key_then_accepts_a_good_csr(ca, world, tmp_path, chain_file):
    link, token = make(
        world, method="csr", profile="device", device_name="PC-SUZUKI-02", user=world.supplier2
    )
    weak = openssl_csr(tmp_path, "weak", key="rsa:1024")
    url = reverse("pki:enroll", args=[token])
    page = Client().get(url)
    assert page.status_code == 200 and 'name="csr"' in page.content.decode()
    with translation.override("en"):
        refused = Client().post(url, {"csr": weak.read_text()}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 400
    assert "2048" in refused.content.decode()
    assert Certificate.objects.count() == 0
    link.refresh_from_db()
    assert link.used_at is None  # a refused CSR leaves the link for a corrected retry
    good = openssl_csr(tmp_path, "good", key="ec:P-256")
    with good.open("rb") as upload:
        response = Client().post(url, {"csr_file": upload})
    assert response.status_code == 200
    cert = Certificate.objects.get()
    assert (cert.user, cert.device_name, cert.method, cert.common_name) == (
        world.supplier2,
        "PC-SUZUKI-02",
        "csr",
        "PC-SUZUKI-02",
    )
    html = response.content.decode()
    pem = base64.b64decode(
        re.search(r'id="cert-download"[^>]*href="data:application/x-pem-file;base64,([^"]+)"', html).group(1)
    )
    assert pem.decode() == cert.certificate_pem
    (tmp_path / "cert.pem").write_bytes(pem)
    verified = openssl("verify", "-CAfile", str(chain_file), str(tmp_path / "cert.pem"))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # The key of the CSR is the key of the certificate.
    key_pub = openssl("pkey", "-in", str(tmp_path / "good.key"), "-pubout", check=True).stdout
    cert_pub = openssl("x509", "-in", str(tmp_path / "cert.pem"), "-pubkey", "-noout", check=True).stdout
    assert key_pub == cert_pub
    assert Client().post(url, {"csr": good.read_text()}).status_code == 410
    assert Certificate.objects.count() == 1


def test_malformed_and_oversized_csrs_are_refused(ca, world):
    _link, token = make(world, method="csr", mailed=False)
    url = reverse("pki:enroll", args=[token])
    assert Client().post(url, {"csr": "-----BEGIN CERTIFICATE REQUEST-----\nnope\n"}).status_code == 400
    assert Client().post(url, {"csr": "A" * 20000}).status_code == 400
    assert Client().post(url, {}).status_code == 400
    assert Certificate.objects.count() == 0


# --- Rules at creation and at redemption ------------------------------------------------------------


def test_only_administrators_make_links_and_only_for_their_people(ca, world, client_for):
    from renkei.core.errors import NotAllowed

    init_ca(SYSTEM, world.other)
    for user in (world.analyst, world.auditor, world.supplier1, world.outsider):
        actor = admin_actor(world).__class__(user=user, label=user.username)
        with pytest.raises(NotAllowed):
            enrollment.create_link(actor, world.buyer, world.supplier1, "client")
    for user in (world.analyst, world.auditor, world.supplier1, world.nobody):
        client = client_for(user)
        assert client.get(reverse("pki:link-new")).status_code == 403
        assert client.get(reverse("pki:link-bulk")).status_code == 403
    with translation.override("en"):
        with pytest.raises(PkiError, match="neither staff"):
            make(world, user=world.xcontact)  # the other buyer's supplier contact
        with pytest.raises(PkiError, match="needs a device name"):
            make(world, profile="device")
        with pytest.raises(PkiError, match="no profile"):
            make(world, profile="server")
        with pytest.raises(PkiError, match="1 to 30 days"):
            make(world, days=31)
        with pytest.raises(PkiError, match="PKCS#12 links only"):
            make(world, method="csr", legacy=True)
        world.supplier1.email = ""
        world.supplier1.save()
        with pytest.raises(PkiError, match="no e-mail address"):
            make(world, profile="signing")
    # The outsider's page offers only its own organization.
    page = client_for(world.outsider).get(reverse("pki:link-new"))
    assert [o.pk for o in page.context["form"].fields["organization"].queryset] == [world.other.pk]
    response = client_for(world.outsider).post(
        reverse("pki:link-new"),
        {
            "organization": world.buyer.pk,
            "user": "supplier1",
            "profile": "test",
            "method": "pkcs12",
            "days": 7,
        },
    )
    assert response.status_code == 400 and EnrollmentLink.objects.count() == 0


def test_a_user_removed_before_redeeming_gets_nothing(ca, world):
    from renkei.suppliers.models import Contact

    _link, token = make(world, mailed=False)
    Contact.objects.filter(user=world.supplier1).update(portal_access=False)
    with pytest.raises(PkiError):
        enrollment.redeem_pkcs12(token)
    assert Certificate.objects.count() == 0
    assert EnrollmentLink.objects.get().used_at is None


def test_a_mail_that_cannot_be_sent_withdraws_the_link(ca, world, client_for, settings):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    response = client_for(world.admin).post(
        reverse("pki:link-new"),
        {
            "organization": world.buyer.pk,
            "user": "supplier1@example.jp",
            "profile": "client",
            "method": "pkcs12",
            "days": 7,
        },
    )
    assert response.status_code == 400
    link = EnrollmentLink.objects.get()
    assert link.revoked_at is not None and enrollment.link_state(link) == "revoked"


# --- Withdrawing and the list ----------------------------------------------------------------------


def test_withdrawing_from_the_list(ca, world, client_for, smtp):
    link, _token = make(world, batch="2026-spring")
    used, used_token = make(world, device_name="USED")
    enrollment.redeem_pkcs12(used_token)
    url = reverse("pki:link-revoke", args=[link.pk])
    for user in (world.analyst, world.auditor):
        assert client_for(user).post(url).status_code == 403
    for user in (world.supplier1, world.outsider):
        assert client_for(user).post(url).status_code == 404
    assert EnrollmentLink.objects.get(pk=link.pk).revoked_at is None
    admin = client_for(world.admin)
    assert admin.post(url).status_code == 302
    assert EnrollmentLink.objects.get(pk=link.pk).revoked_at is not None
    entries = AuditEntry.objects.count()
    assert admin.post(url).status_code == 302  # twice: nothing changes
    assert AuditEntry.objects.count() == entries
    admin.post(reverse("pki:link-revoke", args=[used.pk]))
    assert EnrollmentLink.objects.get(pk=used.pk).revoked_at is None  # used: revoke the certificate


def listed(client, **params):
    response = client.get(reverse("pki:links"), params)
    assert response.status_code == 200
    return {link.pk for link in response.context["page"].object_list}


def test_the_list_filters_by_batch_and_state_and_hides_other_organizations(ca, world, client_for):
    init_ca(SYSTEM, world.other)
    spring = [make(world, batch="spring", device_name=f"D{i}")[0] for i in range(3)]
    autumn, autumn_token = make(world, batch="autumn")
    enrollment.redeem_pkcs12(autumn_token)
    expired, _t = make(world)
    EnrollmentLink.objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - datetime.timedelta(days=1)
    )
    foreign, _t = enrollment.create_link(
        admin_actor(world).__class__(user=world.outsider, label="o"), world.other, world.outsider, "client"
    )
    admin = client_for(world.admin)
    mine = {link.pk for link in spring} | {autumn.pk, expired.pk}
    assert listed(admin) == listed(client_for(world.auditor)) == mine
    assert listed(admin, batch="spring") == {link.pk for link in spring}
    assert listed(admin, state="used") == {autumn.pk}
    assert listed(admin, state="expired") == {expired.pk}
    assert listed(admin, state="active") == {link.pk for link in spring}
    assert listed(admin, q="supplier1") == mine
    assert listed(client_for(world.outsider)) == {foreign.pk}
    assert client_for(world.supplier1).get(reverse("pki:links")).status_code == 403
    page = admin.get(reverse("pki:links")).content.decode()
    assert not [link.token_hash for link in EnrollmentLink.objects.all() if link.token_hash in page]
    assert "/pki/enroll/" not in page  # no link can be opened from the list
    assert "<td>クライアント認証</td>" in page  # the profile's label, not its stored name


def test_list_page_query_count_does_not_grow_with_rows(ca, world, client_for, django_assert_num_queries):
    make(world, batch="b")
    admin = client_for(world.admin)
    admin.get(reverse("pki:links"))
    # session, user, staff check, count, managed organizations, rows, the role for the menu
    with django_assert_num_queries(7):
        admin.get(reverse("pki:links"))
    for i in range(6):
        _link, token = make(world, batch="b", device_name=f"N{i}")
        if i % 2:
            enrollment.redeem_pkcs12(token)
    with django_assert_num_queries(7):
        assert len(admin.get(reverse("pki:links"), {"batch": "b"}).context["page"].object_list) == 7


# --- Concurrency ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_redemptions_issue_one_certificate(world, pki_env):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (SQLite serializes whole-database writes)")
    init_ca(SYSTEM, world.buyer)
    _link, token = make(world, mailed=False)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def redeem() -> None:
        from django.db import connections

        try:
            barrier.wait()
            enrollment.redeem_pkcs12(token)
            outcomes.append("issued")
        except PkiError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=redeem) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["issued", "refused"]
    assert Certificate.objects.count() == 1
