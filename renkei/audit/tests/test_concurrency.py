"""Writers in parallel append to one organization's chain in a strict order."""

import threading

import pytest
from django.db import close_old_connections, connection

from renkei.audit.models import AuditChain, AuditEntry
from renkei.audit.services import Actor, verify
from renkei.suppliers.models import Supplier
from renkei.suppliers.services import save_record

WRITERS = 4
PER_WRITER = 10


@pytest.mark.django_db(transaction=True)
def test_parallel_writers_keep_the_chain_intact(world):
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(PER_WRITER):
                supplier = Supplier(organization_id=world.buyer.pk, code=f"P{n}-{i}", name=f"並行{n}-{i}")
                save_record(Actor.system(f"writer-{n}"), supplier)
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    entries = AuditEntry.objects.filter(organization=world.buyer)
    assert entries.count() == WRITERS * PER_WRITER
    assert sorted(entries.values_list("sequence", flat=True)) == list(range(1, WRITERS * PER_WRITER + 1))
    assert AuditChain.objects.get(organization=world.buyer).last_sequence == WRITERS * PER_WRITER
    _checked, problems = verify([world.buyer.pk])
    assert problems == []
