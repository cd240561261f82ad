"""The app's side of campaigns: POST /api/v1/campaigns/{id}/opened."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from soulverse.api import NOT_FOUND
from soulverse.db import BIGINT_MAX
from users.apis import ActivityRecordingMixin
from verses.campaigns.models import CampaignDelivery
from verses.campaigns.services import campaign_open_record


class CampaignOpenedSerializer(serializers.Serializer):
    campaign = serializers.IntegerField(source="campaign_id")
    opened_at = serializers.DateTimeField(help_text="The first open.")


class CampaignOpenViewSet(ActivityRecordingMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated]
    serializer_class = CampaignOpenedSerializer
    lookup_value_regex = "[^/]+"

    @extend_schema(
        request=None,
        parameters=[
            OpenApiParameter(
                "id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The `campaign_id` the push's data carried."
            )
        ],
        responses={
            200: CampaignOpenedSerializer,
            404: OpenApiResponse(NOT_FOUND.response, description="The user was not sent that campaign."),
        },
    )
    @action(detail=True, methods=["post"])
    def opened(self, request, pk=None):
        """The user opened the push of campaign `id`. Idempotent: the first open is kept."""
        try:
            campaign_id = int(pk)
            if not 0 < campaign_id <= BIGINT_MAX:
                raise CampaignDelivery.DoesNotExist
            delivery = campaign_open_record(campaign_id=campaign_id, user=request.user)
        except (ValueError, CampaignDelivery.DoesNotExist):
            raise NotFound(f"id : aucune campagne « {pk} » envoyée à ce compte.") from None
        return Response(CampaignOpenedSerializer(delivery).data)
