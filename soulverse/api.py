"""Project-wide DRF helpers: the exception handler, strict JSON input, error bodies in the schema."""

import datetime
import json

from django.core.exceptions import RequestDataTooBig
from drf_spectacular.utils import OpenApiResponse
from rest_framework import parsers, serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    """DRF's handler, plus a JSON 400 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE (Django's is HTML)."""
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": "Corps de requête trop volumineux."}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)


class StrictJSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing lone surrogate escapes (`"\\ud800"`): valid JSON syntax but no
    valid text. DRF would echo them in an error message that cannot be encoded (a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        try:
            json.dumps(data, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise ParseError("JSON invalide : caractère de substitution isolé (\\ud800-\\udfff).") from None
        return data


class StrictCharField(serializers.CharField):
    """A JSON string only (DRF's CharField also turns numbers into strings)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


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
FORBIDDEN = OpenApiResponse(DETAIL_SCHEMA, description="Staff only.")
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
                operation["responses"].setdefault("401", {
                    "content": {"application/json": {"schema": DETAIL_SCHEMA}},
                    "description": UNAUTHENTICATED.description,
                })
    return result
