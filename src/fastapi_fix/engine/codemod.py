"""The contract between the engine and a codemod.

The engine knows codemods only through this interface. A codemod runs in up to three
steps, so that a large project is parsed by LibCST only where something will change:

1. ``gather`` (parallel, stdlib ``ast``): facts about one file, for every file whose
   bytes pass ``wants_gather``, then in further rounds for the files that
   ``more_to_gather`` asks for in the light of the facts so far (where a dependency is
   defined, who calls a function), so a project is parsed only where it matters;
2. ``build_index`` (main process): merge the facts into a project index, and
   ``targets``: which files the codemod has to rewrite. The index is told the run's
   `FixedPoints`: the files this run will not write. A rewrite of one file that needs a
   rewrite of another (an alias it imports from there) is planned only when the other may
   be written; otherwise the index plans around it (the use is written out in full);
3. ``transform`` (parallel, LibCST): rewrite one target file, reporting what it leaves.
"""

from __future__ import annotations

import ast
import importlib
import keyword
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from fastapi_fix.engine.results import Edit, Finding

if TYPE_CHECKING:  # LibCST only in annotations: the CLI starts without importing it
    import libcst as cst

    from fastapi_fix.engine.project_change import ProjectChange


@dataclass(frozen=True)
class SourceFile:
    path: Path
    display_path: str
    module_name: str
    # Other names imports reach this file by: from a folder an app runs from, when the
    # module name had to be another one (two services each with a `tasks.py`, both
    # `import tasks`). An importer's own folder tells which file such a name means.
    aliases: tuple[str, ...] = ()

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"

    @property
    def package(self) -> str:
        """The package that relative imports in this file start from."""
        if self.is_package:
            return self.module_name
        return self.module_name.rpartition(".")[0]


@dataclass(frozen=True)
class Option:
    """A codemod setting, read from ``[tool.fastapi-fix.<codemod>]`` or the command line."""

    name: str
    default: Any
    help: str
    # Further checks of a value of the right type: raises `ValueError` naming what is wrong
    # (checked before the run starts, so a bad value is a usage error, not a failure per file).
    check: Callable[[Any], None] | None = field(default=None, compare=False)

    def validate(self, value: Any) -> Any:
        expected = type(self.default)
        if expected is list:
            if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise ValueError(f"{self.name} must be a list of strings")
        elif not isinstance(value, expected):
            raise ValueError(f"{self.name} must be a {expected.__name__}")
        if self.check is not None:
            self.check(value)
        return value


def check_identifier(option: str, value: str) -> None:
    """`ValueError` unless ``value`` can be a Python name (the tool writes it into code)."""
    if not value.isidentifier() or keyword.iskeyword(value):
        raise ValueError(f"{option} must be a Python identifier (got {value!r})")


def check_patterns(option: str, patterns: Sequence[str]) -> None:
    """`ValueError` for a pattern that can match no qualified name (empty, or with spaces)."""
    for pattern in patterns:
        if not pattern or any(character.isspace() for character in pattern):
            raise ValueError(f"{option}: {pattern!r} is not a pattern such as mylib.Client.*")


def check_dotted_names(option: str, values: Sequence[str]) -> None:
    """`ValueError` unless every value is a dotted name such as ``pkg.module.name``."""
    for value in values:
        if not all(part.isidentifier() for part in value.split(".")):
            raise ValueError(f"{option}: {value!r} is not a dotted name such as pkg.module.name")


@dataclass(frozen=True)
class Wanted:
    """Files a codemod needs the facts of, found without parsing: every file whose source
    holds one of ``names`` as a word, every file holding all the words of one of the
    ``together`` groups (a name *and* the module it comes from), every file of a module
    inside a package holding all the words of a group ``within`` it (``(package, group)``:
    a relative import names less of a module), and the files of ``modules`` (dotted)."""

    names: frozenset[str] = frozenset()
    modules: frozenset[str] = frozenset()
    together: frozenset[frozenset[str]] = frozenset()
    within: frozenset[tuple[str, frozenset[str]]] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.names or self.modules or self.together or self.within)


