"""A small HTTP load generator on keep-alive connections (threads), for where ``wrk`` cannot go.

Closed loop (``closed``): N connections send as fast as answers come back, for a duration.
Open loop (``paced``): requests are started on a fixed schedule (``rate`` per second) whatever
the answers do, so slow answers show as latency instead of silently lowering the load.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Outcome:
    """One request: when it started and ended (monotonic seconds), its status and its answer."""

    started: float
    ended: float
    status: int
    body: Any = None
    retry_after: str | None = None


@dataclass
class Client:
    """One keep-alive connection to ``host:port``."""

    host: str
    port: int
    timeout: float = 10.0
    conn: http.client.HTTPConnection | None = field(default=None, repr=False)

    def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> Outcome:
        started = time.monotonic()
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request("POST", path, body=body,
                                  headers={"Content-Type": "application/json", **(headers or {})})
                resp = self.conn.getresponse()
                raw = resp.read()
                ended = time.monotonic()
                parsed: Any = None
                if raw and "json" in (resp.getheader("Content-Type") or ""):
                    parsed = json.loads(raw)
                if resp.getheader("Connection", "").lower() == "close":
                    self.close()
                return Outcome(started, ended, resp.status, parsed, resp.getheader("Retry-After"))
            except (ConnectionError, http.client.HTTPException) as exc:
                # a keep-alive connection the server closed between requests: reconnect once
                self.close()
                if attempt == 2:
                    return Outcome(started, time.monotonic(), 0, repr(exc))
            except TimeoutError as exc:
                self.close()
                return Outcome(started, time.monotonic(), -1, repr(exc))
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def closed(host: str, port: int, path: str, body: bytes, *, connections: int, seconds: float) -> list[Outcome]:
    """Send from ``connections`` threads back to back for ``seconds``."""
    out: list[Outcome] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker() -> None:
        client = Client(host, port)
        mine: list[Outcome] = []
        while time.monotonic() < deadline:
            mine.append(client.post(path, body))
        client.close()
        with lock:
            out.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def paced(host: str, port: int, path: str, make_body: Callable[[int], bytes], *, rate: float, seconds: float,
          connections: int = 32, on_done: Callable[[int, Outcome], None] | None = None) -> list[Outcome]:
    """Start request ``i`` at ``t0 + i / rate`` for ``seconds``, on up to ``connections`` connections."""
    total = int(rate * seconds)
    results: list[Outcome | None] = [None] * total
    next_index = 0
    lock = threading.Lock()
    t0 = time.monotonic() + 0.05

    def worker() -> None:
        nonlocal next_index
        client = Client(host, port)
        while True:
            with lock:
                i = next_index
                next_index += 1
            if i >= total:
                break
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            outcome = client.post(path, make_body(i))
            results[i] = outcome
            if on_done is not None:
                on_done(i, outcome)
        client.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r for r in results if r is not None]


def main(argv: list[str]) -> int:
    """``python -m bench.loadgen PORT CONNECTIONS SECONDS SCRIPT.lua``: the closed loop, JSON summary out."""
    from bench.report import percentile

    port, connections, seconds, script = int(argv[0]), int(argv[1]), float(argv[2]), Path(argv[3])
    body = script.read_text().split("wrk.body = '", 1)[1].split("'\n", 1)[0].encode()
    results = closed("127.0.0.1", port, "/api/v1/feedback", body, connections=connections, seconds=seconds)
    ok = [o for o in results if o.status in (200, 202)]
    ms = [(o.ended - o.started) * 1000 for o in results]
    print(json.dumps({"requests": len(results), "failed": len(results) - len(ok), "accepted_per_s": len(ok) / seconds,
                      "p50_ms": percentile(ms, 50), "p90_ms": percentile(ms, 90), "p99_ms": percentile(ms, 99),
                      "max_ms": max(ms, default=None), "connections": connections, "seconds": seconds}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
