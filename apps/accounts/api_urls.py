from django.urls import path

from apps.accounts import api

members = api.MemberViewSet.as_view({"get": "list", "post": "create"})
member = api.MemberViewSet.as_view({"patch": "partial_update", "delete": "destroy"})

urlpatterns = [
    path("auth/token/", api.TokenObtainApi.as_view(), name="api-token"),
    path("workspaces/", api.WorkspaceListApi.as_view(), name="api-workspaces"),
    path("workspaces/<slug:slug>/", api.WorkspaceDetailApi.as_view(), name="api-workspace"),
    path("workspaces/<slug:slug>/members/", members, name="api-members"),
    path("workspaces/<slug:slug>/members/<str:username>/", member, name="api-member"),
    # Every other path under /api/v1/ but the apps' own (included after this one).
]
