"""Local stand-ins for the outside services (Gemini, FCM and Google's OAuth endpoint, webhook
receivers, heartbeat and Sentry endpoints, an HTTPS certificate authority), shared by the tests,
bench/ and scripts/stand_in.py. They import no app, so that a benchmark can run them without
Django; the image leaves this package out (.dockerignore)."""
