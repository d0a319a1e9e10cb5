"""Strings that name moved code: rewritten on an exact match only, reported otherwise.

In Python files:

- ``mock.patch("pkg.mod.name")`` / ``monkeypatch.setattr("pkg.mod.name", ...)``: a patch
  replaces the binding that code *in* ``pkg.mod`` reads. When ``name`` moved out of a split
  module, the lookups now happen in the modules that use it: the target becomes the one
  module that uses it, the name's new home when none does, and a report when several do.
- ``"pkg.main:app"`` (uvicorn, gunicorn): the module where the attribute lives now.
- other literals that are exactly a moved module path (``importlib.import_module``, Celery
  ``include``, logger names): the new path. ``send_task`` names are reported, not changed
  (queued messages carry the old name).

In Dockerfiles, compose files, Procfiles, ``pyproject.toml``, ``alembic.ini``, Makefiles, CI
files and logging configurations (``dictConfig`` JSON/YAML, ``fileConfig`` INI) the same tokens
are rewritten when the whole dotted token (or ``.py`` path) matches; docs only get a report.

Data outside the repository (queued Celery/RQ messages, APScheduler job stores) names code by
its old module and cannot be rewritten: moved tasks and scheduled jobs are reported.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import MetadataWrapper, PositionProvider

from fastapi_fix.codemods._build import is_module_path
from fastapi_fix.codemods.layered_layout.imports import World
from fastapi_fix.engine.discover import DEFAULT_EXCLUDED_DIRS
from fastapi_fix.engine.results import Finding

if TYPE_CHECKING:
    from fastapi_fix.codemods.layered_layout.index import ModuleInfo, Statement
    from fastapi_fix.codemods.layered_layout.rewrite import ReferenceRewriter

CODEMOD = "layered-layout"
PATCH_METHODS = frozenset({"patch"})
FIXTURE_SETTERS = frozenset({"setattr", "delattr"})
IMPORT_FUNCTIONS = frozenset(
    {"importlib.import_module", "import_module", "__import__", "pkgutil.resolve_name"}
)
TASK_SENDERS = frozenset({"send_task", "signature"})

CONFIG_NAMES = (
    "Dockerfile",
    "Dockerfile.*",
    "*.dockerfile",
    "docker-compose*.yml",
    "docker-compose*.yaml",
    "compose*.yml",
    "compose*.yaml",
    "Procfile",
    "Procfile.*",
    "pyproject.toml",
    "setup.cfg",
    "tox.ini",
    "alembic.ini",
    "pytest.ini",
    ".coveragerc",
    "Makefile",
    "*.mk",
    "fly.toml",
    "render.yaml",
    "app.yaml",
    "app.json",
    ".pre-commit-config.yaml",
    ".gitlab-ci.yml",
    "azure-pipelines.yml",
    "bitbucket-pipelines.yml",
    "*.sh",
    "gunicorn.conf.py.ini",
    "supervisord.conf",
    "*.service",
    # logging configurations: dictConfig "()"/"class" values, fileConfig class= lines
    "logging.json",
    "logging.*.json",
    "logconf*.json",
    "logging.yaml",
    "logging.*.yaml",
    "logging.yml",
    "logging.*.yml",
    "logging.ini",
    "logging.conf",
)
CONFIG_FOLDERS = (".github/workflows/", ".circleci/", ".vscode/")
DOC_NAMES = ("*.md", "*.rst", "*.txt")
DOTTED = re.compile(
    r"(?<![\w.\-/])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?::([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*))?(?![\w])"
)
PY_PATH = re.compile(r"(?<![\w./-])((?:[\w.-]+/)*[\w-]+\.py)(?![\w])")
QUOTED_NAME = re.compile(r"""["']([A-Za-z_]\w*)["']""")


@dataclass
class References:
    """Dotted references resolved against the move."""

    world: World
    findings: list[Finding] = field(default_factory=list)

    def split(self, dotted: str) -> tuple[str | None, list[str]]:
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            candidate = ".".join(parts[:cut])
            if self.world.is_project_module(candidate):
                return candidate, parts[cut:]
        return None, parts

    def colon(self, module: str, attribute: str) -> str | None:
        """``pkg.main:app`` -> where ``app`` is now; None when nothing changes."""
        if not self.world.is_project_module(module) or not self.world.changed(module):
            return None
        head, *rest = attribute.split(".")
        where = self.world.home(module, head)
        if where.name is None:
            return None
        return f"{where.module}:{'.'.join([where.name, *rest])}"

    def exact(self, dotted: str) -> str | None:
        """``pkg.crud`` or ``pkg.crud.get_user`` -> the new path (the name's new home)."""
        module, rest = self.split(dotted)
        if module is None or not self.world.changed(module):
            return None
        if not rest:
            return None if module in self.world.deleted else self.world.new_module(module)
        if not self.binds(module, rest[0]):
            return None  # not a name of that module: not a reference we understand
        if (module, rest[0]) in self.world.symbol_map:  # where it is defined now (ORM registries
            return ".".join([self.world.symbol_map[(module, rest[0])], *rest])  # resolve by module)
        where = self.world.home(module, rest[0])
        return ".".join([where.module, *([where.name] if where.name else []), *rest[1:]])

    def binds(self, module: str, name: str) -> bool:
        info = self.world.project.modules.get(module)
        return info is not None and name in info.binders

    def patch_target(self, dotted: str) -> tuple[str | None, str | None]:
        """(new target, problem) for ``patch("pkg.mod.name.attr")``."""
        module, rest = self.split(dotted)
        if module is None or not self.world.changed(module):
            return None, None
        if not rest:
            return (
                (None, f"{module} is split up")
                if module in self.world.deleted
                else (self.world.new_module(module), None)
            )
        name = rest[0]
        if module not in self.world.project.modules:
            return self.exact(dotted), None
        consumers = self.world.consumers(module, name)
        if len(consumers) > 1:
            return None, (
                f"{dotted}: after the move {name} is looked up in {len(consumers)} modules "
                f"({', '.join(sorted(consumers))}); patch each place that should see the fake"
            )
        if consumers:
            return ".".join([consumers.pop(), *rest]), None
        return self.exact(dotted), None


def parse_reference(value: str) -> tuple[str, str | None] | None:
    """``a.b.c`` -> (``a.b.c``, None); ``a.b:c`` -> (``a.b``, ``c``); else None."""
    dotted, colon, attribute = value.partition(":")
    parts = dotted.split(".")
    if not all(part.isidentifier() for part in parts):
        return None
    if colon and not all(part.isidentifier() for part in attribute.split(".")):
        return None
    return dotted, (attribute if colon else None)


class PythonStrings:
    """The string hook of `ReferenceRewriter`: literals inside Python code."""

    def __init__(self, references: References) -> None:
        self.references = references

    def __call__(
        self, node: cst.SimpleString, call: cst.Call | None, rewriter: ReferenceRewriter
    ) -> cst.SimpleString | None:
        try:
            value = node.evaluated_value
        except Exception:  # noqa: BLE001 - an f-string prefix or an odd literal: not ours
            return None
        if not isinstance(value, str) or node.raw_value != value:
            return None
        parsed = parse_reference(value)
        if parsed is None:
            return None
        dotted, attribute = parsed
        callee = get_full_name_for_node(call.func) if call is not None else None
        first = call is not None and bool(call.args) and call.args[0].value is node
        last = callee.rpartition(".")[2] if callee else None
        if attribute is not None:
            new = self.references.colon(dotted, attribute)
        elif first and last in TASK_SENDERS:
            if self.references.exact(dotted):
                rewriter.report(
                    node,
                    f"task name {value!r}: the task's module moved; pin name= on the task "
                    "or migrate queued messages",
                )
            return None
        elif first and (last in PATCH_METHODS or (last in FIXTURE_SETTERS and "." in dotted)):
            new, problem = self.references.patch_target(dotted)
            if problem:
                rewriter.report(node, problem)
        elif callee in IMPORT_FUNCTIONS:
            new = self.references.exact(dotted)
            if new:
                rewriter.report(node, f"dynamic import of {dotted}: rewritten to {new}")
        elif "." in dotted:
            new = self.references.exact(dotted)
        else:
            return None
        if new is None or new == dotted or (attribute is not None and new == value):
            return None
        if not is_module_path(new.replace(":", ".")):  # written between quotes: names only
            return None
        prefix = node.prefix
        quote = node.quote
        return node.with_changes(value=f"{prefix}{quote}{new}{quote}")


# -- files that are not Python ------------------------------------------------------------


def _matches(rel_path: str, patterns: tuple[str, ...]) -> bool:
    name = rel_path.rpartition("/")[2]
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


# Servers whose command line names the app as ``module:attribute``: in a README such a line
# is the command people copy, so its entrypoint is rewritten, not just reported.
SERVER_COMMANDS = ("uvicorn", "gunicorn", "hypercorn", "granian", "fastapi run", "fastapi dev")


def _is_server_command(text: str, offset: int) -> bool:
    line = _line_at(text, offset)
    return any(command in line for command in SERVER_COMMANDS)


def project_text_files(root: Path) -> Iterator[tuple[str, str]]:
    """(relative path, "config" | "docs") for the non-Python files worth looking at."""
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d
            for d in dirnames
            if (d not in DEFAULT_EXCLUDED_DIRS or d in (".github", ".vscode"))
            and not d.endswith(".egg-info")
            and d not in (".git",)
        )
        for name in sorted(filenames):
            rel = Path(os.path.relpath(Path(directory) / name, root)).as_posix()
            if name.endswith(".py"):
                continue
            if _matches(rel, CONFIG_NAMES) or rel.startswith(CONFIG_FOLDERS):
                yield rel, "config"
            elif _matches(rel, DOC_NAMES):
                yield rel, "docs"


