"""Enrollment links other people must never see (for renkei.core.tests.test_security's sweep)."""

from __future__ import annotations

from typing import Any


def foreign_links(world: Any, viewer: Any) -> dict[str, list[Any]]:
    """Links VIEWER may not reach: the buyer's (for its staff and another supplier's contact) and
    another organization's, each with a device name that must never appear in a response."""
    from renkei.pki import enrollment
    from renkei.pki.ca import init_ca, issuing_ca
    from renkei.pki.keystore import PkiError
    from renkei.pki.tests.helpers import SYSTEM, pki_environment

    found = []
    with pki_environment():
        for org in (world.buyer, world.other):
            try:
                issuing_ca(org)
            except PkiError:
                init_ca(SYSTEM, org)
        holders = [(world.admin, world.buyer), (world.supplier2, world.buyer), (world.xcontact, world.other)]
        for user, org in holders:
            if viewer == world.outsider and org == world.other:
                continue
            link, _token = enrollment.create_link(
                SYSTEM, org, user, "device", device_name=f"LEAK-LINK-{user.username}", mailed=False
            )
            found.append(link)
    return {"enrollmentlink": found}
