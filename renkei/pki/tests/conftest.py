import pytest

from renkei.accounts.tests.conftest import smtp  # noqa: F401 - the real aiosmtpd server fixture
from renkei.pki.tests.helpers import PASSPHRASE, SYSTEM


@pytest.fixture
def pki_env(settings, monkeypatch, tmp_path):
    """CA keys under a temporary directory, the passphrase in the environment."""
    settings.RENKEI_PKI_DIR = tmp_path / "pki"
    settings.RENKEI_PKI_BASE_URL = "http://pki.example.jp"
    monkeypatch.setenv("RENKEI_PKI_PASSPHRASE", PASSPHRASE)
    monkeypatch.delenv("RENKEI_PKI_PASSPHRASE_FILE", raising=False)
    return tmp_path


@pytest.fixture
def ca(world, pki_env):
    """The buyer's root and issuing CA, made by the service."""
    from renkei.pki.ca import init_ca

    return init_ca(SYSTEM, world.buyer)


@pytest.fixture
def chain_file(ca, world, tmp_path):
    from renkei.pki.ca import chain_pem

    path = tmp_path / "chain.pem"
    path.write_text(chain_pem(world.buyer))
    return path
