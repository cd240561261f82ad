"""The signed-in user: profile (GET / PATCH /api/v1/users/me), devices (/api/v1/users/me/devices)
and API tokens (/api/v1/auth/)."""

from axes.exceptions import AxesBackendPermissionDenied
from django.conf import settings
from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from soulverse.api import DETAIL_SCHEMA, FORBIDDEN, INVALID, NOT_JSON, UNAUTHENTICATED, StrictJSONParser
from soulverse.authentication import TokenAuthentication
from soulverse.middleware import lockout_response
from users.selectors import devices_of_user
from users.serializers import (
    DeviceRegisterSerializer,
    DeviceSerializer,
    LoginResultSerializer,
    LoginSerializer,
    MeSerializer,
    TokenSerializer,
)
from users.services import (
    TooManyDevices,
    api_token_device_create,
    api_tokens_revoke,
    device_register,
    device_remove,
    user_activity_record,
    user_profile_update,
)

TOO_MANY = OpenApiResponse(DETAIL_SCHEMA, description="Too many attempts (`Retry-After` says when to retry).")


class ActivityRecordingMixin:
    """A user-facing view: each authenticated request counts as the user's activity of the day
    (written at most once per user and day, see user_activity_record)."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication, permissions, throttles
        if request.user.is_authenticated:
            user_activity_record(user_id=request.user.pk)


class MeView(ActivityRecordingMixin, APIView):
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


NOT_FOUND = OpenApiResponse(DETAIL_SCHEMA, description="No such device of yours.")


class DevicesView(ActivityRecordingMixin, APIView):
    """The phones, tablets and browsers push reaches (GET); POST registers this one, or refreshes
    it: idempotent on its identifier (201 when new, 200 when known)."""

    permission_classes = [IsAuthenticated]
    parser_classes = [StrictJSONParser]

    @extend_schema(responses=DeviceSerializer(many=True))
    def get(self, request):
        return Response(DeviceSerializer(devices_of_user(user=request.user), many=True).data)

    @extend_schema(
        request=DeviceRegisterSerializer,
        responses={200: DeviceSerializer, 201: DeviceSerializer, 400: INVALID, 415: NOT_JSON},
    )
    def post(self, request):
        body = DeviceRegisterSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        device, created = device_register(
            user=request.user,
            kind=data["kind"],
            identifier=data["id"],
            platform=data["platform"],
            app_version=data["app_version"],
            replaces=data["replaces"],
        )
        return Response(
            DeviceSerializer(device).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class DeviceView(ActivityRecordingMixin, APIView):
    """DELETE: push no longer reaches this device (its FID or registration token, URL-encoded)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[OpenApiParameter("id", str, OpenApiParameter.PATH, description="The FID or the token.")],
        responses={204: None, 404: NOT_FOUND},
    )
    def delete(self, request, id: str):
        if not device_remove(user=request.user, identifier=id):
            return Response({"detail": "Appareil introuvable."}, status=status.HTTP_404_NOT_FOUND)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LoginView(APIView):
    """A new API token for this device, from the account's email and password. Failed attempts
    are throttled (scope `login`) and lock the account out from this address (django-axes)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [StrictJSONParser]
    throttle_scope = "login"

    @extend_schema(
        request=LoginSerializer,
        responses={
            200: LoginResultSerializer,
            400: INVALID,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            415: NOT_JSON,
            429: TOO_MANY,
        },
        auth=[],
    )
    def post(self, request):
        body = LoginSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            user = authenticate(
                request._request, username=body.validated_data["email"], password=body.validated_data["password"]
            )
        except AxesBackendPermissionDenied:
            return lockout_response(request._request)
        if user is None:
            return Response(
                {"detail": "Email ou mot de passe incorrect."},
                status=status.HTTP_401_UNAUTHORIZED,
                headers={"WWW-Authenticate": "Token"},
            )
        try:
            token, key = api_token_device_create(user=user, limit=settings.REST_KNOX["TOKEN_LIMIT_PER_USER"])
        except TooManyDevices:
            return Response(
                {"detail": "Trop d'appareils connectés : déconnectez-en un d'abord."}, status=status.HTTP_403_FORBIDDEN
            )
        return Response({"token": key, "expiry": token.expiry.isoformat()})


class TokensView(APIView):
    """The user's tokens, one per device (GET); DELETE signs out every device."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=TokenSerializer(many=True))
    def get(self, request):
        tokens = request.user.auth_token_set.order_by("-created")
        return Response(TokenSerializer(tokens, many=True, context={"request": request}).data)

    @extend_schema(responses={204: None})
    def delete(self, request):
        api_tokens_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CurrentTokenView(APIView):
    """DELETE: sign this device out (its token stops working at once)."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={204: None})
    def delete(self, request):
        request.auth.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
