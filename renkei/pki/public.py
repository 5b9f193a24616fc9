"""The public PKI addresses written into certificates: CRL, OCSP, the CA certificate.

No login: relying parties (openssl, nginx, browsers, mail clients) fetch them without an account.
They reveal nothing a certificate holder does not already have: the CA certificates, the serials
of revoked certificates, and the status of a serial someone asks about."""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.ocsp import OCSPResponseBuilder, OCSPResponseStatus
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from renkei.accounts.models import Organization
from renkei.pki import ca as ca_module
from renkei.pki import ocsp
from renkei.pki.crl import current_crl, pem
from renkei.pki.keystore import PkiError
from renkei.pki.models import CertificateAuthority

OCSP_RESPONSE = "application/ocsp-response"


def _issuing(org: str) -> CertificateAuthority:
    organization = get_object_or_404(Organization, slug=org)
    issuing = ca_module.current(organization)
    if issuing is None:
        raise Http404
    return issuing


def _reply(data: bytes, content_type: str, filename: str, max_age: int = 300) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = f"public, max-age={max_age}"
    return response


@require_GET
def crl_der(request: HttpRequest, org: str) -> HttpResponse:
    try:
        row = current_crl(_issuing(org))
    except PkiError:
        return HttpResponse(status=503)
    return _reply(bytes(row.der), "application/pkix-crl", f"{org}.crl")


@require_GET
def crl_pem(request: HttpRequest, org: str) -> HttpResponse:
    try:
        row = current_crl(_issuing(org))
    except PkiError:
        return HttpResponse(status=503)
    return _reply(pem(bytes(row.der)), "application/x-pem-file", f"{org}-crl.pem")


@require_GET
def ca_der(request: HttpRequest, org: str) -> HttpResponse:
    issuing = _issuing(org)
    cert = ca_module.load_certificate(issuing)
    return _reply(cert.public_bytes(Encoding.DER), "application/pkix-cert", f"{org}-issuing-ca.crt", 3600)


@require_GET
def root_der(request: HttpRequest, org: str) -> HttpResponse:
    """The root CA certificate alone: what a mail recipient installs as a trusted root to check
    signed notices (docs/smime-guide.md); a .crt Windows and macOS open with a double click."""
    root = _issuing(org).parent
    if root is None or not root.certificate_pem:
        raise Http404
    cert = ca_module.load_certificate(root)
    return _reply(cert.public_bytes(Encoding.DER), "application/pkix-cert", f"{org}-root-ca.crt", 3600)


@require_GET
def chain(request: HttpRequest, org: str) -> HttpResponse:
    organization = get_object_or_404(Organization, slug=org)
    try:
        text = ca_module.chain_pem(organization)
    except PkiError as exc:
        raise Http404 from exc
    return _reply(text.encode("ascii"), "application/x-pem-file", f"{org}-ca-chain.pem", 3600)


def _ocsp_reply(org: str, data: bytes) -> HttpResponse:
    if not ocsp.known(org):
        raise Http404
    try:
        body = ocsp.respond(org, data)
    except PkiError:  # the responder cannot open the CA key (passphrase missing or wrong)
        body = OCSPResponseBuilder.build_unsuccessful(OCSPResponseStatus.TRY_LATER).public_bytes(Encoding.DER)
    response = HttpResponse(body, content_type=OCSP_RESPONSE)
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
@require_http_methods(["POST"])
def ocsp_post(request: HttpRequest, org: str) -> HttpResponse:
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > ocsp.MAX_REQUEST_BYTES:
        return HttpResponseBadRequest("OCSP request too large")
    return _ocsp_reply(org, request.body)


@require_GET
def ocsp_get(request: HttpRequest, org: str, encoded: str) -> HttpResponse:
    """RFC 6960 A.1: GET {url}/{url-encoding of base-64 encoding of the DER request}."""
    if len(encoded) > ocsp.MAX_REQUEST_BYTES * 2:
        return HttpResponseBadRequest("OCSP request too large")
    text = encoded.strip().replace("-", "+").replace("_", "/").replace(" ", "+")
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return HttpResponseBadRequest("not base64")
    return _ocsp_reply(org, data)
