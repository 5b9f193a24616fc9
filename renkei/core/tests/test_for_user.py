import pytest

from renkei.accounts.models import Organization
from renkei.suppliers.models import Certification, Contact, Contract, Supplier


def codes(qs):
    return sorted(qs.values_list("code", flat=True))


@pytest.mark.django_db
class TestSupplierRestriction:
    def test_staff_see_their_organizations_suppliers_only(self, world):
        assert codes(Supplier.objects.for_user(world.admin)) == ["S1", "S2"]
        assert codes(Supplier.objects.for_user(world.analyst)) == ["S1", "S2"]
        assert codes(Supplier.objects.for_user(world.auditor)) == ["S1", "S2"]
        assert codes(Supplier.objects.for_user(world.outsider)) == ["X1"]

    def test_auditor_cannot_change_add_or_delete(self, world):
        for action in ("add", "change", "delete"):
            assert not Supplier.objects.for_user(world.auditor, action).exists()

    def test_supplier_contact_sees_and_changes_only_its_supplier(self, world):
        assert codes(Supplier.objects.for_user(world.supplier1)) == ["S1"]
        assert codes(Supplier.objects.for_user(world.supplier1, "change")) == ["S1"]
        assert not Supplier.objects.for_user(world.supplier1, "delete").exists()
        assert codes(Supplier.objects.for_user(world.supplier2)) == ["S2"]

    def test_supplier_contact_cannot_change_contracts(self, world):
        assert Contract.objects.for_user(world.supplier1).count() == 1
        assert not Contract.objects.for_user(world.supplier1, "change").exists()

    def test_children_follow_their_supplier(self, world):
        assert {c.supplier.code for c in Contact.objects.for_user(world.supplier1)} == {"S1"}
        assert {c.supplier.code for c in Certification.objects.for_user(world.supplier2)} == {"S2"}
        assert Certification.objects.for_user(world.admin).count() == 2

    def test_revoked_portal_access_sees_nothing(self, world):
        Contact.objects.filter(user=world.supplier1).update(portal_access=False)
        assert not Supplier.objects.for_user(world.supplier1).exists()

    def test_user_without_role_and_anonymous_see_nothing(self, world):
        from django.contrib.auth.models import AnonymousUser

        assert not Supplier.objects.for_user(world.nobody).exists()
        assert not Supplier.objects.for_user(AnonymousUser()).exists()
        assert not Supplier.objects.for_user(None).exists()

    def test_inactive_user_sees_nothing(self, world):
        world.admin.is_active = False
        world.admin.save()
        assert not Supplier.objects.for_user(world.admin).exists()

    def test_organization_restriction(self, world):
        assert list(Organization.for_user(world.admin)) == [world.buyer]
        assert not Organization.for_user(world.supplier1).exists()
        assert not Organization.for_user(world.auditor, "manage").exists()

    def test_for_user_is_one_query(self, world, django_assert_num_queries):
        with django_assert_num_queries(1):
            list(Supplier.objects.for_user(world.supplier1, "change"))
