"""docs/reference.md is the outside contract as users read it; these tests hold it to the code's own tables:
the settings, the routes and their methods, the status codes the OpenAPI document declares, the webhook answers,
the POS tables and columns, the command line (the Flask app's and the console script's), the processes of the
Procfile and the job paths RQ stores. A change on either side that the other does not follow fails here."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import os
import re
import subprocess
import sys
import textwrap
import tomllib
import types
from pathlib import Path

import click
import pytest
from flask import abort, jsonify
from flask.cli import FlaskGroup

from jobs import outbound, periodic, reconcile
from jobs.dispatch import JOBS
from jobs.inbound import IMPORT_JOBS
from syncapi.config import Settings
from syncapi.errors import error_response
from syncapi.pos.models import PosBase
from tests.conftest import base_settings

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference.md"
CONFIGURATION = ROOT / "docs" / "configuration.md"

_CODE = re.compile(r"`([^`]+)`")
_STATUS = re.compile(r"\b([1-5]\d\d)\b")


# --- reading the reference's tables ---------------------------------------------------------------------------


def section(text: str, heading: str) -> str:
    """The text under `heading` (any level), up to the next heading of the same or a higher level."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = re.match(r"^(#+)\s+(.*?)\s*$", line)
        if match and match.group(2) == heading:
            level = len(match.group(1))
            end = next(
                (
                    later
                    for later in range(index + 1, len(lines))
                    if (m := re.match(r"^(#+)\s", lines[later])) and len(m.group(1)) <= level
                ),
                len(lines),
            )
            return "\n".join(lines[index + 1 : end])
    raise AssertionError(f"docs/reference.md has no heading {heading!r}")


def _cells(line: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    return [cell.strip().replace("\\|", "|") for cell in cells]


def tables(text: str) -> list[list[dict[str, str]]]:
    """Every Markdown table in `text`, each a list of rows keyed by the header's cells."""
    found, block = [], []
    for line in [*text.splitlines(), ""]:
        if line.lstrip().startswith("|"):
            block.append(line)
            continue
        if len(block) >= 2:
            header = _cells(block[0])
            found.append([dict(zip(header, _cells(row), strict=True)) for row in block[2:]])
        block = []
    return found


def table(heading: str, first_column: str, text: str | None = None) -> list[dict[str, str]]:
    """The first table under `heading` whose first column is `first_column`."""
    body = section(text if text is not None else REFERENCE.read_text(encoding="utf-8"), heading)
    for rows in tables(body):
        if rows and next(iter(rows[0])) == first_column:
            return rows
    raise AssertionError(f"docs/reference.md has no table starting with {first_column!r} under {heading!r}")


def codes(cell: str) -> list[str]:
    return _CODE.findall(cell)


def top_level_codes(cell: str) -> list[str]:
    """The code spans of a cell outside parentheses (which hold notes and example values)."""
    depth, kept = 0, []
    for ch in cell:
        depth += ch == "("
        if depth == 0:
            kept.append(ch)
        depth -= ch == ")" and depth > 0
    return codes("".join(kept))


# --- settings -------------------------------------------------------------------------------------------------


def shown_default(value) -> str:
    """A default as the reference writes it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(str(part) for part in value) if value else "empty"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def documented_default(cell: str) -> str:
    spans = codes(cell)
    if cell.startswith("`") and spans:
        return spans[0]
    return cell.split()[0].strip(",;")


def code_settings() -> dict[str, object]:
    return {field.metadata["env"]: field.default for field in dataclasses.fields(Settings)}


def test_every_setting_is_documented_with_its_default_and_none_more():
    rows = table("Settings", "variable")
    documented = {codes(row["variable"])[0]: row for row in rows}
    assert len(documented) == len(rows), "a setting is listed twice"
    code = code_settings()
    assert set(documented) - set(code) == set(), "documented settings the service does not read"
    assert set(code) - set(documented) == set(), "settings missing from docs/reference.md"
    for name, default in code.items():
        cell = documented[name]["default"]
        assert documented_default(cell).lower() == shown_default(default).lower(), (name, cell, default)
        assert documented[name]["meaning"], f"{name} has no meaning"


def test_the_other_variables_are_not_settings_of_the_service():
    """The second table lists what gunicorn and the tools read; none of it may hide a setting."""
    rows = table("Settings", "variable", text=None)
    others = [
        row
        for rows_ in tables(section(REFERENCE.read_text(encoding="utf-8"), "Settings"))
        for row in rows_
        if "read by" in row
    ]
    assert others, "the table of variables read outside the settings is missing"
    names = {codes(row["variable"])[0] for row in others}
    assert not names & set(code_settings()), "a setting of the service is in the table of other variables"
    assert not names & {codes(row["variable"])[0] for row in rows}
    sources = [ROOT / name for name in ("gunicorn.conf.py", "Makefile", "app.py", "wsgi.py")]
    for folder in ("syncapi", "jobs", "sandbox", "scripts", "tests"):
        sources += [path for path in (ROOT / folder).rglob("*") if path.suffix in {".py", ".sh"}]
    readers = " ".join(path.read_text(encoding="utf-8") for path in sources if path.is_file())
    unread = sorted(name for name in names if name not in readers)
    assert not unread, f"documented but nothing reads them: {unread}"


def test_the_configuration_page_names_every_setting():
    text = CONFIGURATION.read_text(encoding="utf-8")
    missing = [name for name in code_settings() if f"`{name}`" not in text]
    assert not missing, f"docs/configuration.md does not describe {missing}"


# --- routes and status codes ----------------------------------------------------------------------------------


def normalised(rule: str) -> str:
    """A Werkzeug rule with its converters dropped: `<int(max=9):run_id>` -> `<run_id>`."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"<\1>", rule)


def route_rows() -> list[tuple[set[str], str, set[int]]]:
    rows = table("HTTP routes", "methods")
    return [
        (
            set(codes(row["methods"])),
            codes(row["path"])[0],
            {int(code) for code in _STATUS.findall(row["status codes"])},
        )
        for row in rows
    ]


def served_routes(app) -> set[tuple[str, str]]:
    return {
        (method, normalised(rule.rule))
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_route_is_documented_with_its_methods_and_nothing_else(app):
    served = served_routes(app)
    exact = {(method, path) for methods, path, _ in route_rows() if not path.endswith("/*") for method in methods}
    prefixes = [(methods, path[:-2]) for methods, path, _ in route_rows() if path.endswith("/*")]

    def under(prefix: str, path: str) -> bool:
        return path == prefix or path.startswith(prefix + "/")

    undocumented = sorted(
        (method, path)
        for method, path in served - exact
        if not any(under(prefix, path) and method in methods for methods, prefix in prefixes)
    )
    assert not undocumented, f"routes missing from docs/reference.md: {undocumented}"
    assert not exact - served, f"documented routes the app does not serve: {sorted(exact - served)}"
    for methods, prefix in prefixes:
        used = {method for method, path in served if under(prefix, path)}
        assert used, f"no route under {prefix}"
        assert methods == used, f"{prefix}/*: documented {sorted(methods)}, served {sorted(used)}"


def test_the_status_codes_of_the_operator_api_are_those_its_openapi_document_declares(client):
    spec = client.get("/api/openapi.json").get_json()
    declared = {
        (method.upper(), re.sub(r"\{([^}]+)\}", r"<\1>", path)): {
            int(code) for code in op["responses"] if code.isdigit()
        }
        for path, operations in spec["paths"].items()
        for method, op in operations.items()
        if method in {"get", "post", "put", "patch", "delete"}
    }
    documented = {(method, path): statuses for methods, path, statuses in route_rows() for method in methods}
    for key, statuses in declared.items():
        assert key in documented, f"{key} is in the OpenAPI document but not in docs/reference.md"
        assert documented[key] == statuses, f"{key}: documented {sorted(documented[key])}, declared {sorted(statuses)}"
    api_rows = {key for key in documented if key[1].startswith("/api/v1/")}
    assert api_rows <= set(declared), f"documented API routes the document lacks: {sorted(api_rows - set(declared))}"


def _named(node: ast.expr, scope: dict):
    """What a name or a dotted name (`adobe.verify`, `HTTPStatus.OK`) is in a module's globals; None otherwise."""
    if isinstance(node, ast.Name):
        return scope.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _named(node.value, scope)
        if isinstance(base, (types.ModuleType, type)):
            return getattr(base, node.attr, None)
    return None


def _statuses(node: ast.expr | None, scope: dict) -> set[int]:
    """The HTTP statuses an expression can be: a number, a constant naming one, either side of `a if c else b`."""
    if isinstance(node, ast.IfExp):
        return _statuses(node.body, scope) | _statuses(node.orelse, scope)
    value = node.value if isinstance(node, ast.Constant) else _named(node, scope) if node is not None else None
    if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
        return {int(value)}
    return set()


def answered_statuses(view, _seen: set | None = None) -> set[int]:
    """Every status a view can answer, read from its code and that of the service's functions it calls: the
    status of each `error_response(...)`, `abort(...)` and exception built with one (`WebhookRejectedError(401,
    ...)`), of each `return body, status`, and 200 for a bare `return jsonify(...)`."""
    seen = _seen if _seen is not None else set()
    seen.add(view)
    scope = view.__globals__
    found = set()
    for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(view)))):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) and len(node.value.elts) >= 2:
            found |= _statuses(node.value.elts[1], scope)
        elif isinstance(node, ast.Return) and isinstance(node.value, ast.Call):
            found |= {200} if _named(node.value.func, scope) is jsonify else set()
        if not isinstance(node, ast.Call):
            continue
        called = _named(node.func, scope)
        if called in (error_response, abort) or (isinstance(called, type) and issubclass(called, BaseException)):
            status = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "status"), None)
            found |= _statuses(status, scope)
        elif (
            isinstance(called, types.FunctionType)
            and called not in seen
            and (called.__module__.startswith("syncapi.") or called.__module__ == view.__module__)
        ):
            found |= answered_statuses(called, seen)
    return found


