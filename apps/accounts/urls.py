from django.urls import path

from apps.accounts import views

urlpatterns = [
    path("", views.home, name="home"),
    path("w/new/", views.workspace_create_view, name="workspace_create"),
    path("w/<slug:slug>/settings/", views.workspace_settings, name="workspace_settings"),
    path("w/<slug:slug>/members/", views.members, name="workspace_members"),
    path(
        "w/<slug:slug>/members/<str:username>/role/",
        views.member_update,
        name="workspace_member_update",
    ),
    path(
        "w/<slug:slug>/members/<str:username>/remove/",
        views.member_remove,
        name="workspace_member_remove",
    ),
    path("account/tokens/", views.tokens, name="tokens"),
    path("account/tokens/<int:token_id>/revoke/", views.token_delete, name="token_delete"),
]
