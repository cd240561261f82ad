"""FCM HTTP v1 stand-in served by nginx, for bench/push.py (`--stand-in nginx`).

Why: the Python stand-in (FcmStubProcess: asyncio + h2, one process) costs more CPU per message
than the client it serves; on a 2-core machine its process saturates a core and bounds the bench.
In production FCM is remote, so the bench needs a stand-in that costs little CPU: here nginx (C:
TLS, HTTP/2) answers `POST /v1/projects/{project}/messages:send` with njs (bench/fcm_nginx.js: the
Python stub's checks and answers, after the same latency), while a FcmStubProcess still serves the
OAuth token endpoint (the credentials file's token_uri; one request an hour) and makes the test
authority and certificate that nginx serves too, so that FCM_CA_BUNDLE trusts both.

nginx runs in the foreground as a child process (`daemon off`), with its configuration, pid file,
logs and temporary paths in a temporary directory, on a free loopback port. Every messages:send
answer is written to an access log (`$msec $status $connection $server_protocol`), read when the
counts are asked for: accepted sends, first and last accepted (answer time, as the Python stub
records it) and connections that sent messages, by protocol.

Needs Debian's `nginx` and `libnginx-mod-http-js` (nginx 1.22, njs 0.7).

    with FcmNginx(latency=0.05, tls=True, workers=1) as stub:
        path = stub.credentials_file(tmp_path)
        stub.base_url, stub.ca_file, stub.pids, stub.accepted, stub.connections
"""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Self

from bench.daily_run import process_tree
from soulverse.testing.fcm_stub import FcmStubProcess

NGINX = "/usr/sbin/nginx"
JS_MODULE = "/usr/lib/nginx/modules/ngx_http_js_module.so"
HANDLER = Path(__file__).resolve().with_name("fcm_nginx.js")
MESSAGES_LOG = "messages.log"

CONFIG = """\
load_module {js_module};
worker_processes {workers};
pid {directory}/nginx.pid;
lock_file {directory}/nginx.lock;
error_log {directory}/error.log warn;

events {{
    worker_connections 4096;
}}

http {{
    access_log off;
    client_body_temp_path {directory}/client_body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    # A message is a few KiB: its body stays in memory, where njs reads it.
    client_max_body_size 1m;
    client_body_buffer_size 1m;
    # Connections are kept as long as the client wants, as the Python stub keeps them (nginx
    # otherwise closes one after 1,000 requests).
    keepalive_requests 1000000000;
    keepalive_time 1d;
    keepalive_timeout 1h;
    http2_max_concurrent_streams {max_concurrent_streams};

    js_import fcm from {handler};
    log_format messages '$msec $status $connection $server_protocol';

    server {{
        listen 127.0.0.1:{port}{listen_options} backlog=4096;
{tls}
        set $fcm_project_id {project_id};
        set $fcm_latency_ms {latency_ms};

        location ~ ^/v1/projects/(?<fcm_project>[^/]+)/messages:send$ {{
            access_log {directory}/{messages_log} messages;
            js_content fcm.send;
        }}

        location / {{
            default_type "application/json; charset=UTF-8";
            return 404 '{{"error": {{"code": 404, "status": "NOT_FOUND", "message": "Not found."}}}}';
        }}
    }}
}}
"""
TLS = """\
        ssl_certificate {directory}/server.pem;
        ssl_certificate_key {directory}/server.key;
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FcmNginx:
    """The stand-in (see the module's docstring) with FcmStubProcess's attributes that the bench
    uses; `pids`: nginx's master and workers and the token stub."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        project_id: str = "soulverse-test",
        tls: bool = False,
        workers: int = 1,
        max_concurrent_streams: int = 100,
    ):
        self.latency = latency
        self.project_id = project_id
        self.workers = workers
        self.token_stub = FcmStubProcess(project_id=project_id, tls=tls)
        self.ca_file = self.token_stub.ca_file
        self.token_uri = self.token_stub.token_uri
        self._directory = tempfile.TemporaryDirectory(prefix="fcm-nginx-")
        directory = Path(self._directory.name)
        self._config = directory / "nginx.conf"
        self._log = directory / MESSAGES_LOG
        self.port = free_port()
        self.base_url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._config.write_text(
            CONFIG.format(
                js_module=JS_MODULE,
                workers=workers,
                directory=directory,
                max_concurrent_streams=max_concurrent_streams,
                handler=HANDLER,
                port=self.port,
                # HTTP/2 by ALPN over TLS only: on plain TCP nginx would speak HTTP/2 to every client.
                listen_options=" ssl http2" if tls else "",
                tls=TLS.format(directory=self.ca_file.parent) if tls else "",
                project_id=project_id,
                latency_ms=round(latency * 1000),
                messages_log=MESSAGES_LOG,
            )
        )
        self._process: subprocess.Popen | None = None
        self._log_offset = 0  # the log's bytes read so far
        self._accepted = 0
        self._first_accepted_at = self._last_accepted_at = 0.0
        self._connections: dict[bytes, str] = {}  # nginx's connection number -> protocol

    def __enter__(self) -> Self:
        self.token_stub.__enter__()
        directory = self._directory.name
        try:
            self._process = subprocess.Popen(
                [NGINX, "-p", directory, "-e", f"{directory}/error.log", "-c", str(self._config), "-g", "daemon off;"],
                stdin=subprocess.DEVNULL,
            )
            self._wait_listening()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self._process is not None:
            self._process.terminate()  # SIGTERM: the master stops its workers and exits
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self.token_stub.__exit__(*exc)
        self._directory.cleanup()

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 10
        while True:
            if self._process.poll() is not None or time.monotonic() > deadline:
                error_log = Path(self._directory.name, "error.log")
                errors = error_log.read_text() if error_log.exists() else ""
                raise RuntimeError(f"nginx did not start on port {self.port}:\n{errors}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)

    # --- what the bench reads -------------------------------------------------------------

    @property
    def pids(self) -> list[int]:
        return [*process_tree(self._process.pid), self.token_stub.pid]

    @property
    def accepted(self) -> int:
        self._log_read()
        return self._accepted

    @property
    def first_accepted_at(self) -> float:
        """Wall-clock (Unix) time of the first send accepted since the last `accept_times_reset`; 0: none."""
        self._log_read()
        return self._first_accepted_at

    @property
    def last_accepted_at(self) -> float:
        self._log_read()
        return self._last_accepted_at

    def accept_times_reset(self) -> None:
        self._log_read()
        self._first_accepted_at = self._last_accepted_at = 0.0

    @property
    def connections(self) -> Counter[str]:
        """Connections that carried at least one messages:send, by protocol ("h2", "http/1.1")."""
        self._log_read()
        return Counter(self._connections.values())

    def credentials_file(self, directory: Path) -> Path:
        """A service-account JSON whose token_uri is the token stub."""
        return self.token_stub.credentials_file(directory)

    def _log_read(self) -> None:
        """Counts the messages:send answers logged since the last read (whole lines only)."""
        with self._log.open("rb") as log:
            log.seek(self._log_offset)
            data = log.read()
        end = data.rfind(b"\n") + 1
        self._log_offset += end
        for line in data[:end].splitlines():
            at, status, connection, protocol = line.split()
            self._connections[connection] = "h2" if protocol == b"HTTP/2.0" else "http/1.1"
            if status == b"200":  # workers append their lines each in turn: min and max, not first and last
                self._accepted += 1
                at = float(at)
                self._first_accepted_at = min(self._first_accepted_at or at, at)
                self._last_accepted_at = max(self._last_accepted_at, at)
