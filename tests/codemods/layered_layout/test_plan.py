"""The planner: classification, placement, stable second runs, and plans it refuses."""

from pathlib import Path

import pytest

from fastapi_fix.codemods.layered_layout.plan import propose
from fastapi_fix.codemods.layered_layout.plan_file import dumps, loads
from fastapi_fix.codemods.layered_layout.project_index import load_project
from fastapi_fix.codemods.layered_layout.realize import realize
from fastapi_fix.engine.discover import discover
from fastapi_fix.project.modules import name_modules
from tests.codemods.layered_layout.helpers import (
    after,
    dedent,
    layout,
    messages,
    plan,
    write_project,
)
from tests.codemods.layered_layout.test_imports import SHOP

# One module with one of everything (the brief's single-file app, small).
EVERYTHING = """\
    from __future__ import annotations

    from contextlib import asynccontextmanager
    from enum import Enum
    from functools import lru_cache
    from typing import Annotated

    import jwt
    from fastapi import Depends, FastAPI
    from fastapi.security import OAuth2PasswordBearer
    from pydantic import BaseModel
    from sqlalchemy import create_engine
    from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

    ALGORITHM = "HS256"
    PAGE_SIZE = 20


    class Settings:
        secret = "s"


    @lru_cache
    def get_settings() -> Settings:
        return Settings()


    engine = create_engine("sqlite://")
    SessionLocal = sessionmaker(bind=engine)


    class Color(str, Enum):
        RED = "red"


    class Base(DeclarativeBase):
        pass


    class User(Base):
        __tablename__ = "users"
        id: Mapped[int] = mapped_column(primary_key=True)
        items: Mapped[list[Item]] = relationship(back_populates="owner")


    class Item(Base):
        __tablename__ = "items"
        id: Mapped[int] = mapped_column(primary_key=True)
        color: Mapped[Color]
        owner: Mapped[User] = relationship(back_populates="items")


    class ItemOut(BaseModel):
        id: int
        color: Color


    def make_token(user_id: int) -> str:
        return jwt.encode({"sub": user_id}, get_settings().secret, algorithm=ALGORITHM)


    oauth2 = OAuth2PasswordBearer(tokenUrl="token")


    def get_db():
        with SessionLocal() as db:
            yield db


    SessionDep = Annotated[Session, Depends(get_db)]


    def current_user(db: SessionDep, token: str = Depends(oauth2)) -> User:
        return db.get(User, jwt.decode(token, get_settings().secret, algorithms=[ALGORITHM])["sub"])


    def list_items(db: Session, page: int) -> list[Item]:
        return db.query(Item).offset(page * PAGE_SIZE).limit(PAGE_SIZE).all()


    def is_even(n: int) -> bool:
        return n == 0 or is_odd(n - 1)


    def is_odd(n: int) -> bool:
        return n != 0 and is_even(n - 1)


    @asynccontextmanager
    async def lifespan(app: FastAPI):
        Base.metadata.create_all(engine)
        yield


    app = FastAPI(lifespan=lifespan)


    @app.middleware("http")
    async def timing(request, call_next):
        return await call_next(request)


    @app.get("/items", response_model=list[ItemOut])
    def read_items(db: SessionDep, page: int = 0, user: User = Depends(current_user)):
        return [item for item in list_items(db, page) if is_even(item.id)]


    @app.get("/me")
    def me(user: User = Depends(current_user)):
        return {"id": user.id, "title": app.title}
    """

EXPECTED = {
    "ALGORITHM": "app/core/security.py",  # a constant goes to the lowest layer using it
    "PAGE_SIZE": "app/services/item_service.py",
    "Settings": "app/core/config.py",
    "get_settings": "app/core/config.py",  # builds the settings: config, not a dependency
    "engine": "app/core/db.py",
    "SessionLocal": "app/core/db.py",
    "Color": "app/models/user.py",  # used by a model and a schema: with the model
    "Base": "app/models/base.py",
    "User": "app/models/user.py",  # User <-> Item need each other at import time: one module
    "Item": "app/models/user.py",
    "ItemOut": "app/api/v1/schemas.py",
    "make_token": "app/core/security.py",
    "oauth2": "app/api/v1/dependencies.py",
    "get_db": "app/api/v1/dependencies.py",
    "SessionDep": "app/api/v1/dependencies.py",  # an Annotated[..., Depends()] alias
    "current_user": "app/api/v1/dependencies.py",  # uses jwt, but Depends() wins
    "list_items": "app/services/item_service.py",
    "is_even": "app/api/v1/routes.py",  # helpers calling each other stay together
    "is_odd": "app/api/v1/routes.py",
    "read_items": "app/api/v1/routes.py",
}


