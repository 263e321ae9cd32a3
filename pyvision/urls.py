from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("account/", include("pyvision.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("pyvision.web.urls")),
    path("", include("pyvision.api.urls")),
    path("", include("pyvision.similar.urls")),
]

handler500 = "pyvision.ops.views.server_error"
