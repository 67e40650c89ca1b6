"""`python -m sandbox --port N [--schema PATH | --no-schema] [--latency-ms X] [--bind 127.0.0.1] [--demo]`"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from sandbox.schema import SchemaUnavailableError, find_schema, validation_available
from sandbox.server import Sandbox
from sandbox.state import ACCESS_TOKEN, ACCESS_TOKEN_SECRET, CONSUMER_KEY, CONSUMER_SECRET, Config

#: The port `make run` gives the sandbox.
DEFAULT_PORT = 8081


def main(argv: list[str] | None = None) -> int:
    """Run the sandbox until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="Run the Magento sandbox.")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to listen on (0 = any free port)")
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--schema",
        default=None,
        help="Magento REST schema (Swagger JSON) to validate request bodies against (default $MAGENTO_SCHEMA_PATH, "
        "then schema/ of the checkout as `make schema` writes it; none found: bodies are not validated)",
    )
    parser.add_argument("--no-schema", action="store_true", help="do not validate request bodies")
    parser.add_argument("--latency-ms", type=int, default=0, help="milliseconds added to every REST request")
    parser.add_argument(
        "--allow-bearer",
        action="store_true",
        help="accept the access token as a bearer token (Magento 2.4.4+ setting "
        "oauth/consumer/enable_integration_as_bearer)",
    )
    parser.add_argument("--no-bulk", action="store_true", help="answer 404 on the async bulk routes")
    parser.add_argument("--consumer-stopped", action="store_true", help="leave bulk operations open")
    parser.add_argument("--demo", action="store_true", help="start with demo customers, orders, invoices")
    parser.add_argument("--consumer-key", default=CONSUMER_KEY)
    parser.add_argument("--consumer-secret", default=CONSUMER_SECRET)
    parser.add_argument("--access-token", default=ACCESS_TOKEN)
    parser.add_argument("--access-token-secret", default=ACCESS_TOKEN_SECRET)
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    schema_path, validation = _schema_choice(args)
    config = Config(
        consumer_key=args.consumer_key,
        consumer_secret=args.consumer_secret,
        access_token=args.access_token,
        access_token_secret=args.access_token_secret,
        allow_bearer=args.allow_bearer,
        bulk_enabled=not args.no_bulk,
        consumer_running=not args.consumer_stopped,
        latency_ms=args.latency_ms,
    )
    try:
        sandbox = Sandbox(
            schema_path=schema_path, host=args.bind, port=args.port, config=config, demo=args.demo, quiet=False
        )
    except (OSError, ValueError, SchemaUnavailableError) as exc:
        print(f"sandbox: cannot read the schema {schema_path}: {exc}", file=sys.stderr)
        return 2
    try:
        base_url = sandbox.start()
    except OSError as exc:
        print(f"sandbox: cannot listen on {args.bind}:{args.port}: {exc}", file=sys.stderr)
        return 2
    print(
        f"Magento sandbox on {base_url}/rest/all/V1 ({validation}, "
        f"bearer: {'allowed' if args.allow_bearer else 'refused'}, controls: {base_url}/_sandbox/...)",
        flush=True,
    )
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0


def _schema_choice(args) -> tuple[str | None, str]:
    """The schema file to validate bodies against (None: no validation) and the banner's words for it."""
    if args.no_schema:
        return None, "request bodies not validated: --no-schema"
    if args.schema:
        return args.schema, f"request bodies validated against {args.schema}"
    found = find_schema(os.environ)
    if found is None:
        return None, "request bodies not validated: no Magento REST schema (`make schema` fetches it)"
    if not validation_available():
        return None, f"request bodies not validated: the jsonschema package is missing to use {found}"
    return str(found), f"request bodies validated against {found}"


if __name__ == "__main__":
    sys.exit(main())