def proposal(root: Path, **options):
    project = load_project(root, name_modules(discover([root]), root).files)
    return propose(project, **options)[0]


def test_every_definition_goes_to_its_layer(tmp_path):
    write_project(tmp_path, {"main.py": EVERYTHING})
    main = proposal(tmp_path).module("main.py")
    assert main.target == "app/main.py"
    assert main.symbols == EXPECTED  # lifespan, app, the middleware and `me` (uses app) stay


def test_app_routes_become_router_routes_included_where_the_first_was(tmp_path):
    change, files = layout(tmp_path, {"main.py": EVERYTHING})
    assert not change.errors
    routes = files["app/api/v1/routes.py"]
    assert "router = APIRouter()\n" in routes
    assert '@router.get("/items", response_model=list[ItemOut])' in routes
    main = files["app/main.py"]
    assert (
        main.index("app = FastAPI(lifespan=lifespan)")
        < main.index("app.include_router(router)")
        < main.index('@app.get("/me")')
    )
    assert "async def timing(request, call_next):" in main


def test_mutually_dependent_models_share_a_module_and_the_aggregator_imports_all(tmp_path):
    _change, files = layout(tmp_path, {"main.py": EVERYTHING})
    assert "class User(Base):" in files["app/models/user.py"]
    assert "class Item(Base):" in files["app/models/user.py"]
    assert files["app/models/__init__.py"] == dedent('''\
        """Every ORM model, imported here so that the mapper registry and the metadata are complete."""
        from app.models.base import Base
        from app.models.user import Item, User

        __all__ = ["Base", "Item", "User"]
        ''')


def test_future_import_travels_with_split_definitions(tmp_path):
    _change, files = layout(tmp_path, {"main.py": EVERYTHING})
    assert files["app/models/user.py"].startswith("from __future__ import annotations\n")


def test_schema_found_through_a_project_base_class_in_another_module(tmp_path):
    files = dict(SHOP)
    files["shop/schema_base.py"] = (
        "from pydantic import BaseModel\n\n\nclass ShopModel(BaseModel):\n    pass\n"
    )
    files["shop/crud.py"] = dedent(SHOP["shop/crud.py"]) + dedent("""\


        from .schema_base import ShopModel


        class ItemOut(ShopModel):
            id: int
        """)
    write_project(tmp_path, files)
    crud = proposal(tmp_path).module("shop/crud.py")
    assert crud.symbols == {"ItemOut": "shop/api/v1/schemas.py"}


def test_domain_layout_is_left_alone_unless_forced(tmp_path):
    files = {
        "shop/__init__.py": "",
        "shop/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
        **{
            f"shop/{domain}/{module}.py": ""
            for domain in ("orders", "users")
            for module in ("__init__", "router", "schemas", "service")
        },
    }
    change, _files = layout(tmp_path, files)
    assert change.files == []
    assert change.notes == [
        "organised by domain (feature packages: orders, users): nothing to do; "
        "layered-layout does not flatten a domain layout unless you pass --layout-force"
    ]
    forced = plan(tmp_path, **{"layout-force": True})
    assert not any("organised by domain" in n for n in forced.notes)


def test_a_second_run_plans_nothing(tmp_path):
    for name, files in (("shop", SHOP), ("single", {"main.py": EVERYTHING})):
        first, result = layout(tmp_path / name, files)
        assert first.files and not first.errors
        again = tmp_path / f"{name}-after"
        for path, text in result.items():
            (again / path).parent.mkdir(parents=True, exist_ok=True)
            (again / path).write_text(text, encoding="utf-8")
        second = plan(again)
        assert second.files == []
        assert second.notes[0].startswith("already layered")
        assert plan(again, **{"layout-force": True}).files == []


def edited(tmp_path: Path, files: dict[str, str], edit) -> list[str]:
    """Plan, edit the plan as a person would, realize it: the errors."""
    write_project(tmp_path, files)
    project = load_project(tmp_path, name_modules(discover([tmp_path]), tmp_path).files)
    text = edit(dumps(propose(project)[0]))
    return realize(project, loads(text)).errors


def test_a_plan_that_would_create_an_import_cycle_is_refused(tmp_path):
    errors = edited(
        tmp_path,
        {"main.py": EVERYTHING},
        lambda text: text.replace('"Item" = "app/models/user.py"', '"Item" = "app/models/item.py"'),
    )
    assert any(
        e.startswith("the move would create an import cycle: app.models.item -> app.models.user")
        for e in errors
    )


