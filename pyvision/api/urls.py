from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import classify, tokens, views

urlpatterns = [
    path("api/v1/recognitions", views.RecognitionList.as_view(), name="api-recognitions"),
    path("api/v1/recognitions/<uuid:pk>", views.RecognitionDetail.as_view(), name="api-recognition"),
    path("api/v1/classify", classify.Classify.as_view(), name="api-classify"),
    path("api/v1/synsets", views.SynsetList.as_view(), name="api-synsets"),
    path("api/v1/models", views.ModelList.as_view(), name="api-models"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"), name="api-docs"),
    path("account/tokens/", tokens.token_list, name="api-tokens"),
    path("account/tokens/<int:pk>/revoke", tokens.revoke, name="api-token-revoke"),
]
