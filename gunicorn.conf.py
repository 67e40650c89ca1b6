"""gunicorn settings for the web process (`gunicorn wsgi:app`).

The web process may face the internet with no proxy in front (systemd and PaaS set-ups run it so), so no client
may be able to hold it: see docs/security.md, "Slow clients".
"""

import multiprocessing
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count() * 2)))
# gevent: every connection is a greenlet waiting on its socket, so a client that sends its headers or body a byte
# at a time holds a few KiB of memory, never a thread. With threads (gthread, 4 x 4) 16 such clients stopped the
# intake for everyone. Webhook intake is one Redis round trip: I/O bound, which is what greenlets are for.
worker_class = "gevent"
# Connections one process holds at once (slow or not); above it a process stops accepting until one closes.
worker_connections = int(os.environ.get("WEB_CONNECTIONS", 1000))
# Mage-OS Async Events gives up after 15 s; answer well before that.
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = "-"
errorlog = "-"
access_log_format = '{"access":"%(r)s","status":%(s)s,"bytes":"%(B)s","ms":%(M)s,"remote":"%(h)s"}'
