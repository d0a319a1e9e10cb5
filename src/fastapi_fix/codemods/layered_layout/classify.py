"""Which layer each top-level definition belongs to, decided by qualified names: resolved
base classes (across modules: a project ``DispatchBase(BaseModel)`` is still pydantic),
decorators, calls, and ``Depends()`` use anywhere in the package.

For functions the precedence is route > dependency > security > service; constants and
helpers get no layer here (``None``): the planner puts them at the lowest layer that uses
them.
"""

from __future__ import annotations

import enum
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import libcst as cst

from fastapi_fix.codemods.layered_layout.index import Kind, ModuleInfo, Statement
from fastapi_fix.codemods.layered_layout.project_index import FASTAPI_CLASSES, ProjectIndex
from fastapi_fix.project.blocking import Catalogue
from fastapi_fix.project.fastapi import DEPENDENCY_FUNCTIONS, ROUTE_DECORATORS, param_function


class Layer(enum.IntEnum):
    """Lowest first: a module may import from its own layer and the ones below."""

    CONFIG = 0
    DB = 1
    MODELS = 2
    SCHEMAS = 3
    SECURITY = 4
    SERVICES = 5
    DEPENDENCIES = 6
    ROUTES = 7
    MAIN = 8

    @property
    def label(self) -> str:
        return self.name.lower()


ROUTER_CLASSES = frozenset({"fastapi.APIRouter", "fastapi.routing.APIRouter"})
DECLARATIVE_BASES = frozenset(
    {
        "sqlalchemy.orm.DeclarativeBase",
        "sqlalchemy.orm.DeclarativeBaseNoMeta",
        "sqlalchemy.orm.decl_api.DeclarativeBase",
        "sqlalchemy.orm.decl_api.DeclarativeBaseNoMeta",
    }
)
DECLARATIVE_FACTORIES = frozenset(
    {
        "sqlalchemy.orm.declarative_base",
        "sqlalchemy.ext.declarative.declarative_base",
        "sqlalchemy.orm.decl_api.declarative_base",
    }
)
DECLARATIVE_DECORATORS = frozenset(
    {"sqlalchemy.orm.as_declarative", "sqlalchemy.ext.declarative.as_declarative"}
)
ORM_MODEL_BASES = frozenset(
    {
        "tortoise.models.Model",
        "tortoise.Model",
        "beanie.Document",
        "odmantic.Model",
        "ormar.Model",
        "piccolo.table.Table",
        "mongoengine.Document",
        "peewee.Model",
    }
)
SQLMODEL = frozenset({"sqlmodel.SQLModel", "sqlmodel.main.SQLModel"})
PYDANTIC_MODELS = frozenset(
    {
        "pydantic.BaseModel",
        "pydantic.main.BaseModel",
        "pydantic.RootModel",
        "pydantic.root_model.RootModel",
        "pydantic.v1.BaseModel",
        "pydantic.generics.GenericModel",
    }
)
SETTINGS_BASES = frozenset(
    {
        "pydantic_settings.BaseSettings",
        "pydantic_settings.main.BaseSettings",
        "pydantic.BaseSettings",
        "pydantic.v1.BaseSettings",
        "pydantic.env_settings.BaseSettings",
    }
)
SETTINGS_FACTORIES = frozenset({"starlette.config.Config", "decouple.AutoConfig", "environs.Env"})
TABLE_FACTORIES = frozenset({"sqlalchemy.Table", "sqlalchemy.schema.Table"})
METADATA_FACTORIES = frozenset({"sqlalchemy.MetaData", "sqlalchemy.schema.MetaData"})
DB_FACTORIES = frozenset(
    {
        "sqlalchemy.create_engine",
        "sqlalchemy.engine.create_engine",
        "sqlalchemy.ext.asyncio.create_async_engine",
        "sqlalchemy.orm.sessionmaker",
        "sqlalchemy.ext.asyncio.async_sessionmaker",
        "sqlalchemy.orm.scoped_session",
        "sqlalchemy.ext.asyncio.async_scoped_session",
        "sqlmodel.create_engine",
        "databases.Database",
        "motor.motor_asyncio.AsyncIOMotorClient",
        "redis.Redis",
        "redis.asyncio.Redis",
    }
)
SECURITY_FACTORIES = frozenset({"passlib.context.CryptContext", "pwdlib.PasswordHash"})
SECURITY_LIBRARIES = (
    "passlib",
    "jose",
    "jwt",
    "bcrypt",
    "pwdlib",
    "argon2",
    "hmac",
    "itsdangerous",
    "cryptography",
    "authlib",
)
# Used for security, but also for plenty else (random codes, checksums): a function using
# them is a security helper only when it does not work on the database, or says so in its name.
GENERIC_CRYPTO_LIBRARIES = ("hashlib", "secrets")
# Libraries whose calls do I/O, async ones included (the blocking catalogue lists the
# blocking calls: `open`, `requests.get`, `subprocess.run`, ...).
IO_LIBRARIES = (
    "aioboto3",
    "aiofiles",
    "aiohttp",
    "aiosmtplib",
    "boto3",
    "fastapi_mail",
    "httpx",
    "motor",
    "pymongo",
    "redis",
    "requests",
    "smtplib",
    "subprocess",
    "urllib3",
)
# Blocking calls that are no I/O: waiting, or asking the user.
NOT_IO_FAMILIES = frozenset({"time.sleep", "input"})
SESSION_CLASSES = frozenset(
    {
        "sqlalchemy.orm.Session",
        "sqlalchemy.orm.session.Session",
        "sqlalchemy.ext.asyncio.AsyncSession",
        "sqlmodel.Session",
        "sqlmodel.ext.asyncio.session.AsyncSession",
    }
)
SECURITY_WORDS = re.compile(r"password|passwd|token|hash|jwt|credential")
# Names of the layers' usual modules: a module holding only helpers keeps its name.
SETTINGS_CLASS_NAMES = re.compile(r"^(\w*Settings|Config|Configuration)$")


