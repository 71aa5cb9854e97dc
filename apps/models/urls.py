"""Pages of the model registry under /w/<slug>/models/."""

from django.urls import path

from apps.models import views

app_name = "models"

urlpatterns = [
    path("", views.list_page, name="list"),
    path("<int:pk>/", views.detail_page, name="detail"),
    path("<int:pk>/edit/", views.edit_page, name="edit"),
    path("<int:pk>/delete/", views.delete_page, name="delete"),
    path("<int:pk>/download/", views.download_page, name="download"),
    path("<int:pk>/plots/<int:index>/", views.plot_page, name="plot"),
    path("<int:pk>/try/", views.try_page, name="try"),
    path("<int:pk>/batch/", views.batch_page, name="batch"),
    path("<int:pk>/batch/<int:batch_pk>/", views.batch_status_page, name="batch_status"),
    path("<int:pk>/batch/<int:batch_pk>/download/", views.batch_download_page,
         name="batch_download"),
]
