"""Public calls are limited per client address; integration and user tokens lift the limit."""

from __future__ import annotations

from typing import Any

import pytest

from services.intake.config import load_settings
from shared.settings import ConfigError


def post(client: Any, address: str = "10.0.0.1", token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/api/v1/feedback", json={"comment": "hi"}, headers=headers,
                       environ_base={"REMOTE_ADDR": address})


@pytest.fixture
def limited(make_intake: Any) -> Any:
    return make_intake(rate_limit="3/minute").create_app().test_client()


def test_the_fourth_call_in_a_minute_gets_429_with_retry_after(limited: Any) -> None:
    answers = [post(limited) for _ in range(4)]
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    refused = answers[-1]
    assert refused.mimetype == "application/problem+json" and refused.get_json()["status"] == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60


def test_the_limit_is_per_address_and_shared_by_the_public_endpoints(limited: Any) -> None:
    assert post(limited, "10.0.0.1").status_code == 202
    # refused (batches need an integration token), and counted all the same
    assert limited.post("/api/v1/feedback/batch", json=[{"comment": "a"}],
                        environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 401
    assert limited.get("/status/nope", environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 404
    assert post(limited, "10.0.0.1").status_code == 429
    assert post(limited, "10.0.0.2").status_code == 202


def test_integration_and_user_tokens_lift_the_limit_but_unknown_tokens_do_not(limited: Any) -> None:
    for _ in range(5):
        assert post(limited, token="dev-integration-token").status_code == 202
        assert post(limited, token="dev-ana").status_code == 202
    assert [post(limited, token="made-up-token").status_code for _ in range(4)] == [202, 202, 202, 429]


def test_probes_and_metrics_are_never_limited(limited: Any) -> None:
    for _ in range(3):
        post(limited, "127.0.0.1")
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/"):
        assert limited.get(path).status_code == 200, path
    assert limited.get("/favicon.ico").status_code == 404


@pytest.mark.parametrize(("name", "value"), [("INTAKE_RATE_LIMIT", "lots"),
                                             ("INTAKE_RATE_LIMIT_STORAGE", "postgres://x"),
                                             ("INTAKE_RATE_LIMIT_STORAGE", "redis")])
def test_a_bad_setting_stops_the_service_naming_the_variable(monkeypatch: pytest.MonkeyPatch, name: str,
                                                              value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_settings()


def test_an_unreachable_limit_store_does_not_stop_feedback(make_intake: Any) -> None:
    from tests.support import free_port

    dead = f"redis://127.0.0.1:{free_port()}/0"
    client = make_intake(rate_limit="3/minute", rate_limit_storage=dead).create_app().test_client()
    statuses = [post(client).status_code for _ in range(4)]
    assert statuses == [202, 202, 202, 429]  # counted in memory meanwhile


def test_counting_in_memory_starts_no_threads(limited: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    started: list[threading.Thread] = []
    original = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda self: (started.append(self), original(self))[1])
    for i in range(30):
        post(limited, f"10.0.1.{i}")
    assert started == []


def test_the_memory_storage_window_moves_on_and_old_entries_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from limits import parse
    from limits.storage import MemoryStorage
    from limits.strategies import MovingWindowRateLimiter

    from services.intake.ratelimit import MemoryWindows

    clock = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    ours, theirs = MemoryWindows(), MovingWindowRateLimiter(MemoryStorage())
    two_a_minute = parse("2/minute")
    for strategy in (ours, theirs):  # the same answers as limits' own moving window
        assert [strategy.hit(two_a_minute, "a") for _ in range(3)] == [True, True, False]
        clock[0] += 30
        assert not strategy.hit(two_a_minute, "a")
        assert strategy.get_window_stats(two_a_minute, "a").reset_time == clock[0] + 30
        clock[0] += 31
        assert strategy.hit(two_a_minute, "a")
        assert not strategy.hit(two_a_minute, "a", cost=2)
        assert strategy.hit(two_a_minute, "b", cost=2) and not strategy.hit(two_a_minute, "b")
        clock[0] += 1000
    clock[0] += 120
    ours.hit(two_a_minute, "other")  # any count after a second has passed drops what has expired
    assert len(ours) == 1


def test_counting_moves_to_memory_while_the_store_is_down_and_back_once_it_answers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from limits.storage import MemoryStorage

    from services.intake import ratelimit

    class Flaky(MemoryStorage):
        """A store that can be switched off, as a Redis restart would; it counts the calls it gets."""

        STORAGE_SCHEME = ["flaky-test"]
        down = False
        calls = 0

        def acquire_entry(self, *args: Any, **kwargs: Any) -> bool:
            self.calls += 1
            if self.down:
                raise ConnectionError("store unreachable")
            return super().acquire_entry(*args, **kwargs)

    store = Flaky()
    monkeypatch.setattr(ratelimit, "_open_storage", lambda uri: store)
    clock = [1_000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    limit = ratelimit.AddressLimit("2/minute", "redis://store.invalid:6379/0")
    assert [limit.hit("10.0.0.1") for _ in range(2)] == [None, None]
    store.down = True
    # requests are still counted, in memory: neither refused for the outage nor let through without limit
    assert [limit.hit("10.0.0.9") is None for _ in range(3)] == [True, True, False]
    assert store.calls == 3  # one failed call; then the store is left alone until it is tried again
    store.down = False
    clock[0] += ratelimit.AddressLimit.RETRY_STORE_SECONDS + 1
    assert limit.hit("10.0.0.1") is not None  # back on the store, which still holds the two earlier hits


def test_a_request_must_fit_every_limit_given(make_intake: Any) -> None:
    client = make_intake(rate_limit="5/minute;2/hour").create_app().test_client()
    assert [post(client).status_code for _ in range(3)] == [202, 202, 429]


def test_unknown_pages_do_not_use_up_the_budget(limited: Any) -> None:
    for _ in range(5):
        assert limited.get("/robots.txt", environ_base={"REMOTE_ADDR": "10.0.0.5"}).status_code == 404
    assert post(limited, "10.0.0.5").status_code == 202
