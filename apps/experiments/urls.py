"""Pages of experiments under /w/<slug>/experiments/."""

from django.urls import path

from apps.experiments import views

app_name = "experiments"

urlpatterns = [
    path("", views.experiment_list_view, name="list"),
    path("new/", views.experiment_create_view, name="create"),
    path("new/fields/", views.experiment_form_fields_view, name="form_fields"),
    path("<int:pk>/", views.experiment_detail_view, name="detail"),
    path("<int:pk>/live/", views.experiment_live_view, name="live"),
    path("<int:pk>/cancel/", views.experiment_cancel_view, name="cancel"),
    path("<int:pk>/delete/", views.experiment_delete_view, name="delete"),
]
