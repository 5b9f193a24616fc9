"""Inviting supplier contacts to the portal, over a real SMTP session (conftest.smtp)."""

import datetime
import io
import json
import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation

from renkei.accounts.models import User
from renkei.audit.models import AuditEntry
from renkei.core.testing import make_user
from renkei.suppliers.models import Contact, Supplier

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "kumo-no-ue-2025!"
BASE = "https://renkei.example.jp"


def invite_url(contact):
    return reverse("contact-invite", args=[contact.pk])


def revoke_url(contact):
    return reverse("contact-revoke", args=[contact.pk])


def contacts_tab(supplier):
    return reverse("suppliers:detail", args=[supplier.pk]) + "?tab=contacts"


def link_in(text):
    """The path of the first absolute Renkei link in TEXT."""
    match = re.search(re.escape(BASE) + r"(/\S+)", text)
    assert match, text
    return match.group(1)


def listed_codes(client):
    return [s.code for s in client.get(reverse("suppliers:list")).context["page"].object_list]


@pytest.fixture
def newcomer(world):
    """A contact of S2 with an address and no login yet."""
    return Contact.objects.create(
        supplier=world.s2, name="田中 三郎", department="総務部", email="Tanaka@S2.example.jp"
    )


def accept(link, password=NEW_PASSWORD):
    """Follow an invitation link as an anonymous visitor and set PASSWORD; returns the client."""
    client = Client()
    response = client.get(link)
    assert response.status_code == 302  # the token moves into the session, out of the URL
    form_url = response["Location"]
    assert form_url.endswith("/set-password/")
    response = client.post(form_url, {"new_password1": password, "new_password2": password})
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == reverse("dashboard")
    return client


# --- The whole flow -----------------------------------------------------------------------------


def test_staff_invite_mails_a_link_that_sets_the_password(world, client_for, smtp, newcomer):
    staff = client_for(world.analyst)
    response = staff.post(invite_url(newcomer))
    assert response.status_code == 302
    assert response["Location"] == contacts_tab(world.s2)

    newcomer.refresh_from_db()
    user = newcomer.user
    assert newcomer.portal_access is True
    assert user.username == "tanaka@s2.example.jp"
    assert user.email == "Tanaka@s2.example.jp"  # the domain part is normalized
    assert not user.has_usable_password()
    entry = AuditEntry.objects.filter(object_type="suppliers.contact", object_id=str(newcomer.pk))
    changes = entry.get().changes
    assert changes["portal_access"] == [False, True]
    assert changes["user_id"] == [None, user.pk]
    assert entry.get().actor == world.analyst

    [mail] = smtp.messages
    assert mail.recipients == ["Tanaka@s2.example.jp"]
    assert mail.sender == "renkei@buyer.example.jp"
    assert mail.subject == "[Renkei] 連携製作所 から「連携 Renkei」取引先ポータルへのご招待"
    assert "田中 三郎 様" in mail.text
    assert "北陸物流株式会社 のご担当者として" in mail.text
    assert "ログイン ID：tanaka@s2.example.jp" in mail.text
    assert "7 日間" in mail.text
    assert "メールや電話でパスワードをお尋ねすることは決してありません" in mail.text
    link = link_in(mail.text)
    assert link.startswith("/accounts/invitation/")
    assert f'href="{BASE}{link}"' in mail.html

    # The set-password page speaks Japanese and applies Django's validators.
    visitor = Client()
    form_url = visitor.get(link)["Location"]
    page = visitor.get(form_url)
    assert page.status_code == 200
    assert "パスワードの設定" in page.content.decode()
    assert "tanaka@s2.example.jp" in page.content.decode()
    mismatch = visitor.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": "other"})
    assert mismatch.status_code == 200
    assert "確認用パスワードが一致しません" in mismatch.content.decode()
    weak = visitor.post(form_url, {"new_password1": "12345", "new_password2": "12345"})
    assert weak.status_code == 200
    assert "短すぎます" in weak.content.decode()

    # A good password logs the contact in and lands on the dashboard, showing only S2.
    done = visitor.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == reverse("dashboard")
    assert visitor.get(reverse("dashboard")).status_code == 200
    assert listed_codes(visitor) == ["S2"]
    assert visitor.get(reverse("suppliers:detail", args=[world.s2.pk])).status_code == 200
    assert visitor.get(reverse("suppliers:detail", args=[world.s1.pk])).status_code == 404

    # And the password works for a normal login afterwards.
    fresh = Client()
    # (AxesBackend needs the request that Client.login does not pass on by itself.)
    assert fresh.login(
        request=RequestFactory().post("/"), username="tanaka@s2.example.jp", password=NEW_PASSWORD
    )


