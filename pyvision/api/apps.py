from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "pyvision.api"
    label = "api"

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.db.models.signals import pre_save

        from .models import revoke_on_new_password

        pre_save.connect(revoke_on_new_password, sender=get_user_model())