@dataclass
class TextRewrite:
    new: str | None
    findings: list[Finding]


def rewrite_text_file(
    rel_path: str,
    text: str,
    kind: str,
    references: References,
    path_moves: dict[str, str | None],
    root_modules: set[str],
) -> TextRewrite:
    """Rewrite (config) or report (docs) the references in one text file.

    ``path_moves``: old relative ``.py`` path -> new one (None: removed); ``root_modules``:
    modules at the project root that move into a package (their paths are reported: a
    package module does not run as a script).
    """
    findings: list[Finding] = []
    edits: list[tuple[int, int, str]] = []
    base = rel_path.rpartition("/")[0]
    dockerfile = _matches(rel_path, ("Dockerfile", "Dockerfile.*", "*.dockerfile"))
    for match in DOTTED.finditer(text):
        dotted, attribute = match.group(1), match.group(2)
        if attribute is not None:
            new_ref = references.colon(dotted, attribute)
            new = new_ref
        elif "." in dotted and not dotted.endswith(".py"):
            new = references.exact(dotted)
        else:
            continue
        if new is None or new == match.group(0):
            continue
        if kind == "docs" and not (
            attribute is not None and _is_server_command(text, match.start())
        ):
            findings.append(
                _finding(rel_path, text, match.start(), f"mentions {match.group(0)}, now {new}")
            )
        else:
            edits.append((match.start(), match.end(), new))
    for match in PY_PATH.finditer(text):
        token = match.group(1)
        candidates = [token, f"{base}/{token}" if base else token]
        old = next((c for c in candidates if c in path_moves), None)
        if old is None:
            continue
        new_path = path_moves[old]
        line_text = _line_at(text, match.start())
        module_name = old.removesuffix(".py").replace("/", ".")
        if (
            kind == "docs"
            or new_path is None
            or module_name in root_modules
            or (dockerfile and line_text.lstrip().upper().startswith(("COPY", "ADD")))
        ):
            now = f"now {new_path}" if new_path else "split up"
            findings.append(
                _finding(
                    rel_path, text, match.start(), f"mentions {token} ({now}); update it by hand"
                )
            )
            continue
        relative_new = (
            new_path if token == old else os.path.relpath(new_path, base).replace(os.sep, "/")
        )
        edits.append((match.start(), match.end(), relative_new))
    if rel_path.endswith(("pyproject.toml", "setup.cfg")):
        findings.extend(
            _finding(
                rel_path,
                text,
                match.start(),
                f"lists the module {match.group(1)}, now inside a package; update it by hand",
            )
            for match in QUOTED_NAME.finditer(text)
            if match.group(1) in root_modules
        )
    if not edits:
        return TextRewrite(None, findings)
    out = []
    position = 0
    for start, end, new in sorted(edits):
        if start < position:
            continue
        out.append(text[position:start])
        out.append(new)
        position = end
    out.append(text[position:])
    return TextRewrite("".join(out), findings)


