"""The one way Renkei sends a notice (a mail to a supplier contact or a user): `send_notice`.

Every outgoing notice goes through here — campaign invitations and reminders, reassessment
invitations, portal and member invitations, answer hand-overs, digests, certificate reminders and
enrollment links (renkei.accounts.services.send_mail_to_user), and the incident notices still to
come. When the organization the notice speaks for has a live notice-signing certificate
(renkei.pki.smime, `renkei pki notice-signer`), the mail is sent S/MIME-signed
(multipart/signed); otherwise it is sent as it is, unsigned. Django's own password-reset mail does
not come through here: it is not sent on behalf of one organization (a user may belong to
several), so it is never signed.

A signer that exists but cannot sign (its key file unreadable, the PKI passphrase missing in this
process) does not fall back to an unsigned mail — recipients told that notices are signed must not
learn to accept unsigned ones: the send fails with NoticeSigningError, an SMTPException, which
every caller already treats as a failed send (logged, retried on a later run)."""

from __future__ import annotations

import logging
import smtplib
from typing import Any

from django.core.mail import EmailMessage

logger = logging.getLogger("renkei.mail")


class NoticeSigningError(smtplib.SMTPException):
    """The organization signs its notices, but this process cannot sign now."""


def prepare_notice(message: EmailMessage, organization: Any) -> EmailMessage:
    """MESSAGE as it will be sent for ORGANIZATION (an Organization, its id, or None): signed
    when the organization has a live notice signer, else MESSAGE itself."""
    from renkei.pki import smime
    from renkei.pki.keystore import PkiError

    if organization is None:
        return message
    org_id = organization if isinstance(organization, int) else organization.pk
    signer = smime.notice_signer(org_id)
    if signer is None:
        return message
    try:
        return smime.sign_message(message, org_id, signer)
    except PkiError as exc:
        logger.error("notice for organization %s not sent: it cannot be signed: %s", org_id, exc.message)
        raise NoticeSigningError(exc.message) from exc


def send_notice(message: EmailMessage, organization: Any) -> int:
    """Send MESSAGE for ORGANIZATION, signed when it has a notice signer (see the module
    docstring). Returns what EmailMessage.send returns; raises what it raises, and
    NoticeSigningError (an SMTPException) when a signer exists but cannot sign."""
    return prepare_notice(message, organization).send()
