"""The campaign endpoints under /api/v1/scheduler/campaigns (verses/campaigns): create (or
preview with `dry_run`), list, one with its figures, cancel, a test send to one account. GET
needs scheduler.view_scheduler, any other method operate_scheduler."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status as http
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings

from console.campaign_serializers import (
    CampaignCreateSerializer,
    CampaignPreviewSerializer,
    CampaignSerializer,
    CampaignTestDoneSerializer,
    CampaignTestSerializer,
    errors_flat,
)
from console.editorial_apis import ID, STAFF_ONLY, _int_id
from scheduler.permissions import SchedulerPermission
from soulverse.api import INVALID, NOT_FOUND, NOT_JSON, StrictJSONParser
from verses.campaigns.models import Campaign
from verses.campaigns.selectors import campaign_audience, campaign_figures, campaign_get, campaigns_with_figures
from verses.campaigns.services import (
    CampaignNotCancellable,
    PushDisabled,
    campaign_cancel,
    campaign_create,
    campaign_test_send,
)

DETAIL = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
STATE_LABELS = dict(Campaign.State.choices)


def campaign_data(campaign: Campaign) -> dict:
    """The campaign and its figures, as CampaignSerializer renders them (`campaign` annotated by
    campaigns_with_figures)."""
    return CampaignSerializer({**_fields(campaign), **campaign_figures(campaign=campaign)}).data


def _fields(campaign: Campaign) -> dict:
    return {
        name: getattr(campaign, name)
        for name in (
            "id",
            "title",
            "body",
            "segment",
            "send_at",
            "local_time",
            "date",
            "state",
            "label",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        )
    }


def not_cancellable_message(state: str) -> str:
    return f"La campagne est déjà {STATE_LABELS[state].lower()} : elle ne peut plus être annulée."


class CampaignViewSet(viewsets.ViewSet):
    """Announcements to a segment of the users, at an instant or at a local time on each user's clock."""

    parser_classes = [StrictJSONParser]
    permission_classes = [SchedulerPermission]
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS
    lookup_value_regex = "[^/]+"

    def _campaign(self, pk) -> Campaign:
        campaign = campaign_get(campaign_id=_int_id(pk, what="campagne"))
        if campaign is None:
            raise NotFound(f"id : aucune campagne avec l'identifiant « {pk} »")
        return campaign

    @extend_schema(responses={200: CampaignSerializer(many=True), 404: NOT_FOUND, **STAFF_ONLY})
    def list(self, request):
        """The campaigns, newest first, 20 per page, with their audience, sent, failed and opened."""
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(campaigns_with_figures(), request, view=self)
        return paginator.get_paginated_response([campaign_data(campaign) for campaign in page])

    @extend_schema(
        request=CampaignCreateSerializer,
        responses={
            200: OpenApiResponse(CampaignPreviewSerializer, description="`dry_run`: the audience; nothing stored."),
            201: CampaignSerializer,
            400: INVALID,
            415: NOT_JSON,
            **STAFF_ONLY,
        },
    )
    def create(self, request):
        """Schedule a campaign (sent by the quarter-hour tick once due), or preview its audience."""
        body = CampaignCreateSerializer(data=request.data)
        if not body.is_valid():
            raise ValidationError(errors_flat(body.errors))  # "segment.languages": the field named whole
        data = dict(body.validated_data)
        if data.pop("dry_run"):
            audience = campaign_audience(segment=data["segment"]).count()
            return Response(CampaignPreviewSerializer({"dry_run": True, "audience": audience, **data}).data)
        campaign = campaign_create(**data, created_by=request.user)
        return Response(campaign_data(campaign_get(campaign_id=campaign.pk)), status=http.HTTP_201_CREATED)

    @extend_schema(parameters=[ID], responses={200: CampaignSerializer, 404: NOT_FOUND, **STAFF_ONLY})
    def retrieve(self, request, pk=None):
        return Response(campaign_data(self._campaign(pk)))

    @extend_schema(
        parameters=[ID],
        request=None,
        responses={
            200: CampaignSerializer,
            404: NOT_FOUND,
            409: OpenApiResponse(DETAIL, description="Sent or cancelled already: nothing changed."),
            **STAFF_ONLY,
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a campaign until it is sent: its users not sent it yet will not be."""
        try:
            campaign_cancel(campaign=self._campaign(pk), by=request.user)
        except CampaignNotCancellable as exc:
            return Response({"detail": not_cancellable_message(exc.state)}, status=http.HTTP_409_CONFLICT)
        return Response(campaign_data(self._campaign(pk)))

    @extend_schema(
        parameters=[ID],
        request=CampaignTestSerializer,
        responses={
            200: CampaignTestDoneSerializer,
            400: INVALID,
            404: NOT_FOUND,
            415: NOT_JSON,
            503: OpenApiResponse(DETAIL, description="Push is disabled (no FCM credentials)."),
            **STAFF_ONLY,
        },
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Send the campaign now to each device of one account (not counted in the campaign)."""
        campaign = self._campaign(pk)
        body = CampaignTestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            devices = campaign_test_send(campaign=campaign, user=body.validated_data["user"])
        except PushDisabled:
            return Response(
                {"detail": "Les notifications push sont désactivées (pas d'identifiants FCM)."},
                status=http.HTTP_503_SERVICE_UNAVAILABLE,
            )
        sent = sum(device["outcome"] == "sent" for device in devices)
        return Response(CampaignTestDoneSerializer({"sent": sent, "devices": devices}).data)