def test_a_plan_moving_the_app_or_unknown_names_is_refused(tmp_path):
    errors = edited(
        tmp_path,
        {"main.py": EVERYTHING},
        lambda text: text + '"app" = "app/api/v1/routes.py"\n"nothing" = "app/core/db.py"\n',
    )
    assert "main.py: the plan moves nothing, which the module does not define" in errors
    assert "main.py: app has to stay in its module (FastAPI application)" in errors


def test_two_modules_cannot_move_to_one_file(tmp_path):
    errors = edited(
        tmp_path,
        dict(SHOP),
        lambda text: text.replace(
            'to = "shop/services/item_service.py"', 'to = "shop/core/config.py"'
        ),
    )
    assert "shop/core/config.py: both shop/config.py and shop/crud.py would move there" in errors


def test_a_name_defined_by_two_modules_never_meets_itself_in_one_file(tmp_path):
    """The planner keeps the second ``Settings`` where it is; a plan edited to merge them
    anyway is refused (the later definition would silently win)."""
    files = dict(SHOP)
    files["shop/crud.py"] = dedent(SHOP["shop/crud.py"]) + "\n\nclass Settings:\n    pass\n"
    change, _files = layout(tmp_path / "planned", files)
    assert not change.errors
    assert (
        "shop/crud.py: Settings stays in this module: shop/core/config.py already gets a Settings from "
        "shop.config" in change.notes
    )

    def merge_settings(text: str) -> str:
        start = text.index('from = "shop/crud.py"')
        end = text.index("\n\n", start)
        return text[:end] + '\n[module.symbols]\n"Settings" = "shop/core/config.py"' + text[end:]

    errors = edited(tmp_path / "edited", files, merge_settings)
    assert any(
        error.startswith(
            "shop/core/config.py: the name Settings is defined by both shop/config.py and "
            "shop/crud.py; rename one of them in the code, or write the plan"
        )
        for error in errors
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(
            "def get_user(db, user_id):\n    return db.get(User, user_id)\n",
            "user_service",
            id="one-entity",
        ),
        pytest.param(
            "def get_user(db, user_id):\n    return db.get(User, user_id)\n\n\n"
            "def get_item(db, item_id):\n    return db.get(Item, item_id)\n",
            "crud_service",
            id="several-entities",
        ),
    ],
)
def test_service_module_names(tmp_path, source, expected):
    models = dedent("""\
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


        class Base(DeclarativeBase):
            pass


        class User(Base):
            __tablename__ = "users"
            id: Mapped[int] = mapped_column(primary_key=True)


        class Item(Base):
            __tablename__ = "items"
            id: Mapped[int] = mapped_column(primary_key=True)
        """)
    files = {
        "pkg/__init__.py": "",
        "pkg/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
        "pkg/models.py": models,
        "pkg/crud.py": "from .models import Item, User\n\n\n" + source,
    }
    write_project(tmp_path, files)
    assert proposal(tmp_path).module("pkg/crud.py").target == f"pkg/services/{expected}.py"


def test_route_order_across_an_include_is_reported(tmp_path):
    main = dedent("""\
        from fastapi import FastAPI

        from .other import router as other_router

        app = FastAPI()


        @app.get("/a")
        def a():
            return 1


        app.include_router(other_router)


        @app.get("/b")
        def b():
            return 2
        """)
    other = "from fastapi import APIRouter\n\nrouter = APIRouter()\n"
    change, _files = layout(
        tmp_path, {"pkg/__init__.py": "", "pkg/main.py": main, "pkg/other.py": other}
    )
    assert any("route order" in m for m in messages(change))


def test_dry_plan_of_an_unparsable_app_says_why(tmp_path):
    change, _files = layout(tmp_path, {"main.py": "from fastapi import FastAPI\napp = FastAPI(\n"})
    assert change.errors == ["main.py does not parse: fix it first"]
    assert change.files == []


def test_written_plan_round_trips(tmp_path):
    write_project(tmp_path, {"main.py": EVERYTHING})
    first = proposal(tmp_path)
    again = loads(dumps(first))
    assert [(m.source, m.target, m.symbols) for m in again.modules] == [
        (m.source, m.target, m.symbols) for m in first.modules
    ]
    assert (again.package, again.package_dir, again.new_package) == ("app", "app", True)


def test_after_helper_matches_a_real_apply(tmp_path):
    """The in-memory ``after`` used by these tests is what applying writes."""
    from fastapi_fix.engine.project_change import apply_change

    write_project(tmp_path, dict(SHOP))
    change = plan(tmp_path)
    expected = after(tmp_path, change)
    apply_change(change)
    on_disk = {
        p.relative_to(tmp_path).as_posix(): p.read_text(encoding="utf-8")
        for p in tmp_path.rglob("*")
        if p.is_file()
    }
    assert on_disk == expected


