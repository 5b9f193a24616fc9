"""Sign-in pages, "my account" (the REST API token), password reset, supplier-contact
invitations and the organization's members (renkei.accounts.services)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.authtoken.models import Token

from renkei.accounts.forms import MemberAddForm, MemberRoleForm
from renkei.accounts.models import Membership, Organization
from renkei.accounts.services import (
    InvitationError,
    MemberError,
    add_member,
    change_role,
    invite_contact,
    is_last_admin,
    remove_member,
    revoke_portal_access,
)
from renkei.audit.services import Actor
from renkei.core.access import SupplierAccess, get_for_user_or_404
from renkei.core.permissions import CHANGE, MANAGE, VIEW
from renkei.suppliers.models import Contact


@login_required
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        # Rotating replaces the key at once: a leaked token stops working with this click.
        with transaction.atomic():
            existed = Token.objects.filter(user=request.user).delete()[0] > 0
            Token.objects.create(user=request.user)
        if existed:
            messages.success(request, _("A new API token was issued. The old one no longer works."))
        else:
            messages.success(request, _("An API token was issued."))
        return redirect("account")
    token = Token.objects.filter(user=request.user).first()
    return render(request, "registration/account.html", {"token": token})


# --- Supplier-contact invitations -------------------------------------------------------------


def _contact_for_staff(request: HttpRequest, pk: int) -> Contact:
    """The contact, if the user is staff allowed to change its supplier.

    404 for a contact the user cannot see; 403 for one it sees but may not manage (auditors,
    and supplier contacts, who may edit their own supplier's contacts but not give logins).
    """
    contact = get_for_user_or_404(
        Contact.objects.select_related("supplier__organization", "user"), request.user, VIEW,
        pk=pk,
    )
    if CHANGE not in SupplierAccess.of(request.user, contact.supplier).staff_actions:
        raise PermissionDenied
    return contact


def _contacts_tab(contact: Contact) -> str:
    return f"{reverse('suppliers:detail', args=[contact.supplier_id])}?tab=contacts"


@login_required
@require_POST
def contact_invite(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact_for_staff(request, pk)
    resend = contact.user_id is not None and contact.portal_access
    try:
        invitation = invite_contact(Actor.from_request(request), contact)
    except InvitationError as exc:
        messages.error(request, str(exc))
        return redirect(_contacts_tab(contact))
    names = {"name": contact.name, "email": invitation.user.email or contact.email}
    if not invitation.sent:
        messages.warning(
            request,
            _("%(name)s now has portal access, but the invitation e-mail could not be sent. "
              "Try re-sending it later.") % names,
        )
    elif resend:
        messages.success(request, _("The invitation was sent again to %(email)s.") % names)
    else:
        messages.success(request, _("%(name)s was invited; an e-mail went to %(email)s.") % names)
    return redirect(_contacts_tab(contact))


@login_required
@require_POST
def contact_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact_for_staff(request, pk)
    revoke_portal_access(Actor.from_request(request), contact)
    messages.success(
        request, _("%(name)s can no longer use the supplier portal.") % {"name": contact.name}
    )
    return redirect(_contacts_tab(contact))


# --- The organization's members (admins only) ----------------------------------------------------


def _managed_organizations(request: HttpRequest) -> QuerySet:
    """The organizations the user administers; 403 when there are none."""
    organizations = Organization.for_user(request.user, MANAGE)
    if not organizations.exists():
        raise PermissionDenied
    return organizations


def _chosen_organization(request: HttpRequest, organizations: list[Organization]) -> Organization:
    """The organization named by ?organization= (404 if not administered), else the first."""
    wanted = request.GET.get("organization") or request.POST.get("organization")
    if not wanted:
        return organizations[0]
    for organization in organizations:
        if str(organization.pk) == wanted:
            return organization
    raise Http404


def _members_url(organization_id: int) -> str:
    return f"{reverse('members')}?organization={organization_id}"


def _membership_to_manage(request: HttpRequest, pk: int) -> Membership:
    """The membership, if the user administers its organization.

    404 for a membership of an organization the user does not belong to (or none at all); 403
    for one of the user's own organization that it may not manage (analysts, auditors).
    """
    membership = (
        Membership.objects.select_related("user", "organization")
        .filter(organization__in=Organization.for_user(request.user, VIEW), pk=pk)
        .first()
    )
    if membership is None:
        raise Http404
    if not Organization.for_user(request.user, MANAGE).filter(pk=membership.organization_id).exists():
        raise PermissionDenied
    return membership


def _after_change(request: HttpRequest, organization_id: int) -> HttpResponse:
    """Back to the member list, or to the dashboard when the user no longer administers it."""
    if Organization.for_user(request.user, MANAGE).filter(pk=organization_id).exists():
        return redirect(_members_url(organization_id))
    return redirect("dashboard")


@login_required
@require_http_methods(["GET"])
def members(request: HttpRequest) -> HttpResponse:
    organizations = list(_managed_organizations(request))
    organization = _chosen_organization(request, organizations)
    rows = (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by("role", "user__username")  # admin, analyst, auditor
    )
    return render(
        request,
        "accounts/members.html",
        {"organizations": organizations, "organization": organization, "rows": rows},
    )


@login_required
@require_http_methods(["GET", "POST"])
def member_add(request: HttpRequest) -> HttpResponse:
    organization = _chosen_organization(request, list(_managed_organizations(request)))
    form = MemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = add_member(
                Actor.from_request(request), organization, **form.cleaned_data
            )
        except MemberError as exc:
            form.add_error(None, str(exc))
        else:
            names = {"name": invitation.user, "email": invitation.user.email,
                     "organization": organization}
            if not invitation.sent:
                messages.warning(
                    request,
                    _("%(name)s was added to %(organization)s, but the e-mail could not be sent. "
                      "Ask them to log in, or to use “Forgot your password?” on the login page.")
                    % names,
                )
            elif invitation.sets_password:
                messages.success(
                    request,
                    _("%(name)s was added to %(organization)s; an invitation to set a password "
                      "went to %(email)s.") % names,
                )
            else:
                messages.success(
                    request,
                    _("%(name)s already had an account and was added to %(organization)s; a "
                      "notice went to %(email)s.") % names,
                )
            return redirect(_members_url(organization.pk))
    return render(
        request, "accounts/member_form.html", {"form": form, "organization": organization}
    )


@login_required
@require_http_methods(["GET", "POST"])
def member_role(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _membership_to_manage(request, pk)
    form = MemberRoleForm(request.POST or None, initial={"role": membership.role})
    if request.method == "POST" and form.is_valid():
        try:
            membership = change_role(
                Actor.from_request(request), membership, form.cleaned_data["role"]
            )
        except MemberError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("The role of %(name)s is now %(role)s.")
                % {"name": membership.user, "role": membership.get_role_display()},
            )
            return _after_change(request, membership.organization_id)
    return render(
        request,
        "accounts/member_form.html",
        {"form": form, "organization": membership.organization, "membership": membership},
    )


@login_required
@require_http_methods(["GET", "POST"])
def member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _membership_to_manage(request, pk)
    error = ""
    if request.method == "POST":
        try:
            remove_member(Actor.from_request(request), membership)
        except MemberError as exc:
            error = str(exc)
        else:
            messages.success(
                request,
                _("%(name)s is no longer a member of %(organization)s.")
                % {"name": membership.user, "organization": membership.organization},
            )
            return _after_change(request, membership.organization_id)
    return render(
        request,
        "accounts/member_confirm_remove.html",
        {"membership": membership, "organization": membership.organization, "error": error,
         "last_admin": is_last_admin(membership)},
    )


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Setting a new password from an e-mailed link also ends the API token: someone who reset
    a password because the account was misused must not leave a working token behind
    (Django already ends the other sessions when the password changes)."""

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        Token.objects.filter(user=form.user).delete()
        return response


class InvitationAcceptView(PasswordResetConfirmView):
    """The invitation link: choose a password, then go straight to the dashboard."""

    template_name = "accounts/invitation_accept.html"
    post_reset_login = True
    # Named because AUTHENTICATION_BACKENDS lists two (AxesBackend first, for the lockout).
    post_reset_login_backend = "django.contrib.auth.backends.ModelBackend"
    success_url = reverse_lazy("dashboard")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, _("Your password was set. Welcome to Renkei."))
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset with our templates; the link starts with RENKEI_BASE_URL, never with the
    Host header of the request. The page reads the same whether the address exists or not."""

    email_template_name = "registration/password_reset_email.txt"
    html_email_template_name = "registration/password_reset_email.html"
    subject_template_name = "registration/password_reset_subject.txt"

    def form_valid(self, form: Any) -> HttpResponse:
        self.extra_email_context = {
            "base_url": settings.RENKEI_BASE_URL,
            "subject_prefix": settings.EMAIL_SUBJECT_PREFIX,
            "expiry_days": settings.PASSWORD_RESET_TIMEOUT // (24 * 3600),
        }
        return super().form_valid(form)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change one's own password; the session stays signed in and the page says it worked."""

    success_url = reverse_lazy("account")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, _("Your password was changed."))
        return response
