"""A transaction SQLite refuses with "database is locked" runs again; other
errors, and the same error inside an outer transaction, are not retried."""

import pytest
from django.db import OperationalError, connection, transaction

from core.db import retry_if_locked


@pytest.fixture
def on_sqlite(monkeypatch):
    monkeypatch.setattr(connection, "vendor", "sqlite")


def flaky(failures: list[str]):
    calls = []

    @retry_if_locked
    def unit():
        calls.append(1)
        if failures:
            raise OperationalError(failures.pop(0))
        return "stored"

    return unit, calls


@pytest.mark.django_db(transaction=True)
def test_locked_twice_then_stored(on_sqlite):
    unit, calls = flaky(["database is locked", "database is locked"])
    assert unit() == "stored" and len(calls) == 3


@pytest.mark.django_db(transaction=True)
def test_gives_up_after_five_attempts(on_sqlite):
    unit, calls = flaky(["database is locked"] * 9)
    with pytest.raises(OperationalError):
        unit()
    assert len(calls) == 5


@pytest.mark.django_db(transaction=True)
def test_other_errors_are_not_retried(on_sqlite):
    unit, calls = flaky(["no such table: x"])
    with pytest.raises(OperationalError):
        unit()
    assert len(calls) == 1


@pytest.mark.django_db(transaction=True)
def test_not_retried_inside_an_outer_transaction(on_sqlite):
    unit, calls = flaky(["database is locked"])
    with pytest.raises(OperationalError), transaction.atomic():
        unit()
    assert len(calls) == 1


@pytest.mark.django_db(transaction=True)
def test_postgresql_errors_are_never_retried(monkeypatch):
    monkeypatch.setattr(connection, "vendor", "postgresql")
    unit, calls = flaky(["database is locked"])
    with pytest.raises(OperationalError):
        unit()
    assert len(calls) == 1
