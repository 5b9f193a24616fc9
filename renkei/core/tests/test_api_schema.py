"""The OpenAPI schema validates without warnings and the docs pages work offline."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command

pytestmark = pytest.mark.django_db

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def test_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for path in ("/api/v1/suppliers/", "/api/v1/contacts/", "/api/v1/contracts/",
                 "/api/v1/certifications/{id}/evidence/", "/api/v1/audit-entries/",
                 "/api/v1/me/", "/api/v1/organizations/"):
        assert f"{path}:" in text, path


def test_schema_is_served(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "tokenAuth" in schema["components"]["securitySchemes"]
    params = {p["name"] for p in schema["paths"]["/api/v1/suppliers/"]["get"]["parameters"]}
    assert {"q", "tier", "tag", "certification_status", "ordering", "page", "page_size"} <= params


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_page_uses_only_local_static_files(client, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assets = ASSET.findall(html)
    assert assets, html
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), asset
    assert "https://" not in html and "http://" not in html
    assert "/api/schema/" in html
