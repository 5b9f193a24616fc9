"""Member management by organization administrators: /accounts/members/ and the services
behind it (renkei.accounts.services.add_member, change_role, remove_member)."""

import io
import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from renkei.accounts.models import Membership, Organization, User
from renkei.accounts.services import MemberError, add_member, change_role, remove_member
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, verify
from renkei.core.permissions import Role
from renkei.core.testing import make_user

pytestmark = pytest.mark.django_db

BASE = "https://renkei.example.jp"
NEW_PASSWORD = "kumo-no-ue-2025!"
MEMBERS = reverse("members")
ADD = reverse("member-add")


def role_url(membership):
    return reverse("member-role", args=[membership.pk])


def remove_url(membership):
    return reverse("member-remove", args=[membership.pk])


def membership(user, organization):
    return Membership.objects.get(user=user, organization=organization)


def link_in(text):
    match = re.search(re.escape(BASE) + r"(/\S+)", text)
    assert match, text
    return match.group(1)


def entries(action=None):
    qs = AuditEntry.objects.filter(object_type="accounts.membership").order_by("sequence")
    return list(qs.filter(action=action) if action else qs)


# --- The page -----------------------------------------------------------------------------------


def test_admin_sees_the_members_of_its_organization(world, client_for):
    response = client_for(world.admin).get(MEMBERS)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<h1>メンバー管理</h1>" in body
    assert [m.user.username for m in response.context["rows"]] == ["admin", "analyst", "auditor"]
    assert "管理者" in body and "分析者" in body and "監査者" in body
    assert "outsider" not in body  # the other organization's admin
    assert role_url(membership(world.analyst, world.buyer)) in body
    assert "あなた" in body  # the admin's own row is marked
    # No selector for an admin of one organization.
    assert 'name="organization"' not in body


def test_header_link_for_admins_only(world, client_for):
    assert f'href="{MEMBERS}"' in client_for(world.admin).get(reverse("dashboard")).content.decode()
    for user in (world.analyst, world.auditor, world.supplier1, world.nobody):
        page = client_for(user).get(reverse("dashboard")).content.decode()
        assert f'href="{MEMBERS}"' not in page, user


def test_admin_of_several_organizations_chooses_one(world, client_for):
    Membership.objects.create(user=world.admin, organization=world.other, role=Role.ADMIN)
    client = client_for(world.admin)
    body = client.get(MEMBERS).content.decode()
    assert 'name="organization"' in body and "他社工業" in body
    other = client.get(MEMBERS, {"organization": world.other.pk})
    assert [m.user.username for m in other.context["rows"]] == ["admin", "outsider"]
    # An organization the user only views (analyst there) is not offered, and 404s.
    third = Organization.objects.create(name="第三商事", slug="third")
    Membership.objects.create(user=world.admin, organization=third, role=Role.ANALYST)
    assert "第三商事" not in client.get(MEMBERS).content.decode()
    assert client.get(MEMBERS, {"organization": third.pk}).status_code == 404
    assert client.get(MEMBERS, {"organization": "x"}).status_code == 404


# --- Adding -------------------------------------------------------------------------------------


