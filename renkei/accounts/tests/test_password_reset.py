"""Password reset for everyone, over a real SMTP session (conftest.smtp)."""

import re

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from renkei.core.testing import PASSWORD
from renkei.suppliers.models import Contact

pytestmark = pytest.mark.django_db

BASE = "https://renkei.example.jp"
NEW_PASSWORD = "yama-no-ue-2025!"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def link_in(text):
    match = re.search(re.escape(BASE) + r"(/\S+)", text)
    assert match, text
    return match.group(1)


def request_reset(address):
    return Client().post(reverse("password_reset"), {"email": address}, follow=True)


def test_login_page_links_to_password_reset(db):
    page = Client().get(reverse("login")).content.decode()
    assert "パスワードをお忘れの方" in page
    assert reverse("password_reset") in page
    form = Client().get(reverse("password_reset")).content.decode()
    assert "パスワードの再設定" in form and "リンクを送信" in form


def test_reset_mail_for_an_existing_address_sets_a_new_password(world, smtp):
    response = request_reset("Analyst@Example.jp")
    assert response.redirect_chain == [(reverse("password_reset_done"), 302)]
    assert "メールをご確認ください" in response.content.decode()

    [mail] = smtp.messages
    assert mail.recipients == ["analyst@example.jp"]
    assert mail.subject == "[Renkei] パスワード再設定のご案内"
    assert "analyst 様" in mail.text
    assert "ログイン ID：analyst" in mail.text
    assert "7 日間" in mail.text
    link = link_in(mail.text)
    assert link.startswith("/accounts/password/reset/")
    assert f'href="{BASE}{link}"' in mail.html

    client = Client()
    form_url = client.get(link)["Location"]
    page = client.get(form_url).content.decode()
    assert "新しいパスワードの設定" in page
    mismatch = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": "x"})
    assert "確認用パスワードが一致しません" in mismatch.content.decode()
    done = client.post(
        form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, follow=True
    )
    assert done.redirect_chain[-1][0] == reverse("password_reset_complete")
    assert "パスワードを変更しました" in done.content.decode()
    assert Client().login(request=RequestFactory().post("/"), username="analyst", password=NEW_PASSWORD)

    # The link is spent.
    again = Client().get(link, follow=True).content.decode()
    assert "このリンクは使えません" in again and "new_password1" not in again


def test_unknown_address_gets_the_identical_page_and_no_mail(world, smtp):
    known = request_reset("admin@example.jp")
    unknown = request_reset("nobody-here@example.jp")
    assert known.redirect_chain == unknown.redirect_chain
    assert known.status_code == unknown.status_code == 200
    assert CSRF.sub("", known.content.decode()) == CSRF.sub("", unknown.content.decode())
    assert [m.recipients for m in smtp.messages] == [["admin@example.jp"]]


def test_invited_contact_without_password_is_told_to_ask_for_a_new_invitation(world, smtp):
    # Django never sends reset links to users without a usable password; the invitation is their
    # way in, and the "done" page says so without revealing anything about the address.
    contact = Contact.objects.get(user=world.supplier2)
    contact.user.set_unusable_password()
    contact.user.save()
    response = request_reset("supplier2@example.jp")
    assert "招待した委託元に招待メールの再送をご依頼ください" in response.content.decode()
    assert smtp.messages == []


def test_inactive_user_gets_no_mail(world, smtp):
    world.auditor.is_active = False
    world.auditor.save()
    request_reset("auditor@example.jp")
    assert smtp.messages == []


def test_garbled_reset_link_explains(world):
    page = Client().get("/accounts/password/reset/MQ/abc-def/", follow=True).content.decode()
    assert "このリンクは使えません" in page
    assert reverse("password_reset") in page


@pytest.mark.django_db
def test_a_user_changes_their_own_password(world, client_for):
    client = client_for(world.supplier1)
    page = client.get("/accounts/me/password/")
    assert page.status_code == 200 and "パスワードの変更" in page.content.decode()
    new = {"new_password1": "Kaizen-2026-secure", "new_password2": "Kaizen-2026-secure"}
    wrong = client.post("/accounts/me/password/", {"old_password": "not-it", **new})
    assert wrong.status_code == 200
    done = client.post("/accounts/me/password/", {"old_password": PASSWORD, **new})
    assert done.status_code == 302 and done["Location"] == "/accounts/me/"
    world.supplier1.refresh_from_db()
    assert world.supplier1.check_password("Kaizen-2026-secure")
    assert client.get("/suppliers/").status_code == 200  # still signed in
