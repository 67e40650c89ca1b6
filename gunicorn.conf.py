"""gunicorn settings for the web process (`gunicorn wsgi:app`)."""

import multiprocessing
import os

# HOST: `make run` sets 127.0.0.1; unset (a container, a unit file) it is every address, as before.
_host = os.environ.get("HOST") or "0.0.0.0"  # noqa: S104 - a container publishes its port on purpose
bind = f"[{_host}]:{os.environ.get('PORT', '8000')}" if ":" in _host else f"{_host}:{os.environ.get('PORT', '8000')}"
# Webhook intake is I/O bound (one Redis round trip): a few threads per worker keep latency flat under bursts.
workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count() * 2)))
threads = int(os.environ.get("WEB_THREADS", 4))
worker_class = "gthread"
# Mage-OS Async Events gives up after 15 s; answer well before that.
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = "-"
errorlog = "-"
access_log_format = '{"access":"%(r)s","status":%(s)s,"bytes":"%(B)s","ms":%(M)s,"remote":"%(h)s"}'
