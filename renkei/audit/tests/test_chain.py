import pytest
from django.db import connection

from renkei.audit.models import AuditChain, AuditEntry
from renkei.audit.services import Actor, verify
from renkei.core.testing import tamper
from renkei.suppliers.models import Supplier
from renkei.suppliers.services import delete_record, save_record


@pytest.fixture
def trail(world):
    actor = Actor(user=world.admin, address="192.0.2.10", label="admin")
    s = Supplier(organization=world.buyer, code="S9", name="監査テスト株式会社")
    save_record(actor, s, tags=["重要"])
    s.name = "監査テスト2株式会社"
    save_record(actor, s, tags=["重要", "IT"])
    delete_record(actor, s)
    return world


@pytest.mark.django_db
class TestAuditChain:
    def test_entries_record_who_where_and_field_changes(self, trail):
        entries = list(AuditEntry.objects.filter(organization=trail.buyer).order_by("sequence"))
        assert [e.action for e in entries] == ["create", "update", "delete"]
        update = entries[1]
        assert update.actor == trail.admin and update.address == "192.0.2.10"
        assert update.changes["name"] == ["監査テスト株式会社", "監査テスト2株式会社"]
        assert update.changes["tags"] == [["重要"], ["IT", "重要"]]
        assert "code" not in update.changes

    def test_unchanged_save_writes_nothing(self, trail):
        before = AuditEntry.objects.count()
        save_record(Actor.cli(), trail.s1)
        assert AuditEntry.objects.count() == before

    def test_intact_chain_verifies(self, trail):
        checked, problems = verify()
        assert checked == 3 and problems == []

    def test_changed_entry_is_found(self, trail):
        entry = AuditEntry.objects.get(organization=trail.buyer, sequence=2)
        tamper("UPDATE audit_auditentry SET actor_label = %s WHERE id = %s", ["someone", entry.id])
        _, problems = verify()
        assert [(p.sequence, p.problem) for p in problems] == [
            (2, "content does not match its hash")
        ]

    def test_deleted_entry_is_found(self, trail):
        entry = AuditEntry.objects.get(organization=trail.buyer, sequence=2)
        tamper("DELETE FROM audit_auditentry WHERE id = %s", [entry.id])
        _, problems = verify()
        assert any(p.sequence == 3 and "gap" in p.problem for p in problems)

    def test_deleted_last_entry_is_found(self, trail):
        entry = AuditEntry.objects.get(organization=trail.buyer, sequence=3)
        tamper("DELETE FROM audit_auditentry WHERE id = %s", [entry.id])
        _, problems = verify()
        assert [p.problem for p in problems] == ["entries are missing at the end of the chain"]

    def test_reordered_entries_are_found(self, trail):
        one = AuditEntry.objects.get(organization=trail.buyer, sequence=1)
        two = AuditEntry.objects.get(organization=trail.buyer, sequence=2)
        tamper("UPDATE audit_auditentry SET sequence = 100 WHERE id = %s", [one.id])
        tamper("UPDATE audit_auditentry SET sequence = 1 WHERE id = %s", [two.id])
        tamper("UPDATE audit_auditentry SET sequence = 2 WHERE id = %s", [one.id])
        _, problems = verify()
        assert problems and all(p.organization == trail.buyer.id for p in problems)

    def test_entries_refuse_update_and_delete_through_the_orm(self, trail):
        entry = AuditEntry.objects.first()
        with pytest.raises(RuntimeError):
            entry.save()
        with pytest.raises(RuntimeError):
            entry.delete()

    @pytest.mark.skipif(connection.vendor != "postgresql", reason="trigger is PostgreSQL-only")
    def test_postgresql_refuses_update_and_delete(self, trail):
        from django.db import DatabaseError, transaction

        entry = AuditEntry.objects.first()
        for sql in (
            "UPDATE audit_auditentry SET action = 'x' WHERE id = %s",
            "DELETE FROM audit_auditentry WHERE id = %s",
        ):
            with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
                cur.execute(sql, [entry.id])

    def test_chains_are_per_organization(self, trail):
        save_record(
            Actor.cli(trail.outsider), Supplier(organization=trail.other, code="X2", name="x")
        )
        assert AuditChain.objects.get(organization=trail.other).last_sequence == 1
        assert AuditChain.objects.get(organization=trail.buyer).last_sequence == 3