def test_the_webhook_routes_answer_the_documented_codes_and_the_answers_table_lists_them(app):
    """The codes each webhook route can answer come from its view's code; the route table and the Answers table
    must list exactly those (a code the code gains or loses fails here)."""
    answered = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/webhooks/"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                answered[(method, normalised(rule.rule))] = answered_statuses(app.view_functions[rule.endpoint])
    assert answered, "no webhook routes"
    documented = {
        (method, path): statuses
        for methods, path, statuses in route_rows()
        if path.startswith("/webhooks/")
        for method in methods
    }
    assert set(documented) == set(answered), f"webhook routes differ: {sorted(set(documented) ^ set(answered))}"
    for key, statuses in answered.items():
        assert documented[key] == statuses, f"{key}: documented {sorted(documented[key])}, answered {sorted(statuses)}"
    from_answers = {int(code) for row in table("Answers", "answer") for code in _STATUS.findall(row["answer"])}
    posted = set().union(*(statuses for (method, _), statuses in answered.items() if method == "POST"))
    assert from_answers == posted, f"the Answers table lists {sorted(from_answers)}, the code answers {sorted(posted)}"


class _Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


_GONE = 410


def _answers_with_a_helper(flag: int):
    if flag == 1:
        raise _Refused(451, "not here")
    if flag == 2:
        abort(_GONE)
    return _answers_directly(flag)


