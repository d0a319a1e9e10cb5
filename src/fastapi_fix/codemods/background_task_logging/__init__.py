"""Codemod background-task-logging: a failing background task logs its own name, and by
default no longer cancels the tasks queued after it.

Starlette runs a response's background tasks one after another, after the client already
has its response, with no try/except: the first failure stops every later task and reaches
the server log only as a generic "Exception in ASGI application". This codemod finds every
task handed to a ``BackgroundTasks`` (``add_task``) or built as a ``BackgroundTask``,
follows it to its function's definition in the project and wraps that body::

    try:
        <body>
    except Exception:
        logger.exception("Background task %s failed", "app.tasks.send_email")
        raise  # only with the ``reraise`` option

Steps: ``gather`` (stdlib ``ast``, ``facts``; the files that register tasks, then
those ``more_to_gather`` asks for) records task registrations, top-level functions and every
other use of a project name; ``build_index``
(here) resolves each task to its definition across modules and decides; ``transform``
(LibCST, here and ``logger``) wraps exactly the decided definitions and
reports, at the registration, every task it leaves for a person.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from fastapi_fix.codemods._build import call_statement, string_literal
from fastapi_fix.codemods.background_task_logging.facts import (
    BY_HAND,
    ModuleFacts,
    Registration,
    Use,
    bound_names,
    function_shape,
    gather_module,
)
from fastapi_fix.codemods.background_task_logging.logger import (
    insert_logger,
    insert_logging_import,
    is_docstring,
    module_logging,
    plan_logger,
)
from fastapi_fix.engine.codemod import (
    NO_FIXED_POINTS,
    Codemod,
    FileContext,
    FixedPoints,
    Option,
    SourceFile,
    Wanted,
    check_dotted_names,
    check_identifier,
)
from fastapi_fix.engine.positions import statement_positions
from fastapi_fix.engine.suppress import MARKER as SUPPRESSION_MARKER
from fastapi_fix.engine.suppress import find_suppressions
from fastapi_fix.project.resolver import Resolver, Value
from fastapi_fix.project.symbols import CallSite, FunctionFacts, Sym
from fastapi_fix.project.symbols import ModuleFacts as SymbolFacts

# -- what is reported (decided over the whole project) ------------------------------------

UNPARSED_FILE = (
    "this file uses syntax the running Python cannot parse: its background tasks were not "
    "checked; run fastapi-fix under a newer Python"
)


# Findings' kinds and their explanation, shown once after a terminal's list of findings.
TASK_OUTSIDE_PROJECT = "task-outside-project"
TASK_USED_ELSEWHERE = "task-used-elsewhere"
TASK_DECORATED = "task-decorated"
TASK_NOT_A_FUNCTION = "task-not-a-function"
KIND_DETAILS = {
    TASK_OUTSIDE_PROJECT: (
        "a background task defined outside the project (a library function) cannot be "
        "wrapped here: register a project function that calls it inside try/except with "
        "logger.exception, so that its failure is logged with its context"
    ),
    TASK_NOT_A_FUNCTION: (
        "the task is not a module-level function of the project (an attribute of an object, a "
        f"name this codemod cannot follow to its definition), so it cannot be wrapped: {BY_HAND}"
    ),
    TASK_DECORATED: (
        "the task's decorator may rely on the exceptions it raises (retries, transactions), so "
        f"it is not wrapped: {BY_HAND}, or list the decorator in the `protecting-decorators` "
        "option if it already logs failures"
    ),
    TASK_USED_ELSEWHERE: (
        "the task function is also called directly or used elsewhere; wrapping it would "
        "swallow errors for that caller: run with --reraise (logs, then re-raises), or "
        "register a separate task function that calls it"
    ),
}


class Problem(str):
    """A finding's whole text that also knows its kind and one-line summary (see `Finding`);
    a plain ``str`` everywhere else, so that the decisions need not know of it."""

    kind: str
    summary: str

    def __new__(cls, message: str, kind: str = "", summary: str = "") -> Problem:
        problem = super().__new__(cls, message)
        problem.kind, problem.summary = kind, summary
        return problem


def _short(qualified: str) -> str:
    """``app.services.mail.send`` → ``mail.send``: the one-line summary's name."""
    return ".".join(qualified.split(".")[-2:])


