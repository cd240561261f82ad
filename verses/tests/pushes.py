"""One push to send in the FCM transport tests: the same verse at the same instant, to any target."""

import datetime

from verses.push import fcm

AT = datetime.datetime(2026, 1, 10, 6, 0, tzinfo=datetime.UTC)


def push_to(key: int, target: str, *, kind: str = "token", confirmed: bool = True) -> fcm.Push:
    return fcm.Push(
        key=key,
        kind=kind,
        target=target,
        confirmed=confirmed,
        language="fr",
        day=AT.date(),
        reference="Jean 3:16",
        text="Car Dieu a tant aimé le monde",
        verse_id=7,
        expires_at=AT + datetime.timedelta(days=1),
    )
