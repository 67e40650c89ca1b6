"""gunicorn settings for the web process (`gunicorn wsgi:app`)."""

import multiprocessing
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
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