@dataclass(frozen=True)
class FixedPoints:
    """The files this run will not write, each with the reason, known before any index is built.

    Not named on the command line (the project's other files, read for context), excluded,
    read-only or outside the paths given, ``@generated``, skipped or failed when read
    (undecodable, a syntax error), and, for one codemod, files holding a
    ``# fastapi-fix: ignore`` that applies to it: the engine may put back any part of
    their rewrite, so nothing another file needs may be planned there.

    A codemod's index plans around them: it never plans, in a file that will be written,
    something that only works if a fixed file changes too (an alias imported from a
    provider that will not define it). It does not need to plan anything for them.
    """

    reasons: Mapping[Path, str] = field(default_factory=dict)

    def writable(self, path: Path) -> bool:
        return path not in self.reasons

    def reason(self, path: Path) -> str | None:
        return self.reasons.get(path)

    def __bool__(self) -> bool:
        return bool(self.reasons)


NO_FIXED_POINTS = FixedPoints()


@dataclass(frozen=True)
class Settings:
    """Settings shared by every codemod of one run."""

    target_version: tuple[int, int] | None = None
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


class FileContext:
    """What a codemod sees of the file it transforms, and where it records its work."""

    def __init__(self, file: SourceFile, codemod: str) -> None:
        self.file = file
        self.codemod = codemod
        self.findings: list[Finding] = []
        self.edits: list[Edit] = []
        # Other files whose new content this file's new content needs (the alias it imports
        # from there, say): the engine writes them together or not at all.
        self.requires: set[Path] = set()
        # Findings of earlier codemods this one's rewrite answers: (codemod, kind, line).
        self.answered: set[tuple[str, str, int]] = set()

    def report(
        self,
        line: int,
        column: int,
        message: str,
        *,
        kind: str = "",
        summary: str = "",
        detail: str = "",
    ) -> None:
        """A place the codemod leaves alone; ``column`` is 0-based, shown 1-based.
        ``message`` is the whole text; ``kind``, ``summary``, ``detail``: see `Finding`."""
        self.findings.append(
            Finding(
                self.file.display_path,
                line,
                column + 1,
                self.codemod,
                message,
                kind,
                summary,
                detail,
            )
        )

    def record_edit(self, line: int, end_line: int, description: str = "") -> None:
        self.edits.append(Edit(self.codemod, line, end_line, description))

    def answer(self, codemod: str, kind: str, line: int) -> None:
        """A finding of ``codemod`` of this ``kind`` at ``line`` (of the file as read) is
        answered by this codemod, which fixed the place or reported it more precisely: the
        engine drops it (async-to-sync's "run it in the threadpool" once
        blocking-to-threadpool has). Codemods later in the registry answer earlier ones."""
        self.answered.add((codemod, kind, line))

    def require(self, path: Path) -> None:
        """This file's rewrite is only right if ``path``'s rewrite is written with it."""
        if path != self.file.path:
            self.requires.add(path)


# The changes to the API a codemod may declare it makes on purpose (`Codemod.allowed_api_changes`):
# "added-responses": an operation's ``responses`` gains status codes (nothing else changes).
ADDED_RESPONSES = "added-responses"


