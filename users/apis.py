"""The signed-in user's profile: GET / PATCH /api/v1/users/me."""

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from soulverse.api import INVALID, NOT_JSON, StrictJSONParser
from users.serializers import MeSerializer
from users.services import user_profile_update


class MeView(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [StrictJSONParser]
    serializer_class = MeSerializer

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(request.user).data)

    @extend_schema(request=MeSerializer, responses={200: MeSerializer, 400: INVALID, 415: NOT_JSON})
    def patch(self, request):
        serializer = MeSerializer(request.user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = user_profile_update(user=request.user, **serializer.validated_data)
        return Response(MeSerializer(user).data)
