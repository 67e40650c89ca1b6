"""The deployment files agree with the service: docker-compose.yml, the Dockerfile, .dockerignore, the example
settings and the systemd units run the Procfile's commands with settings the service accepts.

Docker itself does not run here; what can be checked without an engine is checked: the files' structure, the
commands against the Procfile, the example settings against `Settings`, what the build context sends, and
the systemd units with `systemd-analyze verify`.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import secrets
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from dotenv import dotenv_values

from syncapi.config import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
SYSTEMD = ROOT / "deploy" / "systemd"
APP_ENV_EXAMPLE = ROOT / "deploy" / "syncapi.env.example"
POSTGRES_ENV_EXAMPLE = ROOT / "deploy" / "postgres.env.example"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
#: Where the systemd units expect the service and its settings.
INSTALL_DIR = "/opt/syncapi"
VENV_BIN = f"{INSTALL_DIR}/.venv/bin/"
ENVIRONMENT_FILE = "/etc/syncapi/syncapi.env"
#: Settings gunicorn.conf.py reads, beside the service's own.
GUNICORN_SETTINGS = {"PORT", "WEB_CONCURRENCY", "WEB_CONNECTIONS"}
#: The secrets the example leaves empty, to be generated.
SECRETS_IN_EXAMPLE = (
    "MAGENTO_CONSUMER_KEY",
    "MAGENTO_CONSUMER_SECRET",
    "MAGENTO_ACCESS_TOKEN",
    "MAGENTO_ACCESS_TOKEN_SECRET",
    "WEBHOOK_SECRET",
    "API_TOKEN",
    "DASHBOARD_PASSWORD",
)
#: What a deployment must set (the rest has defaults).
REQUIRED_IN_EXAMPLE = {
    "REDIS_URL",
    "POS_DATABASE_URL",
    "MAGENTO_BASE_URL",
    "MAGENTO_AUTH",
    "MAGENTO_CONSUMER_KEY",
    "MAGENTO_CONSUMER_SECRET",
    "MAGENTO_ACCESS_TOKEN",
    "MAGENTO_ACCESS_TOKEN_SECRET",
    "WEBHOOK_SECRET",
    "API_TOKEN",
    "DASHBOARD_USER",
    "DASHBOARD_PASSWORD",
}


def procfile() -> dict[str, list[str]]:
    """The Procfile's processes as argument lists."""
    processes = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            processes[name.strip()] = shlex.split(command)
    return processes


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _command(service: dict) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def _setting_names() -> set[str]:
    import dataclasses

    return {field.metadata["env"] for field in dataclasses.fields(Settings)}


# --- docker-compose.yml ----------------------------------------------------------------------------------


