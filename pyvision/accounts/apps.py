from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "pyvision.accounts"

    def ready(self):
        from django.contrib import admin

        from .forms import AdminLoginForm

        # The admin's login counts against the same limits as the site's.
        admin.site.login_form = AdminLoginForm