def _library(qualified: str) -> str:
    qualified = qualified.removeprefix("builtins.")
    return Problem(
        f"the task `{qualified}` is not defined in this project: register a project function "
        "that calls it inside try/except with logger.exception",
        TASK_OUTSIDE_PROJECT,
        f"task `{_short(qualified)}` is not defined in this project → see {TASK_OUTSIDE_PROJECT}",
    )


def _not_a_function(qualified: str) -> str:
    return Problem(
        f"the task `{qualified}` is not a module-level function of the project: {BY_HAND}",
        TASK_NOT_A_FUNCTION,
        f"task `{_short(qualified)}` is not a module-level function → see {TASK_NOT_A_FUNCTION}",
    )


def _generator(qualified: str, where: str) -> str:
    return (
        f"the task `{qualified}` ({where}) is a generator function: Starlette calls it and drops "
        "the generator, so its body never runs; make it a plain function"
    )


def _decorated(qualified: str, where: str, decorator: str) -> str:
    return Problem(
        f"the task `{qualified}` ({where}) is decorated with @{decorator}, which may rely on its "
        f"exceptions (retries, transactions): {BY_HAND}, or list the decorator in the "
        "`protecting-decorators` option if it already logs failures",
        TASK_DECORATED,
        f"task `{_short(qualified)}` is decorated with `@{_short(decorator)}` → see {TASK_DECORATED}",
    )


def _method(qualified: str, method: str, where: str) -> str:
    return Problem(
        f"the task `{qualified}` is the method `{method}` ({where}), which this codemod does "
        f"not rewrite: {BY_HAND}, or register a module-level function",
        TASK_NOT_A_FUNCTION,
        f"task `{_short(qualified)}` is a method → see {TASK_NOT_A_FUNCTION}",
    )


def _defined_twice(qualified: str, where: str) -> str:
    return f"the task `{qualified}` is bound more than once in {where}: {BY_HAND}"


def _in_unparsed(qualified: str, where: str) -> str:
    return f"the task `{qualified}` is in {where}, which the running Python cannot parse: {BY_HAND}"


def _ambiguous_module(qualified: str, module: str) -> str:
    return f"cannot tell which of several files named `{module}` defines the task `{qualified}`: {BY_HAND}"


def _used_elsewhere(qualified: str, where: str, call: bool) -> str:
    how = "called directly" if call else "used outside background tasks"
    return Problem(
        f"the task `{qualified}` is also {how} at {where}; wrapping it would swallow errors for "
        "that caller, so it is left as is: run with --reraise (logs, then re-raises), or register "
        "a separate task function that calls it",
        TASK_USED_ELSEWHERE,
        f"task `{_short(qualified)}` is also {how} at {where} → see {TASK_USED_ELSEWHERE}",
    )


def _no_logging(qualified: str) -> str:
    return (
        f"cannot wrap `{qualified}`: the name `logging` is taken in this module, so `import logging` "
        f"cannot be added; {BY_HAND}"
    )


# -- index ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingFinding:
    """A finding decided by `build_index`, reported by `transform` of the file it is in."""

    line: int
    column: int
    message: str
    kind: str = ""
    summary: str = ""


@dataclass
class TaskIndex:
    # Defining file → {function name: qualified task name} to wrap.
    wrap: dict[Path, dict[str, str]] = field(default_factory=dict)
    findings: dict[Path, list[PendingFinding]] = field(default_factory=dict)
    unparsed: frozenset[Path] = frozenset()


@dataclass
class _Needed:
    """Files a resolution reads, as `Wanted` names them: modules, and names as words."""

    modules: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)


