from renkei.accounts.tests.conftest import smtp  # noqa: F401 - the real aiosmtpd server fixture
from renkei.pki.tests.conftest import ca, chain_file, pki_env  # noqa: F401 - the buyer's CA made by the service
