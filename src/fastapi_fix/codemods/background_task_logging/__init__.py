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
(``index``) resolves each task to its definition across modules and decides; ``transform``
(LibCST, ``rewrite`` and ``logger``) wraps exactly the decided definitions and
reports, at the registration, every task it leaves for a person.

Each step imports its modules when it first runs: the CLI builds its options from this
class and lists the codemods without importing LibCST or the project model (start-up).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    import libcst as cst

    from fastapi_fix.codemods.background_task_logging.facts import ModuleFacts, Registration, Use
    from fastapi_fix.codemods.background_task_logging.index import TaskIndex, TaskProject


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
    implementation = (
        "fastapi_fix.codemods.background_task_logging.facts",
        "fastapi_fix.codemods.background_task_logging.index",
        "fastapi_fix.codemods.background_task_logging.rewrite",
        "fastapi_fix.engine.positions",
        "fastapi_fix.engine.suppress",
    )
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
        from fastapi_fix.codemods.background_task_logging.facts import gather_module

        return gather_module(file, tree, frozenset(self.option("protecting-decorators")))

    def more_to_gather(self, facts: Mapping[SourceFile, ModuleFacts]) -> Wanted:
        """Tasks are registered only in files with the markers (the first round); what
        `build_index` reads of other files, round after round:

        - where each task is defined: every module its name may start with, along its
          re-exports, and the name each hop looks up, as a word (`TaskProject.resolve`);
        - for a task it would wrap, every file that may use it: its name, or a name it is
          re-exported under, as a word (a direct use anywhere keeps it unwrapped), and where
          those uses lead in turn.
        """
        from fastapi_fix.codemods.background_task_logging.index import (
            Needed,
            TaskProject,
            reexported_as,
        )

        needed = Needed()
        project = TaskProject(facts, (), needed)
        tasks: set[str] = set()
        for file, module_facts in facts.items():
            for registration in module_facts.registrations:
                if registration.task is None:
                    continue
                resolved = project.resolve_task(registration, file)
                if isinstance(resolved, tuple) and self._decide(project, *resolved)[0]:
                    tasks.add(resolved[1])
        if tasks and not self.option("reraise"):
            names = reexported_as(facts, tasks)
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
        from fastapi_fix.codemods.background_task_logging.index import (
            TaskIndex,
            TaskProject,
            place_of,
            used_elsewhere_problem,
        )

        project = TaskProject(facts, unparsed)
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
                message = used_elsewhere_problem(
                    qualified, place_of(user, use.line, use.column), use.call
                )
                for registration_file, registration in registrations:
                    self._report(index, registration_file, registration, message)
            else:
                index.wrap.setdefault(file.path, {})[name] = qualified
        return index

    def _decide(self, project: TaskProject, file: SourceFile, name: str) -> tuple[bool, str | None]:
        """Whether to wrap a task's definition, and what to report when it cannot be."""
        from fastapi_fix.codemods.background_task_logging.index import (
            decorated_problem,
            defined_twice_problem,
            generator_problem,
            place_of,
        )

        function = project.facts[file].functions[name]
        qualified = f"{file.module_name}.{name}" if file.module_name else name
        where = place_of(file, function.line)
        protecting = set(self.option("protecting-decorators"))
        if (
            function.shape.protected
            or function.shape.trivial
            or protecting.intersection(function.decorators)
        ):
            return False, None
        if function.defined_twice:
            return False, defined_twice_problem(qualified, file.display_path)
        if function.shape.generator:
            return False, generator_problem(qualified, where)
        if function.decorators:
            return False, decorated_problem(qualified, where, function.decorators[0])
        return True, None

    @staticmethod
    def _direct_uses(
        project: TaskProject, tasks: set[tuple[SourceFile, str]]
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
        from fastapi_fix.codemods.background_task_logging.index import PendingFinding, Problem

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
        from fastapi_fix.engine.suppress import MARKER as SUPPRESSION_MARKER
        from fastapi_fix.engine.suppress import find_suppressions

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
        from fastapi_fix.codemods.background_task_logging.index import KIND_DETAILS, UNPARSED_FILE

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
        import libcst as cst

        from fastapi_fix.codemods.background_task_logging.facts import bound_names, function_shape
        from fastapi_fix.codemods.background_task_logging.index import _no_logging
        from fastapi_fix.codemods.background_task_logging.logger import (
            insert_logger,
            insert_logging_import,
            module_logging,
            plan_logger,
        )
        from fastapi_fix.codemods.background_task_logging.rewrite import wrap_body
        from fastapi_fix.engine.positions import statement_positions
        from fastapi_fix.engine.suppress import MARKER as SUPPRESSION_MARKER

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