class _Project:
    """What each task and each use names, through the project's `Resolver`: a top-level
    function of the project (its file and name), or the problem to report."""

    def __init__(
        self,
        facts: Mapping[SourceFile, ModuleFacts],
        unparsed: Sequence[SourceFile],
        needed: _Needed | None = None,
    ) -> None:
        self.facts = facts
        # Folders apps run from give several files one name (two services each importing
        # its `tasks`): each name, module name or alias, keeps every file that has it.
        self.files: dict[str, list[SourceFile]] = {}
        for file in (*facts, *unparsed):
            for name in (file.module_name, *file.aliases):
                self.files.setdefault(name, []).append(file)
        self.unparsed = set(unparsed)
        self.packages = {name.partition(".")[0] for name in self.files if name}
        symbols = {file: module_facts.symbols for file, module_facts in facts.items()}
        self.resolver = Resolver(symbols) if needed is None else _RecordingResolver(symbols, needed)
        self._sites: dict[SourceFile, dict[tuple[int, int], CallSite]] = {}

    def resolve_task(
        self, registration: Registration, file: SourceFile
    ) -> tuple[SourceFile, str] | str:
        """(defining file, function name) of a registration's task, or the problem message."""
        assert registration.task is not None
        site = self._site(file, registration.line, registration.column)
        task: Sym | None = None
        if site is not None:
            task = site.args[0] if site.args else dict(site.keywords).get("func")
        if task is None:
            task = ("ref", registration.task)
        value = self.resolver.resolve(task)
        if registration.bound and (value is None or value[0] != "func"):
            return registration.problem or _not_a_function(registration.task)
        return self._located(value, registration.task, file)

    def resolve(self, qualified: str, near: SourceFile) -> tuple[SourceFile, str] | str:
        """(defining file, function name) of a name used in ``near``, or the problem message."""
        symbol: Sym = ("near", near.module_name, qualified)
        return self._located(self.resolver.resolve(symbol), qualified, near)

    def _site(self, file: SourceFile, line: int, column: int) -> CallSite | None:
        if file not in self._sites:
            self._sites[file] = {
                (site.line, site.col): site
                for function in self.facts[file].symbols.functions
                for site in function.calls
            }
        return self._sites[file].get((line, column))

    def _located(
        self, value: Value | None, qualified: str, near: SourceFile
    ) -> tuple[SourceFile, str] | str:
        if value is not None and value[0] == "func":
            function = self.resolver.function_facts[value[1]]
            module = function.key[: -len(function.qualname) - 1]
            file = self._module_file(module, near) if module in self.files else None
            if file is None:
                return _ambiguous_module(qualified, module)
            if function.class_id is not None:
                return _method(qualified, function.key, _where(file, function.line))
            if function.qualname in self.facts[file].functions:
                return file, function.qualname
            return _not_a_function(qualified)
        unparsed = self._unparsed_module(qualified, near)
        if unparsed is not None:
            return _in_unparsed(qualified, unparsed.display_path)
        named = value[1] if value is not None and value[0] == "ext" else qualified
        in_project = value is not None and value[0] not in ("ext", "extinst", "extbound")
        if in_project or named.partition(".")[0] in self.packages:
            return _not_a_function(qualified)
        return _library(qualified)

    def _unparsed_module(self, qualified: str, near: SourceFile) -> SourceFile | None:
        """The file the running Python cannot parse that a name's module is, if any."""
        parts = qualified.split(".")
        for end in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:end])
            if module in self.files:
                file = self._module_file(module, near)
                return file if file in self.unparsed else None
        return None

    def _module_file(self, module: str, near: SourceFile) -> SourceFile | None:
        candidates = self.files[module]
        if len(candidates) == 1:
            return candidates[0]
        # Same module name in several folders: the one next to the user (`sys.path[0]`).
        return next((f for f in candidates if f.path.parent == near.path.parent), None)


class _RecordingResolver(Resolver[FunctionFacts]):
    """A `Resolver` that writes down, in ``needed``, the files its lookups read: every
    module a name may start with, and each name looked up in a module, as a word (so that
    every file of a module name several files share is found, to choose among them)."""

    def __init__(
        self, facts: Mapping[SourceFile, SymbolFacts[FunctionFacts]], needed: _Needed
    ) -> None:
        super().__init__(facts)
        self.needed = needed

    def _resolve_name(self, dotted: str) -> Value | None:
        parts = dotted.split(".")
        self.needed.modules.update(".".join(parts[:i]) for i in range(1, len(parts)))
        return super()._resolve_name(dotted)

    def _module_member(self, module: str, name: str) -> Value | None:
        self.needed.names.add(name)
        facts = self.modules[module]
        if name not in facts.symbols:
            for star in facts.star_imports:
                self.needed.modules.add(star)
        return super()._module_member(module, name)


