"""`shared_when_unowned`: rows without an organization (built-in questionnaire templates) are
visible to the staff of every organization, for viewing only, in one query."""

import pytest
from django.contrib.auth.models import AnonymousUser

from renkei.core.permissions import CHANGE, DELETE, VIEW
from renkei.questionnaires.models import Choice, Item, Template
from renkei.questionnaires.tests.helpers import load, small

pytestmark = pytest.mark.django_db


@pytest.fixture
def templates(world):
    return {
        "builtin": Template.objects.get(organization=None, key="scrm-sheet"),
        "buyer": load(small(key="buyer-sheet"), world.buyer).template,
        "other": load(small(key="other-sheet"), world.other).template,
    }


def keys(user, action=VIEW):
    return set(Template.objects.for_user(user, action).values_list("key", flat=True))


@pytest.mark.parametrize("who", ["admin", "analyst", "auditor"])
def test_buyer_staff_see_the_builtin_and_their_own(world, templates, who):
    assert keys(getattr(world, who)) == {"scrm-sheet", "buyer-sheet"}


def test_other_organizations_staff_do_not_see_the_buyers(world, templates):
    assert keys(world.outsider) == {"scrm-sheet", "other-sheet"}


@pytest.mark.parametrize("who", ["supplier1", "supplier2", "xcontact", "nobody"])
def test_supplier_contacts_and_users_without_role_see_none(world, templates, who):
    assert keys(getattr(world, who)) == set()


def test_anonymous_and_inactive_users_see_none(world, templates):
    assert keys(AnonymousUser()) == set()
    world.admin.is_active = False
    assert keys(world.admin) == set()


def test_builtin_rows_are_view_only_even_for_admins(world, templates):
    assert keys(world.admin, CHANGE) == {"buyer-sheet"}
    assert keys(world.admin, DELETE) == {"buyer-sheet"}
    assert keys(world.auditor, CHANGE) == set()


def test_rows_inside_templates_follow_their_template(world, templates):
    items = Item.objects.for_user(world.outsider).values_list("template__key", flat=True)
    assert set(items) == {"scrm-sheet", "other-sheet"}
    assert not Choice.objects.for_user(world.supplier1).exists()
    assert Choice.objects.for_user(world.auditor).filter(item__template=templates["buyer"]).exists()


def test_for_user_is_one_query(world, templates, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert len(list(Template.objects.for_user(world.auditor))) == 2
