from django import forms
from django.contrib.auth import get_user_model
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.utils.translation import gettext_lazy as _

from . import limits


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
    """An email address another account uses is accepted like a new one (the views tell
    that account's address): refusing it would tell anyone which addresses have an
    account here, and would let whoever types an address first keep its owner out."""

    email = forms.EmailField(label=_("Email"), help_text=_("Only used to reset your password."))

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")


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

    def clean_password(self):
        return check_password(self.instance, self.cleaned_data["password"])


class DeleteAccountForm(forms.Form):
    password = password_field()

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self):
        return check_password(self.user, self.cleaned_data["password"])