def test_adding_a_new_person_invites_them_and_the_link_makes_them_staff(world, client_for, smtp):
    admin = client_for(world.admin)
    form = admin.get(ADD)
    assert form.status_code == 200 and "メンバーを追加" in form.content.decode()
    response = admin.post(ADD, {"organization": world.buyer.pk, "email": "Yamada@Buyer.example.jp",
                                "display_name": "山田 太郎", "role": "analyst"})
    assert response.status_code == 302
    assert response["Location"] == f"{MEMBERS}?organization={world.buyer.pk}"
    assert "招待" in admin.get(response["Location"]).content.decode()

    user = User.objects.get(username="yamada@buyer.example.jp")
    assert user.display_name == "山田 太郎" and not user.has_usable_password()
    assert membership(user, world.buyer).role == Role.ANALYST
    [entry] = entries()
    assert entry.action == AuditEntry.Action.CREATE
    assert entry.organization_id == world.buyer.pk and entry.actor == world.admin
    assert entry.changes["role"] == [None, "analyst"] and entry.changes["user_id"] == [None, user.pk]

    [mail] = smtp.messages
    assert mail.recipients == ["Yamada@buyer.example.jp"]
    assert mail.subject == "[Renkei] 連携製作所 から「連携 Renkei」に追加されました"
    assert "山田 太郎 様" in mail.text
    assert "分析者" in mail.text
    assert "ログイン ID：yamada@buyer.example.jp" in mail.text
    link = link_in(mail.text)
    assert link.startswith("/accounts/invitation/")  # the same page as a contact's invitation
    assert f'href="{BASE}{link}"' in mail.html

    visitor = Client()
    form_url = visitor.get(link)["Location"]
    done = visitor.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == reverse("dashboard")
    dashboard = visitor.get(reverse("dashboard")).content.decode()
    assert 'data-role="analyst"' in dashboard
    listed = visitor.get(reverse("suppliers:list")).context["page"].object_list
    assert sorted(s.code for s in listed) == ["S1", "S2"]
    assert visitor.get(MEMBERS).status_code == 403  # an analyst manages no members
    # The link is spent.
    assert "new_password1" not in Client().get(link, follow=True).content.decode()


def test_adding_an_existing_account_keeps_its_password(world, client_for, smtp):
    # supplier1 answers for S1 and now also works for the buyer as an auditor.
    world.supplier1.email = "sato@s1.example.jp"
    world.supplier1.save()
    password_before = world.supplier1.password
    users_before = User.objects.count()
    response = client_for(world.admin).post(
        ADD, {"email": "SATO@s1.example.jp", "display_name": "別名", "role": "auditor"}, follow=True
    )
    assert "すでにアカウントをお持ち" in response.content.decode()
    assert User.objects.count() == users_before
    world.supplier1.refresh_from_db()
    assert world.supplier1.password == password_before
    assert world.supplier1.display_name == ""  # an existing account keeps its own name
    assert membership(world.supplier1, world.buyer).role == Role.AUDITOR
    [mail] = smtp.messages
    assert mail.recipients == ["sato@s1.example.jp"]
    assert link_in(mail.text) == reverse("login")
    assert "/accounts/invitation/" not in mail.text and "/accounts/invitation/" not in mail.html
    assert "すでに Renkei のアカウントをお持ちです" in mail.text
    # Still a supplier contact, now staff as well.
    assert client_for(world.supplier1).get(reverse("suppliers:detail", args=[world.s2.pk])).status_code == 200


def test_adding_a_member_twice_or_a_disabled_account_is_refused(world, client_for, smtp):
    admin = client_for(world.admin)
    again = admin.post(ADD, {"email": "analyst@example.jp", "role": "admin"})
    assert again.status_code == 200
    assert "analyst@example.jp はすでに 連携製作所 のメンバーです" in again.content.decode()
    assert membership(world.analyst, world.buyer).role == Role.ANALYST
    world.nobody.is_active = False
    world.nobody.save()
    disabled = admin.post(ADD, {"email": "nobody@example.jp", "role": "auditor"})
    assert "無効" in disabled.content.decode()
    bad = admin.post(ADD, {"email": "not-an-address", "role": "root"})
    assert bad.status_code == 200 and bad.context["form"].errors.keys() == {"email", "role"}
    assert smtp.messages == [] and entries() == []


def test_an_unreachable_mail_server_keeps_the_membership(world, client_for, smtp, settings):
    from renkei.accounts.tests.conftest import free_port

    settings.EMAIL_PORT = free_port()
    response = client_for(world.admin).post(
        ADD, {"email": "late@example.jp", "role": "auditor"}, follow=True
    )
    assert "メールを送信できませんでした" in response.content.decode()
    assert Membership.objects.filter(user__username="late@example.jp").exists()


# --- Changing roles and removing ----------------------------------------------------------------


