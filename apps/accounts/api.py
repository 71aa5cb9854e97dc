"""API: token, workspaces and members (see the contract's "Workspaces and members")."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api_scoping import WorkspaceScopedMixin
from apps.accounts.models import Membership, Role, Workspace
from apps.accounts.selectors import membership_list, workspace_list_for_user
from apps.accounts.services import (
    membership_add,
    membership_remove,
    membership_set_role,
    owner_rule_check,
    token_create,
    workspace_create,
    workspace_delete,
)
from apps.core.api import Pagination
from apps.core.throttles import LoginRateThrottle


class TokenObtainApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    # Beside django-axes' lockout after repeated failures (shared through the database).
    throttle_classes = [LoginRateThrottle]

    class TokenInputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=1024, style={"input_type": "password"})
        expires_in_days = serializers.IntegerField(
            required=False, min_value=1, max_value=3650,
            help_text="Days until the token expires; API_LOGIN_TOKEN_DAYS by default.")

    @extend_schema(
        request=TokenInputSerializer,
        responses=inline_serializer("TokenOutput", {"token": serializers.CharField()}),
    )
    def post(self, request: Request) -> Response:
        data = self.TokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        if user is None:
            return Response(
                {"detail": "Wrong username or password."}, status=status.HTTP_400_BAD_REQUEST
            )
        days = data.validated_data.get("expires_in_days") or settings.API_LOGIN_TOKEN_DAYS or None
        _, key = token_create(user=user, name="API login", expires_in_days=days)
        return Response({"token": key}, headers={"Cache-Control": "no-store"})


class WorkspaceOutputSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    role = serializers.CharField()
    created_at = serializers.DateTimeField()


def _workspace_out(membership: Membership) -> dict[str, Any]:
    ws = membership.workspace
    return {"slug": ws.slug, "name": ws.name, "role": membership.role, "created_at": ws.created_at}


class WorkspaceListApi(APIView):
    # An APIView has no pagination of its own; naming the class here also tells
    # drf-spectacular that the list is paginated (and adds ?page= / ?page_size=).
    pagination_class = Pagination

    class WorkspaceInputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)

    @extend_schema(responses=WorkspaceOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        memberships = workspace_list_for_user(user=request.user).order_by("workspace__name")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(memberships, request, view=self)
        data = WorkspaceOutputSerializer([_workspace_out(m) for m in page or []], many=True).data
        return paginator.get_paginated_response(data)

    @extend_schema(request=WorkspaceInputSerializer, responses={201: WorkspaceOutputSerializer})
    def post(self, request: Request) -> Response:
        data = self.WorkspaceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workspace = workspace_create(name=data.validated_data["name"], owner=request.user)
        membership = workspace.memberships.get(user=request.user)  # type: ignore[misc]  # authenticated
        return Response(
            WorkspaceOutputSerializer(_workspace_out(membership)).data,
            status=status.HTTP_201_CREATED,
        )


class WorkspaceDetailApi(WorkspaceScopedMixin, APIView):
    write_role = Role.OWNER

    @extend_schema(responses=WorkspaceOutputSerializer)
    def get(self, request: Request, slug: str) -> Response:
        return Response(WorkspaceOutputSerializer(_workspace_out(self.membership)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, slug: str) -> Response:
        workspace_delete(workspace=self.workspace)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberSerializer(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    email = serializers.EmailField(source="user.email")
    role = serializers.CharField()


class MemberViewSet(
    WorkspaceScopedMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Members of a workspace: admins and owners manage them."""

    queryset = Membership.objects.none()
    serializer_class = MemberSerializer
    lookup_field = "user__username"
    lookup_url_kwarg = "username"
    lookup_value_regex = "[^/]+"
    write_role = Role.ADMIN

    class MemberCreateSerializer(serializers.Serializer):
        username = serializers.CharField(required=False, help_text="Username or e-mail.")
        email = serializers.CharField(required=False)
        role = serializers.ChoiceField(choices=Role.choices, default=Role.MEMBER)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if not attrs.get("username") and not attrs.get("email"):
                raise serializers.ValidationError({"username": "Give a username or an e-mail."})
            return attrs

    class MemberRoleSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=Role.choices)

    def get_workspace_queryset(self, workspace: Workspace) -> Any:
        return membership_list(workspace=workspace)

    def _check_owner_rules(self, role: str | None, target: Membership | None) -> None:
        owner_rule_check(by=self.membership, role=role, target=target)

    @extend_schema(request=MemberCreateSerializer, responses={201: MemberSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.MemberCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        role = data.validated_data["role"]
        self._check_owner_rules(role, None)
        identifier = data.validated_data.get("username") or data.validated_data["email"]
        membership = membership_add(
            workspace=self.workspace, identifier=identifier, role=role, actor=request.user
        )
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MemberRoleSerializer, responses=MemberSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        target = get_object_or_404(self.get_queryset(), user__username=kwargs["username"])
        data = self.MemberRoleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        self._check_owner_rules(data.validated_data["role"], target)
        membership = membership_set_role(membership=target, role=data.validated_data["role"],
                                         actor=request.user)
        return Response(MemberSerializer(membership).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        target = self.get_object()
        self._check_owner_rules(None, target)
        membership_remove(membership=target, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
