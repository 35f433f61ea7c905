"""The people most API tests start from: an office, one of its couriers and one of its
dispatchers. A test file that needs them otherwise (another office, a named user with
a password, several couriers) defines its own fixture of the same name, which takes
precedence in that file.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from models import Office, Role, User


@pytest.fixture
def office(make_office: Callable[..., Office]) -> Office:
    return make_office()


@pytest.fixture
def courier(make_user: Callable[..., User], office: Office) -> User:
    return make_user(Role.COURIER, office)


@pytest.fixture
def dispatcher(make_user: Callable[..., User], office: Office) -> User:
    return make_user(Role.DISPATCHER, office)
