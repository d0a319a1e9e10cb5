"""The import rewriter: every import form of the research table, in any file of the project."""

import pytest

from tests.codemods.layered_layout.helpers import dedent, layout, messages

# A flat package with relative imports: config.py moves whole to core/, crud.py to
# services/item_service.py, models.py is split into models/ (with the aggregator), the one
# router module becomes api/v1/routes.py, and auth.py (security + a dependency) is split.
SHOP = {
    "shop/__init__.py": "",
    "shop/main.py": """\
        from fastapi import FastAPI

        from .routers import items

        app = FastAPI()
        app.include_router(items.router)
        """,
    "shop/config.py": """\
        class Settings:
            page_size = 10


        settings = Settings()
        """,
    "shop/models.py": """\
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


        class Base(DeclarativeBase):
            pass


        class Item(Base):
            __tablename__ = "items"
            id: Mapped[int] = mapped_column(primary_key=True)
        """,
    "shop/crud.py": """\
        from .models import Item


        def list_items(db, limit):
            return db.query(Item).limit(limit).all()
        """,
    "shop/auth.py": """\
        import hmac


        def hash_password(password: str) -> str:
            digest = hmac.new(b"key", password.encode(), "sha256")
            return digest.hexdigest()


        def current_user(token: str = "") -> str:
            return token
        """,
    "shop/routers/__init__.py": "",
    "shop/routers/items.py": """\
        from fastapi import APIRouter, Depends

        from .. import auth, crud
        from ..config import settings

        router = APIRouter()


        @router.get("/items")
        def read_items(user: str = Depends(auth.current_user)):
            return crud.list_items(None, settings.page_size), auth.hash_password(user)
        """,
}


def project(tmp_path, **extra):
    files = dict(SHOP)
    files.update(extra)
    return layout(tmp_path, files)


def test_shop_plan_moves_and_splits(tmp_path):
    change, _files = project(tmp_path)
    moves = {(f.old_path, f.new_path) for f in change.files if f.kind == "move"}
    assert moves == {
        ("shop/config.py", "shop/core/config.py"),
        ("shop/crud.py", "shop/services/item_service.py"),
        ("shop/models.py", "shop/models/item.py"),
        ("shop/auth.py", "shop/core/security.py"),
        ("shop/routers/items.py", "shop/api/v1/routes.py"),
    }
    assert not change.errors


def test_relative_import_in_a_moved_module_is_recomputed(tmp_path):
    _change, files = project(tmp_path)
    assert files["shop/services/item_service.py"].startswith("from ..models import Item\n")


def test_module_imports_follow_moves_and_splits(tmp_path):
    """``from .. import auth, crud`` (parent-relative, module names) from a moved module:
    too many dots for a relative import now, so absolute; ``auth`` is split, so its
    attribute uses are re-pointed at the modules their names went to."""
    _change, files = project(tmp_path)
    assert files["shop/api/v1/routes.py"] == dedent("""\
        from fastapi import APIRouter, Depends

        from shop.core import security as auth
        from shop.services import item_service as crud
        from . import dependencies
        from shop.core.config import settings

        router = APIRouter()


        @router.get("/items")
        def read_items(user: str = Depends(dependencies.current_user)):
            return crud.list_items(None, settings.page_size), auth.hash_password(user)
        """)


def test_from_dot_import_of_a_moved_module_keeps_the_local_name(tmp_path):
    _change, files = project(tmp_path)
    assert "from .api.v1 import routes as items\n" in files["shop/main.py"]
    assert "app.include_router(items.router)" in files["shop/main.py"]


ABSOLUTE_CASES = [
    pytest.param(
        "from shop.config import settings\n",
        "from shop.core.config import settings\n",
        id="from-absolute",
    ),
    pytest.param(
        "from shop import crud\n",
        "from shop.services import item_service as crud\n",
        id="from-package-module",
    ),
    pytest.param(
        "import shop.crud as crud_module\n",
        "import shop.services.item_service as crud_module\n",
        id="import-as",
    ),
    pytest.param(
        "import shop.crud\n\nshop.crud.list_items(None, 1)\n",
        "import shop.services.item_service\n\nshop.services.item_service.list_items(None, 1)\n",
        id="import-dotted-chain",
    ),
    pytest.param(
        "from shop.config import *\n", "from shop.core.config import *\n", id="star-moved-module"
    ),
    pytest.param(
        "def f():\n    from shop.config import settings\n    return settings\n",
        "def f():\n    from shop.core.config import settings\n    return settings\n",
        id="function-level",
    ),
    pytest.param(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from shop.crud import list_items\n",
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n"
        "    from shop.services.item_service import list_items\n",
        id="type-checking",
    ),
    pytest.param(
        "from shop.config import (\n    Settings,\n    settings,\n)\n",
        "from shop.core.config import (\n    Settings,\n    settings,\n)\n",
        id="parenthesised-kept",
    ),
    pytest.param(
        "from shop.auth import current_user, hash_password\n",
        "from shop.api.v1.dependencies import current_user\nfrom shop.core.security import hash_password\n",
        id="names-of-a-split-module-regrouped",
    ),
    pytest.param(
        "from shop.models import Base, Item\n",
        "from shop.models import Base, Item\n",
        id="models-package-reexports",
    ),
    pytest.param(
        "import os\n\nfrom shop.main import app  # noqa: E402\n",
        "import os\n\nfrom shop.main import app  # noqa: E402\n",
        id="unchanged",
    ),
]


