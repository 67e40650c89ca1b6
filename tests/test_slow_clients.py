"""Slow clients cannot stop the webhook intake: the web process as the Procfile starts it (`gunicorn wsgi:app` with
gunicorn.conf.py, no proxy in front) answers signed deliveries within 2 s while 64 connections send their headers,
or their bodies, a few bytes at a time and never finish."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest
import requests

from syncapi.webhooks.signature import sign
from tests.conftest import TEST_WEBHOOK_SECRET, base_settings
from tests.fixtures_webhooks import WEBHOOK_URL, cloud_event, encode, inbound_jobs, run_gunicorn

#: Slow connections held open beside the real deliveries.
SLOW_CONNECTIONS = 64
#: Seconds between the slow clients' dribbles: each sends a few bytes this often and never ends its request.
DRIBBLE_EVERY_S = 0.5
#: Real deliveries sent while the slow clients hold on, and how long each may take to be answered.
DELIVERIES = 8
ANSWER_WITHIN_S = 2.0


@pytest.fixture(scope="module")
def procfile_server(tmp_path_factory):
    """`gunicorn wsgi:app` as the Procfile runs it (gunicorn.conf.py's workers and worker class), on a free port."""
    tmp_path = tmp_path_factory.mktemp("slow-clients")
    yield from run_gunicorn(tmp_path, base_settings(tmp_path), procfile_defaults=True)


class SlowClients:
    """`count` connections that send the start of a request, then a few bytes every DRIBBLE_EVERY_S, forever."""

    def __init__(self, base_url: str, count: int, opening: bytes, dribble: bytes):
        host, port = base_url.removeprefix("http://").split(":")
        self.sockets = [socket.create_connection((host, int(port)), timeout=5) for _ in range(count)]
        for sock in self.sockets:
            sock.sendall(opening)
        self.dribble = dribble
        self.sent_rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(DRIBBLE_EVERY_S):
            for sock in self.sockets:
                with contextlib.suppress(OSError):  # closed by the server: counted by still_open()
                    sock.sendall(self.dribble)
            self.sent_rounds += 1

    def still_open(self) -> int:
        """How many of the connections the server has neither answered nor closed."""
        count = 0
        for sock in self.sockets:
            sock.setblocking(False)
            try:
                sock.recv(1, socket.MSG_PEEK)  # returns: the server answered or closed the connection
            except BlockingIOError:
                count += 1  # nothing to read and not closed: the server is still waiting for the request
            except OSError:
                pass
            finally:
                sock.setblocking(True)
        return count

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        for sock in self.sockets:
            sock.close()


SLOW_HEADERS = (
    f"POST {WEBHOOK_URL} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode(),
    b"X-Slow: a\r\n",  # one more header line each time, never the blank line that ends the headers
)
SLOW_BODY = (
    f"POST {WEBHOOK_URL} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    # A signature header, so the service reads the body to check it (an unsigned request is refused unread).
    f"X-Magento-Signature: {'0' * 64}\r\nContent-Length: 1000000\r\n\r\n{{".encode(),
    b" ",  # a byte of the announced million each time
)


@pytest.mark.parametrize("opening,dribble", [SLOW_HEADERS, SLOW_BODY], ids=["slow-headers", "slow-body"])
def test_deliveries_are_answered_within_2_s_beside_64_slow_connections(procfile_server, redis, opening, dribble):
    slow = SlowClients(procfile_server, SLOW_CONNECTIONS, opening, dribble)
    try:
        # Let every slow connection be accepted and start its dribble, as a real attack would be under way.
        time.sleep(3 * DRIBBLE_EVERY_S)
        assert slow.sent_rounds >= 2
        timings = []
        for n in range(DELIVERIES):
            raw = encode(cloud_event("sales.order.created", {"entity_id": 7100 + n}, delivery_id=f"slow-{n}"))
            headers = {"Content-Type": "application/json", "X-Magento-Signature": sign(raw, TEST_WEBHOOK_SECRET)}
            started = time.monotonic()
            try:
                response = requests.post(
                    f"{procfile_server}{WEBHOOK_URL}", data=raw, headers=headers, timeout=ANSWER_WITHIN_S
                )
            except requests.Timeout:
                pytest.fail(f"delivery {n} got no answer within {ANSWER_WITHIN_S} s beside the slow clients")
            timings.append(time.monotonic() - started)
            assert response.status_code == 202, response.text
        assert max(timings) < ANSWER_WITHIN_S, timings
        # The slow clients were really there the whole time: the server still waits on every one of them.
        assert slow.still_open() == SLOW_CONNECTIONS
    finally:
        slow.close()
    assert sorted(job.id for job in inbound_jobs(redis)) == sorted(f"order-{7100 + n}" for n in range(DELIVERIES))