def test_change_role(world, client_for):
    target = membership(world.analyst, world.buyer)
    admin = client_for(world.admin)
    page = admin.get(role_url(target)).content.decode()
    assert "ロールを変更" in page and 'value="analyst" selected' in page
    response = admin.post(role_url(target), {"role": "auditor"}, follow=True)
    assert "analyst のロールを 監査者（閲覧のみ） に変更しました" in response.content.decode()
    target.refresh_from_db()
    assert target.role == Role.AUDITOR
    [entry] = entries()
    assert entry.action == AuditEntry.Action.UPDATE and entry.actor == world.admin
    assert entry.changes == {"role": ["analyst", "auditor"]}
    assert entry.object_id == str(target.pk) and entry.organization_id == world.buyer.pk
    # Saving the same role again writes nothing.
    admin.post(role_url(target), {"role": "auditor"})
    assert len(entries()) == 1


def test_remove_asks_first_and_keeps_the_user(world, client_for):
    target = membership(world.analyst, world.buyer)
    admin = client_for(world.admin)
    confirm = admin.get(remove_url(target))
    assert confirm.status_code == 200
    assert "アカウント自体は残ります" in confirm.content.decode()
    assert Membership.objects.filter(pk=target.pk).exists()
    response = admin.post(remove_url(target), follow=True)
    assert "analyst は 連携製作所 のメンバーではなくなりました" in response.content.decode()
    assert not Membership.objects.filter(pk=target.pk).exists()
    assert User.objects.filter(pk=world.analyst.pk, is_active=True).exists()
    [entry] = entries()
    assert entry.action == AuditEntry.Action.DELETE and entry.object_id == str(target.pk)
    assert entry.changes["role"] == ["analyst", None]
    assert verify([world.buyer.pk])[1] == []
    # The former analyst sees nothing of the buyer any more.
    former = client_for(world.analyst)
    assert former.get(reverse("suppliers:detail", args=[world.s1.pk])).status_code == 404


def test_removing_an_invited_person_spends_the_link(world, client_for, smtp):
    invitation = add_member(Actor.system("test"), world.buyer, email="new@example.jp",
                            role=Role.AUDITOR)
    link = link_in(smtp.messages[0].text)
    client_for(world.admin).post(remove_url(invitation.membership))
    assert User.objects.filter(username="new@example.jp").exists()
    assert "new_password1" not in Client().get(link, follow=True).content.decode()


def test_the_last_admin_can_be_neither_demoted_nor_removed(world, client_for):
    own = membership(world.admin, world.buyer)
    admin = client_for(world.admin)
    demote = admin.post(role_url(own), {"role": "analyst"})
    assert demote.status_code == 200
    assert "最後の管理者のため、ロールを変更できません" in demote.content.decode()
    page = admin.get(remove_url(own)).content.decode()
    assert "最後の管理者のため、組織から外せません" in page and "btn-danger" not in page
    remove = admin.post(remove_url(own))
    assert remove.status_code == 200
    assert "最後の管理者のため、組織から外せません" in remove.content.decode()
    own.refresh_from_db()
    assert own.role == Role.ADMIN and entries() == []
    with pytest.raises(MemberError):
        change_role(Actor.system("test"), own, Role.AUDITOR)
    with pytest.raises(MemberError):
        remove_member(Actor.system("test"), own)
    # Another organization's admins do not count.
    Membership.objects.create(user=world.outsider, organization=world.buyer, role=Role.ANALYST)
    with pytest.raises(MemberError):
        remove_member(Actor.system("test"), own)


def test_with_a_second_admin_an_admin_may_step_down(world, client_for):
    change_role(Actor.system("test"), membership(world.analyst, world.buyer), Role.ADMIN)
    admin = client_for(world.admin)
    response = admin.post(role_url(membership(world.admin, world.buyer)), {"role": "auditor"})
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    assert admin.get(MEMBERS).status_code == 403
    # The remaining admin is now the last one.
    with pytest.raises(MemberError):
        remove_member(Actor.system("test"), membership(world.analyst, world.buyer))
    client_for(world.analyst).post(remove_url(membership(world.admin, world.buyer)))
    assert not Membership.objects.filter(user=world.admin).exists()
    assert User.objects.filter(pk=world.admin.pk).exists()


