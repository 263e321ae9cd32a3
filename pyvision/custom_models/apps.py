from django.apps import AppConfig


class CustomModelsConfig(AppConfig):
    name = "pyvision.custom_models"
    verbose_name = "Custom models"
