"""background-task-logging, step 2 (main process): each task resolved to its definition
across modules, and what to wrap or report (`TaskIndex`), with the findings' texts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fastapi_fix.codemods.background_task_logging.facts import BY_HAND, ModuleFacts, Registration
from fastapi_fix.engine.codemod import SourceFile
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


def generator_problem(qualified: str, where: str) -> str:
    return (
        f"the task `{qualified}` ({where}) is a generator function: Starlette calls it and drops "
        "the generator, so its body never runs; make it a plain function"
    )


def decorated_problem(qualified: str, where: str, decorator: str) -> str:
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


def defined_twice_problem(qualified: str, where: str) -> str:
    return f"the task `{qualified}` is bound more than once in {where}: {BY_HAND}"


def _in_unparsed(qualified: str, where: str) -> str:
    return f"the task `{qualified}` is in {where}, which the running Python cannot parse: {BY_HAND}"


def _ambiguous_module(qualified: str, module: str) -> str:
    return f"cannot tell which of several files named `{module}` defines the task `{qualified}`: {BY_HAND}"


def used_elsewhere_problem(qualified: str, where: str, call: bool) -> str:
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
class Needed:
    """Files a resolution reads, as `Wanted` names them: modules, and names as words."""

    modules: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)


class TaskProject:
    """What each task and each use names, through the project's `Resolver`: a top-level
    function of the project (its file and name), or the problem to report."""

    def __init__(
        self,
        facts: Mapping[SourceFile, ModuleFacts],
        unparsed: Sequence[SourceFile],
        needed: Needed | None = None,
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
                return _method(qualified, function.key, place_of(file, function.line))
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
        self, facts: Mapping[SourceFile, SymbolFacts[FunctionFacts]], needed: Needed
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


def reexported_as(facts: Mapping[SourceFile, ModuleFacts], names: set[str]) -> set[str]:
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


def place_of(file: SourceFile, line: int, column: int | None = None) -> str:
    return f"{file.display_path}:{line}" + (f":{column + 1}" if column is not None else "")