def _line_at(text: str, offset: int) -> str:
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return text[start : end if end != -1 else len(text)]


def _finding(rel_path: str, text: str, offset: int, message: str) -> Finding:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return Finding(rel_path, line, column, CODEMOD, message)


# -- data outside the repository: queued messages and job stores ---------------------------

CELERY_TASK_DECORATORS = frozenset(
    {"task", "shared_task"}
)  # ``@app.task``, ``@shared_task``: name= pins
RQ_JOB_DECORATORS = frozenset({"rq.decorators.job"})
DRAMATIQ_ACTOR_DECORATORS = frozenset({"dramatiq.actor"})
SCHEDULED_JOB_DECORATOR = "scheduled_job"  # APScheduler ``@scheduler.scheduled_job(...)``
JOB_ADDERS = {  # method -> (kind, the callable's position and keyword, how the stored name is spelled)
    "add_job": ("APScheduler job", 0, "func", ":"),
    "enqueue": ("RQ job", 0, "f", "."),
    "enqueue_call": ("RQ job", 0, "func", "."),
    "enqueue_at": ("RQ job", 1, "f", "."),  # enqueue_at(datetime, f, ...)
    "enqueue_in": ("RQ job", 1, "f", "."),  # enqueue_in(timedelta, f, ...)
}


