"""Licences of delivered components (docs/deliveries.md): summaries and the buyer's policy.

Expressions are SPDX licence expressions as read by renkei.deliveries.sbom. They are parsed with
the license-expression library's SPDX licensing, which also canonicalises identifiers: case
("mit" → "MIT"), the deprecated "+" and bare GNU forms ("GPL-2.0+" → "GPL-2.0-or-later",
"GPL-2.0" → "GPL-2.0-only"). Identifiers it does not know (LicenseRef-…) are kept as written.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

from license_expression import (
    AND,
    OR,
    ExpressionError,
    LicenseExpression,
    LicenseSymbol,
    LicenseWithExceptionSymbol,
    get_spdx_licensing,
)

# A hostile expression cannot cost more than this to parse (the SBOM reader cuts at 500 anyway).
MAX_EXPRESSION = 2000
_TOKEN = re.compile(r"[^\s()]+")
_OPERATORS = frozenset({"and", "or", "with"})


@lru_cache(maxsize=1)
def _licensing():  # noqa: ANN202 - license_expression.Licensing
    return get_spdx_licensing()


@lru_cache(maxsize=4096)
def _parse(expression: str) -> LicenseExpression | None:
    """The parsed expression, None when empty or unparsable."""
    if not expression or len(expression) > MAX_EXPRESSION:
        return None
    try:
        return _licensing().parse(expression)
    except (ExpressionError, TypeError, ValueError, RecursionError):
        return None


def _render(node: LicenseExpression) -> str:
    """A canonical rendering: AND/OR operands de-duplicated and sorted, so "MIT OR Apache-2.0" and
    "Apache-2.0 OR MIT" are the same expression."""
    if isinstance(node, AND | OR):
        operator = " AND " if isinstance(node, AND) else " OR "
        parts = []
        for arg in node.args:
            text = _render(arg)
            if isinstance(arg, AND | OR) and type(arg) is not type(node):
                text = f"({text})"
            parts.append(text)
        return operator.join(sorted(dict.fromkeys(parts), key=str.casefold))
    return node.render()


@lru_cache(maxsize=4096)
def normalize(expression: str) -> str:
    """The canonical form of an expression; the stripped input when it cannot be parsed."""
    expression = expression.strip()
    parsed = _parse(expression)
    return _render(parsed) if parsed is not None else expression


def summarize(expressions: Iterable[str]) -> list[tuple[str, int]]:
    """Distinct normalised expressions with their counts, most common first (ties by name). Empty
    expressions (no licence given) are counted under the key "". Expressions equal but for case
    count together, under the first spelling seen."""
    counts: Counter[str] = Counter()
    spelling: dict[str, str] = {}
    for expression in expressions:
        normal = normalize(expression or "")
        key = spelling.setdefault(normal.casefold(), normal)
        counts[key] += 1
    return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0].casefold()))


def _canonical(identifier: str) -> str:
    """An identifier as the expressions spell it after normalisation, lowercased for comparison."""
    parsed = _parse(identifier.strip())
    if isinstance(parsed, LicenseSymbol):
        return parsed.key.casefold()
    return identifier.strip().casefold()


def _unavoidable(node: LicenseExpression, forbidden: dict[str, str]) -> set[str]:
    """The forbidden licences of the best choice the expression allows: an OR takes its cheapest
    operand (all of the cheapest when they tie), an AND everything its operands need; a licence
    WITH an exception counts as the licence."""
    if isinstance(node, LicenseWithExceptionSymbol):
        node = node.license_symbol
    if isinstance(node, LicenseSymbol):
        found = forbidden.get(node.key.casefold())
        return {found} if found else set()
    if isinstance(node, AND):
        needed: set[str] = set()
        for arg in node.args:
            needed |= _unavoidable(arg, forbidden)
        return needed
    if isinstance(node, OR):
        options = [_unavoidable(arg, forbidden) for arg in node.args]
        fewest = min(len(option) for option in options)
        if fewest == 0:
            return set()
        return set().union(*(option for option in options if len(option) == fewest))
    return set()


def forbidden_in(expression: str, forbidden: Iterable[str]) -> list[str]:
    """The forbidden identifiers (as given in `forbidden`) that `expression` cannot avoid, sorted.

    "GPL-3.0-only OR MIT" with GPL-3.0-only forbidden → [] (MIT can be chosen);
    "GPL-3.0-only AND MIT" → ["GPL-3.0-only"]. Comparison ignores case and applies the same
    canonicalisation as the expressions ("GPL-2.0+" is "GPL-2.0-or-later"). An expression that
    cannot be parsed falls back to a token check: every forbidden identifier that appears in it.
    """
    wanted = {_canonical(identifier): identifier.strip() for identifier in forbidden if identifier.strip()}
    if not wanted or not expression or not expression.strip():
        return []
    parsed = _parse(expression.strip())
    if parsed is None:
        tokens = {_canonical(token) for token in _TOKEN.findall(expression[:MAX_EXPRESSION])}
        tokens -= _OPERATORS
        return sorted({identifier for key, identifier in wanted.items() if key in tokens}, key=str.casefold)
    try:
        found = _unavoidable(parsed, wanted)
    except RecursionError:
        found = set()
    return sorted(found, key=str.casefold)
