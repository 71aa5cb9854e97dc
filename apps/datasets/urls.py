"""Pages of datasets (placeholder until the app is built)."""

from django.shortcuts import render
from django.urls import path

from apps.accounts.tenancy import workspace_view

app_name = "datasets"


@workspace_view()
def placeholder(request, **kwargs):
    return render(request, "core/coming_soon.html", {"section": "datasets"})


urlpatterns = [
    path("", placeholder, name="list"),
    path("new/", placeholder, name="create"),
    path("<int:pk>/", placeholder, name="detail"),
]