def test_compose_runs_the_procfile_processes_and_their_dependencies(compose):
    services = compose["services"]
    assert set(services) == {"proxy", "web", "worker", "cron", "migrate", "redis", "postgres"}
    processes = procfile()
    for name in ("web", "worker", "cron"):
        assert _command(services[name]) == processes[name], name
        assert services[name]["build"] == "."
        assert services[name]["image"] == services["migrate"]["image"], "one image for every process"
        assert services[name]["env_file"] == "deploy/syncapi.env"
        assert services[name]["restart"] == "unless-stopped"
        depends = services[name]["depends_on"]
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_compose_migrates_once_before_the_processes_start(compose):
    migrate = compose["services"]["migrate"]
    assert _command(migrate) == ["flask", "--app", "app", "pos", "init"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_compose_workers_scale_and_cron_stays_single(compose):
    worker, cron = compose["services"]["worker"], compose["services"]["cron"]
    # A fixed container name or published port would stop `--scale worker=N`.
    assert "container_name" not in worker and "ports" not in worker
    assert worker["deploy"]["replicas"] >= 1
    assert cron.get("deploy", {}).get("replicas", 1) == 1
    # Warm shut-down: RQ finishes the running job on SIGTERM; give it time.
    assert worker["stop_grace_period"] in {"2m", "120s"}


def test_compose_healthchecks(compose):
    services = compose["services"]
    web = services["web"]
    assert web["environment"]["PORT"] == "8000"
    probe = " ".join(web["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/healthz" in probe
    assert "http://127.0.0.1:8080/healthz" in " ".join(services["proxy"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    # The queue's data survives a restart of Redis and is never evicted.
    redis_command = _command(services["redis"])
    assert redis_command[redis_command.index("--appendonly") + 1] == "yes"
    assert redis_command[redis_command.index("--maxmemory-policy") + 1] == "noeviction"
    assert any(volume.endswith(":/data") for volume in services["redis"]["volumes"])


def test_compose_publishes_only_the_buffering_proxy(compose):
    """gunicorn is reached only through nginx, which reads whole requests before passing them on."""
    services = compose["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}
    proxy, web = services["proxy"], services["web"]
    assert [port.rsplit(":", 1)[1] for port in proxy["ports"]] == ["8080"]
    assert web["expose"] == ["8000"]
    assert proxy["depends_on"]["web"]["condition"] == "service_healthy"
    mounted = {volume.split(":")[0]: volume.split(":")[1] for volume in proxy["volumes"]}
    assert mounted["./deploy/nginx.conf"] == "/etc/nginx/nginx.conf"


def _nginx_directives(text: str) -> dict[str, list[str]]:
    """Every `name value...;` directive of an nginx configuration, by name (comments left out)."""
    directives: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.endswith(";"):
            name, _, value = line[:-1].partition(" ")
            directives.setdefault(name, []).append(value.strip())
    return directives


def test_nginx_buffers_requests_and_bounds_slow_clients():
    from app import MAX_BODY_BYTES
    from syncapi.webhooks.views import WEBHOOK_MAX_BODY_BYTES

    directives = _nginx_directives(NGINX_CONF.read_text())
    assert directives["listen"] == ["8080"]
    assert directives["server"] == ["web:8000"]
    assert directives["proxy_pass"] == ["http://syncapi_web"]
    assert directives["proxy_request_buffering"] == ["on"] and directives["proxy_buffering"] == ["on"]
    for name in ("client_header_timeout", "client_body_timeout", "send_timeout"):
        (value,) = directives[name]
        assert value.endswith("s") and 0 < int(value[:-1]) <= 15, name
    # The service decides on bodies up to its own limits (a JSON 413 above each; webhooks allow more than the
    # API, for Adobe I/O batches); nginx keeps the smaller ones in memory.
    (body_limit,) = directives["client_max_body_size"]
    assert body_limit.endswith("m") and int(body_limit[:-1]) * 2**20 > max(MAX_BODY_BYTES, WEBHOOK_MAX_BODY_BYTES)
    assert directives["client_body_buffer_size"] == ["1m"]
    # The dashboard compares Origin with the Host the browser used.
    assert "Host $http_host" in directives["proxy_set_header"]
    (read_timeout,) = directives["proxy_read_timeout"]
    assert int(read_timeout[:-1]) >= 30, "as long as gunicorn's worker timeout"


def test_nginx_accepts_its_configuration(tmp_path):
    """`nginx -t` on deploy/nginx.conf, with the upstream host made resolvable and temporary files under tmp_path
    (the image has its own; a distribution's nginx may want directories that only its service creates)."""
    nginx = shutil.which("nginx")
    if nginx is None:
        pytest.skip("nginx is not installed (the compose file runs it in its own image)")
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = " ".join(f"{kind}_temp_path {tmp_path / kind};" for kind in kinds)
    text = NGINX_CONF.read_text().replace("server web:8000;", "server 127.0.0.1:8000;")
    conf = tmp_path / "nginx.conf"
    conf.write_text(text.replace("http {\n", f"http {{\n    {temp}\n", 1))
    result = subprocess.run([nginx, "-t", "-c", str(conf), "-p", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_compose_healthcheck_probe_runs(tmp_path):
    """The web healthcheck's Python one-liner works: it fails on a port where nothing answers."""
    web = yaml.safe_load(COMPOSE.read_text())["services"]["web"]
    command = web["healthcheck"]["test"]
    assert command[:2] == ["CMD", "python"]
    unused = command[3].replace("127.0.0.1:8000", "127.0.0.1:9")
    result = subprocess.run([sys.executable, "-c", unused], capture_output=True, timeout=30)
    assert result.returncode != 0 and b"URLError" in result.stderr


def test_compose_env_files_are_examples_kept_out_of_git_and_the_image(compose):
    files = {compose["services"][name]["env_file"] for name in ("web", "worker", "cron", "migrate", "postgres")}
    assert files == {"deploy/syncapi.env", "deploy/postgres.env"}
    patterns = _dockerignore()
    for path in files:
        assert (ROOT / f"{path}.example").is_file(), f"{path}.example is missing"
        ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False).returncode == 0
        assert ignored, f"{path} holds secrets: git must ignore it"
        assert _docker_ignored(path, patterns), f"{path} holds secrets: the build context must leave it out"


# --- example settings -------------------------------------------------------------------------------------


def test_example_settings_are_complete_and_accepted():
    values = {key: value for key, value in dotenv_values(APP_ENV_EXAMPLE).items() if value is not None}
    unknown = set(values) - _setting_names() - GUNICORN_SETTINGS
    assert not unknown, f"the example sets unknown variables {sorted(unknown)}"
    assert set(values) >= REQUIRED_IN_EXAMPLE
    # No secret is usable as it stands: the example copied unchanged is refused, naming the first one to fill in.
    for name in SECRETS_IN_EXAMPLE:
        assert values[name] == "", name
    with pytest.raises(SettingsError, match="missing required setting WEBHOOK_SECRET"):
        Settings.from_env(environ=values)
    filled = {name: secrets.token_urlsafe(32) for name in SECRETS_IN_EXAMPLE} | {"DASHBOARD_USER": "ops"}
    with pytest.raises(SettingsError, match="POS_DATABASE_URL is refused: its password is a placeholder"):
        Settings.from_env(environ={**values, **filled})
    database = urlsplit(values["POS_DATABASE_URL"])
    filled["POS_DATABASE_URL"] = values["POS_DATABASE_URL"].replace(database.password, secrets.token_urlsafe(24))
    settings = Settings.from_env(environ={**values, **filled})
    assert settings.env == "production" and not settings.development
    assert settings.dashboard_user and settings.dashboard_password


def test_example_settings_reach_the_compose_services():
    values = dotenv_values(APP_ENV_EXAMPLE)
    postgres = dotenv_values(POSTGRES_ENV_EXAMPLE)
    assert urlsplit(values["REDIS_URL"]).hostname == "redis"
    database = urlsplit(values["POS_DATABASE_URL"])
    assert database.scheme == "postgresql+psycopg"
    assert database.hostname == "postgres"
    assert database.username == postgres["POSTGRES_USER"]
    assert database.password == postgres["POSTGRES_PASSWORD"]
    assert database.path.lstrip("/") == postgres["POSTGRES_DB"]


# --- Dockerfile and build context ---------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    joined = DOCKERFILE.read_text().replace("\\\n", " ")
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            found.append((keyword.upper(), arguments.strip()))
    return found


def test_dockerfile_builds_one_unprivileged_image_running_the_web_process():
    instructions = _instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    keywords = [keyword for keyword, _ in instructions]
    runs = " && ".join(arguments for keyword, arguments in instructions if keyword == "RUN")
    assert "pip install -r requirements.txt" in runs
    # Dependencies are installed before the code is copied, so code changes reuse that layer.
    copy_code = next(
        i for i, (keyword, arguments) in enumerate(instructions) if (keyword, arguments) == ("COPY", ". .")
    )
    assert keywords.index("RUN") < copy_code
    user = [arguments for keyword, arguments in instructions if keyword == "USER"]
    assert user and user[-1].split(":")[0] not in {"root", "0"}
    assert keywords.index("USER") < keywords.index("CMD")
    cmd = [arguments for keyword, arguments in instructions if keyword == "CMD"][-1]
    assert json.loads(cmd) == procfile()["web"]
    assert ("EXPOSE", "8000") in instructions


def test_requirements_are_pinned():
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            assert "==" in line, f"{line} is not pinned"


def _dockerignore() -> list[str]:
    return [line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip() and not line.startswith("#")]


def _docker_ignored(path: str, patterns: list[str]) -> bool:
    """Whether the build context leaves `path` out: a pattern matches it or one of its parent folders."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!")
        forms = [pattern, pattern[3:]] if pattern.startswith("**/") else [pattern]
        for form in forms:
            if any(fnmatch.fnmatchcase(candidate, form) for candidate in candidates) or (
                pattern.startswith("**/") and any(fnmatch.fnmatchcase(part, form) for part in parts)
            ):
                ignored = not negate
    return ignored


def test_build_context_holds_the_service_and_leaves_out_secrets_and_tests():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    patterns = _dockerignore()
    sent = {path for path in tracked.splitlines() if not _docker_ignored(path, patterns)}
    for needed in ("app.py", "wsgi.py", "gunicorn.conf.py", "requirements.txt", "Procfile"):
        assert needed in sent, needed
    for path in tracked.splitlines():
        if path.startswith(("syncapi/", "jobs/")):
            assert path in sent, f"{path} is needed at run time but left out of the image"
    assert not [path for path in sent if path.startswith(("tests/", "deploy/", ".git/", ".venv/"))]
    for secret in (".env", "deploy/syncapi.env", "instance/pos.db", ".venv/bin/python"):
        assert _docker_ignored(secret, patterns), secret


def _imports_of(path: Path) -> set[str]:
    """The absolute module names `path` imports: `import x.y`, `from x.y import z`, `importlib.import_module("x")`."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                names.add(node.args[0].value)
    return names


def test_the_image_leaves_out_the_sandbox_and_the_service_never_imports_it():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    patterns = _dockerignore()
    sandbox_files = [path for path in tracked.splitlines() if path.startswith("sandbox/")]
    assert "sandbox/__main__.py" in sandbox_files
    assert [path for path in sandbox_files if not _docker_ignored(path, patterns)] == []
    service_code = [ROOT / "app.py", ROOT / "wsgi.py", *sorted((ROOT / "syncapi").rglob("*.py"))]
    service_code += sorted((ROOT / "jobs").rglob("*.py"))
    assert len(service_code) > 10
    importing = {
        str(path.relative_to(ROOT)): sorted(name for name in _imports_of(path) if name.split(".")[0] == "sandbox")
        for path in service_code
    }
    assert {path: names for path, names in importing.items() if names} == {}


# --- systemd units ----------------------------------------------------------------------------------------


def _unit(name: str) -> dict[str, dict[str, list[str]]]:
    """A unit file as {section: {key: [values]}}."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for line in (SYSTEMD / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


UNITS = {"web": "syncapi-web.service", "worker": "syncapi-worker@.service", "cron": "syncapi-cron.service"}


@pytest.mark.parametrize("process", list(UNITS))
def test_systemd_units_run_the_procfile_commands(process):
    service = _unit(UNITS[process])["Service"]
    [exec_start] = service["ExecStart"]
    program, *arguments = shlex.split(exec_start)
    assert program.startswith(VENV_BIN), program
    command = [program.removeprefix(VENV_BIN), *arguments]
    assert command == procfile()[process]
    assert service["EnvironmentFile"] == [ENVIRONMENT_FILE]
    assert service["WorkingDirectory"] == [INSTALL_DIR]
    assert service["User"] == ["syncapi"] and service["Group"] == ["syncapi"]
    assert service["NoNewPrivileges"] == ["yes"] and service["ProtectSystem"] == ["strict"]
    assert service["Restart"][0] in {"always", "on-failure"}
    assert _unit(UNITS[process])["Install"]["WantedBy"] == ["multi-user.target"]


def test_systemd_web_migrates_first_and_notifies_readiness():
    service = _unit(UNITS["web"])["Service"]
    assert service["ExecStartPre"] == [f"{VENV_BIN}flask --app app pos init"]
    # gunicorn tells systemd when it is ready to serve.
    assert service["Type"] == ["notify"]


def test_systemd_worker_is_a_template_for_n_workers():
    assert UNITS["worker"].endswith("@.service")
    unit = _unit(UNITS["worker"])
    assert "%i" in unit["Unit"]["Description"][0]
    # RQ finishes the running job on SIGTERM (warm shut-down).
    assert unit["Service"]["KillSignal"] == ["SIGTERM"]
    assert int(unit["Service"]["TimeoutStopSec"][0]) >= 60


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_accepts_the_units(tmp_path):
    """`systemd-analyze verify` with the install paths pointed at this checkout (it checks that the programs
    exist); unknown keys and other warnings fail the test too."""
    for name in UNITS.values():
        text = (SYSTEMD / name).read_text()
        text = text.replace(INSTALL_DIR, str(ROOT)).replace(ENVIRONMENT_FILE, str(APP_ENV_EXAMPLE))
        (tmp_path / name.replace("@.", "@1.")).write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", *sorted(str(path) for path in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and not result.stderr.strip() and not result.stdout.strip(), (
        result.stdout + result.stderr
    )


def test_gunicorn_control_socket_has_a_writable_place_of_its_own():
    """gunicorn.conf.py makes a control socket only at GUNICORN_CONTROL_SOCKET (the default path is shared by
    every gunicorn of a user): the image and the hardened unit each name one in a runtime directory of their own."""
    instructions = _instructions()
    env = " ".join(arguments for keyword, arguments in instructions if keyword == "ENV")
    assert "GUNICORN_CONTROL_SOCKET=/run/syncapi/gunicorn.ctl" in env
    runs = " ".join(arguments for keyword, arguments in instructions if keyword == "RUN")
    assert "/run/syncapi" in runs and "chown syncapi:syncapi instance /run/syncapi" in runs
    service = _unit(UNITS["web"])["Service"]
    assert service["RuntimeDirectory"] == ["syncapi-web"]
    assert "GUNICORN_CONTROL_SOCKET=/run/syncapi-web/gunicorn.ctl" in service["Environment"][0].split()


@pytest.mark.parametrize("process", ["web", "worker", "cron"])
def test_systemd_does_not_restart_a_process_whose_settings_are_refused(process):
    service = _unit(UNITS[process])["Service"]
    assert service["RestartPreventExitStatus"] == ["3"]


def test_the_build_context_alone_runs_the_service(tmp_path):
    """What the Dockerfile copies (tracked files the build context keeps) is enough: the migrations run and the
    web app and the cron schedule load, from a directory holding nothing else."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    context = tmp_path / "app"
    patterns = _dockerignore()
    for path in tracked.splitlines():
        if not _docker_ignored(path, patterns) and (ROOT / path).is_file():
            (context / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / path, context / path)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SYNCAPI_DOTENV": str(tmp_path / "none.env"),
        "POS_DATABASE_URL": f"sqlite:///{tmp_path / 'pos.db'}",
        "REDIS_URL": "redis://127.0.0.1:9/0",
        "MAGENTO_BASE_URL": "https://shop.example.com",
        "MAGENTO_AUTH": "bearer",
        "MAGENTO_ACCESS_TOKEN": "token-for-the-context-test",
        "WEBHOOK_SECRET": "secret-for-the-context-test",
        "API_TOKEN": "api-token-for-the-context-test",
    }
    init = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "pos", "init"],
        cwd=context,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert init.returncode == 0, init.stdout + init.stderr
    load = subprocess.run(
        [sys.executable, "-c", "import wsgi, runpy; runpy.run_path('jobs/schedule.py'); print(wsgi.app.name)"],
        cwd=context,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert load.returncode == 0 and load.stdout.strip().endswith("app"), load.stdout + load.stderr
