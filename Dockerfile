# One image for every process: the default command is the web process; run the worker and the cron process
# from the same image with another command (see docker-compose.yml and docs/deployment.md#the-pieces):
#   docker run … syncapi                                   web:    gunicorn wsgi:app
#   docker run … syncapi python -m syncapi.worker          worker: inbound outbound default
#   docker run … syncapi python -m syncapi.cron            cron:   exactly one
#   docker run … syncapi flask --app app pos init          create or upgrade the tables, then exit
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8000

WORKDIR /app

# Dependencies first, so a code change does not reinstall them. Every one is pinned in requirements.txt;
# psycopg[binary] brings its own libpq, so no compiler or system library is needed.
COPY requirements.txt ./
RUN pip install -r requirements.txt

# The service runs as an unprivileged user that owns nothing but instance/ (the default SQLite POS lives there).
RUN groupadd --system --gid 10001 syncapi \
    && useradd --system --uid 10001 --gid syncapi --home-dir /app --no-create-home --shell /usr/sbin/nologin syncapi
COPY . .
# instance/: the default SQLite POS. /run/syncapi: gunicorn's control socket, the container's own (gunicorn.conf.py
# makes one only where GUNICORN_CONTROL_SOCKET names it).
RUN mkdir -p instance /run/syncapi && chown syncapi:syncapi instance /run/syncapi
ENV XDG_RUNTIME_DIR=/run/syncapi \
    GUNICORN_CONTROL_SOCKET=/run/syncapi/gunicorn.ctl
USER syncapi:syncapi

EXPOSE 8000
# gunicorn reads gunicorn.conf.py from the working directory: bind from PORT, WEB_CONCURRENCY, WEB_CONNECTIONS.
CMD ["gunicorn", "wsgi:app"]
