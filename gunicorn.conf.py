"""gunicorn settings for the web process (`gunicorn wsgi:app`).

The web process may face the internet with no proxy in front (systemd and PaaS set-ups run it so), so no client
may be able to hold it: see docs/security.md, "Slow clients".

The settings are checked once, in the arbiter, before anything listens: a missing or refused one prints one line
and stops gunicorn with its "worker failed to boot" code (3), so no worker is started again and again.
See docs/deployment-checks.md.
"""

import multiprocessing
import os
import sys

# HOST: `make run` sets 127.0.0.1; unset (a container, a unit file) it is every address, as before.
_host = os.environ.get("HOST") or "0.0.0.0"  # noqa: S104 - a container publishes its port on purpose
bind = f"[{_host}]:{os.environ.get('PORT', '8000')}" if ":" in _host else f"{_host}:{os.environ.get('PORT', '8000')}"
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

# gunicorn's control socket (for `gunicornc`) defaults to one path per user, shared by every gunicorn the user
# runs on the host, so a second instance would take over the first one's. It is made only where
# GUNICORN_CONTROL_SOCKET names a path of this instance's own (the systemd unit and the image set one).
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or "gunicorn.ctl"
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")


def _listening_hosts(server) -> str:
    hosts = []
    for address in server.cfg.address:
        if isinstance(address, tuple):
            hosts.append(str(address[0]))
        else:
            hosts.append(f"unix:{address}")  # never loopback: a proxy may forward anyone to it
    return ",".join(hosts)


def on_starting(server):
    """Check the settings before listening; on a bad one print its line and stop for good (exit code 3)."""
    # Development mode depends on where the web process really listens (a --bind on the command line wins over
    # HOST): the workers read HOST from the environment they inherit from here.
    os.environ["HOST"] = _listening_hosts(server)
    from syncapi import logs
    from syncapi.config import EXIT_BAD_SETTINGS, Settings, SettingsError

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"syncapi: {exc}", file=sys.stderr, flush=True)
        if server.pidfile is not None:
            server.pidfile.unlink()
        sys.exit(EXIT_BAD_SETTINGS)
    logs.configure(settings)
    logs.log_startup(settings, "web")
    if os.environ.get("WEB_THREADS"):
        # Kept readable for one release after the move from threads to gevent; it no longer changes anything.
        print(
            "syncapi: WEB_THREADS is no longer used (the web process runs gevent workers); remove it, and set "
            "WEB_CONNECTIONS to limit the connections one process holds",
            file=sys.stderr,
            flush=True,
        )