def test_a_used_link_cannot_be_used_again(world, client_for, smtp, newcomer):
    client_for(world.admin).post(invite_url(newcomer))
    link = link_in(smtp.messages[0].text)
    accept(link)

    again = Client().get(link, follow=True)
    body = again.content.decode()
    assert again.status_code == 200
    assert "このリンクは使えません" in body
    assert "招待メールの再送をご依頼ください" in body
    assert "new_password1" not in body


def test_an_expired_or_garbled_link_explains_what_to_do(
    world, client_for, smtp, newcomer, monkeypatch
):
    client_for(world.admin).post(invite_url(newcomer))
    link = link_in(smtp.messages[0].text)

    garbled = Client().get(link[:-3] + "xyz/", follow=True).content.decode()
    assert "このリンクは使えません" in garbled and "new_password1" not in garbled

    later = datetime.datetime.now() + datetime.timedelta(days=7, minutes=1)
    monkeypatch.setattr(PasswordResetTokenGenerator, "_now", lambda self: later)
    expired = Client().get(link, follow=True).content.decode()
    assert "有効期限が切れているか" in expired and "new_password1" not in expired


def test_resending_sends_a_new_mail_and_links_work_until_used(world, client_for, smtp, newcomer):
    staff = client_for(world.analyst)
    staff.post(invite_url(newcomer))
    page = staff.get(contacts_tab(world.s2)).content.decode()
    assert "招待メールを再送" in page and "ポータル利用を停止" in page and "招待中" in page

    response = staff.post(invite_url(newcomer), follow=True)
    assert "招待メールを Tanaka@s2.example.jp に再送しました" in response.content.decode()
    assert len(smtp.to("Tanaka@s2.example.jp")) == 2
    assert User.objects.filter(email__iexact="tanaka@s2.example.jp").count() == 1
    accept(link_in(smtp.messages[1].text))
    # Once the password is set, the earlier link is spent too, and re-sending is no longer offered.
    first = Client().get(link_in(smtp.messages[0].text), follow=True)
    assert "new_password1" not in first.content.decode()
    page = staff.get(contacts_tab(world.s2)).content.decode()
    assert "招待メールを再送" not in page and "招待中" not in page


# --- Who may invite ---------------------------------------------------------------------------


def test_buttons_only_for_staff_who_may_change_the_supplier(world, client_for, newcomer):
    admin_page = client_for(world.admin).get(contacts_tab(world.s2)).content.decode()
    assert "ポータルへ招待" in admin_page
    assert invite_url(newcomer) in admin_page
    # 鈴木 already has a login and a password: only revoking is offered for her.
    suzuki = Contact.objects.get(supplier=world.s2, user=world.supplier2)
    assert revoke_url(suzuki) in admin_page and invite_url(suzuki) not in admin_page
    for user in (world.auditor, world.supplier2):
        page = client_for(user).get(contacts_tab(world.s2)).content.decode()
        assert "ポータルへ招待" not in page and "ポータル利用を停止" not in page


def test_contact_without_address_gets_no_invite_button(world, client_for):
    Contact.objects.create(supplier=world.s2, name="電話のみ 担当")
    page = client_for(world.admin).get(contacts_tab(world.s2)).content.decode()
    assert page.count("ポータルへ招待") == 0


def test_foreign_or_guessed_contacts_answer_404(world, client_for, smtp, newcomer):
    x1_contact = Contact.objects.create(
        supplier=world.x1, name="他社 担当", email="t@x1.example.jp"
    )
    cases = [
        (world.analyst, x1_contact),  # another organization's supplier
        (world.outsider, newcomer),  # the other organization's admin
        (world.supplier1, newcomer),  # a contact of S1 reaching for S2
        (world.nobody, newcomer),
    ]
    for user, contact in cases:
        client = client_for(user)
        assert client.post(invite_url(contact)).status_code == 404, (user, contact)
        assert client.post(revoke_url(contact)).status_code == 404, (user, contact)
    guessed = Contact.objects.order_by("-pk").first().pk + 1000
    client = client_for(world.admin)
    assert client.post(reverse("contact-invite", args=[guessed])).status_code == 404
    assert client.post(reverse("contact-revoke", args=[guessed])).status_code == 404
    assert smtp.messages == []
    x1_contact.refresh_from_db()
    newcomer.refresh_from_db()
    assert x1_contact.user is None and newcomer.user is None


