"""`webhook send-test`: a signed test delivery over real HTTP to the web app, imported by a real worker."""

from __future__ import annotations

import threading
import time

import pytest
from werkzeug.serving import make_server

from syncapi.commands.webhook import default_web_url


@pytest.fixture
def web_url(inbound):
    """The inbound app served over HTTP on a free port, as the web process serves it."""
    server = make_server("127.0.0.1", 0, inbound.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _send_test(inbound, *args):
    return inbound.app.test_cli_runner().invoke(args=["webhook", "send-test", *args])


def test_a_sandbox_order_sent_as_a_test_becomes_a_pos_sale(inbound, web_url):
    inbound.add_product("MUG-1", on_hand=4)
    inbound.seed_order(7, [{"sku": "MUG-1", "name": "Mug", "qty": 1, "price": 8.5}])
    outcome = {}
    sender = threading.Thread(
        target=lambda: outcome.setdefault("result", _send_test(inbound, "order", "7", "--url", web_url, "--wait", "30"))
    )
    sender.start()
    deadline = time.monotonic() + 20
    while inbound.redis.llen("rq:queue:inbound") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    inbound.work()
    sender.join(timeout=40)
    result = outcome["result"]
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Magento has order 7 (000000007)"
    assert lines[1] == f'POST {web_url}/webhooks/magento (order 7) -> 202 {{"status":"queued","job_id":"order-7"}}'
    sale = inbound.pos.find_sale(7)
    assert sale is not None and inbound.on_hand("MUG-1") == 3
    assert lines[2] == f"order 7: synced, POS id {sale.id}"


def test_a_record_magento_lacks_is_one_line_and_nothing_is_sent(inbound, web_url):
    result = _send_test(inbound, "order", "404", "--url", web_url)
    assert result.exit_code == 1
    assert "has no order 404" in result.output
    assert inbound.redis.llen("rq:queue:inbound") == 0


def test_a_web_process_that_does_not_answer_is_one_line(inbound):
    inbound.seed_order(8, [{"sku": "MUG-1", "name": "Mug", "qty": 1, "price": 8.5}])
    result = _send_test(inbound, "order", "8", "--url", "http://127.0.0.1:9", "--wait", "0")
    assert result.exit_code == 1
    assert "the web process does not answer at http://127.0.0.1:9/webhooks/magento" in result.output


def test_the_default_address_is_the_make_run_one():
    assert default_web_url({"HOST": "127.0.0.1", "PORT": "18010"}) == "http://127.0.0.1:18010"
    assert default_web_url({"HOST": "0.0.0.0", "PORT": "8000"}) == "http://127.0.0.1:8000"  # noqa: S104
    assert default_web_url({"HOST": "::1"}) == "http://[::1]:8000"
    assert default_web_url({"SYNCAPI_WEB_URL": "http://web.internal:9000/", "PORT": "1"}) == "http://web.internal:9000"