def _answers_directly(flag: int):
    if flag == 3:
        return error_response(status=409, message="again")
    if flag == 4:
        return jsonify(ok=True)
    return jsonify(ok=False), 201 if flag else 204


def test_the_status_reader_finds_every_way_a_view_answers():
    assert answered_statuses(_answers_directly) == {409, 200, 201, 204}
    assert answered_statuses(_answers_with_a_helper) == {451, 410, 409, 200, 201, 204}


def test_the_operator_api_table_names_every_api_route():
    rows = table("Operator API", "method and path")
    listed = set()
    for row in rows:
        method, path = codes(row["method and path"])[0].split(" ", 1)
        listed.add((method, path.split("?")[0]))
    api = {(method, path) for methods, path, _ in route_rows() if path.startswith("/api/v1/") for method in methods}
    assert listed == api, f"operator API table {sorted(listed ^ api)} differs from the routes"


# --- POS tables -----------------------------------------------------------------------------------------------


def test_every_pos_table_and_column_is_listed_with_its_unique_keys():
    rows = table("POS tables", "table")
    documented = {codes(row["table"])[0]: row for row in rows}
    tables_ = {table_.name: table_ for table_ in PosBase.metadata.sorted_tables}
    assert set(documented) == set(tables_), f"POS tables differ: {sorted(set(documented) ^ set(tables_))}"
    for name, table_ in tables_.items():
        columns = top_level_codes(documented[name]["columns"])
        assert len(columns) == len(set(columns)), f"{name}: a column is listed twice"
        assert set(columns) == set(table_.columns.keys()), (name, sorted(set(columns) ^ set(table_.columns.keys())))
        unique = {
            frozenset(codes(part)[0].split(", ")) for part in documented[name]["unique"].split(";") if codes(part)
        }
        in_code = {
            frozenset(column.name for column in constraint.columns)
            for constraint in table_.constraints
            if type(constraint).__name__ == "UniqueConstraint"
        } | {frozenset(column.name for column in index.columns) for index in table_.indexes if index.unique}
        assert unique == in_code, (name, unique, in_code)