def _reexported_as(facts: Mapping[SourceFile, ModuleFacts], names: set[str]) -> set[str]:
    """``names`` and every name a module imports one of them under (``from app.tasks import
    send_email as notify``), then those in turn: a use of a task ends in one of these."""
    imports = [
        (alias, target.rpartition(".")[2])
        for module_facts in facts.values()
        for alias, target in module_facts.imported.items()
    ]
    found = set(names)
    while more := {
        alias for alias, imported in imports if imported in found and alias not in found
    }:
        found |= more
    return found


def _where(file: SourceFile, line: int, column: int | None = None) -> str:
    return f"{file.display_path}:{line}" + (f":{column + 1}" if column is not None else "")


# -- transform: the wrapped body --------------------------------------------------------------


def _as_block(body: cst.BaseSuite) -> cst.IndentedBlock:
    """``def f(): a(); b()`` → the same statements as an indented block."""
    if isinstance(body, cst.IndentedBlock):
        return body
    assert isinstance(body, cst.SimpleStatementSuite)
    line = cst.SimpleStatementLine(body.body, trailing_whitespace=body.trailing_whitespace)
    return cst.IndentedBlock(body=[line])


def wrap_body(func: cst.FunctionDef, logger: str, task_name: str, reraise: bool) -> cst.FunctionDef:
    """The body after the docstring inside ``try:`` / ``except Exception:`` that logs the task."""
    block = _as_block(func.body)
    statements = list(block.body)
    head = [statements.pop(0)] if is_docstring(statements[0]) else []
    # Blank lines above the first statement go above the `try:`; comments stay with it.
    first = statements[0]
    assert isinstance(first, (cst.SimpleStatementLine, cst.BaseCompoundStatement))  # all are
    leading = list(first.leading_lines)
    blank = next((i for i, line in enumerate(leading) if line.comment is not None), len(leading))
    statements[0] = first.with_changes(leading_lines=leading[blank:])
    # Built, not formatted: the task's name comes from a file name, which may hold anything.
    log = call_statement(
        f"{logger}.exception",
        string_literal("Background task %s failed"),
        string_literal(task_name),
    )
    handler_body: list[cst.BaseStatement] = (
        [log, cst.SimpleStatementLine([cst.Raise()])] if reraise else [log]
    )
    wrapped = cst.Try(
        body=cst.IndentedBlock(statements, indent=block.indent, footer=block.footer),
        handlers=[
            cst.ExceptHandler(
                cst.IndentedBlock(handler_body, indent=block.indent), type=cst.Name("Exception")
            )
        ],
        leading_lines=leading[:blank],
    )
    return func.with_changes(body=block.with_changes(body=[*head, wrapped], footer=()))


# -- the codemod ------------------------------------------------------------------------------


