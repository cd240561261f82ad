import pytest

# Tests that start a real qcluster or Chromium: the slowest of the suite (up to 90 s, mostly waiting
# for django-q2's scheduler passes).
SLOW_MARKS = ("cluster", "browser")


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (`make test`), the tests that wait on a real cluster or browser go first,
    one every other test: with `--dist load --maxschedchunk 1` each worker starts with two tests,
    so the slowest ones start at once on different workers instead of one after another at the
    end. A serial run keeps the files' order."""
    if not hasattr(config, "workerinput"):
        return
    slow = [item for item in items if any(item.get_closest_marker(name) for name in SLOW_MARKS)]
    rest = [item for item in items if not any(item.get_closest_marker(name) for name in SLOW_MARKS)]
    head = [item for pair in zip(slow, rest) for item in pair]
    items[:] = head + slow[len(head) // 2 :] + rest[len(head) // 2 :]


@pytest.fixture(autouse=True)
def _isolated_cache(request):
    """Each test starts with an empty cache (only this project's keys on a shared Redis)."""
    from django.core.cache import cache

    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    elif _transactional(request):
        request.getfixturevalue("transactional_db")
        cache.clear()
    elif "db" in request.fixturenames or request.node.get_closest_marker("django_db"):
        # The database cache lives in the test database: an ordinary test's rows are rolled back,
        # a transactional test's left behind (its flush empties the models' tables only), and
        # under xdist a cluster test may have run before on this worker.
        request.getfixturevalue("db")
        cache.clear()
    yield


@pytest.fixture(autouse=True)
def _memos_reset():
    """Each test starts and ends with this process's memos empty (soulverse.memos): no activity,
    wrong token, schema, health state or throttle count remembered, and Redis taken as up."""
    from soulverse.memos import memos_reset

    memos_reset()
    yield
    memos_reset()


@pytest.fixture
def wsgi_connections_kept():
    """As Django's test client: the test's database connection is not closed at each request that
    a test sends through the WSGI application itself."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def wsgi_app(wsgi_connections_kept):
    """The project's WSGI application, fresh (soulverse.replay keeps nothing yet; the middleware
    built with this test's settings), and the paths of the requests that entered Django."""
    from django.core.signals import request_started
    from django.core.wsgi import get_wsgi_application

    from soulverse.wsgi import _answers_replayed

    entered = []

    def count(**kwargs):
        entered.append(kwargs["environ"]["PATH_INFO"])

    request_started.connect(count)
    yield _answers_replayed(get_wsgi_application()), entered
    request_started.disconnect(count)


def _transactional(request) -> bool:
    if {"transactional_db", "live_server"} & set(request.fixturenames):
        return True
    marker = request.node.get_closest_marker("django_db")
    return bool(marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])))


def _token_client(user):
    from rest_framework.test import APIClient

    from users.tests.factories import token_key_for

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key_for(user)}")
    return client


def _in_group(user, name: str):
    from scheduler.permissions import scheduler_groups_ensure

    user.groups.add(scheduler_groups_ensure()[name])
    return user


@pytest.fixture
def staff_user(db):
    """A staff member of the "Scheduler operators" group (view + operate the scheduler)."""
    from scheduler.permissions import OPERATORS_GROUP
    from users.tests.factories import UserFactory

    return _in_group(UserFactory(email="staff@example.org", is_staff=True, fcm_token=""), OPERATORS_GROUP)


@pytest.fixture
def staff_client(staff_user):
    return _token_client(staff_user)


@pytest.fixture
def viewer_client(db):
    """A staff member of "Scheduler viewers": may read the scheduler, not drive it."""
    from scheduler.permissions import VIEWERS_GROUP
    from users.tests.factories import UserFactory

    return _token_client(_in_group(UserFactory(email="viewer@example.org", is_staff=True, fcm_token=""), VIEWERS_GROUP))


@pytest.fixture
def bare_staff_client(db):
    """`is_staff` and no permission at all: no access to the scheduler API."""
    from users.tests.factories import UserFactory

    return _token_client(UserFactory(email="bare-staff@example.org", is_staff=True, fcm_token=""))


@pytest.fixture
def superuser(db):
    from users.models import User

    return User.objects.create_superuser("root@example.org", "pw")


@pytest.fixture
def admin_client(client, superuser):
    """The Django admin, logged in as a superuser (replaces pytest-django's own)."""
    client.force_login(superuser)
    return client


@pytest.fixture
def member_client(db):
    from users.tests.factories import UserFactory

    return _token_client(UserFactory())


@pytest.fixture
def qcluster(tmp_path):
    """A real qcluster for the test; yields the folder of its log."""
    from scheduler.tests.clusters import qcluster_running

    with qcluster_running(tmp_path):
        yield tmp_path


@pytest.fixture
def local_postgres():
    """The fault tests that stop PostgreSQL: skipped unless it is the machine's own (127.0.0.1:5432)."""
    from scheduler.tests.outages import local_postgres_restored

    with local_postgres_restored():
        yield


@pytest.fixture
def schedules(db):
    from scheduler.services import schedules_setup

    schedules_setup()


@pytest.fixture
def sync_tasks():
    """Run django-q tasks in-process as they are enqueued (django-q2's sync mode), and
    transaction.on_commit callbacks at once, as outside a test's transaction."""
    from scheduler.tests.runs import tasks_in_process

    with tasks_in_process():
        yield