# --- command line ---------------------------------------------------------------------------------------------


def cli_rows() -> dict[str, dict[str, str]]:
    rows = table("Command line", "command")
    documented = {}
    for row in rows:
        words = []
        for word in codes(row["command"])[0].split():
            if not re.fullmatch(r"[a-z][a-z-]*", word):
                break
            words.append(word)
        documented[" ".join(words)] = row
    return documented


def leaf_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> dict[str, click.Command]:
    found = {}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.update(leaf_commands(command, (*prefix, name)))
        else:
            found[" ".join((*prefix, name))] = command
    return found


def test_every_command_of_the_app_is_listed_with_its_options(app):
    commands = leaf_commands(app.cli)
    builtin = set(FlaskGroup().commands)  # Flask's own: routes, run, shell
    documented = cli_rows()
    assert set(documented) == set(commands) | builtin, (
        f"commands differ: {sorted(set(documented) ^ (set(commands) | builtin))}"
    )
    for name, command in commands.items():
        options = {
            opt
            for param in command.params
            if isinstance(param, click.Option)
            for opt in param.opts
            if opt.startswith("--")
        }
        listed = {code.split()[0] for code in codes(documented[name]["options"])}
        assert listed == options, f"{name}: documented options {sorted(listed)}, real ones {sorted(options)}"