class BackgroundTaskLogging(Codemod):
    name = "background-task-logging"
    summary = (
        "Wrap background task bodies in try/except that logs the failing task by name, so one "
        "failure no longer cancels the tasks after it."
    )
    safety = (
        "Rewrites only project functions registered as tasks; one that is also called directly is "
        "left alone unless --reraise (log, then re-raise)."
    )
    example = (
        "def send_email(to: str) -> None:\n    mailer.send(to)\n",
        "def send_email(to: str) -> None:\n    try:\n        mailer.send(to)\n    except Exception:\n"
        '        logger.exception("Background task %s failed", "app.tasks.send_email")\n',
    )
    markers = (b"add_task", b"BackgroundTask")
    # No task is registered anywhere: nothing to wrap or report, however many files there are.
    seed_markers = markers
    options = (
        Option(
            "reraise",
            False,
            "Re-raise after logging a failed background task (later tasks still stop).",
        ),
        Option(
            "logger-name",
            "logger",
            "Name of the module logger to reuse, or to create when there is none.",
            check=lambda name: check_identifier("logger-name", name),
        ),
        Option(
            "protecting-decorators",
            [],
            "Qualified names of decorators that already catch and log a task's "
            "failures; tasks decorated (or wrapped) with them are left alone.",
            check=lambda names: check_dotted_names("protecting-decorators", names),
        ),
    )

    def gather(self, file: SourceFile, tree: ast.Module) -> ModuleFacts:
        return gather_module(file, tree, frozenset(self.option("protecting-decorators")))

    def more_to_gather(self, facts: Mapping[SourceFile, ModuleFacts]) -> Wanted:
        """Tasks are registered only in files with the markers (the first round); what
        `build_index` reads of other files, round after round:

        - where each task is defined: every module its name may start with, along its
          re-exports, and the name each hop looks up, as a word (`_Project.resolve`);
        - for a task it would wrap, every file that may use it: its name, or a name it is
          re-exported under, as a word (a direct use anywhere keeps it unwrapped), and where
          those uses lead in turn.
        """
        needed = _Needed()
        project = _Project(facts, (), needed)
        tasks: set[str] = set()
        for file, module_facts in facts.items():
            for registration in module_facts.registrations:
                if registration.task is None:
                    continue
                resolved = project.resolve_task(registration, file)
                if isinstance(resolved, tuple) and self._decide(project, *resolved)[0]:
                    tasks.add(resolved[1])
        if tasks and not self.option("reraise"):
            names = _reexported_as(facts, tasks)
            needed.names |= names
            for file, module_facts in facts.items():
                for qualified in module_facts.uses:
                    if qualified.rpartition(".")[2] in names:
                        project.resolve(qualified, file)
        return Wanted(frozenset(needed.names), frozenset(needed.modules))

    def build_index(
        self,
        facts: Mapping[SourceFile, ModuleFacts],
        unparsed: Sequence[SourceFile],
        fixed: FixedPoints = NO_FIXED_POINTS,
    ) -> TaskIndex:
        # `fixed` changes nothing here: a task's definition is wrapped in its own file and
        # nothing elsewhere changes with it (the registrations stay as they are).
        project = _Project(facts, unparsed)
        index = TaskIndex(unparsed=frozenset(f.path for f in unparsed))
        tasks: dict[tuple[SourceFile, str], list[tuple[SourceFile, Registration]]] = {}
        for file, module_facts in facts.items():
            for registration in module_facts.registrations:
                problem = registration.problem
                if registration.task is not None:
                    resolved = project.resolve_task(registration, file)
                    if isinstance(resolved, str):
                        problem = resolved
                    else:
                        wrap, problem = self._decide(project, *resolved)
                        if wrap:
                            tasks.setdefault(resolved, []).append((file, registration))
                if problem is not None:
                    self._report(index, file, registration, problem)
        used = {} if self.option("reraise") else self._direct_uses(project, set(tasks))
        for (file, name), registrations in tasks.items():
            qualified = f"{file.module_name}.{name}" if file.module_name else name
            if (file, name) in used:
                user, use = used[(file, name)]
                message = _used_elsewhere(qualified, _where(user, use.line, use.column), use.call)
                for registration_file, registration in registrations:
                    self._report(index, registration_file, registration, message)
            else:
                index.wrap.setdefault(file.path, {})[name] = qualified
        return index

    def _decide(self, project: _Project, file: SourceFile, name: str) -> tuple[bool, str | None]:
        """Whether to wrap a task's definition, and what to report when it cannot be."""
        function = project.facts[file].functions[name]
        qualified = f"{file.module_name}.{name}" if file.module_name else name
        where = _where(file, function.line)
        protecting = set(self.option("protecting-decorators"))
        if (
            function.shape.protected
            or function.shape.trivial
            or protecting.intersection(function.decorators)
        ):
            return False, None
        if function.defined_twice:
            return False, _defined_twice(qualified, file.display_path)
        if function.shape.generator:
            return False, _generator(qualified, where)
        if function.decorators:
            return False, _decorated(qualified, where, function.decorators[0])
        return True, None

    @staticmethod
    def _direct_uses(
        project: _Project, tasks: set[tuple[SourceFile, str]]
    ) -> dict[tuple[SourceFile, str], tuple[SourceFile, Use]]:
        """For each task, its first use anywhere that is not a task registration."""
        found: dict[tuple[SourceFile, str], tuple[SourceFile, Use]] = {}
        for file, module_facts in project.facts.items():
            for qualified, use in module_facts.uses.items():
                if qualified.partition(".")[0] not in project.packages:
                    continue
                resolved = project.resolve(qualified, file)
                if isinstance(resolved, tuple) and resolved in tasks:
                    known = found.get(resolved)
                    if known is None or (use.call and not known[1].call):
                        found[resolved] = (file, use)
        return found

    @staticmethod
    def _report(
        index: TaskIndex, file: SourceFile, registration: Registration, message: str
    ) -> None:
        kind, summary = (
            (message.kind, message.summary) if isinstance(message, Problem) else ("", "")
        )
        finding = PendingFinding(
            registration.line, registration.column, str(message), kind, summary
        )
        index.findings.setdefault(file.path, []).append(finding)

    def targets(self, index: TaskIndex) -> set[Path]:
        return set(index.wrap) | set(index.findings)

    def file_plan(self, index: TaskIndex, file: SourceFile) -> object:
        path = file.path
        return (path in index.unparsed, index.findings.get(path), index.wrap.get(path))

    def transform(self, ctx: FileContext, module: cst.Module, index: TaskIndex) -> cst.Module:
        self._report_findings(ctx, module, index)
        tasks = index.wrap.get(ctx.file.path)
        return self._wrap_tasks(ctx, module, tasks) if tasks else module

    def _suppressed_lines(self, module: cst.Module) -> set[int]:
        """Lines under ``# fastapi-fix: ignore`` for this codemod."""
        if SUPPRESSION_MARKER.decode() not in module.code:
            return set()
        return {
            line
            for suppression in find_suppressions(module)
            if suppression.applies_to(self.name)
            for line in range(suppression.first, suppression.last + 1)
        }

    @staticmethod
    def _report_findings(ctx: FileContext, module: cst.Module, index: TaskIndex) -> None:
        if ctx.file.path in index.unparsed:
            ctx.report(1, 0, UNPARSED_FILE)
        findings = index.findings.get(ctx.file.path, [])
        lines = module.code.splitlines() if findings else []
        for finding in findings:
            # `ast` columns count UTF-8 bytes; findings count characters.
            text = lines[finding.line - 1] if finding.line <= len(lines) else ""
            column = len(text.encode()[: finding.column].decode(errors="ignore"))
            ctx.report(
                finding.line,
                column,
                finding.message,
                kind=finding.kind,
                summary=finding.summary,
                detail=KIND_DETAILS.get(finding.kind, ""),
            )

    def _wrap_tasks(
        self, ctx: FileContext, module: cst.Module, tasks: Mapping[str, str]
    ) -> cst.Module:
        candidates = [
            (position, statement, module.code_for_node(statement))
            for position, statement in enumerate(module.body)
            if isinstance(statement, cst.FunctionDef) and statement.name.value in tasks
        ]
        # A suppression that reaches a function's lines is written in its code: without one,
        # neither the whole module's suppressions nor its positions are needed.
        marked = any(SUPPRESSION_MARKER.decode() in code for _, _, code in candidates)
        suppressed = self._suppressed_lines(module) if marked else set()
        positions = statement_positions(module, [s for _, s, _ in candidates] if marked else [])
        chosen: list[tuple[int, cst.FunctionDef, set[str]]] = []
        for position, statement, code in candidates:
            if suppressed:
                span = positions[statement]
                if suppressed.intersection(range(span.start.line, span.end.line + 1)):
                    continue  # left whole, so no logger is added for it either
            parsed = ast.parse(code).body[0]
            assert isinstance(parsed, (ast.FunctionDef, ast.AsyncFunctionDef))
            shape = function_shape(parsed)
            # Checked again here: the engine re-applies this step to its own output.
            if not (shape.protected or shape.trivial or shape.generator):
                chosen.append((position, statement, bound_names(parsed)))
        if not chosen:
            return module
        if not marked:
            positions = statement_positions(module, [statement for _, statement, _ in chosen])
        shadowed = set().union(*(names for _, _, names in chosen))
        plan = plan_logger(module, shadowed, self.option("logger-name"))
        if plan is None:
            for _, statement, _ in chosen:
                start = positions[statement.name].start
                ctx.report(start.line, start.column, _no_logging(tasks[statement.name.value]))
            return module
        body = list(module.body)
        for position, statement, _ in chosen:
            task_name = tasks[statement.name.value]
            body[position] = wrap_body(statement, plan.name, task_name, self.option("reraise"))
            span = positions[statement]
            ctx.record_edit(
                span.start.line, span.end.line, f"background task {task_name} logs its failure"
            )
        if plan.create:
            first = chosen[0][0]
            imported_at = min(module_logging(body).get_logger.values(), default=None)
            if plan.import_logging:
                imported_at = insert_logging_import(body, first)
                first += 1
            insert_logger(body, plan.create, first, -1 if imported_at is None else imported_at)
        return module.with_changes(body=body)