def stale_reference_message(kind: str, old: str, new: str) -> str:
    return (
        f"{kind} {old} becomes {new}: queued messages or job stores may still name `{old}`; "
        "drain queues before deploying"
    )


def qualified_name(module: ModuleInfo, dotted: str) -> str:
    """``crud.list_items`` -> ``shop.crud.list_items`` through the module's imports; names
    the module defines itself are prefixed with its own name; anything else stays as it is."""
    head, _, rest = dotted.partition(".")
    imported = module.imports.get(head)
    if imported is not None:
        if imported.name is not None:
            base = f"{imported.module}.{imported.name}"
        else:
            base = head if imported.dotted else imported.module
    elif head in module.binders:
        base = f"{module.name}.{head}"
    else:
        return dotted
    return f"{base}.{rest}" if rest else base


def queued_work_findings(
    module: ModuleInfo, world: World, moved_lines: dict[int, str]
) -> list[Finding]:
    """Tasks and scheduled jobs whose module changes: queues and job stores name them by the
    old module, and that data is out of any rewrite's reach."""
    findings = []
    for statement in module.statements:
        new_path = moved_lines.get(statement.first_line)
        message = (
            _decorated_job_message(module, statement, world.module_for_path(new_path))
            if new_path
            else None
        )
        if message:
            findings.append(Finding(module.rel_path, statement.first_line, 1, CODEMOD, message))
    if any(method.encode() in module.source for method in JOB_ADDERS):
        findings.extend(_job_adder_findings(module, References(world)))
    return findings