class Codemod:
    """Base class of every codemod. Subclasses set the class attributes and override steps."""

    name: ClassVar[str]
    summary: ClassVar[str]
    safety: ClassVar[str]
    # Example for the README's codemod table: (before, after).
    example: ClassVar[tuple[str, str]] = ("", "")
    # A file containing none of these byte strings is never parsed for this codemod.
    markers: ClassVar[tuple[bytes, ...]] = ()
    # When set: a project where no file contains any of these byte strings gives this codemod
    # nothing to do anywhere, so the engine skips it (no gather, no index, no transform).
    # Lets a codemod that gathers every file skip the whole project cheaply.
    seed_markers: ClassVar[tuple[bytes, ...]] = ()
    options: ClassVar[tuple[Option, ...]] = ()
    # Runs when no codemod is selected by name.
    default_enabled: ClassVar[bool] = True
    # Changes to the API this codemod makes on purpose, which ``--verify`` then accepts (the
    # names `engine.verify` knows, such as `ADDED_RESPONSES`); every other change rolls back.
    allowed_api_changes: ClassVar[frozenset[str]] = frozenset()
    # The modules the steps import when they first run rather than with the class (the CLI
    # lists the codemods and builds its options without them: start-up; a run the cache
    # replays never needs them). `load` imports them before any worker process starts:
    # forked workers then share them instead of each importing its own.
    implementation: ClassVar[tuple[str, ...]] = ()

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        given = self.settings.options.get(self.name, {})
        self.option_values = {opt.name: given.get(opt.name, opt.default) for opt in self.options}

    def load(self) -> None:
        """Import what the steps run (`implementation`)."""
        for module in self.implementation:
            importlib.import_module(module)

    def option(self, name: str) -> Any:
        return self.option_values[name]

    def cache_key(self) -> object:
        """What of this codemod's settings can change what it finds (a key of the run cache,
        `engine.cache`): its name, its options and the target version."""
        return (self.name, sorted(self.option_values.items()), self.settings.target_version)

    def external_state(self, files: Sequence[SourceFile]) -> object:
        """What this codemod reads besides the bytes of ``files`` (the project's metadata, say),
        as a value equal from run to run while that stays the same: a cached run is replayed
        only then (`engine.cache`). Computed on every run, so it must be cheap."""
        return None

    def may_apply(self, source: bytes) -> bool:
        return any(marker in source for marker in self.markers)

    def wants_gather(self, source: bytes) -> bool:
        return self.may_apply(source)

    def seeded_by(self, source: bytes) -> bool:
        """Whether this file gives the codemod something to do in the project (see ``seed_markers``)."""
        return not self.seed_markers or any(marker in source for marker in self.seed_markers)

    def gather(self, file: SourceFile, tree: ast.Module) -> Any:
        """Facts about one file (picklable). ``None`` means nothing of interest."""
        return None

    def more_to_gather(self, facts: Mapping[SourceFile, Any]) -> Wanted:
        """After each gather round, given every fact so far: the further files to gather.

        The engine gathers those not gathered yet and asks again, until nothing new is wanted.
        """
        return Wanted()

    def build_index(
        self,
        facts: Mapping[SourceFile, Any],
        unparsed: Sequence[SourceFile],
        fixed: FixedPoints = NO_FIXED_POINTS,
    ) -> Any:
        """Merge the facts of every file. ``unparsed``: files stdlib ``ast`` rejected;
        ``fixed``: files this run will not write (see `FixedPoints`), passed by keyword."""
        return None

    def targets(self, index: Any) -> Collection[Path] | None:
        """Files to transform; ``None`` means every file that ``may_apply``."""
        return None

    def file_plan(self, index: Any, file: SourceFile) -> object:
        """Everything ``transform`` reads of ``index`` for ``file``, as plain data (dataclasses,
        tuples, sets, mappings, strings, numbers, paths). The engine keeps a transform's result
        for the file's bytes and this plan, and reuses it while both stay the same: an edit
        elsewhere that leaves the plan as it was re-transforms nothing here. None: the plan
        cannot be told apart this way (the default), so the transform is never reused."""
        return None

    def transform(self, ctx: FileContext, module: cst.Module, index: Any) -> cst.Module:
        raise NotImplementedError


class ProjectCodemod(Codemod):
    """A codemod that plans a change of the whole project instead of rewriting files one by
    one. The per-file pipeline never runs it (no markers). Its change and how it is applied:
    `engine.project_change`, which only a run imports (start-up)."""

    markers = ()
    default_enabled = False

    def plan_project(self, root: Path, files: Sequence[SourceFile]) -> ProjectChange:
        raise NotImplementedError

    def transform(self, ctx: FileContext, module: cst.Module, index: Any) -> cst.Module:
        return module

    def verify_applied(self, change: ProjectChange) -> list[str]:
        """Problems with ``change`` once it is on disk (before the run ends): each rolls
        the whole change back."""
        return []
