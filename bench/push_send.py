"""CPU per push of `verses.push.fcm.pushes_send` alone: no cluster, no database work, one process.

    flock /tmp/bench.lock .venv/bin/python bench/push_send.py --batches 10
    flock /tmp/bench.lock .venv/bin/python bench/push_send.py --batches 10 --send-mode h2

Sends `--batches` chunks of 500 pushes (after one to warm up: OAuth token, connections) to the
FCM stub in a process of its own (FcmStubProcess, `--latency` per request; over HTTPS with a test
authority trusted through FCM_CA_BUNDLE, HTTP/2 or HTTP/1.1 by ALPN, unless `--no-tls`) and prints
messages/s, the CPU of the client (user and system, all its threads) and of the stub per push, and
the connections the stub saw by protocol: where bench/push.py's cluster CPU goes, without the
chunk's database work. The rate limit uses the cache: REDIS_URL (default redis://127.0.0.1:6379/4).
"""

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.push import cpu_seconds  # noqa: E402
from soulverse.testing.fcm_stub import FcmStubProcess  # noqa: E402

AT = datetime.datetime(2026, 1, 10, 6, 0, tzinfo=datetime.UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--send-mode", choices=["pool", "threads", "async", "h2", "curl"], default="curl")
    parser.add_argument("--tls", action=argparse.BooleanOptionalAction, default=True, help="HTTPS (FCM is HTTPS only)")
    args = parser.parse_args()
    with FcmStubProcess(latency=args.latency, tls=args.tls) as stub, tempfile.TemporaryDirectory() as directory:
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "soulverse.settings",
                "DJANGO_SECRET_KEY": "benchmark-only-secret-key",
                "DJANGO_DEBUG": "false",
                "LOG_LEVEL": "WARNING",
                "GEMINI_API_KEY": "",
                "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/4"),
                "FCM_CREDENTIALS_FILE": str(stub.credentials_file(Path(directory))),
                "FCM_BASE_URL": stub.base_url,
                "FCM_SEND_MODE": args.send_mode,
                "FCM_CA_BUNDLE": str(stub.ca_file or ""),
            }
        )
        import django

        django.setup()
        from verses.push import fcm

        text = "Car Dieu a tant aimé le monde qu'il a donné son Fils unique, afin que quiconque croit en lui"
        pushes = [
            fcm.Push(
                key=n,
                kind="token",
                target=f"token-{n:06d}-" + "x" * 140,
                language="fr",
                day=AT.date(),
                reference="Jean 3:16",
                text=text,
                verse_id=1,
                expires_at=AT + datetime.timedelta(days=1),
            )
            for n in range(500)
        ]
        fcm.pushes_send(pushes, now=AT)
        client, stub_cpu, started = os.times(), cpu_seconds(stub.pid), time.monotonic()
        for _ in range(args.batches):
            results, _ = fcm.pushes_send(pushes, now=AT)
            assert all(result.outcome == fcm.Outcome.SENT for result in results)
        wall = time.monotonic() - started
        after, stub_after = os.times(), cpu_seconds(stub.pid)
        connections = ", ".join(f"{number} {name}" for name, number in stub.connections.items() if number)
    count = 500 * args.batches
    print(
        f"pushes_send, {args.send_mode}, {'TLS' if args.tls else 'plain TCP'}, {args.batches} x 500 pushes, "
        f"stub latency {args.latency * 1000:.0f} ms, connections {connections}: "
        f"{count / wall:,.0f} messages/s; client CPU {(after.user - client.user) * 1000 / count:.3f} ms user + "
        f"{(after.system - client.system) * 1000 / count:.3f} ms system per push; "
        f"stub {(stub_after - stub_cpu) * 1000 / count:.3f} ms per push"
    )


if __name__ == "__main__":
    main()