def _decorated_job_message(module: ModuleInfo, statement: Statement, new_module: str) -> str | None:
    old = f"{module.name}.{statement.key}"
    new = f"{new_module}.{statement.key}"
    for decorator in getattr(statement.node, "decorators", ()):
        expression = decorator.decorator
        call = expression if isinstance(expression, cst.Call) else None
        written = get_full_name_for_node(call.func if call else expression) or ""
        qualified = qualified_name(module, written)
        attribute = written.rpartition(".")[2]
        if qualified in RQ_JOB_DECORATORS:
            return stale_reference_message("RQ job", old, new)
        if qualified in DRAMATIQ_ACTOR_DECORATORS:
            return (
                f"dramatiq actor {statement.key} moves from {module.name} to {new_module}: its messages name "
                f"the actor, not the module, so queued ones still match once the workers import {new_module}"
            )
        if attribute == SCHEDULED_JOB_DECORATOR:
            return stale_reference_message(
                "APScheduler job", f"{module.name}:{statement.key}", f"{new_module}:{statement.key}"
            )
        if attribute in CELERY_TASK_DECORATORS:
            if call is not None and any(
                a.keyword is not None and a.keyword.value == "name" for a in call.args
            ):
                return None  # the name is pinned: messages keep finding it
            return (
                f'task {old} becomes {new}: queued messages carry the old name; pin name="{old}" on '
                f"@{written} to keep it"
            )
    return None


def _job_adder_findings(module: ModuleInfo, references: References) -> list[Finding]:
    """``scheduler.add_job(crud.purge, ...)``, ``queue.enqueue("shop.crud.purge")``: the job
    store or the queue keeps the callable's old reference."""
    findings: list[Finding] = []

    class Finder(cst.CSTVisitor):
        METADATA_DEPENDENCIES = (PositionProvider,)

        def visit_Call(self, node: cst.Call) -> None:
            method = (get_full_name_for_node(node.func) or "").rpartition(".")[2]
            if method not in JOB_ADDERS:
                return
            kind, position, keyword, separator = JOB_ADDERS[method]
            target = _job_callable(node, position, keyword)
            moved = _moved_callable(module, references, target) if target is not None else None
            if moved is None:
                return
            (old_module, old_name), (new_module, new_name) = moved
            old = f"{old_module}{separator}{old_name}"
            new = f"{new_module}{separator}{new_name}"
            start = self.get_metadata(PositionProvider, node).start
            findings.append(
                Finding(
                    module.rel_path,
                    start.line,
                    start.column + 1,
                    CODEMOD,
                    stale_reference_message(kind, old, new),
                )
            )

    MetadataWrapper(module.tree, unsafe_skip_copy=True).visit(Finder())
    return findings


def _job_callable(call: cst.Call, position: int, keyword: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    positional = [arg for arg in call.args if arg.keyword is None]
    if position >= len(positional) or any(arg.star for arg in positional[: position + 1]):
        return None
    return positional[position].value


def _moved_callable(
    module: ModuleInfo, references: References, target: cst.BaseExpression
) -> tuple[tuple[str, str], tuple[str, str]] | None:
    """((old module, name), (new module, name)) when the job's callable lives elsewhere now."""
    if isinstance(target, cst.SimpleString):
        value = target.evaluated_value
        parsed = parse_reference(value) if isinstance(value, str) else None
        if parsed is None:
            return None
        dotted, attribute = parsed
        qualified = f"{dotted}.{attribute}" if attribute else dotted
    else:
        written = get_full_name_for_node(target)
        if written is None:
            return None
        qualified = qualified_name(module, written)
    old_module, rest = references.split(qualified)
    if old_module is None or len(rest) != 1 or not references.world.changed(old_module):
        return None
    if not references.binds(old_module, rest[0]):
        return None
    where = references.world.home(old_module, rest[0])
    if where.name is None or (where.module, where.name) == (old_module, rest[0]):
        return None
    return (old_module, rest[0]), (where.module, where.name)
