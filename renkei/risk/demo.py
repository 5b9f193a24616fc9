"""Risk for the demo organization: every demo supplier gets an explained score (no demo data of
its own: the ratings come from the demo registry and questionnaires, like real ones)."""

from __future__ import annotations

from typing import Any


def build_demo_risk(organization: Any) -> int:
    from renkei.risk.services import recompute_organization

    return recompute_organization(organization)
