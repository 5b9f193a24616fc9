"""OSV ecosystems: which are supported, and the key advisories and components are matched by.

A Key is (OSV ecosystem, normalised package name, distribution release). Advisories get theirs
from `affected[].package` (ecosystem and name as OSV writes them), components from their package
URL (or an ecosystem and a name). Both sides go through the same normalisation, so the key is a
plain equality lookup (Component and AdvisoryPackage are indexed on (ecosystem, package)).

The release is only set for distributions ("12" for Debian 12, "v3.18" for Alpine 3.18,
"22.04" for Ubuntu 22.04): an empty release on either side means "any release".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from django.utils.translation import gettext as _
from packageurl import PackageURL
from packaging.utils import canonicalize_name

# Ordered as listed in docs/deliveries.md. Hex and Pub use SemVer; Ubuntu uses dpkg ordering.
SUPPORTED: tuple[str, ...] = (
    "PyPI",
    "npm",
    "Maven",
    "Go",
    "crates.io",
    "RubyGems",
    "NuGet",
    "Packagist",
    "Debian",
    "Ubuntu",
    "Alpine",
    "Hex",
    "Pub",
)
DISTRIBUTIONS = frozenset({"Debian", "Ubuntu", "Alpine"})

# purl type → OSV ecosystem (deb and apk depend on the namespace: see _PURL_DISTRO).
_PURL_TYPES = {
    "pypi": "PyPI",
    "npm": "npm",
    "maven": "Maven",
    "golang": "Go",
    "cargo": "crates.io",
    "gem": "RubyGems",
    "nuget": "NuGet",
    "composer": "Packagist",
    "hex": "Hex",
    "pub": "Pub",
}
_PURL_DISTRO = {("deb", "debian"): "Debian", ("deb", "ubuntu"): "Ubuntu", ("apk", "alpine"): "Alpine"}
# Release names as the distro qualifier may give them (codenames or versions).
_DEBIAN_CODENAMES = {
    "jessie": "8",
    "stretch": "9",
    "buster": "10",
    "bullseye": "11",
    "bookworm": "12",
    "trixie": "13",
    "forky": "14",
}
_UBUNTU_CODENAMES = {
    "xenial": "16.04",
    "bionic": "18.04",
    "focal": "20.04",
    "jammy": "22.04",
    "lunar": "23.04",
    "mantic": "23.10",
    "noble": "24.04",
    "oracular": "24.10",
    "plucky": "25.04",
}
_MAJOR_MINOR = re.compile(r"(\d+)\.(\d+)")
_MAJOR = re.compile(r"(\d+)")


@dataclass(frozen=True)
class Key:
    ecosystem: str
    package: str
    release: str = ""


class PurlError(ValueError):
    """A package URL that cannot be read; the message is translated and names the purl."""


@lru_cache(maxsize=4096)
def split_ecosystem(osv_ecosystem: str) -> tuple[str, str]:
    """An OSV ecosystem string as (ecosystem, release): "Debian:12" → ("Debian", "12"),
    "Alpine:v3.18" → ("Alpine", "v3.18"), "Ubuntu:22.04:LTS" → ("Ubuntu", "22.04"),
    "Ubuntu:Pro:18.04:LTS" → ("Ubuntu", "pro:18.04"), "Maven:https://repo" → ("Maven", "")."""
    base, _sep, rest = osv_ecosystem.partition(":")
    base = base.strip()
    if base not in DISTRIBUTIONS or not rest:
        return base, ""
    if base == "Ubuntu":
        # Ubuntu Pro (ESM) and FIPS streams get their own release: their fixes do not reach a
        # plain installation of the same version.
        tokens = [t for t in rest.split(":") if t and t.upper() != "LTS"]
        version = [t for t in tokens if _MAJOR_MINOR.fullmatch(t)]
        flags = [t.lower() for t in tokens if t not in version]
        return base, ":".join(flags + version[:1])
    return base, rest.strip()


@lru_cache(maxsize=65536)
def normalize_name(ecosystem: str, name: str) -> str:
    """NAME as both advisories and components are keyed in ECOSYSTEM (a base OSV ecosystem)."""
    name = name.strip()
    if ecosystem == "PyPI":
        return canonicalize_name(name)  # PEP 503
    if ecosystem == "crates.io":
        # crates.io refuses names differing only by case or by "-" / "_".
        return name.lower().replace("_", "-")
    if ecosystem in ("npm", "NuGet", "Packagist", "Hex", "Pub"):
        return name.lower()
    # Maven group:artifact, Go module paths, RubyGems and distribution packages are case-sensitive.
    return name


def _debian_release(distro: str) -> str:
    text = distro.lower().removeprefix("debian-").removeprefix("debian")
    if text in _DEBIAN_CODENAMES:
        return _DEBIAN_CODENAMES[text]
    found = _MAJOR.match(text)
    return found.group(1) if found else ""


def _ubuntu_release(distro: str) -> str:
    text = distro.lower().removeprefix("ubuntu-").removeprefix("ubuntu")
    if text in _UBUNTU_CODENAMES:
        return _UBUNTU_CODENAMES[text]
    found = _MAJOR_MINOR.match(text)
    return f"{found.group(1)}.{found.group(2)}" if found else ""


def _alpine_release(distro: str) -> str:
    text = distro.lower().removeprefix("alpine-").removeprefix("alpine").removeprefix("v")
    found = _MAJOR_MINOR.match(text)
    return f"v{found.group(1)}.{found.group(2)}" if found else ""


_RELEASE_OF = {"Debian": _debian_release, "Ubuntu": _ubuntu_release, "Alpine": _alpine_release}


@lru_cache(maxsize=65536)
def key_from_purl(purl: str) -> tuple[Key | None, str]:
    """(Key, version) of a package URL; the key is None when the purl's type is not a supported
    ecosystem. Raises PurlError when the purl cannot be read."""
    try:
        parsed = PackageURL.from_string(purl.strip())
    except ValueError as exc:
        raise PurlError(
            _("Malformed package URL %(purl)s: %(reason)s") % {"purl": purl, "reason": exc}
        ) from None
    version = parsed.version or ""
    namespace = parsed.namespace or ""
    ecosystem = _PURL_TYPES.get(parsed.type) or _PURL_DISTRO.get((parsed.type, namespace.lower()))
    if ecosystem is None:
        return None, version
    qualifiers = parsed.qualifiers if isinstance(parsed.qualifiers, dict) else {}
    release = ""
    name = parsed.name
    if ecosystem in DISTRIBUTIONS:
        # OSV names source packages; scanners (syft) give it as `upstream`, maybe with a version.
        upstream = (qualifiers.get("upstream") or "").split("@")[0].split("(")[0].strip()
        name = upstream or name
        release = _RELEASE_OF[ecosystem](qualifiers.get("distro") or "")
    elif ecosystem == "Maven":
        name = f"{namespace}:{name}" if namespace else name
    elif namespace:  # npm @scope/name, Go module path, Packagist vendor/package
        name = f"{namespace}/{name}"
    return Key(ecosystem, normalize_name(ecosystem, name), release), version
