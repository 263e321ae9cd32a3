from django.contrib import messages
from django.contrib.auth import get_user_model, login, logout
from django.contrib.auth import views as auth
from django.contrib.auth.decorators import login_required
from django.core.mail import send_mail
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from pyvision.recognition import storage_use

from . import limits
from .forms import DeleteAccountForm, EmailForm, LoginForm, RegistrationForm

TOO_MANY = 429


def adopt_anonymous_images(session_key: str | None, user) -> None:
    """What this browser recognised before signing in becomes the account's.

    Signing in gives the session a new key, so it must be read before that.
    """
    if session_key:
        storage_use.adopt(session_key, user)


class LoginView(auth.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm

    def form_valid(self, form):
        anonymous_key = self.request.session.session_key
        response = super().form_valid(form)
        adopt_anonymous_images(anonymous_key, form.get_user())
        return response


def register(request):
    if request.user.is_authenticated:
        return redirect("my-images")
    if request.method == "POST" and (wait := limits.seconds_left(request, limits.register_counters(request))):
        # Refused before the form is checked: its password checks and hash cost.
        form = RegistrationForm(initial={"username": request.POST.get("username"), "email": request.POST.get("email")})
        refused = _("Too many accounts were registered from your network.") + " " + limits.try_again_in(wait)
        return render(request, "accounts/register.html", {"form": form, "refused": refused}, status=TOO_MANY)
    form = RegistrationForm(request.POST or None)
    if request.method == "POST":
        limits.count(request, limits.register_counters(request))
    if request.method == "POST" and form.is_valid():
        anonymous_key = request.session.session_key
        with transaction.atomic():
            user = form.save()
            adopt_anonymous_images(anonymous_key, user)
        tell_the_other_accounts(request, user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome, %(name)s. Your photos are private to you.") % {"name": user.username})
        return redirect("my-images")
    return render(request, "accounts/register.html", {"form": form})


class PasswordResetView(auth.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"

    def form_valid(self, form):
        counters = limits.reset_counters(self.request, form.cleaned_data["email"])
        if wait := limits.seconds_left(self.request, counters):
            form.add_error(None, _("Too many reset mails were asked for.") + " " + limits.try_again_in(wait))
            return self.render_to_response(self.get_context_data(form=form), status=TOO_MANY)
        limits.count(self.request, counters)
        return super().form_valid(form)


@login_required
def profile(request):
    form = EmailForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        if form.old_email and form.old_email.lower() != form.cleaned_data["email"].lower():
            tell_the_old_address(request, form.old_email, form.cleaned_data["email"])
            tell_the_other_accounts(request, request.user)
        messages.success(request, _("Your email address has been changed."))
        return redirect("profile")
    try:
        tokens_url = reverse("api-tokens")
    except NoReverseMatch:  # the API is not installed
        tokens_url = None
    return render(request, "accounts/profile.html", {
        "form": form,
        "image_count": request.user.images.count(),
        "tokens_url": tokens_url,
    })


def tell_the_old_address(request, old: str, new: str) -> None:
    """The owner hears of a change they did not make at the address they still read."""
    send_mail(_("Your pyvision email address was changed"), _(
        "The email address of your pyvision account %(username)s at %(site)s was changed to %(new)s. "
        "If you did not make this change, someone else knows your password: tell the site's administrator."
    ) % {"username": request.user.username, "new": new, "site": request.build_absolute_uri("/")},
        None, [old])


def tell_the_other_accounts(request, account) -> None:
    """Every other account with the address this one just took hears of it at that
    address: the page that took it looks the same whether or not the address was in use,
    and only the address's owner learns that it was."""
    others = get_user_model().objects.filter(email__iexact=account.email, is_active=True).exclude(pk=account.pk)
    for other in others:
        send_mail(_("Another pyvision account uses your email address"), _(
            "The pyvision account %(new)s at %(site)s now gives this email address, which your account "
            "%(username)s uses too. Your account is unchanged, and a password reset sent to this address "
            "names each account. If you have forgotten your password, choose a new one at %(reset)s."
        ) % {"new": account.username, "username": other.username, "site": request.build_absolute_uri("/"),
             "reset": request.build_absolute_uri(reverse("password_reset"))},
            None, [other.email])


@login_required
def delete_account(request):
    form = DeleteAccountForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = request.user
        with transaction.atomic():
            logout(request)
            user.delete()
        messages.success(request, _("Your account, your photos and their results have been deleted."))
        return redirect("home")
    return render(request, "accounts/delete.html", {"form": form, "image_count": request.user.images.count()})
