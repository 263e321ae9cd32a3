from django.urls import path

from . import views

urlpatterns = [
    path("api/v1/recognitions/<uuid:pk>/similar", views.SimilarList.as_view(), name="api-recognition-similar"),
    path("api/v1/duplicates", views.DuplicateList.as_view(), name="api-duplicates"),
    path("images/<uuid:pk>/similar", views.similar_photos, name="image-similar"),
    path("duplicates/", views.duplicates_page, name="duplicates"),
    path("duplicates/keep", views.keep_one, name="duplicates-keep"),
]