def test_auditors_and_supplier_contacts_are_refused(world, client_for, smtp):
    own = Contact.objects.create(supplier=world.s1, name="同僚 四郎", email="dosei@s1.example.jp")
    sato = Contact.objects.get(user=world.supplier1)
    for user in (world.auditor, world.supplier1):
        client = client_for(user)
        assert client.post(invite_url(own)).status_code == 403
        assert client.post(revoke_url(sato)).status_code == 403
    own.refresh_from_db()
    sato.refresh_from_db()
    assert own.user is None and sato.portal_access is True
    assert smtp.messages == []


def test_invite_and_revoke_only_accept_post(world, client_for, newcomer):
    client = client_for(world.admin)
    assert client.get(invite_url(newcomer)).status_code == 405
    assert client.get(revoke_url(newcomer)).status_code == 405
    assert Client().post(invite_url(newcomer)).status_code == 302  # to the login page


# --- Revoking ---------------------------------------------------------------------------------


def test_revoke_removes_access(world, client_for):
    supplier1 = client_for(world.supplier1)
    assert listed_codes(supplier1) == ["S1"]
    sato = Contact.objects.get(user=world.supplier1)

    response = client_for(world.analyst).post(revoke_url(sato))
    assert response.status_code == 302
    sato.refresh_from_db()
    assert sato.portal_access is False and sato.user == world.supplier1
    entry = AuditEntry.objects.get(object_type="suppliers.contact", object_id=str(sato.pk))
    assert entry.changes == {"portal_access": [True, False]}

    assert listed_codes(supplier1) == []
    assert supplier1.get(reverse("suppliers:detail", args=[world.s1.pk])).status_code == 404
    # The contact can be invited again from the same tab.
    page = client_for(world.analyst).get(contacts_tab(world.s1)).content.decode()
    assert invite_url(sato) in page


def test_revoking_before_acceptance_spends_the_link(world, client_for, smtp, newcomer):
    staff = client_for(world.admin)
    staff.post(invite_url(newcomer))
    link = link_in(smtp.messages[0].text)
    staff.post(revoke_url(newcomer))
    body = Client().get(link, follow=True).content.decode()
    assert "このリンクは使えません" in body


# --- Existing users ---------------------------------------------------------------------------


def test_existing_user_with_the_address_is_linked_not_duplicated(world, client_for, smtp):
    # xcontact answers for the other buyer's X1; now the buyer adds them as a contact of S1.
    world.xcontact.email = "takahashi@multi.example.jp"
    world.xcontact.save()
    contact = Contact.objects.create(
        supplier=world.s1, name="高橋 次郎", email="Takahashi@Multi.example.jp"
    )
    users_before = User.objects.count()

    client_for(world.analyst).post(invite_url(contact))

    contact.refresh_from_db()
    assert contact.user == world.xcontact and contact.portal_access
    assert User.objects.count() == users_before
    [mail] = smtp.messages
    assert mail.recipients == ["takahashi@multi.example.jp"]
    # They already have a password: the mail points at the login page, not a set-password link.
    assert link_in(mail.text) == reverse("login")
    assert "/accounts/invitation/" not in mail.text
    assert "すでに Renkei のアカウントをお持ちです" in mail.text
    world.xcontact.refresh_from_db()
    assert world.xcontact.has_usable_password()
    # The same person now sees the suppliers of both buyers, and nothing else.
    assert sorted(listed_codes(client_for(world.xcontact))) == ["S1", "X1"]


def test_english_user_gets_the_invitation_in_english(world, client_for, smtp):
    user = make_user("emily", language="en")
    user.email = "emily@s2.example.com"
    user.set_unusable_password()
    user.save()
    contact = Contact.objects.create(supplier=world.s2, name="Emily Clark", email=user.email)

    client_for(world.admin).post(invite_url(contact))

    [mail] = smtp.messages
    assert mail.subject == "[Renkei] Invitation from Renkei Works to the Renkei supplier portal"
    assert "Dear Emily Clark," in mail.text
    assert "never ask for your password" in mail.text
    assert link_in(mail.text).startswith("/accounts/invitation/")


