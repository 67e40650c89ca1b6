"""Concurrent writers: however many workers write the same Magento record at once, on separate connections or in
separate processes, the POS ends up with one record and one stock decrement."""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from syncapi.db import make_engine
from syncapi.pos import models as m
from syncapi.pos.gateway import CustomerIn, InvoiceIn, SaleIn, SaleLineIn, WriteResult
from syncapi.pos.migrate import lock_for_writing
from syncapi.pos.sql import SqlPosGateway
from tests.fixtures_pos import TEST_LOCATION, add_product, on_hand, snapshot

WRITERS = 8
BUYER = CustomerIn(email="race@example.com", first_name="Rae", last_name="Race", magento_id=901)


def sale_of(magento_order_id: int, *skus: str, customer: CustomerIn = BUYER) -> SaleIn:
    lines = tuple(SaleLineIn(sku=sku, qty=1, unit_price="9.99", line_total="9.99") for sku in skus)
    total = Decimal("9.99") * len(lines)
    return SaleIn(magento_order_id, customer, lines, subtotal=total, grand_total=total)


def run_together(count: int, work) -> list:
    """Run `work(n)` in `count` threads released at the same moment; their results in order."""
    barrier = threading.Barrier(count)

    def start(n: int):
        barrier.wait(timeout=10)
        return work(n)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(start, range(count)))


def count_rows(engine, model) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model))


@pytest.fixture
def stocked(pos):
    """`pos` with TEE (100 on hand) and CAP (100 on hand)."""
    add_product(pos.engine, "TEE", on_hand=100)
    add_product(pos.engine, "CAP", on_hand=100)
    return pos


def test_concurrent_writers_of_one_order_make_one_sale_and_lower_stock_once(stocked):
    results = run_together(WRITERS, lambda _n: stocked.write_sale(sale_of(5001, "TEE", "CAP")))
    assert sum(result.created for result in results) == 1
    assert len({result.pos_id for result in results}) == 1
    assert count_rows(stocked.engine, m.Sale) == 1 and count_rows(stocked.engine, m.SaleLine) == 2
    assert count_rows(stocked.engine, m.Customer) == 1
    assert on_hand(stocked.engine, "TEE") == 99 and on_hand(stocked.engine, "CAP") == 99


def test_the_writer_that_loses_the_race_rolls_back_and_answers_with_the_winner(stocked):
    stocked.ensure_customer(BUYER)
    customer_id = stocked.find_customer(email=BUYER.email).id
    # Another worker is half-way through the same order: its sale row is in, its transaction still open.
    with Session(stocked.engine) as winner:
        lock_for_writing(winner.connection())
        sale = m.Sale(
            magento_order_id=5002,
            customer_id=customer_id,
            location_code=TEST_LOCATION,
            subtotal=Decimal("9.99"),
            grand_total=Decimal("9.99"),
        )
        winner.add(sale)
        winner.flush()
        sale_id = sale.id
        winner.add(m.SaleLine(sale_id=sale_id, line_no=1, sku="TEE", qty=1, unit_price=9.99, line_total=9.99))
        stock = winner.scalars(select(m.Stock).where(m.Stock.sku == "TEE")).one()
        stock.on_hand -= 1
        winner.flush()

        outcome: list[WriteResult] = []
        loser = threading.Thread(target=lambda: outcome.append(stocked.write_sale(sale_of(5002, "TEE"))))
        loser.start()
        time.sleep(0.5)
        assert loser.is_alive(), "the second writer must wait for the first, not write past it"
        winner.commit()
    loser.join(timeout=30)
    assert outcome == [WriteResult(sale_id, False)]
    assert count_rows(stocked.engine, m.Sale) == 1 and count_rows(stocked.engine, m.SaleLine) == 1
    assert on_hand(stocked.engine, "TEE") == 99


def test_concurrent_different_orders_of_the_same_skus_all_land_without_deadlock(stocked):
    def write(n: int):
        skus = ("TEE", "CAP") if n % 2 else ("CAP", "TEE")
        return stocked.write_sale(sale_of(6000 + n, *skus))

    results = run_together(WRITERS, write)
    assert all(result.created for result in results)
    assert count_rows(stocked.engine, m.Sale) == WRITERS
    assert count_rows(stocked.engine, m.Customer) == 1
    assert on_hand(stocked.engine, "TEE") == 100 - WRITERS and on_hand(stocked.engine, "CAP") == 100 - WRITERS


def test_concurrent_first_orders_of_one_new_guest_create_one_customer(stocked):
    guest = CustomerIn(email="new.guest@example.com", first_name="New")
    results = run_together(WRITERS, lambda n: stocked.write_sale(sale_of(7000 + n, "TEE", customer=guest)))
    assert all(result.created for result in results)
    assert count_rows(stocked.engine, m.Customer) == 1
    customer_ids = {stocked.find_sale(7000 + n).customer_id for n in range(WRITERS)}
    assert len(customer_ids) == 1


def test_invoice_and_sale_arriving_together_are_always_linked(stocked):
    rounds = 6
    for n in range(rounds):
        order_id = 8000 + n
        invoice = InvoiceIn(magento_invoice_id=18000 + n, magento_order_id=order_id, customer=BUYER, grand_total=1)
        sale = sale_of(order_id, "TEE")
        run_together(2, lambda which, invoice=invoice, sale=sale: (
            stocked.write_invoice(invoice) if which else stocked.write_sale(sale)
        ))  # fmt: skip
        assert stocked.find_invoice(18000 + n).sale_id == stocked.find_sale(order_id).id, f"round {n}"
    assert on_hand(stocked.engine, "TEE") == 100 - rounds


def _write_in_own_process(url: str, sale: SaleIn, barrier, results) -> None:
    engine = make_engine(url)
    try:
        gateway = SqlPosGateway(engine, TEST_LOCATION)
        barrier.wait(timeout=60)
        result = gateway.write_sale(sale)
        results.put((result.pos_id, result.created))
    except Exception as exc:
        results.put(("error", repr(exc)))
    finally:
        engine.dispose()


def test_writers_in_separate_processes_make_one_sale(stocked):
    processes = 3
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes)
    results = context.Queue()
    url = stocked.engine.url.render_as_string(hide_password=False)
    before = snapshot(stocked.engine, [m.Sale])
    workers = [
        context.Process(target=_write_in_own_process, args=(url, sale_of(9001, "TEE", "CAP"), barrier, results))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert all(outcome[0] != "error" for outcome in outcomes), outcomes
    assert sorted(created for _, created in outcomes) == [False] * (processes - 1) + [True]
    assert len({pos_id for pos_id, _ in outcomes}) == 1
    assert before["sales"] == 0 and count_rows(stocked.engine, m.Sale) == 1
    assert on_hand(stocked.engine, "TEE") == 99 and on_hand(stocked.engine, "CAP") == 99
