"""Webhook endpoints under /api/v1/scheduler/webhooks: one ViewSet, each action calls one service."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status as http
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.settings import api_settings

from scheduler.permissions import SchedulerPermission
from soulverse.api import FORBIDDEN, INVALID, NOT_FOUND, NOT_JSON, StrictJSONParser
from webhooks.selectors import webhook_deliveries, webhook_endpoint_get, webhook_endpoints
from webhooks.serializers import (
    WebhookDeliverySerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointCreateSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointUpdateSerializer,
)
from webhooks.services import webhook_endpoint_create, webhook_endpoint_delete, webhook_endpoint_update

STAFF_ONLY = {403: FORBIDDEN}
ENDPOINT_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)


class WebhookEndpointViewSet(viewsets.ViewSet):
    """Endpoints that receive the scheduler's events, signed per the Standard Webhooks spec."""

    parser_classes = [StrictJSONParser]
    permission_classes = [SchedulerPermission]  # GET: view the scheduler; POST, PATCH, DELETE: operate it
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS
    lookup_value_regex = "[^/]+"  # any id gets the JSON 404, not Django's HTML page

    def _get(self, pk):
        endpoint = webhook_endpoint_get(endpoint_id=pk)
        if endpoint is None:
            raise NotFound(f"id : aucun webhook avec l'identifiant « {pk} »")
        return endpoint

    @extend_schema(responses={200: WebhookEndpointSerializer(many=True), 404: NOT_FOUND, **STAFF_ONLY})
    def list(self, request):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(webhook_endpoints(), request, view=self)
        return paginator.get_paginated_response(WebhookEndpointSerializer(page, many=True).data)

    @extend_schema(
        request=WebhookEndpointCreateSerializer,
        responses={
            201: OpenApiResponse(
                WebhookEndpointCreatedSerializer, description="The endpoint, with its signing secret (shown this once)."
            ),
            400: INVALID,
            415: NOT_JSON,
            **STAFF_ONLY,
        },
    )
    def create(self, request):
        body = WebhookEndpointCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint = webhook_endpoint_create(**body.validated_data, created_by=request.user)
        return Response(WebhookEndpointCreatedSerializer(endpoint).data, status=http.HTTP_201_CREATED)

    @extend_schema(parameters=[ENDPOINT_ID], responses={200: WebhookEndpointSerializer, 404: NOT_FOUND, **STAFF_ONLY})
    def retrieve(self, request, pk=None):
        return Response(WebhookEndpointSerializer(self._get(pk)).data)

    @extend_schema(
        parameters=[ENDPOINT_ID],
        request=WebhookEndpointUpdateSerializer,
        responses={200: WebhookEndpointSerializer, 400: INVALID, 404: NOT_FOUND, 415: NOT_JSON, **STAFF_ONLY},
    )
    def partial_update(self, request, pk=None):
        endpoint = self._get(pk)
        body = WebhookEndpointUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint = webhook_endpoint_update(endpoint=endpoint, **body.validated_data)
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(parameters=[ENDPOINT_ID], responses={204: None, 404: NOT_FOUND, **STAFF_ONLY})
    def destroy(self, request, pk=None):
        webhook_endpoint_delete(endpoint=self._get(pk))
        return Response(status=http.HTTP_204_NO_CONTENT)

    @extend_schema(
        parameters=[ENDPOINT_ID], responses={200: WebhookDeliverySerializer(many=True), 404: NOT_FOUND, **STAFF_ONLY}
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        """The endpoint's deliveries, newest first, each with its attempts (status, duration, error)."""
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(webhook_deliveries(endpoint=self._get(pk)), request, view=self)
        return paginator.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)
