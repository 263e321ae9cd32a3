"""Probes are answered before anything else runs.

A load balancer or Prometheus asks each web host by its address, over plain HTTP on
the internal port: the Host header is an IP that ALLOWED_HOSTS does not list (400), and
with PYVISION_HTTPS the security middleware would redirect them (301). The probe views
read no session, user or host, so nothing below them is needed.
"""

from . import views

PROBES = {"/healthz": views.healthz, "/readyz": views.readyz, "/metrics": views.metrics}


def answer_probes(get_response):
    def middleware(request):
        probe = PROBES.get(request.path_info)
        return probe(request) if probe else get_response(request)

    return middleware
