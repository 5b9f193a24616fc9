from renkei.accounts.tests.conftest import smtp  # noqa: F401 - the real aiosmtpd server fixture
