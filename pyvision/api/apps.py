from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "pyvision.api"
    label = "api"
