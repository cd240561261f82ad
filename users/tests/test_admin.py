import pytest

from console.stats import daily_stats_update
from users.models import DailyStats
from users.tests.factories import UserFactory


def test_admin_pages_need_a_staff_login(client, db):
    response = client.get("/admin/users/user/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize(("url", "rows"), [("/admin/users/user/", 2), ("/admin/users/dailystats/", 1)])
def test_changelists_load_with_rows(admin_client, url, rows):
    # One row of each kind, so that every list_display column is rendered.
    member = UserFactory(email="member@example.org")
    daily_stats_update()
    assert DailyStats.objects.count() == 1

    response = admin_client.get(url)

    assert response.status_code == 200
    assert response.context["cl"].result_count == rows  # the users: the superuser and the member
    if url == "/admin/users/user/":
        assert member.email in response.content.decode()


def test_user_add_and_change_pages_load(admin_client):
    member = UserFactory(email="member@example.org")
    response = admin_client.get("/admin/users/user/add/")
    assert response.status_code == 200
    assert set(response.context["adminform"].form.fields) == {"email", "password1", "password2"}
    response = admin_client.get(f"/admin/users/user/{member.pk}/change/")
    assert response.status_code == 200
    assert response.context["adminform"].form.initial["email"] == "member@example.org"
