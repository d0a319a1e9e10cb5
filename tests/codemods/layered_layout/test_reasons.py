"""The plan table's reasons: each row says why *its* definitions go to *its* destination."""

from pathlib import Path

from tests.codemods.layered_layout.helpers import plan, write_project

# A module mixing password code (stays in core/security.py) with the dependencies a
# split sends away, and a module of background-task helpers that only routes use.
MIXED = {
    "shop/__init__.py": "",
    "shop/main.py": """\
        from fastapi import FastAPI

        from shop.routes import router

        app = FastAPI()
        app.include_router(router)
    """,
    "shop/models.py": """\
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


        class Base(DeclarativeBase):
            pass


        class User(Base):
            __tablename__ = "users"
            id: Mapped[int] = mapped_column(primary_key=True)
    """,
    "shop/auth.py": """\
        import hashlib
        import hmac
        import secrets

        from fastapi import Depends
        from fastapi.security import OAuth2PasswordBearer

        oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")


        ITERATIONS = 100_000


        def hash_password(password: str, salt: bytes = b"salt") -> str:
            digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, ITERATIONS)
            return digest.hex()


        def verify_password(password: str, hashed: str) -> bool:
            return hmac.compare_digest(hash_password(password), hashed)


        def issue_token() -> str:
            return secrets.token_hex(16)


        def get_current_user(token: str = Depends(oauth2_scheme)) -> str:
            return token


        def get_current_admin(user: str = Depends(get_current_user)) -> str:
            return user
    """,
    "shop/notifications.py": """\
        outbox: list[str] = []


        def send_welcome_email(email: str) -> None:
            outbox.append(email)
    """,
    "shop/routes.py": """\
        from fastapi import APIRouter, BackgroundTasks, Depends

        from shop.auth import get_current_admin, hash_password, issue_token, verify_password
        from shop.notifications import send_welcome_email

        router = APIRouter()


        @router.post("/users")
        def create_user(email: str, password: str, tasks: BackgroundTasks) -> dict:
            tasks.add_task(send_welcome_email, email)
            hashed = hash_password(password)
            return {"ok": verify_password(password, hashed), "token": issue_token()}


        @router.get("/admin")
        def admin(user: str = Depends(get_current_admin)) -> str:
            return user
    """,
}


def _rows(tmp_path: Path) -> dict[tuple[str, str], str]:
    write_project(tmp_path, MIXED)
    return {(row.source, row.target): row.reason for row in plan(tmp_path).rows}


def test_split_module_reason_speaks_of_what_stays(tmp_path: Path) -> None:
    rows = _rows(tmp_path)
    # The password code stays in core/security.py; the dependencies are split off.
    assert (
        rows[("shop/auth.py", "shop/core/security.py")] == "security: uses hashlib, hmac, secrets"
    )
    assert (
        rows[("shop/auth.py", "shop/api/v1/dependencies.py")]
        == "oauth2_scheme, get_current_user, get_current_admin (security scheme; used in Depends())"
    )


def test_helper_module_reason_names_its_lowest_user(tmp_path: Path) -> None:
    rows = _rows(tmp_path)
    assert (
        rows[("shop/notifications.py", "shop/services/notifications.py")]
        == "helpers only; its lowest user is routes, hence services/"
    )


def test_moved_routes_module_reason_is_not_repeated(tmp_path: Path) -> None:
    rows = _rows(tmp_path)
    assert rows[("shop/routes.py", "shop/api/v1/routes.py")] == "routes: APIRouter route"


# The FastAPI project template's backend: api/ and core/ folders with models.py and
# crud.py beside them. It is layered already; moving it is for --layout-force only.
TEMPLATE = {
    "app/__init__.py": "",
    "app/main.py": """\
        from fastapi import FastAPI

        from app.api.main import api_router

        app = FastAPI()
        app.include_router(api_router)
    """,
    "app/api/__init__.py": "",
    "app/api/main.py": """\
        from fastapi import APIRouter

        from app.api.routes import items

        api_router = APIRouter()
        api_router.include_router(items.router)
    """,
    "app/api/routes/__init__.py": "",
    "app/api/routes/items.py": """\
        from fastapi import APIRouter

        from app import crud
        from app.models import ItemOut

        router = APIRouter()


        @router.get("/items")
        def read_items() -> list[ItemOut]:
            return crud.list_items()
    """,
    "app/core/__init__.py": "",
    "app/core/config.py": """\
        from pydantic_settings import BaseSettings


        class Settings(BaseSettings):
            secret_key: str = "s"


        settings = Settings()
    """,
    "app/models.py": """\
        from pydantic import BaseModel


        class ItemOut(BaseModel):
            title: str
    """,
    "app/crud.py": """\
        from app.models import ItemOut


        def list_items() -> list[ItemOut]:
            return [ItemOut(title="a")]
    """,
}


def test_the_project_templates_layout_is_already_layered(tmp_path: Path) -> None:
    write_project(tmp_path, TEMPLATE)
    change = plan(tmp_path)
    assert change.files == []
    assert change.notes == [
        "already layered (api/, core/): nothing to do (--layout-force plans anyway)"
    ]
    assert plan(tmp_path, **{"layout-force": True}).files  # asked to, it still plans the move