@pytest.mark.parametrize(("before", "expected"), ABSOLUTE_CASES)
def test_importers_outside_the_package(tmp_path, before, expected):
    _change, files = project(tmp_path, **{"tests/test_it.py": before})
    assert files["tests/test_it.py"] == expected


def test_init_reexport_is_rewritten(tmp_path):
    _change, files = project(tmp_path, **{"shop/__init__.py": "from .config import settings\n"})
    assert files["shop/__init__.py"] == "from .core.config import settings\n"


def test_star_import_of_a_split_module_imports_the_names_used_and_is_reported(tmp_path):
    change, files = project(
        tmp_path, **{"tests/test_it.py": "from shop.auth import *\n\ncurrent_user('x')\n"}
    )
    assert files["tests/test_it.py"] == (
        "from shop.core.security import *\nfrom shop.api.v1.dependencies import current_user\n\ncurrent_user('x')\n"
    )
    assert any("star import from shop.auth" in m for m in messages(change))


def test_noqa_comment_follows_every_line_of_a_split_import(tmp_path):
    before = "import os\n\nos.environ['X'] = '1'\n\nfrom shop.auth import current_user, hash_password  # noqa: E402\n"
    _change, files = project(tmp_path, **{"tests/test_it.py": before})
    assert files["tests/test_it.py"].endswith(
        "from shop.api.v1.dependencies import current_user  # noqa: E402\n"
        "from shop.core.security import hash_password  # noqa: E402\n"
    )


SINGLE = {
    "main.py": """\
        import hmac

        from fastapi import FastAPI

        SECRET = b"key"


        def sign(payload: str) -> str:
            return hmac.new(SECRET, payload.encode(), "sha256").hexdigest()


        app = FastAPI()


        @app.get("/sign")
        def read_signature(payload: str):
            return {"signature": sign(payload)}
        """,
    "tests/test_main.py": """\
        from unittest.mock import patch

        import main


        def test_sign():
            assert main.sign("x")
            with patch("main.sign", return_value="fake"):
                pass
        """,
}


def test_root_module_import_never_rebinds_the_package_name(tmp_path):
    """``import main`` becomes ``from app import main``, never ``import app.main`` (which
    would bind ``app``, the name of the FastAPI object in main)."""
    _change, files = layout(tmp_path, SINGLE)
    assert files["tests/test_main.py"] == dedent("""\
        from unittest.mock import patch

        from app.core import security


        def test_sign():
            assert security.sign("x")
            with patch("app.api.v1.routes.sign", return_value="fake"):
                pass
        """)


def test_residual_main_keeps_only_the_imports_it_uses(tmp_path):
    _change, files = layout(tmp_path, SINGLE)
    assert files["app/main.py"] == dedent("""\
        from fastapi import FastAPI
        from app.api.v1.routes import router


        app = FastAPI()


        app.include_router(router)
        """)
    assert files["app/core/security.py"] == dedent("""\
        import hmac

        SECRET = b"key"


        def sign(payload: str) -> str:
            return hmac.new(SECRET, payload.encode(), "sha256").hexdigest()
        """)


def test_from_dot_import_of_a_sibling_module(tmp_path):
    main = "from fastapi import FastAPI\n\nfrom . import crud\n\napp = FastAPI()\nLIMIT = crud.list_items\n"
    _change, files = project(tmp_path, **{"shop/main.py": main})
    assert "from .services import item_service as crud\n" in files["shop/main.py"]


def test_line_endings_and_byte_order_mark_are_kept(tmp_path):
    from tests.codemods.layered_layout.helpers import plan, write_project

    write_project(tmp_path, {name: dedent(text) for name, text in SINGLE.items()})
    main = tmp_path / "main.py"
    main.write_bytes(b"\xef\xbb\xbf" + main.read_bytes().replace(b"\n", b"\r\n"))
    change = plan(tmp_path)
    outputs = {
        f.new_path: f.new
        for f in change.files
        if f.new_path and f.new_path.startswith("app/") and f.new
    }
    assert outputs["app/main.py"].startswith(b"\xef\xbb\xbf")
    for path, data in outputs.items():
        assert data.count(b"\n") == data.count(b"\r\n"), path


def test_a_module_receiving_definitions_shares_its_imports_with_them(tmp_path):
    auth = (
        dedent(SHOP["shop/auth.py"])
        .replace("import hmac\n", "import hmac\n\nfrom .config import settings\n")
        .replace("    return token\n", "    return token or str(settings.page_size)\n")
    )
    dependencies = (
        "from .config import settings\n\n\ndef page_size() -> int:\n    return settings.page_size\n"
    )
    router = (
        dedent(SHOP["shop/routers/items.py"])
        .replace(
            "from ..config import settings\n",
            "from ..config import settings\nfrom ..dependencies import page_size\n",
        )
        .replace("def read_items(", "def read_items(size: int = Depends(page_size), ")
    )
    change, files = project(
        tmp_path,
        **{
            "shop/auth.py": auth,
            "shop/dependencies.py": dependencies,
            "shop/routers/items.py": router,
        },
    )
    assert not change.errors
    assert files["shop/api/v1/dependencies.py"] == dedent("""\
        from shop.core.config import settings


        def page_size() -> int:
            return settings.page_size


        def current_user(token: str = "") -> str:
            return token or str(settings.page_size)
        """)
