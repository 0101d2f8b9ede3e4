"""Signing in and out, password resets, open sign-up, and accepting an invitation."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from .. import audit
from ..account_forms import EmailAuthenticationForm, InviteSignupForm, SignupForm
from ..lib import login_throttle
from ..lib.client_address import client_ip
from ..models import AuditAction, Invitation, Membership, User
from ..notification_forms import NotificationPreferencesForm
from ..sso import password_off_message, sign_in_option

# Accounts made here log straight in; name the backend because there could be several.
_BACKEND = "django.contrib.auth.backends.ModelBackend"


class LoginView(auth_views.LoginView):
    """Password sign-in, and the button for the identity provider when one is configured."""

    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            sso=sign_in_option(),
            password_sign_in=settings.PASSWORD_SIGN_IN,
            password_off_message="" if settings.PASSWORD_SIGN_IN else password_off_message(),
        )
        return context


class PasswordsOff:
    """Password resets (requesting a link, and using one) while password sign-in is off."""

    def dispatch(self, request, *args, **kwargs):
        if not settings.PASSWORD_SIGN_IN:
            return render(
                request,
                "registration/password_reset_off.html",
                {"message": password_off_message()},
                status=403,
            )
        return super().dispatch(request, *args, **kwargs)


@require_POST
def logout_view(request):
    logout(request)
    messages.info(request, "You have signed out.")
    return redirect(settings.LOGOUT_REDIRECT_URL)


class PasswordResetView(PasswordsOff, auth_views.PasswordResetView):
    """Django's reset request, throttled per client address and per email address."""

    subject_template_name = "registration/password_reset_subject.txt"
    email_template_name = "registration/password_reset_email.txt"

    def form_valid(self, form):
        wait, send = login_throttle.reset_request(
            form.cleaned_data["email"], client_ip(self.request)
        )
        if wait:
            form.add_error(None, login_throttle.reset_refused_message(wait))
            return self.form_invalid(form)
        if not send:
            # Enough mails went to this address for now. The answer is the usual one, so it
            # never tells whether the address has an account.
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


class PasswordResetConfirmView(PasswordsOff, auth_views.PasswordResetConfirmView):
    def form_valid(self, form):
        response = super().form_valid(form)
        # Whoever reset the password owns the mailbox: failed sign-ins before it no longer count.
        login_throttle.clear_account(self.user.email)
        return response


@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
def signup(request):
    if not settings.ALLOW_SIGNUP or not settings.PASSWORD_SIGN_IN:
        raise Http404("Sign-up is closed; ask a team admin for an invitation.")
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                user = form.save()
        except IntegrityError:
            # Someone registered the same address between validation and save.
            form.add_error("email", "An account with this email already exists.")
        else:
            login(request, user, backend=_BACKEND)
            messages.success(request, "Welcome! Create your first team to start generating.")
            return redirect("team_list")
    return render(request, "registration/signup.html", {"form": form})


def _join(invitation, user):
    """Claim the invitation for `user` and add them to its team.

    The conditional UPDATE makes the link single-use: of two people racing, one gets a row
    count of 1; the other gets False and sees the "already used" page.
    """
    now = timezone.now()
    claimed = (
        Invitation.objects.usable(now)
        .filter(pk=invitation.pk)
        .update(accepted_at=now, accepted_by=user)
    )
    if not claimed:
        return False
    _, created = Membership.objects.get_or_create(
        team=invitation.team, user=user, defaults={"role": invitation.role}
    )
    if created:
        audit.record(
            user,
            invitation.team,
            AuditAction.MEMBER_JOINED,
            target=user.email,
            role=invitation.role,
            invited_by=invitation.invited_by.email if invitation.invited_by else "",
        )
    user.current_team = invitation.team
    user.save(update_fields=["current_team"])
    return True


def _welcome(request, invitation):
    messages.success(
        request,
        f"You joined {invitation.team.name} as {invitation.get_role_display().lower()}.",
    )
    return redirect("studio", invitation.team.code)


@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
def invite(request, code):
    """The invitation link: sign up (anonymous) or accept (signed in)."""
    invitation = Invitation.objects.select_related("team", "invited_by").filter(code=code).first()
    state = "unknown" if invitation is None else invitation.state
    context = {"invitation": invitation, "state": state}
    if state != "usable":
        return render(request, "generator/invite.html", context)

    team = invitation.team
    if request.user.is_authenticated:
        membership = team.memberships.filter(user=request.user).first()
        if membership is None and request.user.email.lower() != invitation.email.lower():
            # A forwarded or leaked link must not let another account in: the invitation is
            # for the mailbox it was sent to.
            context["wrong_account"] = True
            status = 403 if request.method == "POST" else 200
            return render(request, "generator/invite.html", context, status=status)
        if request.method == "POST":
            if membership is not None:
                messages.info(request, f"You are already in {team.name}.")
                return redirect("studio", team.code)
            with transaction.atomic():
                joined = _join(invitation, request.user)
            if not joined:
                context["state"] = "used"
                return render(request, "generator/invite.html", context)
            return _welcome(request, invitation)
        context["membership"] = membership
        return render(request, "generator/invite.html", context)

    if User.objects.filter(email__iexact=invitation.email).exists():
        context["has_account"] = True
        return render(request, "generator/invite.html", context)
    if not settings.PASSWORD_SIGN_IN:
        # No password accounts: the person signs in with the provider, then comes back here.
        context["sso"] = sign_in_option()
        return render(request, "generator/invite.html", context)

    form = InviteSignupForm(invitation, request.POST or None)
    context["form"] = form
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                user = form.save()
                if not _join(invitation, user):
                    transaction.set_rollback(True)
                    user = None
        except IntegrityError:
            context["has_account"] = True
            return render(request, "generator/invite.html", context)
        if user is None:
            context["state"] = "used"
            return render(request, "generator/invite.html", context)
        login(request, user, backend=_BACKEND)
        return _welcome(request, invitation)
    return render(request, "generator/invite.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def account(request):
    """The person's own page: how they want to hear of their generations."""
    form = NotificationPreferencesForm(request.POST or None, instance=request.user)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            messages.success(request, "Saved your notification preferences.")
            return redirect("account")
        return render(request, "generator/account.html", {"form": form}, status=400)
    return render(request, "generator/account.html", {"form": form})
