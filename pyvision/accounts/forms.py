from django import forms
from django.contrib.auth import get_user_model
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.utils.translation import gettext_lazy as _

from . import limits


def check_email_is_free(email: str, user=None) -> str:
    others = get_user_model().objects.filter(email__iexact=email)
    if user is not None:
        others = others.exclude(pk=user.pk)
    if others.exists():
        raise forms.ValidationError(_("An account with this email address already exists."))
    return email


class ThrottledLogin:
    """Counts each failed login against its account and its address; once either has
    failed too often, accounts.middleware.login_limits refuses further attempts."""

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            limits.count(self.request, limits.login_counters(self.request, self.cleaned_data.get("username") or ""))
            raise


class LoginForm(ThrottledLogin, AuthenticationForm):
    pass


class AdminLoginForm(ThrottledLogin, AdminAuthenticationForm):
    pass


class RegistrationForm(UserCreationForm):
    email = forms.EmailField(label=_("Email"), help_text=_("Only used to reset your password."))

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_email(self):
        return check_email_is_free(self.cleaned_data["email"])


def password_field():
    return forms.CharField(label=_("Your password"), strip=False,
                           widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


def check_password(user, password: str) -> str:
    if not user.check_password(password):
        raise forms.ValidationError(_("The password is not right."))
    return password


class EmailForm(forms.ModelForm):
    """A new email address takes the password too: whoever holds a signed-in browser
    for a moment must not be able to take the account through a reset mail."""

    email = forms.EmailField(label=_("Email"), help_text=_("Only used to reset your password."))
    password = password_field()

    class Meta:
        model = get_user_model()
        fields = ("email",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.old_email = self.instance.email

    def clean_email(self):
        return check_email_is_free(self.cleaned_data["email"], self.instance)

    def clean_password(self):
        return check_password(self.instance, self.cleaned_data["password"])


class DeleteAccountForm(forms.Form):
    password = password_field()

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self):
        return check_password(self.user, self.cleaned_data["password"])
