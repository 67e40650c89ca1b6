"""POS → Magento push: how long a full product push takes, what a rerun sends, how fast a few changes in a large
catalogue go out, and how much memory the worker needs, each against a naive one-request-per-record push.

Starts, on loopback only, the Magento sandbox as its own process (with `--latency-ms`, like a real store's per
call cost), fills a SQLite POS in a temporary directory with a generated catalogue (plain products and
colour/size variants, one image each, dynamic attributes, stock, a few sale prices) and runs the service's own
product push:

1. full push of `--products` products (default 10,000) through the async bulk API, timed; the naive baseline
   (per product one PUT, one image POST, one source-item POST and one base-price POST, in sequence) is timed on
   `--baseline-sample` other products and extrapolated to the same count;
2. the same push again with nothing changed: the write calls Magento received (target 0);
3. `--large` products (default 100,000) dated an hour back, pushed once by a real worker process
   (`python -m syncapi.worker --burst --processes 1 outbound`) whose peak RSS (VmHWM) is read from /proc
   (target ≤ 300 MB), then `--changed` of them (default 100) changed and pushed again, timed (target ≤ 10 s).

    .venv/bin/python bench/outbound_push.py --redis-url redis://localhost:6379/14

The Redis database given is flushed. Every process started is stopped and the temporary directory removed at
the end (`--keep` keeps it, with the processes' logs).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import redis as redis_lib
from sqlalchemy import insert, update

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Processes, service_settings, start_sandbox

from app import create_app
from jobs.dispatch import start_sync
from sandbox import SandboxControl
from syncapi import db, services
from syncapi.magento import inventory, media, products
from syncapi.magento.client import client_for, path
from syncapi.outbound import mapping
from syncapi.pos import models as m
from syncapi.pos.png import swatch_png
from syncapi.state import create_run, get_run

#: Targets from the service's brief.
TARGET_FULL_S = 120.0
TARGET_SPEEDUP = 20.0
TARGET_CHANGED_S = 10.0
TARGET_RSS_MB = 300.0
#: Most products a run of this script may generate (keeps it bounded).
MAX_PRODUCTS = 200_000
#: Seconds between two readings of the worker's memory.
RSS_SAMPLE_S = 0.02
#: Seconds the large initial push may take before the script gives up on it.
LARGE_TIMEOUT_S = 1800
LOCATION = "WEB"
COLOURS = {
    "Black": (20, 20, 20),
    "White": (245, 245, 240),
    "Navy": (25, 40, 90),
    "Red": (190, 30, 45),
    "Olive": (110, 115, 50),
    "Sand": (210, 190, 150),
}
SIZES = ("XS", "S", "M", "L", "XL")
BRANDS = ("Acme", "Northwind", "Harbour", "Maple", "Saddler")
#: One product in this many is a variant (in styles of len(SIZES)); one in this many has a sale price.
VARIANT_EVERY = 20
SALE_EVERY = 50


def settings_for(redis_url: str, pos_url: str, magento_url: str, concurrency: int) -> dict:
    return service_settings(
        redis_url,
        pos_url,
        magento_url,
        POS_LOCATION_CODE=LOCATION,
        MAGENTO_CONCURRENCY=concurrency,
        JOB_MAX_RETRIES=0,
        JOB_TIMEOUT=LARGE_TIMEOUT_S,
    )


# --- the catalogue --------------------------------------------------------------------------------------------


def generate_catalogue(engine, count: int, *, prefix: str = "B", age: timedelta = timedelta(0)) -> list[str]:
    """Insert `count` products (their images, attributes and stock) into the POS; their SKUs."""
    stamp = m.utcnow() - age
    images = {name: swatch_png(64, 64, rgb) for name, rgb in COLOURS.items()}
    colours = list(COLOURS)
    with engine.begin() as connection:
        category_ids = []
        for top in (f"{prefix} Women", f"{prefix} Men", f"{prefix} Home"):
            top_id = connection.execute(insert(m.Category).values(name=top, updated_at=stamp)).inserted_primary_key[0]
            for n in range(10):
                values = {"name": f"{top} {n}", "parent_id": top_id, "updated_at": stamp}
                category_ids.append(connection.execute(insert(m.Category).values(**values)).inserted_primary_key[0])
    skus = []
    chunk: dict[str, list[dict]] = {"products": [], "images": [], "attributes": [], "stock": []}

    def flush() -> None:
        with engine.begin() as connection:
            for model, rows in (
                (m.Product, chunk["products"]),
                (m.ProductImage, chunk["images"]),
                (m.ProductAttribute, chunk["attributes"]),
                (m.Stock, chunk["stock"]),
            ):
                if rows:
                    connection.execute(insert(model), rows)
        for rows in chunk.values():
            rows.clear()

    variants = (count // VARIANT_EVERY) // len(SIZES) * len(SIZES)
    for n in range(count):
        colour = colours[n % len(colours)]
        variant = n < variants
        style = f"{prefix}-STYLE-{n // len(SIZES):06d}" if variant else None
        sku = f"{style}-{SIZES[n % len(SIZES)]}" if variant else f"{prefix}-{n:06d}"
        name = f"Bench Style {n // len(SIZES)}" if variant else f"Bench Product {prefix}{n}"
        skus.append(sku)
        chunk["products"].append(
            {
                "sku": sku,
                "parent_sku": style,
                "name": name,
                "description": f"{name}, {colour.lower()}.",
                "long_description_html": f"<p>{name} in {colour.lower()}.</p>",
                "category_id": category_ids[n % len(category_ids)],
                "colour": colour if not variant else colours[(n // len(SIZES)) % len(colours)],
                "size": SIZES[n % len(SIZES)] if variant else None,
                "retail_price": Decimal(10 + n % 90),
                "sale_price": Decimal(5 + n % 5) if n % SALE_EVERY == 0 else None,
                "attribute_set": "Default",
                "internet_active": True,
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
        chunk["images"].append(
            {
                "sku": sku,
                "position": 0,
                "filename": f"{sku.lower()}.png",
                "content": images[colour],
                "updated_at": stamp,
            }
        )
        chunk["attributes"].append({"sku": sku, "code": "material", "value": "Cotton", "updated_at": stamp})
        if n % 3 == 0:
            chunk["attributes"].append(
                {"sku": sku, "code": "brand", "value": BRANDS[n % len(BRANDS)], "updated_at": stamp}
            )
        chunk["stock"].append({"sku": sku, "location_code": LOCATION, "on_hand": Decimal(n % 13), "updated_at": stamp})
        if len(chunk["products"]) >= 5000:
            flush()
    flush()
    return skus


# --- measuring ---------------------------------------------------------------------------------------------


class CallCounter:
    """Counts the calls a client makes, by method (a response hook on its session)."""

    def __init__(self, session):
        self.counts: Counter = Counter()
        self._lock = threading.Lock()
        session.hooks["response"].append(self._count)

    def _count(self, response, *args, **kwargs):
        with self._lock:
            self.counts[response.request.method] += 1

    def writes(self) -> int:
        return sum(value for method, value in self.counts.items() if method != "GET")

    def reset(self) -> None:
        self.counts.clear()


def push_in_process(app, kind: str, full: bool = False) -> tuple[float, object]:
    """Run one push in this process (the job function, as `flask sync` does); seconds and the finished run."""
    from jobs import outbound

    svc = app.extensions["services"]
    run = create_run(svc.state_engine, kind, "cli", {"full": full, "keys": None, "force": False})
    started = time.perf_counter()
    getattr(outbound, f"push_{kind}")(run.run_id, full=full)
    return time.perf_counter() - started, get_run(svc.state_engine, run.run_id)


def peak_rss_mb(pid: int) -> float:
    """The high-water mark of the process's resident memory since it started (VmHWM), in MB; 0 once gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else 0.0


