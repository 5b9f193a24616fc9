"""renkei.deliveries.licences: licence summaries and the forbidden-licence policy."""

from __future__ import annotations

import pytest

from renkei.deliveries.licences import forbidden_in, normalize, summarize


def test_summary_counts_equal_expressions_together_most_common_first():
    expressions = [
        "MIT",
        "mit",
        "MIT OR Apache-2.0",
        "Apache-2.0 OR MIT",
        "(Apache-2.0 OR MIT)",
        "",
        "",
        "GPL-2.0+",
        "GPL-2.0-or-later",
        "LicenseRef-Acme",
    ]
    assert summarize(expressions) == [
        ("Apache-2.0 OR MIT", 3),
        ("", 2),
        ("GPL-2.0-or-later", 2),
        ("MIT", 2),
        ("LicenseRef-Acme", 1),
    ]


def test_summary_keeps_an_unparsable_expression_as_written():
    assert summarize(["MIT AND", " MIT AND "]) == [("MIT AND", 2)]
    assert summarize([]) == []


@pytest.mark.parametrize(
    ("expression", "normal"),
    [
        ("mit", "MIT"),
        ("gpl-2.0+", "GPL-2.0-or-later"),
        ("GPL-2.0", "GPL-2.0-only"),
        ("MIT OR MIT", "MIT"),
        ("(MIT OR GPL-3.0-only) AND BSD-3-Clause", "(GPL-3.0-only OR MIT) AND BSD-3-Clause"),
        ("GPL-2.0-only WITH Classpath-exception-2.0", "GPL-2.0-only WITH Classpath-exception-2.0"),
    ],
)
def test_normalize(expression, normal):
    assert normalize(expression) == normal


@pytest.mark.parametrize(
    ("expression", "forbidden", "found"),
    [
        ("GPL-3.0-only OR MIT", ["GPL-3.0-only"], []),
        ("GPL-3.0-only AND MIT", ["GPL-3.0-only"], ["GPL-3.0-only"]),
        ("gpl-3.0-only and mit", ["GPL-3.0-ONLY"], ["GPL-3.0-ONLY"]),
        ("GPL-2.0-only WITH Classpath-exception-2.0", ["GPL-2.0-only"], ["GPL-2.0-only"]),
        ("GPL-2.0+", ["GPL-2.0-or-later"], ["GPL-2.0-or-later"]),
        ("GPL-2.0-or-later", ["GPL-2.0+"], ["GPL-2.0+"]),
        ("GPL-2.0", ["GPL-2.0-only"], ["GPL-2.0-only"]),
        ("GPL-2.0-or-later", ["GPL-2.0-only"], []),
        ("(GPL-3.0-only OR MIT) AND AGPL-3.0-only", ["GPL-3.0-only", "AGPL-3.0-only"], ["AGPL-3.0-only"]),
        ("GPL-3.0-only OR AGPL-3.0-only", ["GPL-3.0-only", "AGPL-3.0-only"],
         ["AGPL-3.0-only", "GPL-3.0-only"]),
        ("(GPL-3.0-only AND LGPL-2.1-only) OR AGPL-3.0-only",
         ["GPL-3.0-only", "LGPL-2.1-only", "AGPL-3.0-only"], ["AGPL-3.0-only"]),
        ("LicenseRef-Acme AND MIT", ["licenseref-acme"], ["licenseref-acme"]),
        ("MIT", ["GPL-3.0-only"], []),
        ("", ["GPL-3.0-only"], []),
        ("GPL-3.0-only", [], []),
    ],
)  # fmt: skip
def test_forbidden_in_reports_only_what_cannot_be_avoided(expression, forbidden, found):
    assert forbidden_in(expression, forbidden) == found


def test_forbidden_in_falls_back_to_tokens_when_the_expression_cannot_be_parsed():
    assert forbidden_in("GPL-3.0-only AND (MIT", ["gpl-3.0-only", "Apache-2.0"]) == ["gpl-3.0-only"]
    assert forbidden_in("MIT OR OR", ["GPL-3.0-only"]) == []