@dataclass(frozen=True)
class Verdict:
    layer: Layer | None
    reason: str
    entity: str | None = None  # models: the class; services: the model it is mostly about
    router: str | None = (
        None  # routes: the router object it is registered on ("app" = the FastAPI app)
    )
    pinned: bool = False  # must stay in its module (side effects, the app itself)
    weak: bool = False  # decided by a name only: not enough to split a module for


@dataclass
class Facts:
    """What the whole package says about names: resolved class kinds, Depends targets, ..."""

    class_kinds: dict[str, str] = field(
        default_factory=dict
    )  # canonical class -> orm-base/orm/schema/settings
    depends_targets: set[str] = field(default_factory=set)
    routers: set[str] = field(default_factory=set)  # canonical names of APIRouter objects
    apps: set[str] = field(default_factory=set)  # canonical names of FastAPI objects
    app_arguments: set[str] = field(
        default_factory=set
    )  # lifespan=..., on_startup=[...] of FastAPI()
    db_objects: set[str] = field(default_factory=set)
    tables: set[str] = field(default_factory=set)
    security_objects: set[str] = field(default_factory=set)  # CryptContext(...) and the like
    background_tasks: set[str] = field(default_factory=set)  # functions given to add_task()


class Classifier:
    def __init__(self, project: ProjectIndex) -> None:
        self.project = project
        self.facts = Facts()
        self.catalogue = Catalogue()
        self._collect()

    # -- resolution ------------------------------------------------------------------
    def resolve(
        self, module: ModuleInfo, node: cst.BaseExpression, statement: Statement | None = None
    ) -> str | None:
        qualified = module.qualify(node, statement)
        return self.project.canonical(qualified) if qualified else None

    def resolve_name(self, module: ModuleInfo, name: str) -> str:
        """The canonical qualified name a global name of ``module`` stands for."""
        imported = module.imports.get(name)
        if imported is not None and not module.defines(name):
            return self.project.canonical(name if imported.dotted else imported.origin)
        return self.project.canonical(f"{module.name}.{name}")

    # -- project-wide facts ----------------------------------------------------------
    def _collect(self) -> None:
        for module in self.project.members:
            for statement in module.statements:
                if statement.kind is Kind.ASSIGN:
                    self._collect_assignment(module, statement)
        for module in self.project.members:
            for statement in module.statements:
                if statement.kind is Kind.CLASS and isinstance(statement.node, cst.ClassDef):
                    self.class_kind(f"{module.name}.{statement.node.name.value}")
            for call, annotation in _dependency_calls(module.tree):
                target = self._dependency_target(module, call, annotation)
                if target:
                    self.facts.depends_targets.add(target)
            for call in _calls(module.tree):
                task = _background_task(call)
                resolved = self.resolve(module, task) if task is not None else None
                if resolved:
                    self.facts.background_tasks.add(resolved)

    def _collect_assignment(self, module: ModuleInfo, statement: Statement) -> None:
        called = self._called(module, statement)
        qualified = f"{module.name}.{statement.key}"
        if called in FASTAPI_CLASSES:
            self.facts.apps.add(qualified)
            value = assigned_value(statement)
            for name in _names_in(value):
                self.facts.app_arguments.add(self.resolve_name(module, name))
        elif called in ROUTER_CLASSES:
            self.facts.routers.add(qualified)
        elif called in DECLARATIVE_FACTORIES:
            self.facts.class_kinds[qualified] = "orm-base"
        elif called in DB_FACTORIES:
            self.facts.db_objects.add(qualified)
        elif called in TABLE_FACTORIES:
            self.facts.tables.add(qualified)
        elif called in SECURITY_FACTORIES:
            self.facts.security_objects.add(qualified)

    def _called(self, module: ModuleInfo, statement: Statement) -> str | None:
        value = assigned_value(statement)
        if isinstance(value, cst.Call):
            return self.resolve(module, value.func, statement)
        return None

    def _dependency_target(
        self, module: ModuleInfo, call: cst.Call, annotation: cst.BaseExpression | None
    ) -> str | None:
        qualified = self.resolve(module, call.func)
        if not qualified or param_function(qualified) not in DEPENDENCY_FUNCTIONS:
            return None
        argument = next(
            (a.value for a in call.args if a.keyword is None or a.keyword.value == "dependency"),
            None,
        )
        target = argument if argument is not None else annotation
        return self.resolve(module, target) if target is not None else None

    def class_kind(self, qualified: str, _seen: frozenset[str] = frozenset()) -> str | None:
        """orm-base / orm / schema / settings for a class given by canonical name, else None."""
        kinds = self.facts.class_kinds
        if qualified in kinds:
            return kinds[qualified] or None
        if qualified in DECLARATIVE_BASES:
            return "declarative"
        if qualified in ORM_MODEL_BASES:
            return "orm-base"
        if qualified in SQLMODEL:
            return "sqlmodel"
        if qualified in PYDANTIC_MODELS:
            return "schema"
        if qualified in SETTINGS_BASES:
            return "settings"
        module_name, rest = self.project.split_module(qualified)
        if module_name is None or len(rest) != 1 or qualified in _seen:
            return None
        module = self.project.modules[module_name]
        statement = module.statement_of(rest[0])
        if statement is None or not isinstance(statement.node, cst.ClassDef):
            return None
        kinds[qualified] = ""  # cycle guard
        kind = self._own_class_kind(module, statement, _seen | {qualified})
        kinds[qualified] = kind or ""
        return kind

    def _own_class_kind(
        self, module: ModuleInfo, statement: Statement, seen: frozenset[str]
    ) -> str | None:
        node = statement.node
        assert isinstance(node, cst.ClassDef)
        if any(
            self.resolve(module, _decorator_callee(d)) in DECLARATIVE_DECORATORS
            for d in node.decorators
        ):
            return "orm-base"
        base_kinds = []
        for argument in node.bases:
            base = self.resolve(module, argument.value)
            base_kinds.append(self.class_kind(base, seen) if base else None)
        table = any(
            a.keyword is not None
            and a.keyword.value == "table"
            and isinstance(a.value, cst.Name)
            and a.value.value == "True"
            for a in node.keywords
        )
        if "declarative" in base_kinds:
            return "orm-base"
        if "orm-base" in base_kinds or "orm" in base_kinds:
            return "orm-base" if _is_abstract(node) else "orm"
        if "sqlmodel" in base_kinds or "sqlmodel-schema" in base_kinds:
            return "orm" if table else "sqlmodel-schema"
        if "settings" in base_kinds:
            return "settings"
        if "schema" in base_kinds:
            return "schema"
        if SETTINGS_CLASS_NAMES.match(node.name.value) and not any(base_kinds):
            return "settings"
        return None

    # -- one statement ---------------------------------------------------------------
    def classify(self, module: ModuleInfo, statement: Statement) -> Verdict:
        if statement.is_import or statement.kind is Kind.DOCSTRING:
            return Verdict(None, "import")
        if statement.kind is Kind.OTHER:
            return Verdict(Layer.MAIN, "statement with side effects", pinned=True)
        if statement.kind is Kind.CLASS:
            return self._classify_class(module, statement)
        if statement.kind is Kind.DEF:
            return self._classify_function(module, statement)
        return self._classify_assignment(module, statement)

    def _classify_class(self, module: ModuleInfo, statement: Statement) -> Verdict:
        assert isinstance(statement.node, cst.ClassDef)  # Kind.CLASS
        name = statement.node.name.value
        qualified = f"{module.name}.{name}"
        kind = self.class_kind(qualified)
        if kind == "orm-base":
            return Verdict(Layer.MODELS, "ORM declarative base", entity="base")
        if kind == "orm":
            return Verdict(Layer.MODELS, "ORM model", entity=name)
        if kind in ("schema", "sqlmodel-schema"):
            return Verdict(
                Layer.SCHEMAS, "pydantic model" if kind == "schema" else "SQLModel (no table)"
            )
        if kind == "settings":
            return Verdict(Layer.CONFIG, "settings class")
        if qualified in self.facts.depends_targets:
            return Verdict(Layer.DEPENDENCIES, "used in Depends()")
        return self._by_uses(module, statement)

    def _classify_function(self, module: ModuleInfo, statement: Statement) -> Verdict:
        node = statement.node
        assert isinstance(node, cst.FunctionDef)
        for decorator in node.decorators:
            callee = _decorator_callee(decorator)
            if not isinstance(callee, cst.Attribute):
                continue
            owner = self.resolve(module, callee.value)
            verb = callee.attr.value
            if owner in self.facts.routers and verb in ROUTE_DECORATORS:
                return Verdict(Layer.ROUTES, "APIRouter route", router=_local_head(callee.value))
            if owner in self.facts.apps:
                if verb in ROUTE_DECORATORS:
                    return Verdict(Layer.ROUTES, "app route", router="app")
                return Verdict(Layer.MAIN, f"@app.{verb}", pinned=True)
        qualified = f"{module.name}.{node.name.value}"
        if qualified in self.facts.app_arguments:
            return Verdict(Layer.MAIN, "passed to FastAPI()", pinned=True)
        if self._builds_settings(module, statement):
            return Verdict(Layer.CONFIG, "returns the settings")
        if qualified in self.facts.depends_targets:
            return Verdict(Layer.DEPENDENCIES, "used in Depends()")
        verdict = self._by_uses(module, statement)
        if verdict.layer is not None:
            return verdict
        # Business work of a single-file app: weak, since a module of its own already goes
        # to services/ as a whole (see the planner), and one such function is no reason to
        # split a module.
        if qualified in self.facts.background_tasks:
            return Verdict(Layer.SERVICES, "background task", weak=True)
        io = self._io_call(module, statement)
        if io is not None:
            return Verdict(Layer.SERVICES, f"does I/O ({io})", weak=True)
        return verdict

    def _io_call(self, module: ModuleInfo, statement: Statement) -> str | None:
        """The first call of ``statement`` that does I/O: a blocking call of the catalogue
        (``open``, ``requests.get``, ...) or a call into an I/O library."""
        node = statement.node
        assert isinstance(node, cst.FunctionDef)
        for call in _calls(node.body):
            called = self.resolve(module, call.func, statement)
            if (
                called is None
                and isinstance(call.func, cst.Name)
                and not module.defines(call.func.value)
            ):
                called = f"builtins.{call.func.value}"
            if called is None:
                continue
            match = self.catalogue.function(called)
            if (match is not None and match.family not in NOT_IO_FAMILIES) or _is_library(
                called, IO_LIBRARIES
            ):
                return called
        return None

    def _classify_assignment(self, module: ModuleInfo, statement: Statement) -> Verdict:
        qualified = f"{module.name}.{statement.key}"
        called = self._called(module, statement)
        if qualified in self.facts.apps:
            return Verdict(Layer.MAIN, "FastAPI application", pinned=True)
        if qualified in self.facts.routers:
            return Verdict(Layer.ROUTES, "APIRouter", router=statement.key)
        if self.facts.class_kinds.get(qualified) == "orm-base" or called in METADATA_FACTORIES:
            return Verdict(Layer.MODELS, "ORM declarative base", entity="base")
        if qualified in self.facts.tables:
            return Verdict(
                Layer.MODELS, "SQLAlchemy Table", entity=statement.key.removesuffix("_table")
            )
        if qualified in self.facts.db_objects:
            return Verdict(Layer.DB, "engine / session factory")
        if (
            called in SETTINGS_BASES
            or called in SETTINGS_FACTORIES
            or (called and self.class_kind(called) == "settings")
        ):
            return Verdict(Layer.CONFIG, "settings object")
        if called in SECURITY_FACTORIES:
            return Verdict(Layer.SECURITY, "password hashing context")
        if called and called.startswith("fastapi.security."):
            return Verdict(Layer.DEPENDENCIES, "security scheme")
        if qualified in self.facts.depends_targets or _contains_dependency(module, statement, self):
            return Verdict(
                Layer.DEPENDENCIES,
                "Depends() alias"
                if qualified not in self.facts.depends_targets
                else "used in Depends()",
            )
        return Verdict(None, "constant")

    def _by_uses(self, module: ModuleInfo, statement: Statement) -> Verdict:
        """Security (crypto libraries), service (the database), else a helper."""
        used = {name: self.resolve_name(module, name) for name in statement.uses}
        for name, attributes in statement.attribute_uses.items():  # models.User, crud.get_user
            for attribute in attributes:
                used[f"{name}.{attribute}"] = self.project.canonical(
                    f"{self.resolve_name(module, name)}.{attribute}"
                )
        if any(_is_library(q, SECURITY_LIBRARIES) for q in used.values()):
            return Verdict(
                Layer.SECURITY, "uses " + _first_library(used.values(), SECURITY_LIBRARIES)
            )
        hashing = sorted(name for name, q in used.items() if q in self.facts.security_objects)
        if hashing:
            return Verdict(Layer.SECURITY, f"uses {hashing[0]}")
        entities: Counter[str] = Counter()
        database = False
        for name, qualified in used.items():
            if self.class_kind(qualified) == "orm" or qualified in self.facts.tables:
                entities[qualified.rpartition(".")[2]] += statement.use_counts.get(name, 1)
            elif (
                qualified in self.facts.db_objects
                or qualified in SESSION_CLASSES
                or (self.class_kind(qualified) == "orm-base")
            ):
                database = True
        security_name = SECURITY_WORDS.search(statement.key.lower()) is not None
        if any(_is_library(q, GENERIC_CRYPTO_LIBRARIES) for q in used.values()) and (
            security_name or not (entities or database)
        ):
            return Verdict(
                Layer.SECURITY, "uses " + _first_library(used.values(), GENERIC_CRYPTO_LIBRARIES)
            )
        if entities or database:
            entity = entities.most_common(1)[0][0] if entities else None
            return Verdict(
                Layer.SERVICES, f"uses {entity}" if entity else "uses the database", entity=entity
            )
        if statement.kind is Kind.DEF and security_name:
            return Verdict(Layer.SECURITY, "password / token helper", weak=True)
        return Verdict(None, "helper")

    def _builds_settings(self, module: ModuleInfo, statement: Statement) -> bool:
        node = statement.node
        assert isinstance(node, cst.FunctionDef)
        for call in _calls(node.body):
            called = self.resolve(module, call.func, statement)
            if called and (called in SETTINGS_BASES or self.class_kind(called) == "settings"):
                return True
        return False


