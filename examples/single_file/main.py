"""Snip: a small link-shortening service.

Run locally with ``uvicorn main:app --reload``; configuration comes from ``SNIP_*``
environment variables.
"""
import hashlib
import hmac
import logging
import os
import secrets
import string
import time
from collections.abc import Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone

import requests
from fastapi import BackgroundTasks, Depends, FastAPI, HTTPException, Path, Query, status
from fastapi.responses import RedirectResponse
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field, HttpUrl
from sqlalchemy import ForeignKey, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker
from sqlalchemy.pool import StaticPool

logger = logging.getLogger("snip")


class Settings:
    database_url = os.environ.get("SNIP_DATABASE_URL", "sqlite:///./snip.db")
    secret_key = os.environ.get("SNIP_SECRET_KEY", "dev-only-change-me")
    token_ttl_seconds = int(os.environ.get("SNIP_TOKEN_TTL_SECONDS", "3600"))


settings = Settings()

engine = create_engine(
    settings.database_url,
    connect_args={"check_same_thread": False},
    poolclass=StaticPool if settings.database_url == "sqlite://" else None,
)
SessionLocal = sessionmaker(bind=engine, autoflush=False, expire_on_commit=False)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    links: Mapped[list["Link"]] = relationship(back_populates="owner", cascade="all, delete-orphan")


class Link(Base):
    __tablename__ = "links"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True, index=True)
    target_url: Mapped[str] = mapped_column(String(2048))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    clicks: Mapped[int] = mapped_column(default=0)
    last_clicked_at: Mapped[datetime | None]

    owner: Mapped[User] = relationship(back_populates="links")


class UserCreate(BaseModel):
    username: str = Field(pattern=r"^[a-z0-9_]{3,40}$")
    password: str = Field(min_length=8)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"


class LinkCreate(BaseModel):
    target_url: HttpUrl
    code: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{4,16}$")


class LinkOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    target_url: str
    clicks: int
    last_clicked_at: datetime | None = None


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    return salt.hex() + ":" + hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 50_000).hex()


def verify_password(password: str, stored: str) -> bool:
    salt, _, digest = stored.partition(":")
    candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), 50_000)
    return hmac.compare_digest(candidate.hex(), digest)


def _sign(payload: str) -> str:
    return hmac.new(settings.secret_key.encode(), payload.encode(), hashlib.sha256).hexdigest()


def create_access_token(user_id: int) -> str:
    payload = f"{user_id}.{int(time.time()) + settings.token_ttl_seconds}"
    return f"{payload}.{_sign(payload)}"


def read_access_token(token: str) -> int | None:
    payload, _, signature = token.rpartition(".")
    user_id, _, expires = payload.partition(".")
    if not hmac.compare_digest(_sign(payload), signature) or not expires.isdigit():
        return None
    return int(user_id) if int(expires) > time.time() else None


oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")


def get_db() -> Iterator[Session]:
    with SessionLocal() as db:
        yield db


def get_current_user(token: str = Depends(oauth2_scheme), db: Session = Depends(get_db)) -> User:
    user_id = read_access_token(token)
    user = db.get(User, user_id) if user_id is not None else None
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Not authenticated", {"WWW-Authenticate": "Bearer"})
    return user


def create_user(db: Session, data: UserCreate) -> User:
    user = User(username=data.username, password_hash=hash_password(data.password))
    db.add(user)
    db.commit()
    return user


def new_code(db: Session, length: int = 7) -> str:
    alphabet = string.ascii_letters + string.digits
    while True:
        code = "".join(secrets.choice(alphabet) for _ in range(length))
        if db.scalar(select(Link.id).where(Link.code == code)) is None:
            return code


def get_owned_link(db: Session, owner: User, code: str) -> Link:
    link = db.scalar(select(Link).where(Link.code == code, Link.owner_id == owner.id))
    if link is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such link")
    return link


def log_signup(username: str) -> None:
    logger.info("New user signed up: %s", username)


async def record_click(link_id: int) -> None:
    with SessionLocal() as db:
        link = db.get(Link, link_id)
        link.clicks += 1
        link.last_clicked_at = utcnow()
        db.commit()


@asynccontextmanager
async def lifespan(app: FastAPI):
    Base.metadata.create_all(bind=engine)
    yield


app = FastAPI(title="Snip", version="0.3.0", lifespan=lifespan)


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
async def register(data: UserCreate, background_tasks: BackgroundTasks, db: Session = Depends(get_db)):
    if db.scalar(select(User).where(User.username == data.username)):
        raise HTTPException(status.HTTP_409_CONFLICT, "Username taken")
    user = create_user(db, data)
    background_tasks.add_task(log_signup, user.username)
    return user


@app.post("/token", response_model=TokenOut)
def login(form_data: OAuth2PasswordRequestForm = Depends(), db: Session = Depends(get_db)):
    user = db.scalar(select(User).where(User.username == form_data.username))
    if user is None or not verify_password(form_data.password, user.password_hash):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Bad credentials", {"WWW-Authenticate": "Bearer"})
    return TokenOut(access_token=create_access_token(user.id))


@app.post("/links", response_model=LinkOut, status_code=status.HTTP_201_CREATED)
async def shorten(data: LinkCreate, db: Session = Depends(get_db), user: User = Depends(get_current_user)):
    target = str(data.target_url)
    try:
        reachable = requests.head(target, timeout=3, allow_redirects=True).status_code < 400
    except requests.RequestException:
        reachable = False
    if not reachable:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "Target URL is not reachable")
    if data.code and db.scalar(select(Link.id).where(Link.code == data.code)):
        raise HTTPException(status.HTTP_409_CONFLICT, "Code already in use")
    link = Link(code=data.code or new_code(db), target_url=target, owner=user)
    db.add(link)
    db.commit()
    return link


@app.get("/links", response_model=list[LinkOut])
def my_links(
    skip: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=200),
    db: Session = Depends(get_db),
    user: User = Depends(get_current_user),
):
    stmt = select(Link).where(Link.owner_id == user.id).order_by(Link.id).offset(skip).limit(limit)
    return db.scalars(stmt).all()


@app.get("/links/{code}", response_model=LinkOut)
async def link_stats(
    code: str = Path(..., min_length=4, max_length=16),
    db: Session = Depends(get_db),
    user: User = Depends(get_current_user),
):
    return get_owned_link(db, user, code)


@app.delete("/links/{code}", status_code=status.HTTP_204_NO_CONTENT)
def delete_link(code: str, db: Session = Depends(get_db), user: User = Depends(get_current_user)):
    db.delete(get_owned_link(db, user, code))
    db.commit()


@app.get("/r/{code}", response_class=RedirectResponse, status_code=status.HTTP_307_TEMPORARY_REDIRECT)
async def follow(code: str, background_tasks: BackgroundTasks, db: Session = Depends(get_db)):
    link = db.scalar(select(Link).where(Link.code == code))
    if link is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such link")
    background_tasks.add_task(record_click, link.id)
    return link.target_url
