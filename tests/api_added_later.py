"""The site's URLs plus endpoints under /api/ written later, as another engineer might,
knowing nothing of the error shape: what they answer and document comes from the
mechanism, not from them."""

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from pyvision.urls import urlpatterns as site_urlpatterns


class Divide(serializers.Serializer):
    n = serializers.IntegerField()


class Hundredths(APIView):
    @extend_schema(operation_id="hundredths_create", request=Divide, responses={200: Divide})
    def post(self, request):
        data = Divide(data=request.data)
        data.is_valid(raise_exception=True)
        # n = 0 is the bug this endpoint ships with.
        return Response({"n": 100 // data.validated_data["n"]})


@require_POST
def plain(request):
    return HttpResponse("done", content_type="text/plain")


urlpatterns = [
    *site_urlpatterns,
    path("api/v1/hundredths", Hundredths.as_view()),
    path("api/v1/plain", plain),
]
