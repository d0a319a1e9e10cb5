"""Codemod layered-layout: move a flat or single-file app into layers.

::

    app/main.py                        app = FastAPI(), middleware, lifespan, include_router
    app/api/v1/routes.py               (routes/<name>.py when there are several routers)
    app/api/v1/schemas.py, dependencies.py
    app/core/config.py, security.py, db.py
    app/services/<entity>_service.py
    app/models/<entity>.py + models/__init__.py importing every model

It plans (an editable TOML plan), then moves whole modules (``git mv``) or splits modules
that mix layers definition by definition, and rewrites every import and string reference
in the project. It never runs unless selected by name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi_fix.engine.codemod import Option, ProjectCodemod, SourceFile, check_identifier

if TYPE_CHECKING:
    from fastapi_fix.codemods.layered_layout.project_index import ProjectIndex
    from fastapi_fix.engine.project_change import ProjectChange


class LayeredLayout(ProjectCodemod):
    name = "layered-layout"
    summary = (
        "Move a flat or single-file app into api/v1 (routes, schemas, dependencies), core, services "
        "and models, rewriting every import and string reference"
    )
    safety = (
        "Plans first (--dry-run, --write-plan); applies all or nothing, refuses a dirty git tree, "
        "uses git mv; never creates an import cycle; reports what it cannot rewrite"
    )
    example = (
        "# main.py\napp = FastAPI()\n\nclass UserOut(BaseModel):\n    id: int\n\n@app.get('/users')\ndef users(): ...\n",
        "# app/api/v1/schemas.py\nclass UserOut(BaseModel):\n    id: int\n\n"
        "# app/api/v1/routes.py\nrouter = APIRouter()\n\n@router.get('/users')\ndef users(): ...\n",
    )
    options = (
        Option("plan", "", "apply (or --dry-run) this edited plan file (TOML) instead of planning"),
        Option("write-plan", "", "write the plan to this TOML file and change nothing"),
        Option("allow-dirty", False, "apply even when the git tree has uncommitted changes"),
        Option(
            "layout-force",
            False,
            "plan even when the project is already layered or organised by domain",
        ),
        Option(
            "package-name",
            "app",
            "the package a single-file app moves into",
            check=lambda name: check_identifier("package-name", name),
        ),
    )

    # The project's files as planned (named from the run folder) and that folder: the
    # import gate after applying checks the same imports as after planning.
    _gate: tuple[list[SourceFile], Path] | None = None

    def plan_project(self, root: Path, files: Sequence[SourceFile]) -> ProjectChange:
        # Imported here: the registry imports every codemod, and the CLI lists them and builds
        # its options without the layout machinery (start-up).
        from fastapi_fix.codemods.layered_layout import plan_file
        from fastapi_fix.codemods.layered_layout.plan import needs_analysis, propose
        from fastapi_fix.codemods.layered_layout.project_index import ProjectError, load_project
        from fastapi_fix.codemods.layered_layout.realize import realize
        from fastapi_fix.engine.project_change import ProjectChange, fingerprint

        if self.option("write-plan"):  # refused before any work: it may not overwrite a file
            plan_file.check_plan_target(Path(self.option("write-plan")))
        try:
            project = load_project(
                root,
                files,
                # A plan file says what to do: every module it names is needed.
                None
                if self.option("plan")
                else lambda index: needs_analysis(index, self.option("layout-force")),
            )
        except ProjectError as exc:
            change = ProjectChange(root)
            # A refusal (a file that does not parse, ...) fails the run; "nothing here" does not.
            (change.errors if exc.refused else change.notes).append(str(exc))
            change.refused = exc.usage
            return change
        plan_path = self.option("plan")
        digest = fingerprint(project.root, list(project.sources))
        if plan_path:
            plan = plan_file.load(Path(plan_path))  # PlanFileError: a usage error
            if plan.fingerprint and plan.fingerprint != digest:
                change = ProjectChange(root)
                change.errors.append(
                    f"{plan_path}: the project changed since this plan was written; plan again"
                )
                return change
            classifier = None
        else:
            plan, planner = propose(
                project, self.option("package-name"), self.option("layout-force")
            )
            plan.fingerprint = digest
            classifier = planner.classifier
        change = realize(project, plan, classifier)
        change.plan_text = plan_file.dumps(plan)
        self._gate = (gate_files(project, files), project.root / project.run_folder)
        change.errors.extend(broken_imports(change, *self._gate))
        return change

    def verify_applied(self, change: ProjectChange) -> list[str]:
        """The same import gate on the files as they are on disk once the change is applied."""
        if self._gate is None:
            return []
        return unresolved_imports(change, *self._gate, read=_read_disk)


def gate_files(project: ProjectIndex, files: Sequence[SourceFile]) -> list[SourceFile]:
    """Every file of the project (those the layout skips too: they import as well), named
    from the folder the app runs from."""
    from fastapi_fix.codemods.layered_layout.run_folder import named_from

    inside = [f for f in files if project.root in f.path.parents]
    rel_paths = {f: f.path.relative_to(project.root).as_posix() for f in inside}
    return named_from(inside, rel_paths, project.run_folder)


def broken_imports(
    change: ProjectChange, files: Sequence[SourceFile], run_folder: Path
) -> list[str]:
    """The static import gate on the planned change (moved files by their new paths), from
    the folder the app runs from: a plan that leaves a project import unresolved is
    refused, its imports listed."""
    problems = unresolved_imports(change, files, run_folder)
    if not problems:
        return []
    return [
        "the planned change would leave imports that no longer resolve; nothing was changed:\n  "
        + "\n  ".join(problems)
    ]


def unresolved_imports(
    change: ProjectChange,
    files: Sequence[SourceFile],
    run_folder: Path,
    read: Callable[[Path], bytes | None] | None = None,
) -> list[str]:
    """``path:line:col: ...`` for each project import the change leaves unresolved from
    ``run_folder``; ``read``: the new contents from disk (after applying) instead of the plan."""
    from fastapi_fix.engine.import_gate import ImportGate

    root = change.root
    return ImportGate(files, root, import_root=run_folder).check(
        {
            root / f.new_path: (read(root / f.new_path) if read else None) or f.new or b""
            for f in change.files
            if f.new_path and f.new is not None
        },
        {
            root / f.old_path: root / f.new_path
            for f in change.files
            if f.kind == "move" and f.old_path and f.new_path
        },
        [root / f.old_path for f in change.files if f.kind == "delete" and f.old_path],
    )


def _read_disk(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None
