"""Project-wide DRF helpers: the exception handler, strict JSON input, error bodies in the schema."""

import datetime
import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import parsers, serializers, status
from rest_framework.exceptions import ParseError, Throttled
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from soulverse.hotpath import answer_expected
from soulverse.metrics import THROTTLED_REQUESTS

# An error body names at most this many fields, each message cut to this length: a 400 must not
# echo a large body back.
ERROR_MAX_FIELDS = 10
ERROR_MAX_MESSAGE = 200
JSON_MAX_DEPTH = 32  # request bodies are flat objects; deeper nesting is refused (400)


def exception_handler(exc, context):
    """DRF's handler, plus a JSON 400 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE (Django's is HTML),
    and error bodies capped in size; throttled requests are counted for /metrics; 401 and 429 are not
    logged by django.request."""
    if isinstance(exc, Throttled):
        view = context.get("view")
        THROTTLED_REQUESTS.labels(type(view).__name__ if view else "unknown").inc()
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": "Corps de requête trop volumineux."}, status=status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if response is not None:
        response.data = _error_capped(response.data)
        if response.status_code in (401, 429):
            # Expected refusals (no or bad credentials, over a rate): gunicorn's access log has each
            # one and 429s are counted; a WARNING line from django.request per refused request would
            # let anyone flood the logs.
            answer_expected(response)
    return response


def _error_capped(data):
    if isinstance(data, str):
        return data if len(data) <= ERROR_MAX_MESSAGE else data[:ERROR_MAX_MESSAGE] + "…"
    if isinstance(data, list):
        return [_error_capped(item) for item in data[:ERROR_MAX_FIELDS]]
    if isinstance(data, dict):
        return {_error_capped(str(key)): _error_capped(value) for key, value in list(data.items())[:ERROR_MAX_FIELDS]}
    return data


def _json_depth_exceeds(data, limit: int) -> bool:
    """Whether `data` nests lists/objects deeper than `limit` (iterative: no recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (list, dict)):
            if depth > limit:
                return True
            stack.extend((item, depth + 1) for item in (value.values() if isinstance(value, dict) else value))
    return False


class StrictJSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing lone surrogate escapes (`"\\ud800"`): valid JSON syntax but no
    valid text. DRF would echo them in an error message that cannot be encoded (a 500). Deep
    nesting (`[[[[…`) is a 400, not a RecursionError (a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON invalide : imbrication de plus de {JSON_MAX_DEPTH} niveaux.") from None
        if _json_depth_exceeds(data, JSON_MAX_DEPTH):
            raise ParseError(f"JSON invalide : imbrication de plus de {JSON_MAX_DEPTH} niveaux.")
        try:
            json.dumps(data, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise ParseError("JSON invalide : caractère de substitution isolé (\\ud800-\\udfff).") from None
        return data


class StrictSerializer(serializers.Serializer):
    """A request body that refuses fields it does not know (400 naming them, at most a few)."""

    def validate(self, attrs):
        self.unknown_fields_refuse(self)
        return super().validate(attrs)

    @staticmethod
    def unknown_fields_refuse(serializer) -> None:
        if not isinstance(serializer.initial_data, dict):
            return  # DRF itself answers 400 "not a dictionary"
        unknown = sorted(set(serializer.initial_data) - set(serializer.fields))
        if unknown:
            errors = {name[:50]: "Champ inconnu." for name in unknown[:5]}
            if len(unknown) > 5:
                errors["non_field_errors"] = f"{len(unknown)} champs inconnus au total."
            raise serializers.ValidationError(errors)


class StrictCharField(serializers.CharField):
    """A JSON string only (DRF's CharField also turns numbers into strings)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean only (DRF's BooleanField also takes "true", "yes", "1", 1, ...)."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictFloatField(serializers.FloatField):
    """A JSON number only (DRF's FloatField also takes booleans and numeric strings)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        return super().to_internal_value(data)


class UTCDateTimeField(serializers.DateTimeField):
    """An aware datetime rendered in UTC with its offset (`2025-12-31T06:00:00+00:00`); DRF's own
    would write the current time zone's offset, and `Z` for +00:00."""

    def to_representation(self, value):
        return value.astimezone(datetime.UTC).isoformat() if value else None


class StrictPageNumberPagination(PageNumberPagination):
    """`?page=N` as documented: an empty or non-numeric page (DRF reads `?page=` as the first page
    and `?page=last` as the last) is an invalid page, 404 like `?page=x`."""

    last_page_strings = ()

    def get_page_number(self, request, paginator):
        return request.query_params.get(self.page_query_param, 1)


class StrictSerializerSchema(OpenApiSerializerExtension):
    """The schema says what StrictSerializer enforces: no other fields in a request body, and no
    NUL in a string (DRF refuses it) unless the field says more with a pattern of its own."""

    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema["additionalProperties"] = False
            for name, field in self.target.fields.items():
                prop = schema.get("properties", {}).get(name)
                if isinstance(field, serializers.CharField) and prop and prop.get("type") == "string":
                    prop.setdefault("pattern", NO_NUL_PATTERN)
        return schema


# The Accept headers for which a hand-written JSON answer is what DRF's negotiation would pick.
JSON_ACCEPTS = frozenset({"", "*/*", "application/json"})


def request_anonymous(request) -> bool:
    """No credentials at all: no Authorization header and no session cookie."""
    return "HTTP_AUTHORIZATION" not in request.META and settings.SESSION_COOKIE_NAME not in request.COOKIES


# DRF refuses NUL characters in every string (PostgreSQL cannot store them); for the schema.
NO_NUL_PATTERN = "^[^\\x00]*$"

# Error bodies as DRF writes them, for the OpenAPI schema.
DETAIL_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": "Each invalid field (or `non_field_errors`) with its messages, or `detail` for a body "
    "that is not valid JSON or is too large.",
    "additionalProperties": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
}
UNAUTHENTICATED = OpenApiResponse(DETAIL_SCHEMA, description="No valid credentials.")
FORBIDDEN = OpenApiResponse(DETAIL_SCHEMA, description="Without the permission this needs.")
NOT_FOUND = OpenApiResponse(DETAIL_SCHEMA, description="Not found.")
INVALID = OpenApiResponse(VALIDATION_ERROR_SCHEMA, description="Invalid body, naming each invalid field.")
NOT_JSON = OpenApiResponse(DETAIL_SCHEMA, description="A body that is not `application/json`.")


def schema_authentication_errors(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation that needs credentials answers 401
    `{"detail": …}` without valid ones (DRF's token authentication), so document it once here."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            security = operation.get("security")
            if security and {} not in security:
                operation["responses"].setdefault(
                    "401",
                    {
                        "content": {"application/json": {"schema": DETAIL_SCHEMA}},
                        "description": UNAUTHENTICATED.description,
                    },
                )
    return result
