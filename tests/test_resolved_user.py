"""request.user is the user itself by the time a view runs (remit/core/middleware.py
ResolvedUserMiddleware), with what django-otp sets on it; the health check never resolves it."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils.functional import SimpleLazyObject

from remit.accounts.models import User
from tests.factories import OrganizationFactory, manager_of

pytestmark = pytest.mark.django_db


def test_a_signed_in_request_carries_the_user_not_a_proxy(client):
    manager = manager_of(OrganizationFactory())
    client.force_login(manager)
    response = client.get("/")
    assert response.status_code == 200
    user = response.wsgi_request.user
    assert type(user) is User
    assert user == manager
    assert user.is_verified() is False  # django-otp's attribute, on the user itself
    assert response.context["user"] is user


def test_an_anonymous_request_carries_the_anonymous_user(client):
    response = client.get("/login/")
    assert response.status_code == 200
    assert type(response.wsgi_request.user) is AnonymousUser


def test_the_health_check_leaves_the_user_unread(client):
    manager = manager_of(OrganizationFactory())
    client.force_login(manager)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert isinstance(response.wsgi_request.user, SimpleLazyObject)
