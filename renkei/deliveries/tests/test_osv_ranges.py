"""OSV range evaluation: intervals, events, lists and the unknown answer."""

import pytest
from django.utils import translation

from renkei.deliveries.osv.ranges import AFFECTED, NOT_AFFECTED, UNKNOWN, evaluate


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English (the default language is Japanese)."""
    with translation.override("en"):
        yield


def ev(range_type="ECOSYSTEM", **_ignored):
    """Not used: events are written out below for readability."""


def r(kind, *events):
    return {"type": kind, "events": [dict([e]) for e in events]}


LOG4J = [
    r("ECOSYSTEM", ("introduced", "2.0-beta9"), ("fixed", "2.15.0")),
    r("ECOSYSTEM", ("introduced", "2.13.0"), ("fixed", "2.16.0")),
]


@pytest.mark.parametrize(
    ("version", "state"),
    [
        ("2.0-beta8", NOT_AFFECTED),
        ("2.0-beta9", AFFECTED),
        ("2.14.1", AFFECTED),
        ("2.15.0", AFFECTED),
        ("2.16.0", NOT_AFFECTED),
        ("2.17.1", NOT_AFFECTED),
        ("1.2.17", NOT_AFFECTED),
    ],
)
def test_maven_version_in_any_range_is_affected(version, state):
    assert evaluate("Maven", version, LOG4J, [])[0] == state


# One event list holding three intervals: [0, 1.2.3), [2.0.0, 2.1.4), [3.0.0-rc.1, 3.0.5]
SEVERAL = [
    r(
        "SEMVER",
        ("introduced", "0"),
        ("fixed", "1.2.3"),
        ("introduced", "2.0.0"),
        ("fixed", "2.1.4"),
        ("introduced", "3.0.0-rc.1"),
        ("last_affected", "3.0.5"),
    )
]


@pytest.mark.parametrize(
    ("version", "state"),
    [
        ("0.0.1", AFFECTED),
        ("1.2.2", AFFECTED),
        ("1.2.3", NOT_AFFECTED),
        ("1.9.9", NOT_AFFECTED),
        ("2.0.0", AFFECTED),
        ("2.1.3", AFFECTED),
        ("2.1.4", NOT_AFFECTED),
        ("3.0.0-beta", NOT_AFFECTED),
        ("3.0.0-rc.1", AFFECTED),
        ("3.0.5", AFFECTED),
        ("3.0.6", NOT_AFFECTED),
        ("4.0.0", NOT_AFFECTED),
    ],
)
def test_several_intervals_in_one_range(version, state):
    assert evaluate("npm", version, SEVERAL, [])[0] == state


def test_events_are_sorted_before_walking():
    shuffled = [
        r("SEMVER", ("fixed", "2.1.4"), ("introduced", "2.0.0"), ("fixed", "1.2.3"), ("introduced", "0"))
    ]
    assert evaluate("npm", "2.0.5", shuffled, [])[0] == AFFECTED
    assert evaluate("npm", "1.5.0", shuffled, [])[0] == NOT_AFFECTED
    assert evaluate("npm", "1.0.0", shuffled, [])[0] == AFFECTED


def test_introduced_zero_alone_affects_every_version():
    state, reason = evaluate("npm", "99.1.0", [r("SEMVER", ("introduced", "0"))], [])
    assert (state, reason) == (AFFECTED, "SEMVER *")


def test_limit_bounds_the_range():
    ranges = [r("ECOSYSTEM", ("introduced", "1.0"), ("limit", "2.0"))]
    assert evaluate("PyPI", "1.5", ranges, [])[0] == AFFECTED
    assert evaluate("PyPI", "2.0", ranges, [])[0] == NOT_AFFECTED
    assert evaluate("PyPI", "3.0", [r("ECOSYSTEM", ("introduced", "1.0"), ("limit", "*"))], [])[0] == AFFECTED


def test_reason_names_the_interval():
    assert evaluate("Maven", "2.14.1", LOG4J, []) == (AFFECTED, "ECOSYSTEM >=2.0-beta9, <2.15.0")
    assert evaluate("npm", "3.0.1", SEVERAL, []) == (AFFECTED, "SEMVER >=3.0.0-rc.1, <=3.0.5")


def test_versions_list_counts_even_outside_the_ranges():
    ranges = [r("ECOSYSTEM", ("introduced", "2.0"), ("fixed", "2.2"))]
    assert evaluate("PyPI", "1.11.3", ranges, ["1.11.3", "2.0", "2.1"]) == (AFFECTED, "versions")
    assert evaluate("PyPI", "1.11.4", ranges, ["1.11.3", "2.0", "2.1"])[0] == NOT_AFFECTED


def test_go_v_prefix_matches_the_versions_list():
    assert evaluate("Go", "v1.4.0", [], ["1.4.0"])[0] == AFFECTED


def test_git_ranges_are_ignored_but_the_list_counts():
    git = {"type": "GIT", "repo": "https://github.com/x/y", "events": [{"introduced": "a" * 40}]}
    assert evaluate("PyPI", "1.0", [git], ["1.0"])[0] == AFFECTED
    assert evaluate("PyPI", "1.1", [git], ["1.0"])[0] == NOT_AFFECTED
    assert evaluate("PyPI", "1.1", [git], [])[0] == UNKNOWN


def test_no_ranges_and_no_versions_affect_every_version():
    assert evaluate("npm", "1.0.0", [], [])[0] == AFFECTED


def test_unparsable_component_version_is_unknown_not_unaffected():
    state, reason = evaluate(
        "PyPI", "banana", LOG4J[:0] + [r("ECOSYSTEM", ("introduced", "1.0"), ("fixed", "2.0"))], []
    )
    assert state == UNKNOWN
    assert "banana" in reason


def test_unparsable_event_version_makes_the_range_unknown():
    broken = [r("ECOSYSTEM", ("introduced", "0"), ("fixed", "not-a-version!"))]
    state, reason = evaluate("Debian", "1.0-1", broken, [])
    assert state == UNKNOWN
    assert "not-a-version!" in reason


def test_another_range_saying_affected_wins_over_unknown():
    broken = r("ECOSYSTEM", ("introduced", "0"), ("fixed", "not-a-version!"))
    good = r("ECOSYSTEM", ("introduced", "1.0-1"), ("fixed", "1.0-3"))
    assert evaluate("Debian", "1.0-2", [broken, good], [])[0] == AFFECTED


def test_semver_range_in_a_non_semver_ecosystem_uses_semver_ordering():
    ranges = [r("SEMVER", ("introduced", "1.0.0"), ("fixed", "1.10.0"))]
    assert evaluate("PyPI", "1.9.0", ranges, [])[0] == AFFECTED
    # "1.0.0.post1" is PEP 440 but not SemVer: not comparable with this range.
    assert evaluate("PyPI", "1.0.0.post1", ranges, [])[0] == UNKNOWN


@pytest.mark.parametrize(
    ("ecosystem", "version", "ranges", "state"),
    [
        (
            "Debian",
            "2.9.10+dfsg-6.7+deb11u4",
            [r("ECOSYSTEM", ("introduced", "0"), ("fixed", "2.9.14+dfsg-1.3~deb12u1"))],
            AFFECTED,
        ),
        ("Alpine", "3.1.4-r0", [r("ECOSYSTEM", ("introduced", "0"), ("fixed", "3.1.4-r1"))], AFFECTED),
        ("Alpine", "3.1.4-r1", [r("ECOSYSTEM", ("introduced", "0"), ("fixed", "3.1.4-r1"))], NOT_AFFECTED),
        ("RubyGems", "7.0.4.2", [r("ECOSYSTEM", ("introduced", "7.0.0"), ("fixed", "7.0.4.3"))], AFFECTED),
        ("NuGet", "13.0.0", [r("ECOSYSTEM", ("introduced", "0"), ("fixed", "13.0.1"))], AFFECTED),
        ("Packagist", "v9.52.15", [r("ECOSYSTEM", ("introduced", "9.0.0"), ("fixed", "9.52.16"))], AFFECTED),
        ("crates.io", "1.0.0", [r("SEMVER", ("introduced", "0"), ("fixed", "0.9.0"))], NOT_AFFECTED),
        ("Go", "v1.9.0", [r("SEMVER", ("introduced", "0"), ("fixed", "1.9.1"))], AFFECTED),
    ],
)
def test_each_ecosystem_ordering_is_used(ecosystem, version, ranges, state):
    assert evaluate(ecosystem, version, ranges, [])[0] == state
