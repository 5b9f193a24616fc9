"""Ecosystem names, package URLs and each ecosystem's version ordering."""

import pytest
from django.utils import translation

from renkei.deliveries.osv.ecosystems import (
    SUPPORTED,
    Key,
    PurlError,
    key_from_purl,
    normalize_name,
    split_ecosystem,
)
from renkei.deliveries.osv.versions import VersionError, can_parse, parse_version


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English (the default language is Japanese)."""
    with translation.override("en"):
        yield


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Debian:12", ("Debian", "12")),
        ("Alpine:v3.18", ("Alpine", "v3.18")),
        ("Maven:https://repo.example.com/maven2", ("Maven", "")),
        ("Ubuntu:22.04:LTS", ("Ubuntu", "22.04")),
        ("Ubuntu:Pro:18.04:LTS", ("Ubuntu", "pro:18.04")),
        ("PyPI", ("PyPI", "")),
    ],
)
def test_split_ecosystem_separates_the_release(text, expected):
    assert split_ecosystem(text) == expected


def test_the_issue_ecosystems_are_supported():
    for name in (
        "PyPI",
        "npm",
        "Maven",
        "Go",
        "crates.io",
        "RubyGems",
        "NuGet",
        "Packagist",
        "Debian",
        "Alpine",
    ):
        assert name in SUPPORTED


@pytest.mark.parametrize(
    ("ecosystem", "name", "expected"),
    [
        ("PyPI", "Django_Rest.Framework", "django-rest-framework"),
        ("npm", "@Angular/Core", "@angular/core"),
        ("NuGet", "Newtonsoft.Json", "newtonsoft.json"),
        ("Packagist", "Laravel/Framework", "laravel/framework"),
        ("crates.io", "Serde_Json", "serde-json"),
        ("Maven", "org.apache.logging.log4j:log4j-core", "org.apache.logging.log4j:log4j-core"),
        ("Go", "github.com/BurntSushi/toml", "github.com/BurntSushi/toml"),
    ],
)
def test_names_are_normalised_per_ecosystem(ecosystem, name, expected):
    assert normalize_name(ecosystem, name) == expected


@pytest.mark.parametrize(
    ("purl", "key", "version"),
    [
        ("pkg:pypi/Django_Rest.Framework@3.14.0", Key("PyPI", "django-rest-framework"), "3.14.0"),
        ("pkg:npm/%40angular/core@16.0.0", Key("npm", "@angular/core"), "16.0.0"),
        (
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
            Key("Maven", "org.apache.logging.log4j:log4j-core"),
            "2.14.1",
        ),
        ("pkg:golang/github.com/gin-gonic/gin@v1.9.0", Key("Go", "github.com/gin-gonic/gin"), "v1.9.0"),
        ("pkg:cargo/serde_json@1.0.1", Key("crates.io", "serde-json"), "1.0.1"),
        ("pkg:gem/rails@7.0.0", Key("RubyGems", "rails"), "7.0.0"),
        ("pkg:nuget/Newtonsoft.Json@13.0.1", Key("NuGet", "newtonsoft.json"), "13.0.1"),
        ("pkg:composer/laravel/framework@v9.0.0", Key("Packagist", "laravel/framework"), "v9.0.0"),
        (
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&upstream=openssl&distro=debian-12",
            Key("Debian", "openssl", "12"),
            "3.0.11-1~deb12u2",
        ),
        ("pkg:deb/debian/openssl@3.0.11-1?distro=bookworm", Key("Debian", "openssl", "12"), "3.0.11-1"),
        (
            "pkg:deb/ubuntu/openssl@3.0.2-0ubuntu1?distro=ubuntu-22.04",
            Key("Ubuntu", "openssl", "22.04"),
            "3.0.2-0ubuntu1",
        ),
        (
            "pkg:apk/alpine/libcrypto3@3.1.4-r0?upstream=openssl%403.1.4-r0&distro=alpine-3.18.4",
            Key("Alpine", "openssl", "v3.18"),
            "3.1.4-r0",
        ),
        ("pkg:apk/alpine/busybox@1.36.1-r5", Key("Alpine", "busybox", ""), "1.36.1-r5"),
    ],
)
def test_purls_give_the_matching_key(purl, key, version):
    assert key_from_purl(purl) == (key, version)


def test_unsupported_purl_types_give_no_key_but_keep_the_version():
    assert key_from_purl("pkg:github/actions/checkout@v4") == (None, "v4")
    assert key_from_purl("pkg:deb/kali/openssl@1.0") == (None, "1.0")


@pytest.mark.parametrize("purl", ["django@1.0", "pkg:", "pkg:npm/", "pkg:maven/@1.0"])
def test_malformed_purls_raise_an_error_naming_them(purl):
    with pytest.raises(PurlError, match="Malformed package URL"):
        key_from_purl(purl)


@pytest.mark.parametrize(
    ("ecosystem", "lower", "higher"),
    [
        ("PyPI", "1.0rc1", "1.0"),
        ("PyPI", "1.0", "1.0.post1"),
        ("PyPI", "2.9", "2.10"),
        ("npm", "1.0.0-alpha", "1.0.0-alpha.1"),
        ("npm", "1.0.0-alpha.beta", "1.0.0-beta"),
        ("npm", "1.0.0-beta.2", "1.0.0-beta.11"),
        ("npm", "1.0.0-rc.1", "1.0.0"),
        ("crates.io", "0.9.9", "0.10.0"),
        ("Go", "v0.0.0-20200101120000-abcdef123456", "v0.0.1"),
        ("Go", "1.2.3", "v1.10.0"),
        ("Maven", "2.0.0-beta9", "2.0"),
        ("Maven", "2.14.1", "2.15.0"),
        ("Maven", "1.0-SNAPSHOT", "1.0"),
        ("RubyGems", "1.2.a", "1.2"),
        ("NuGet", "1.0.0-beta", "1.0.0"),
        ("Packagist", "v1.2.3", "1.10"),
        ("Debian", "1:2.3-1", "1:2.3-1+deb12u1"),
        ("Debian", "2.3-9", "1:0.1-1"),
        ("Debian", "1.0~rc1-1", "1.0-1"),
        ("Alpine", "1.2.3-r0", "1.2.3-r10"),
        ("Alpine", "1.2.3_rc1-r0", "1.2.3-r0"),
        ("Ubuntu", "3.0.2-0ubuntu1.9", "3.0.2-0ubuntu1.10"),
    ],
)
def test_versions_follow_their_ecosystems_ordering(ecosystem, lower, higher):
    assert parse_version(ecosystem, lower) < parse_version(ecosystem, higher)
    assert not parse_version(ecosystem, higher) < parse_version(ecosystem, lower)


@pytest.mark.parametrize(
    ("ecosystem", "a", "b"),
    [
        ("PyPI", "1.0", "1.0.0"),
        ("npm", "1.2.3+build.5", "1.2.3"),
        ("Go", "v1.2.3", "1.2.3"),
        ("Maven", "1.0", "1.0.0"),
    ],
)
def test_equal_versions_compare_equal(ecosystem, a, b):
    assert parse_version(ecosystem, a) == parse_version(ecosystem, b)


@pytest.mark.parametrize(
    ("ecosystem", "text"),
    [
        ("PyPI", "not a version"),
        ("npm", "1.2.x"),
        ("npm", "latest"),
        ("crates.io", "1.0.0-"),
        ("Debian", "not a version!"),
        ("Alpine", "2.0.0-beta9"),
        ("NuGet", "abc"),
        ("Maven", ""),
        ("Unknown", "1.0"),
    ],
)
def test_unparsable_versions_raise_version_error(ecosystem, text):
    with pytest.raises(VersionError):
        parse_version(ecosystem, text)
    assert not can_parse(ecosystem, text)
