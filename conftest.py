import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from renkei.core.testing import World, build_world


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Real hashing costs ~0.3 s per user; the tests are about access, not hashing strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db) -> World:
    return build_world()


@pytest.fixture
def client_for():
    """client_for(user) -> a logged-in django.test.Client."""
    def make(user):
        client = Client()
        client.force_login(user)
        return client
    return make


@pytest.fixture
def api_for():
    """api_for(user) -> an APIClient authenticated with the user's token."""
    def make(user):
        token, _ = Token.objects.get_or_create(user=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client
    return make
