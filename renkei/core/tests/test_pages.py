import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from renkei.suppliers.models import Supplier

pytestmark = pytest.mark.django_db

ROLES = ("admin", "analyst", "auditor", "supplier1", "supplier2", "outsider", "xcontact", "nobody")


@pytest.mark.parametrize("role", ROLES)
def test_every_role_can_open_the_dashboard_list_and_account(world, client_for, role):
    client = client_for(getattr(world, role))
    for name in ("dashboard", "suppliers:list", "account"):
        response = client.get(reverse(name))
        assert response.status_code == 200, (role, name)
        assert "ダッシュボード" in response.content.decode()


@pytest.mark.parametrize("role", ("admin", "analyst", "auditor", "supplier1"))
def test_roles_open_their_supplier_page_on_every_tab(world, client_for, role):
    client = client_for(getattr(world, role))
    for tab in ("overview", "contacts", "contracts", "certifications", "chain", "history"):
        response = client.get(reverse("suppliers:detail", args=[world.s1.pk]), {"tab": tab})
        assert response.status_code == 200, (role, tab)
        assert "東海精密部品株式会社" in response.content.decode()


def test_pages_are_japanese_by_default(world, client_for):
    page = client_for(world.admin).get(reverse("suppliers:list")).content.decode()
    assert '<html lang="ja">' in page
    assert "取引先台帳" in page
    assert "新規登録" in page


def test_switching_to_english_shows_english(world, client_for):
    client = client_for(world.admin)
    response = client.post(reverse("set_language"), {"language": "en", "next": "/suppliers/"})
    assert response.status_code == 302
    page = client.get(reverse("suppliers:list")).content.decode()
    assert '<html lang="en">' in page
    assert "Supplier registry" in page
    assert "取引先台帳" not in page


def test_anonymous_is_sent_to_login(client, world):
    for url in (
        reverse("dashboard"), reverse("suppliers:list"), reverse("account"),
        reverse("suppliers:detail", args=[world.s1.pk]), reverse("suppliers:create"),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_login_page_is_japanese_and_logs_in_to_the_dashboard(client, world):
    page = client.get(reverse("login")).content.decode()
    assert "ログイン" in page
    response = client.post(
        reverse("login"), {"username": "admin", "password": "correct-horse-battery-9"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")


def test_wrong_password_is_refused_in_japanese(client, world):
    response = client.post(reverse("login"), {"username": "admin", "password": "nope"})
    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated


def test_logout_is_a_post(world, client_for):
    client = client_for(world.admin)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 302


def test_staff_dashboard_counts_and_links(world, client_for):
    page = client_for(world.admin).get(reverse("dashboard")).content.decode()
    assert "?certification_status=expired" in page
    assert "?relationship=supplier" in page
    assert "?access=vpn" in page


def test_dashboard_without_suppliers_says_what_to_do(world, client_for):
    Supplier.objects.filter(organization=world.other).delete()
    page = client_for(world.outsider).get(reverse("dashboard")).content.decode()
    assert "取引先がまだ登録されていません" in page
    assert reverse("suppliers:import") in page
    assert reverse("suppliers:create") in page


def test_supplier_contact_dashboard_shows_only_its_supplier(world, client_for):
    page = client_for(world.supplier1).get(reverse("dashboard")).content.decode()
    assert world.s1.name in page
    assert world.s2.name not in page
    assert "取引先担当者" in page


def test_supplier_contact_dashboard_lists_what_to_do(world, client_for):
    import datetime

    from renkei.audit.services import Actor
    from renkei.questionnaires.assessments_services import create_assessment
    from renkei.questionnaires.models import Template
    from renkei.remediation.services import agree_plan, create_action

    client = client_for(world.supplier1)
    page = client.get(reverse("dashboard")).content.decode()
    assert "いま回答・対応が必要なものはありません。" in page
    actor = Actor.system("test")
    template = Template.objects.get(key="scrm-sheet", organization__isnull=True)
    create_assessment(actor, world.s1, template, due_on=datetime.date(2026, 12, 1))
    create_assessment(actor, world.s2, template)  # another supplier's: never listed
    mine = create_action(actor, world.s1, title="バックアップの復元テスト", source="manual",
                         due_on=datetime.date(2026, 12, 15))
    agree_plan(actor, mine.plan)
    create_action(actor, world.s2, title="他社の対策", source="manual")
    page = client.get(reverse("dashboard")).content.decode()
    todo = page[page.index('id="supplier-todo"'):page.index("</section>", page.index('id="supplier-todo"'))]
    assert "サプライチェーンリスク管理シート" in todo and "回答期限 2026-12-01" in todo
    assert "バックアップの復元テスト" in todo and "期限 2026-12-15" in todo
    assert "他社の対策" not in page and todo.count('data-todo="assessment"') == 1
    # The list costs the same however much there is to do.
    before = len(_queries_of(client))
    for n in range(3):
        create_action(actor, world.s1, title=f"追加の対策 {n}", source="manual")
    assert len(_queries_of(client)) == before


def _queries_of(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("dashboard")).status_code == 200
    return captured.captured_queries


def test_nobody_sees_that_it_has_no_access(world, client_for):
    page = client_for(world.nobody).get(reverse("dashboard")).content.decode()
    assert "権限" in page


def test_api_docs_link_only_for_staff(world, client_for):
    assert "/api/docs/" in client_for(world.auditor).get("/").content.decode()
    assert "/api/docs/" not in client_for(world.supplier1).get("/").content.decode()


def test_account_page_creates_and_rotates_the_token(world, client_for):
    client = client_for(world.analyst)
    assert not Token.objects.filter(user=world.analyst).exists()
    client.post(reverse("account"))
    first = Token.objects.get(user=world.analyst).key
    page = client.get(reverse("account")).content.decode()
    assert first in page
    client.post(reverse("account"))
    second = Token.objects.get(user=world.analyst).key
    assert second != first
    assert Token.objects.filter(user=world.analyst).count() == 1