def push_in_worker(processes: Processes, app, env: dict, kind: str, name: str) -> tuple[float, float, object]:
    """Queue a run and let one real worker process (no fork per job) do it; seconds, peak RSS in MB, the run.

    The peak is the worker's own VmHWM, read every `RSS_SAMPLE_S` until it exits (VmHWM only grows, so the last
    reading is the peak but for the final moments). `ru_maxrss` from wait4 is no use here: Linux carries the
    parent's resident size at fork time over the exec, so a large bench process would show as the worker's.
    """
    svc = app.extensions["services"]
    started_run = start_sync(svc, kind, "manual")
    argv = [sys.executable, "-m", "syncapi.worker", "--burst", "--processes", "1", "outbound"]
    started = time.perf_counter()
    process = processes.start(name, argv, env)
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, peak_rss_mb(process.pid))
        time.sleep(RSS_SAMPLE_S)
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"the worker failed ({process.returncode}): {processes.log(process, 2000)}")
    return elapsed, peak, get_run(svc.state_engine, started_run.run_id)


def naive_push(settings, engine, skus: list[str]) -> float:
    """The baseline: every product on its own, one call per record and per kind of data, in sequence."""
    from syncapi.pos.sql import SqlPosGateway

    gateway = SqlPosGateway(engine, LOCATION)
    client = client_for(settings)
    found = {p.sku: p for p in gateway.get_products(skus)}
    images = {i.sku: i for i in gateway.get_images(skus)}
    stock = {s.sku: s for s in gateway.get_stock(skus)}
    started = time.perf_counter()
    for sku in skus:
        product = found[sku]
        body = {
            "sku": sku,
            "name": product.name,
            "attribute_set_id": 4,
            "type_id": "simple",
            "price": mapping.number(product.retail_price),
            "status": 1,
            "visibility": 4,
            "custom_attributes": [
                {"attribute_code": "url_key", "value": mapping.url_key(product.name, sku)},
                {"attribute_code": "short_description", "value": product.description or ""},
                {"attribute_code": "description", "value": product.long_description_html or ""},
            ],
        }
        client.put(path(products.PRODUCT, sku=sku), {"product": body})
        image = images[sku]
        media.add(
            client, sku, media.image_entry(image.content, image.filename, image.media_type, roles=media.ALL_ROLES)
        )
        inventory.save(client, [inventory.source_item(sku, "default", float(stock[sku].on_hand))])
        client.post("/V1/products/base-prices", {"prices": [mapping.base_price_entry(sku, product.retail_price)]})
    elapsed = time.perf_counter() - started
    client.close()
    return elapsed


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", required=True, help="a spare Redis database (flushed by the run)")
    parser.add_argument("--products", type=int, default=10_000, help="products of the full push")
    parser.add_argument("--latency-ms", type=int, default=50, help="the sandbox's added milliseconds per call")
    parser.add_argument("--baseline-sample", type=int, default=200, help="products the naive baseline pushes")
    parser.add_argument("--large", type=int, default=100_000, help="products of the large catalogue (0: skip)")
    parser.add_argument("--changed", type=int, default=100, help="products changed in the large catalogue")
    parser.add_argument("--concurrency", type=int, default=8, help="MAGENTO_CONCURRENCY")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, databases)")
    args = parser.parse_args(argv)
    if not 0 < args.products <= MAX_PRODUCTS or not 0 <= args.large <= MAX_PRODUCTS:
        parser.error(f"product counts must be between 1 and {MAX_PRODUCTS}")

    redis_lib.Redis.from_url(args.redis_url).flushdb()
    tmp = Path(tempfile.mkdtemp(prefix="bench-outbound-"))
    processes = Processes(tmp)
    results: list[tuple[str, str, str]] = []
    try:
        magento_url = start_sandbox(processes, args.latency_ms, schema_path="")
        control = SandboxControl(magento_url)
        # The consumer runs bulk operations without a pause of its own; HTTP calls cost --latency-ms each.
        control.configure(bulk_operation_delay_s=0)
        print(f"sandbox {magento_url}, {args.latency_ms} ms per call; work in {tmp}", flush=True)

        # 1. full push of --products, and the naive baseline on a sample.
        pos_url = f"sqlite:///{tmp / 'pos.db'}"
        settings = settings_for(args.redis_url, pos_url, magento_url, args.concurrency)
        app = create_app(settings)
        from syncapi.pos import migrate
        from syncapi.state import upgrade

        migrate.upgrade(app.extensions["services"].pos_engine)
        upgrade(app.extensions["services"].state_engine)
        engine = app.extensions["services"].pos_engine
        generate_catalogue(engine, args.products)
        # The baseline's products live in a POS of their own: the service's push never sees them.
        naive_engine = db.engine_for(f"sqlite:///{tmp / 'naive.db'}")
        migrate.upgrade(naive_engine)
        sample = generate_catalogue(naive_engine, args.baseline_sample, prefix="NAIVE")
        sample = [sku for sku in sample if "STYLE" not in sku]
        calls = CallCounter(app.extensions["services"].magento.session)
        full_s, run = push_in_process(app, "products")
        print(f"full push: {full_s:.1f} s, run {run.status} {run.counts}, calls {dict(calls.counts)}", flush=True)
        if run.status != "succeeded":
            print(f"  errors: {[(e.key, e.message) for e in run.errors[:5]]}")
        naive_s = naive_push(app.extensions["services"].settings, naive_engine, sample)
        naive_total_s = naive_s / len(sample) * args.products
        speedup = naive_total_s / full_s
        print(
            f"naive: {naive_s:.1f} s for {len(sample)} products = {naive_s / len(sample) * 1000:.0f} ms each, "
            f"{naive_total_s:.0f} s extrapolated to {args.products}",
            flush=True,
        )
        results.append(
            (
                f"full push, {args.products} products, {args.latency_ms} ms/call",
                f"{full_s:.1f} s ({sum(calls.counts.values())} calls); naive {naive_total_s:.0f} s "
                f"(measured on {len(sample)}, extrapolated): {speedup:.0f}x",
                verdict(full_s <= TARGET_FULL_S and speedup >= TARGET_SPEEDUP),
            )
        )

        # 2. the same again, nothing changed.
        calls.reset()
        rerun_s, run = push_in_process(app, "products")
        for kind in ("stock", "prices"):
            push_in_process(app, kind)
        print(f"rerun: {rerun_s:.1f} s, run {run.counts}, calls {dict(calls.counts)}", flush=True)
        results.append(
            (
                "rerun, nothing changed (products, stock, prices)",
                f"{calls.writes()} writes, {calls.counts['GET']} reads; products run {rerun_s:.1f} s",
                verdict(calls.writes() == 0),
            )
        )
        db.dispose_all()
        services._current = None

        # 3. the large catalogue: peak worker memory on the first push, then a few changes.
        if args.large:
            control.reset()
            control.configure(bulk_operation_delay_s=0, latency_ms=0)
            redis_lib.Redis.from_url(args.redis_url).flushdb()
            large_url = f"sqlite:///{tmp / 'large.db'}"
            large_settings = settings_for(args.redis_url, large_url, magento_url, args.concurrency)
            app = create_app(large_settings)
            migrate.upgrade(app.extensions["services"].pos_engine)
            upgrade(app.extensions["services"].state_engine)
            engine = app.extensions["services"].pos_engine
            generated = time.perf_counter()
            skus = generate_catalogue(engine, args.large, prefix="L", age=timedelta(hours=1))
            print(f"large catalogue: {args.large} products in {time.perf_counter() - generated:.0f} s", flush=True)
            env = {**os.environ, **large_settings, "SYNCAPI_DOTENV": str(tmp / "none.env")}
            load_s, rss_mb, run = push_in_worker(processes, app, env, "products", "worker-large")
            print(f"large push: {load_s:.0f} s, peak RSS {rss_mb:.0f} MB, run {run.status} {run.counts}", flush=True)
            results.append(
                (
                    f"peak worker RSS, first push of {args.large} products (0 ms/call)",
                    f"{rss_mb:.0f} MB (push took {load_s:.0f} s; run {run.status})",
                    verdict(rss_mb <= TARGET_RSS_MB and run.status == "succeeded"),
                )
            )

            control.configure(latency_ms=args.latency_ms)
            changed = skus[len(skus) - args.changed :]
            with engine.begin() as connection:
                connection.execute(
                    update(m.Product)
                    .where(m.Product.sku.in_(changed))
                    .values(name=m.Product.name + " II", updated_at=m.utcnow())
                )
            control.requests(clear=True)
            changed_s, rss_changed_mb, run = push_in_worker(processes, app, env, "products", "worker-changed")
            writes = [e for e in control.requests() if e["method"] != "GET"]
            saved = sum(len(e["body"]) for e in writes if e["template"] == "/V1/products")
            print(f"{args.changed} changed: {changed_s:.1f} s, run {run.counts}, writes {len(writes)}", flush=True)
            results.append(
                (
                    f"{args.changed} changed in {args.large}, {args.latency_ms} ms/call (worker start included)",
                    f"{changed_s:.1f} s; {len(writes)} write calls carrying {saved} product saves; "
                    f"peak RSS {rss_changed_mb:.0f} MB",
                    verdict(changed_s <= TARGET_CHANGED_S and saved == args.changed),
                )
            )
    finally:
        processes.stop()
        db.dispose_all()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    print()
    print("| scenario | result | target |")
    print("| --- | --- | --- |")
    for scenario, result, met in results:
        print(f"| {scenario} | {result} | {met} |")
    return 0 if all(met == "met" for _s, _r, met in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