def test_the_console_script_offers_the_documented_commands(tmp_path, redis):
    """Each console script of pyproject.toml is named in the reference and answers with the documented commands."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    text = REFERENCE.read_text(encoding="utf-8")
    top_level = {name.split()[0] for name in cli_rows()}
    env = {**os.environ, **{key: str(value) for key, value in base_settings(tmp_path).items()}}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    for script, target in scripts.items():
        assert f"`{script} <command>`" in text, f"the console script {script} is not named in docs/reference.md"
        module, function = target.split(":")
        call = f"import importlib; getattr(importlib.import_module({module!r}), {function!r})()"
        shown = subprocess.run(
            [sys.executable, "-c", call, "--help"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
        assert shown.returncode == 0, shown.stderr
        listed = set(re.findall(r"^  ([a-z][a-z-]*)\s", shown.stdout.split("Commands:", 1)[1], re.MULTILINE))
        assert listed == top_level, f"{script} --help lists {sorted(listed)}, docs/reference.md {sorted(top_level)}"


# --- processes and jobs ---------------------------------------------------------------------------------------


def test_the_processes_are_the_procfiles():
    procfile = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text(encoding="utf-8").splitlines() if line.strip()
    )
    rows = table("Processes", "process")
    documented = {row["process"]: codes(row["command (`Procfile`)"])[0] for row in rows}
    assert documented == {name.strip(): command.strip() for name, command in procfile.items()}


class _Registrar:
    """Stands where the cron scheduler stands in `jobs.periodic.register_schedule`, keeping what it is given."""

    def __init__(self):
        self.registered = []

    def register(self, func, queue_name, *args, **kwargs):
        self.registered.append(func)


def dotted_path(func) -> str:
    """The path RQ stores for a job function."""
    return f"{func.__module__}.{func.__qualname__}"


def resolved(path: str):
    module, function = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), function, None)


#: Old paths kept for one release, and the job each stands for. `syncapi.runs` names the same functions;
#: `syncapi.personal_data` sits below `jobs` in the layers, so it keeps a function of its own that does the same.
OLD_JOB_PATHS = {
    "syncapi.runs.start_scheduled": periodic.start_scheduled,
    "syncapi.runs.prune_history": periodic.prune_history,
    "syncapi.personal_data.purge_personal_data": periodic.purge_personal_data,
}
OLD_PATHS_OF_THEIR_OWN = {"syncapi.personal_data.purge_personal_data"}


def test_every_documented_job_path_imports():
    """RQ finds a queued job by its dotted path: the documented paths are exactly those of the functions the code
    queues (the kinds of run, the imports, the cron schedule) and the old paths kept for work queued before an
    upgrade, and each resolves."""
    rows = table("Jobs", "job")
    kinds = [kind for kind in JOBS if dotted_path(JOBS[kind]).startswith("jobs.outbound.push_")]
    paths = [code.split("(")[0] for row in rows for code in codes(row["job"])]
    documented = set()
    for path in paths:
        for expanded in [path.replace("<kind>", kind) for kind in kinds] if "<kind>" in path else [path]:
            assert callable(resolved(expanded)), f"{expanded} does not resolve"
            documented.add(expanded)
    registrar = _Registrar()
    periodic.register_schedule(registrar, Settings())
    assert len(registrar.registered) >= 3, "the schedule registered nothing"
    # `sync sales --since` queues the backfill itself (syncapi.commands.sync); a stock check is its own job
    # (`jobs.dispatch.start_stock_check`).
    queued = {
        dotted_path(func)
        for func in [
            *JOBS.values(),
            *IMPORT_JOBS.values(),
            *registrar.registered,
            reconcile.backfill_sales,
            outbound.check_stock,
        ]
    }
    for old, new in OLD_JOB_PATHS.items():
        assert dotted_path(new) in queued, f"{old} stands for {dotted_path(new)}, which nothing queues any more"
        func = resolved(old)
        assert func is new or (old in OLD_PATHS_OF_THEIR_OWN and dotted_path(func) == old), f"{old} is not an alias"
    code = queued | set(OLD_JOB_PATHS)
    assert documented == code, (
        f"documented, not queued: {sorted(documented - code)}; queued, not documented: {sorted(code - documented)}"
    )


# --- the readers of these tables ------------------------------------------------------------------------------


def test_the_table_reader_reads_what_it_should():
    text = "## A\n\n| x | y |\n| --- | --- |\n| `a` (`b`) | c \\| d |\n\n## B\n"
    assert table("A", "x", text=text) == [{"x": "`a` (`b`)", "y": "c | d"}]
    assert top_level_codes("`id`, `tender_type` (`web orders`), `note`") == ["id", "tender_type", "note"]
    assert normalised("/api/v1/runs/<int(max=2147483647):run_id>") == "/api/v1/runs/<run_id>"
    assert shown_default(("complete",)) == "complete" and shown_default(()) == "empty" and shown_default(5.0) == "5"
    with pytest.raises(AssertionError):
        section(text, "C")
