"""The FCM and Gemini stand-ins (soulverse/testing/fcm_stub.py, gemini_stub.py) as processes of
their own, for scripts/smoke_production.sh:

    python scripts/stand_in.py fcm --port 22010 --credentials FILE --status FILE
    python scripts/stand_in.py gemini --port 22011 --status FILE

Each serves on 127.0.0.1:PORT until SIGTERM and rewrites its status file (JSON) five times a
second: the FCM stand-in's accepted sends per token, the Gemini stand-in's request count. The FCM
one first writes a service-account file whose token endpoint is itself (--credentials)."""

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from soulverse.testing import fcm_stub, gemini_stub  # noqa: E402


def fcm_serve(port: int, credentials: Path) -> tuple[ThreadingHTTPServer, callable]:
    stub = fcm_stub.FcmStub(base_url=f"http://127.0.0.1:{port}")
    server = fcm_stub._Server(("127.0.0.1", port), stub._handler())
    with tempfile.TemporaryDirectory() as directory:
        written = stub.credentials_file(Path(directory))
        credentials.write_text(written.read_text())

    def status() -> dict:
        return {
            "delivered": len(stub.delivered),
            "tokens": dict(stub.delivered_tokens()),
            "errors": dict(stub.errors),
            "requests": stub.requests,
        }

    return server, status


def gemini_serve(port: int) -> tuple[ThreadingHTTPServer, callable]:
    stub = gemini_stub.GeminiStub()
    server = ThreadingHTTPServer(("127.0.0.1", port), gemini_stub._handler_class(stub))
    server.daemon_threads = True
    stub._server = server  # what GeminiStub.start() keeps: base_url and stop() read it

    def status() -> dict:
        return {"requests": stub.request_count, "probes": len(stub.probes)}

    return server, status


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("service", choices=["fcm", "gemini"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--status", type=Path, required=True)
    parser.add_argument("--credentials", type=Path, help="fcm: where to write the service-account JSON")
    args = parser.parse_args()
    if args.service == "fcm":
        if args.credentials is None:
            parser.error("fcm needs --credentials")
        server, status = fcm_serve(args.port, args.credentials)
    else:
        server, status = gemini_serve(args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    while True:
        partial = args.status.with_suffix(".partial")
        partial.write_text(json.dumps(status()))
        os.replace(partial, args.status)  # readers never see half a file
        if stop.wait(0.2):
            break
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()
