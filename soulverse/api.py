"""Project-wide DRF settings helpers."""

from django.core.exceptions import RequestDataTooBig
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    """DRF's handler, plus a JSON 400 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE (Django's is HTML)."""
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": "Corps de requête trop volumineux."}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