# --- Who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["analyst", "auditor", "supplier1", "xcontact", "nobody"])
def test_without_manage_anywhere_the_pages_are_forbidden(world, client_for, who):
    client = client_for(getattr(world, who))
    assert client.get(MEMBERS).status_code == 403
    assert client.get(ADD).status_code == 403
    assert client.post(ADD, {"email": "x@example.jp", "role": "admin"}).status_code == 403
    assert not User.objects.filter(username="x@example.jp").exists()


def test_anonymous_is_sent_to_login(world):
    for url in (MEMBERS, ADD, role_url(membership(world.analyst, world.buyer))):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("who", ["analyst", "auditor"])
def test_members_of_the_organization_without_manage_get_403(world, client_for, who):
    target = membership(world.admin, world.buyer)
    client = client_for(getattr(world, who))
    for url in (role_url(target), remove_url(target)):
        assert client.get(url).status_code == 403
        assert client.post(url, {"role": "auditor"}).status_code == 403
    target.refresh_from_db()
    assert target.role == Role.ADMIN


@pytest.mark.parametrize("who", ["outsider", "supplier1", "nobody"])
def test_foreign_memberships_answer_404(world, client_for, who):
    client = client_for(getattr(world, who))
    for target in Membership.objects.filter(organization=world.buyer):
        for url in (role_url(target), remove_url(target)):
            assert client.get(url).status_code == 404
            assert client.post(url, {"role": "auditor"}).status_code == 404
    assert client.get(role_url(Membership(pk=999999))).status_code == 404
    assert Membership.objects.filter(organization=world.buyer).count() == 3
    assert entries() == []


def test_outsider_cannot_add_to_another_organization(world, client_for, smtp):
    client = client_for(world.outsider)
    assert client.get(MEMBERS, {"organization": world.buyer.pk}).status_code == 404
    response = client.post(ADD, {"organization": world.buyer.pk, "email": "spy@example.jp",
                                 "role": "admin"})
    assert response.status_code == 404
    assert not User.objects.filter(username="spy@example.jp").exists()
    # Its own organization works.
    own = client.get(MEMBERS)
    assert [m.user.username for m in own.context["rows"]] == ["outsider"]


# --- Query count --------------------------------------------------------------------------------


def count_queries(client):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(MEMBERS).status_code == 200
    return len(queries)


def test_the_member_list_takes_a_constant_number_of_queries(world, client_for):
    client = client_for(world.admin)
    few = count_queries(client)
    for i in range(27):
        user = make_user(f"member{i:02d}", display_name=f"社員 {i}")
        Membership.objects.create(user=user, organization=world.buyer, role=Role.AUDITOR)
    many = count_queries(client)
    assert len(client.get(MEMBERS).context["rows"]) == 30
    assert few == many
    assert many <= 8, many


# --- The CLI goes through the same service ------------------------------------------------------


def test_cli_create_records_the_membership(world):
    call_command("users", "create", "cli-user", "--email", "cli@example.jp", "--role", "auditor",
                 "--organization", "buyer", "--json", stdout=io.StringIO())
    user = User.objects.get(username="cli-user")
    assert user.has_usable_password()
    [entry] = entries(AuditEntry.Action.CREATE)
    assert entry.object_id == str(membership(user, world.buyer).pk)
    assert entry.address.startswith("cli@")


def test_an_english_user_is_told_in_english(world, smtp):
    world.nobody.language = "en"
    world.nobody.save()
    add_member(Actor.cli(), world.buyer, email="nobody@example.jp", role=Role.AUDITOR)
    [mail] = smtp.messages
    assert mail.subject == "[Renkei] Renkei Works added you to Renkei"
    assert "has added you as Auditor (read-only)" in mail.text
    assert link_in(mail.text) == reverse("login")
