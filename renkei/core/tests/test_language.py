import pytest
from django.conf import settings
from django.test import Client


@pytest.mark.django_db
class TestJapaneseFirst:
    def test_pages_are_japanese_even_for_an_english_browser(self, world, client_for):
        response = client_for(world.admin).get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
        assert response["Content-Language"] == "ja"

    def test_language_switch_wins(self, world, client_for):
        client = client_for(world.admin)
        client.post("/i18n/setlang/", {"language": "en", "next": "/"})
        assert client.get("/")["Content-Language"] == "en"

    def test_saved_user_preference_is_used(self, world, client_for):
        world.admin.language = "en"
        world.admin.save()
        assert client_for(world.admin).get("/")["Content-Language"] == "en"

    def test_api_honours_accept_language(self, world, api_for):
        api = api_for(world.admin)
        assert api.get("/api/v1/suppliers/", HTTP_ACCEPT_LANGUAGE="en")["Content-Language"] == "en"
        assert api.get("/api/v1/suppliers/")["Content-Language"] == "ja"

    def test_login_page_is_japanese_by_default(self, db):
        response = Client().get(
            settings.LOGIN_URL if settings.LOGIN_URL.startswith("/") else "/accounts/login/"
        )
        assert response["Content-Language"] == "ja"
        assert "ログイン" in response.content.decode()


@pytest.mark.django_db
def test_the_switch_is_remembered_on_the_user(world, client_for):
    client = client_for(world.analyst)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/suppliers/"})
    assert response.status_code == 302 and response["Location"] == "/suppliers/"
    world.analyst.refresh_from_db()
    assert world.analyst.language == "en"
    client.post("/i18n/setlang/", {"language": "xx", "next": "/"})
    world.analyst.refresh_from_db()
    assert world.analyst.language == "en"