def test_unreachable_mail_server_keeps_the_invitation(world, client_for, smtp, settings, newcomer):
    from renkei.accounts.tests.conftest import free_port

    settings.EMAIL_PORT = free_port()  # nothing listens there
    response = client_for(world.admin).post(invite_url(newcomer), follow=True)
    assert "招待メールを送信できませんでした" in response.content.decode()
    newcomer.refresh_from_db()
    assert newcomer.portal_access and newcomer.user is not None


# --- CLI --------------------------------------------------------------------------------------


def run_invite(*args):
    out = io.StringIO()
    with translation.override("en"):
        call_command("users", "invite", *args, "--json", "--lang", "en", stdout=out,
                     stderr=io.StringIO())
    return json.loads(out.getvalue())


def test_cli_invite_creates_the_contact_and_prints_the_link(world, smtp):
    data = run_invite("--supplier", "S2", "--email", "Kato@S2.example.jp", "--name", "加藤 五郎")

    assert data["username"] == "kato@s2.example.jp"
    assert data["email"] == "Kato@s2.example.jp"
    assert data["supplier"] == "S2" and data["organization"] == "buyer"
    assert data["sent"] is True
    contact = Contact.objects.get(supplier=world.s2, email="Kato@S2.example.jp")
    assert contact.name == "加藤 五郎" and contact.portal_access
    assert contact.user.username == "kato@s2.example.jp"
    create, update = AuditEntry.objects.filter(object_id=str(contact.pk)).order_by("sequence")
    assert create.action == "create" and update.changes["portal_access"] == [False, True]
    assert create.actor_label == "cli"

    [mail] = smtp.messages
    assert mail.recipients == ["Kato@s2.example.jp"]
    # The mail is Japanese even though the command ran in English.
    assert mail.subject.startswith("[Renkei] 連携製作所 から")
    assert data["invitation_url"] == BASE + link_in(mail.text)
    client = accept(urlsplit(data["invitation_url"]).path)
    assert listed_codes(client) == ["S2"]


def test_cli_invite_uses_an_existing_contact(world, smtp):
    suzuki = Contact.objects.get(user=world.supplier2)
    contacts, users = Contact.objects.count(), User.objects.count()
    data = run_invite(
        "--supplier", "S2", "--organization", "buyer", "--email", "SUZUKI@s2.example.jp"
    )
    assert (Contact.objects.count(), User.objects.count()) == (contacts, users)
    suzuki.refresh_from_db()
    # The contact keeps its login; the mail goes to that login's own address.
    assert suzuki.user == world.supplier2
    assert data["username"] == "supplier2" and data["email"] == "supplier2@example.jp"
    assert data["invitation_url"] == BASE + reverse("login")
    assert smtp.messages[0].recipients == ["supplier2@example.jp"]


def test_cli_invite_errors(world, smtp):
    Supplier.objects.create(organization=world.other, code="S1", name="同じコードの取引先")
    with pytest.raises(CommandError, match="name one with --organization"):
        run_invite("--supplier", "S1", "--email", "a@s1.example.jp")
    with pytest.raises(CommandError, match="No supplier with the code"):
        run_invite("--supplier", "NOPE", "--email", "a@s1.example.jp")
    with pytest.raises(CommandError, match="No organization"):
        run_invite("--supplier", "S1", "--organization", "ghost", "--email", "a@s1.example.jp")
    with pytest.raises(CommandError, match="Not a valid e-mail address"):
        run_invite("--supplier", "S1", "--organization", "buyer", "--email", "not-an-address")
    assert smtp.messages == []
    assert not Contact.objects.filter(email="a@s1.example.jp").exists()


def test_cli_invite_text_output_without_a_mail_server(world, settings):
    from renkei.accounts.tests.conftest import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    out, err = io.StringIO(), io.StringIO()
    with translation.override("en"):
        call_command("users", "invite", "--supplier", "S1", "--organization", "buyer",
                     "--email", "ito@s1.example.jp", "--lang", "en", stdout=out, stderr=err)
    assert "Invited ito@s1.example.jp to buyer/S1" in out.getvalue()
    assert "Invitation link: http" in out.getvalue()
    assert "/accounts/invitation/" in out.getvalue()
    assert "could not be sent" in err.getvalue()
