"""Alerts to ALERT_WEBHOOK_URL, received by a real local HTTP server: one message per new problem code (not per
record), again only once that code left the list and came back; one when the cron stops ticking; a webhook that
fails is logged and tried again at the next check, never raised."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rq.cron import CronScheduler

from syncapi import alerts
from syncapi.worker import AlertWatch
from tests.fixtures_inbound import inbound_test_settings

pytestmark = pytest.mark.usefixtures("magento")


class Receiver:
    """An incoming webhook on 127.0.0.1: keeps each JSON body; answers `status`."""

    def __init__(self):
        self.bodies: list[dict] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                receiver.bodies.append(
                    {"content_type": self.headers.get("Content-Type"), **json.loads(self.rfile.read(length))}
                )
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T000/B000/secretpart"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def texts(self) -> list[str]:
        return [body["text"] for body in self.bodies]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def inbound_settings(tmp_path, database_url, magento, receiver) -> dict:
    return inbound_test_settings(tmp_path, database_url, magento.base_url, ALERT_WEBHOOK_URL=receiver.url)


def plant(inbound, order_id: int, sku: str) -> None:
    inbound.seed_order(order_id, [{"sku": sku, "name": "New <thing>", "qty": 1, "price": 9.0}])
    inbound.deliver("order", order_id)
    inbound.work()


def test_one_message_per_new_problem_code_not_per_record(inbound, receiver):
    plant(inbound, 201, "WEB-TEE-RED-M")
    plant(inbound, 202, "WEB-TEE-RED-L")
    inbound.deliver("invoice", 999)
    inbound.work()

    checked = alerts.check(inbound.svc)
    assert sorted(checked.codes) == ["magento_refused", "unknown_sku"]
    assert len(receiver.bodies) == 2
    assert all(body["content_type"] == "application/json" for body in receiver.bodies)
    [sku_text] = [text for text in receiver.texts() if "unknown_sku" in text]
    assert "2 records need attention" in sku_text
    assert "SKU WEB-TEE-RED-M is not in the POS" in sku_text
    assert "order 000000201" in sku_text

    plant(inbound, 203, "WEB-TEE-RED-S")  # one more of a known kind: no message
    assert alerts.check(inbound.svc).codes == []
    assert len(receiver.bodies) == 2

    # Fixed and retried: the code leaves the list; when it comes back, that is news again.
    for sku in ("WEB-TEE-RED-M", "WEB-TEE-RED-L", "WEB-TEE-RED-S"):
        inbound.add_product(sku)
    assert inbound.api_post("/api/v1/attention/retry", json={"code": "unknown_sku"}).status_code == 202
    inbound.work()
    assert alerts.check(inbound.svc).codes == []
    plant(inbound, 204, "NEW-204")
    assert alerts.check(inbound.svc).codes == ["unknown_sku"]
    assert "1 record needs attention" in receiver.texts()[-1]


def test_text_from_magento_is_sent_escaped(inbound, receiver):
    plant(inbound, 210, "<!channel>&X")
    alerts.check(inbound.svc)
    [text] = receiver.texts()
    assert "SKU &lt;!channel&gt;&amp;X is not in the POS" in text
    assert "<!channel>" not in text


def test_a_failing_webhook_is_logged_and_tried_again_never_raised(inbound, receiver, caplog):
    plant(inbound, 220, "NEW-220")
    receiver.status = 500
    assert alerts.check(inbound.svc).codes == []
    assert any(r.message == "alert not delivered" for r in caplog.records)
    assert receiver.url not in caplog.text and "secretpart" not in caplog.text
    receiver.status = 200
    assert alerts.check(inbound.svc).codes == ["unknown_sku"]
    assert len(receiver.bodies) == 2


def test_an_unreachable_webhook_never_breaks_the_check(inbound, receiver):
    plant(inbound, 230, "NEW-230")
    receiver.close()  # nothing listens there now
    assert alerts.check(inbound.svc).codes == []
    assert inbound.svc.redis.smembers(alerts.ALERTED_CODES_KEY) == set()


def test_one_message_when_the_cron_stops_ticking(inbound, receiver):
    assert alerts.cron_state(inbound.svc) == alerts.CRON_NEVER_SEEN
    assert alerts.check(inbound.svc).cron_stopped is False  # a cron never seen has not stopped

    cron = CronScheduler(connection=inbound.redis, name="cron-under-test")
    cron.register_birth()
    assert alerts.cron_state(inbound.svc) == alerts.CRON_TICKING
    assert alerts.check(inbound.svc).cron_stopped is False
    cron.register_death()

    assert alerts.cron_state(inbound.svc) == alerts.CRON_STOPPED
    assert alerts.check(inbound.svc).cron_stopped is True
    assert alerts.check(inbound.svc).cron_stopped is False  # once, not every minute
    [text] = receiver.texts()
    assert "cron process has not ticked" in text

    cron.register_birth()  # back: a later stop is news again
    alerts.check(inbound.svc)
    cron.register_death()
    assert alerts.check(inbound.svc).cron_stopped is True
    assert len(receiver.bodies) == 2


def test_the_worker_thread_checks_until_stopped(inbound, receiver):
    plant(inbound, 240, "NEW-240")
    watch = AlertWatch(inbound.svc, interval_s=0.1)
    watch.start()
    deadline = time.monotonic() + 10
    while not receiver.bodies and time.monotonic() < deadline:
        time.sleep(0.05)
    watch.stop()
    assert not watch.is_alive()
    assert len(receiver.bodies) == 1
