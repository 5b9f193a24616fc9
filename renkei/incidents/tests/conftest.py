import pytest

from renkei.accounts.tests.conftest import smtp  # noqa: F401 - the real aiosmtpd server fixture
from renkei.graph import engine


@pytest.fixture(autouse=True)
def _fresh_graphs():
    """The graph cache is per process and keyed by organization id, which tests reuse."""
    engine.forget()
    yield
    engine.forget()