def _is_library(qualified: str, libraries: tuple[str, ...]) -> bool:
    return qualified.partition(".")[0] in libraries


def _first_library(names: Iterable[str], libraries: tuple[str, ...]) -> str:
    return sorted(q.partition(".")[0] for q in names if _is_library(q, libraries))[0]


def _names_in(node: cst.CSTNode | None) -> list[str]:
    """Every plain name read inside an expression."""
    if node is None:
        return []
    found: list[str] = []

    class Finder(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.append(name.value)

        def visit_Arg(self, arg: cst.Arg) -> bool:
            arg.value.visit(self)  # not the keyword: ``lifespan=`` is not a use
            return False

        def visit_Attribute(self, attribute: cst.Attribute) -> bool:
            attribute.value.visit(self)
            return False

    node.visit(Finder())
    return found


def assigned_value(statement: Statement) -> cst.BaseExpression | None:
    node = statement.node
    if isinstance(node, cst.SimpleStatementLine) and node.body:
        small = node.body[0]
        if isinstance(small, (cst.Assign, cst.AnnAssign)):
            return small.value
    return None


def _decorator_callee(decorator: cst.Decorator) -> cst.BaseExpression:
    expression = decorator.decorator
    return expression.func if isinstance(expression, cst.Call) else expression


def _local_head(node: cst.BaseExpression) -> str | None:
    while isinstance(node, cst.Attribute):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


def _is_abstract(node: cst.ClassDef) -> bool:
    for line in node.body.body if isinstance(node.body, cst.IndentedBlock) else ():
        for small in line.body if isinstance(line, cst.SimpleStatementLine) else ():
            if isinstance(small, cst.Assign) and any(
                isinstance(t.target, cst.Name) and t.target.value == "__abstract__"
                for t in small.targets
            ):
                return True
    return False


def _background_task(call: cst.Call) -> cst.BaseExpression | None:
    """``f`` in ``background_tasks.add_task(f, ...)`` (also ``add_task(func=f)``)."""
    if not (isinstance(call.func, cst.Attribute) and call.func.attr.value == "add_task"):
        return None
    for argument in call.args:
        if argument.keyword is None or argument.keyword.value == "func":
            return argument.value
    return None


def _calls(node: cst.CSTNode) -> Iterator[cst.Call]:
    found: list[cst.Call] = []

    class Finder(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            found.append(call)

    node.visit(Finder())
    return iter(found)


def _dependency_calls(tree: cst.Module) -> Iterator[tuple[cst.Call, cst.BaseExpression | None]]:
    """Every call that may be ``Depends(...)``, with the annotation it defaults (for
    ``x: Pagination = Depends()`` and ``Annotated[Pagination, Depends()]``)."""
    found: list[tuple[cst.Call, cst.BaseExpression | None]] = []

    class Finder(cst.CSTVisitor):
        def visit_Param(self, node: cst.Param) -> None:
            if isinstance(node.default, cst.Call) and node.annotation is not None:
                found.append((node.default, node.annotation.annotation))

        def visit_Subscript(self, node: cst.Subscript) -> None:
            elements = [e.slice.value for e in node.slice if isinstance(e.slice, cst.Index)]
            found.extend(
                (element, elements[0]) for element in elements[1:] if isinstance(element, cst.Call)
            )

        def visit_Call(self, node: cst.Call) -> None:
            found.append((node, None))

    tree.visit(Finder())
    # A call seen with its annotation wins over the same call seen alone.
    with_annotation = {id(call) for call, annotation in found if annotation is not None}
    return iter([(c, a) for c, a in found if a is not None or id(c) not in with_annotation])


def _contains_dependency(module: ModuleInfo, statement: Statement, classifier: Classifier) -> bool:
    for call in _calls(statement.node):
        qualified = classifier.resolve(module, call.func, statement)
        if qualified and param_function(qualified) in DEPENDENCY_FUNCTIONS:
            return True
    return False
