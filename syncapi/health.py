"""`/healthz` (the process is alive) and `/readyz` (Redis and the POS database answer)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from syncapi import db, services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process is up; checks nothing else, so a load balancer never kills it for a dependency."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """200 when every dependency answers, else 503 with what failed."""
    checks = {}
    try:
        services.of_app(current_app).queues.ping()
        checks["redis"] = {"ok": True}
    except Exception as exc:  # any failure is the answer, not an error of this view
        checks["redis"] = {"ok": False, "error": str(exc)}
    engines = {"pos_database": services.of_app(current_app).pos_engine}
    if services.of_app(current_app).state_engine is not engines["pos_database"]:
        engines["state_database"] = services.of_app(current_app).state_engine
    for name, engine in engines.items():
        try:
            db.ping(engine)
            checks[name] = {"ok": True}
        except Exception as exc:
            checks[name] = {"ok": False, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0]}"}
    ready = all(check["ok"] for check in checks.values())
    return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503
