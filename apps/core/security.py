"""Who is asking, and headers and checks every response or operations endpoint needs.

- `client_ip`: the address login lockouts and API throttles count by. X-Forwarded-For is
  anyone's to send, so it is read only when TRUSTED_PROXY_COUNT proxies of ours add to it; then
  the address the outermost of them saw is used.
- `SecurityHeadersMiddleware`: Permissions-Policy (the platform needs no camera, microphone,
  location, payment or USB) beside Django's Referrer-Policy and django-csp's policy.
- `metrics`: Prometheus' /metrics only for an allowed network or a bearer token: its counts
  cover every workspace.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "camera", "geolocation", "gyroscope", "magnetometer", "microphone",
    "payment", "usb", "interest-cohort"))


def client_ip(request: Any) -> str:
    """Return the client's address: REMOTE_ADDR, or the trusted proxies' X-Forwarded-For."""
    remote = str(request.META.get("REMOTE_ADDR") or "")
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in str(forwarded).split(",") if hop.strip()]
    return hops[-min(proxies, len(hops))] if hops else remote


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


def _allowed_network(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False)
               for net in settings.METRICS_ALLOWED_NETWORKS)


def metrics(request: HttpRequest) -> HttpResponse:
    """Serve Prometheus metrics to an allowed network or to `Authorization: Bearer <token>`."""
    from django_prometheus.exports import ExportToDjangoView

    token = settings.METRICS_TOKEN
    sent = request.headers.get("Authorization", "")
    by_token = bool(token) and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())
    if not (by_token or _allowed_network(client_ip(request))):
        return HttpResponse("Metrics are for the operators' monitoring only: set METRICS_TOKEN "
                            "or METRICS_ALLOWED_NETWORKS.\n", status=403,
                            content_type="text/plain")
    return ExportToDjangoView(request)
