"""Pages of datasets under /w/<slug>/datasets/."""

from django.urls import path

from apps.datasets import views

app_name = "datasets"

urlpatterns = [
    path("", views.dataset_list_view, name="list"),
    path("upload/", views.dataset_upload_view, name="upload"),
    path("<int:pk>/", views.dataset_detail_view, name="detail"),
    path("<int:pk>/status/", views.dataset_status_view, name="status"),
    path("<int:pk>/preview/", views.dataset_preview_view, name="preview"),
    path("<int:pk>/rename/", views.dataset_rename_view, name="rename"),
    path("<int:pk>/delete/", views.dataset_delete_view, name="delete"),
    path("<int:pk>/download/", views.dataset_download_view, name="download"),
]