def test_a_mixed_module_already_in_its_layer_folder_stays_and_the_rest_leaves(tmp_path):
    files = dict(SHOP)
    files["shop/core/__init__.py"] = ""
    files["shop/core/db.py"] = dedent("""\
        from sqlalchemy import create_engine
        from sqlalchemy.orm import Session

        from ..models import Item

        engine = create_engine("sqlite://")


        def seed(session: Session) -> None:
            session.add(Item(id=1))
        """)
    write_project(tmp_path, files)
    db = proposal(tmp_path).module("shop/core/db.py")
    assert (db.target, db.symbols) == ("shop/core/db.py", {"seed": "shop/services/item_service.py"})


def test_scripts_and_helper_modules_stay_where_they_are(tmp_path):
    files = dict(SHOP)
    files["shop/initial_data.py"] = dedent("""\
        from .models import Item


        def main(session) -> None:
            session.add(Item(id=1))


        if __name__ == "__main__":
            main(None)
        """)
    files["shop/utils.py"] = (
        "def slug(text: str) -> str:\n    return text.lower()\n\n\ndef token_hex() -> str:\n    return 'x'\n"
    )
    write_project(tmp_path, files)
    planned = proposal(tmp_path)
    assert not planned.module("shop/initial_data.py").changes
    assert not planned.module("shop/utils.py").changes  # `token` in a name is not a reason to split


def test_code_using_its_own_object_never_moves_next_to_another_one_of_the_same_name(tmp_path):
    context = 'from passlib.context import CryptContext\n\npwd_context = CryptContext(schemes=["bcrypt"])\n\n\n'
    files = dict(SHOP)
    files["shop/auth.py"] = (
        context + "def hash_password(password):\n    return pwd_context.hash(password)\n"
    )
    files["shop/crud.py"] = (
        dedent(SHOP["shop/crud.py"])
        + "\n\n"
        + context
        + "def make_hash(password):\n    return pwd_context.hash(password)\n"
    )
    change, _files = layout(tmp_path, files)
    assert not change.errors
    assert (
        "shop/crud.py: make_hash stays in this module: it uses its own pwd_context, and shop/core/security.py "
        "has another one" in change.notes
    )


def test_a_plan_importing_upwards_is_refused(tmp_path):
    errors = edited(
        tmp_path,
        {"main.py": EVERYTHING},
        lambda text: text.replace(
            '"list_items" = "app/services/item_service.py"', '"list_items" = "app/core/config.py"'
        ),
    )
    assert (
        "the move would make app.core.config (config) import app.models.user (models), a higher layer; "
        "edit the plan" in errors
    )


NAMESPACE_APP = {
    "app/main.py": """\
        from fastapi import FastAPI

        from app.routes import router

        app = FastAPI()
        app.include_router(router)
        """,
    "app/routes.py": """\
        from fastapi import APIRouter

        router = APIRouter()


        @router.get("/items")
        def read_items():
            return []
        """,
}


def test_an_app_in_a_folder_without_init_is_laid_out_inside_that_folder(tmp_path):
    # `app/` has no __init__.py and is imported as `app` (a namespace package): its modules
    # are `app.main` and `app.routes`, and the layers go inside `app/`.
    write_project(tmp_path, NAMESPACE_APP)
    plan = proposal(tmp_path)
    assert plan.module("app/main.py").target == "app/main.py"
    assert plan.module("app/routes.py").target.startswith("app/api/v1/")


def test_an_organised_project_is_told_from_its_module_names_before_any_analysis(
    tmp_path, monkeypatch
):
    """Telling a domain or layered project takes its module names only: none of its modules
    is analysed (the expensive part: minutes on a project of thousands of files)."""
    from fastapi_fix.codemods.layered_layout import project_index

    analysed: list[str] = []
    real_analyse = project_index.analyse

    def counting(file, rel, data, tree):
        analysed.append(rel)
        return real_analyse(file, rel, data, tree)

    monkeypatch.setattr(project_index, "analyse", counting)
    files = {
        "shop/__init__.py": "",
        "shop/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
        **{
            f"shop/{domain}/{module}.py": "x = 1\n"
            for domain in ("orders", "users")
            for module in ("__init__", "router", "schemas", "service")
        },
    }
    change, _files = layout(tmp_path, files)
    assert change.files == []
    assert any("organised by domain" in note for note in change.notes)
    assert analysed == []
    plan(tmp_path, **{"layout-force": True})
    assert "shop/orders/service.py" in analysed
