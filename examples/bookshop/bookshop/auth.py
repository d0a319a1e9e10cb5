"""Password hashing, bearer tokens and the current-user dependencies."""
import hashlib
import hmac
import secrets
from datetime import timedelta

from fastapi import Depends, HTTPException, Security, status
from fastapi.security import OAuth2PasswordBearer, SecurityScopes
from sqlalchemy.orm import Session

from bookshop import crud
from bookshop.config import settings
from bookshop.database import get_db
from bookshop.models import AccessToken, User, utcnow

PBKDF2_ITERATIONS = 60_000

oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="auth/token",
    scopes={"orders": "Place and read your own orders.", "admin": "Manage the catalogue."},
)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, PBKDF2_ITERATIONS)
    return f"{salt.hex()}${digest.hex()}"


def verify_password(password: str, hashed_password: str) -> bool:
    salt, _, expected = hashed_password.partition("$")
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), PBKDF2_ITERATIONS)
    return hmac.compare_digest(digest.hex(), expected)


def authenticate(db: Session, email: str, password: str) -> User | None:
    user = crud.get_user_by_email(db, email)
    if user is None or not verify_password(password, user.hashed_password):
        return None
    return user


def issue_token(db: Session, user: User, requested_scopes: list[str]) -> str:
    granted = [scope for scope in requested_scopes if scope != "admin" or user.is_admin]
    token = AccessToken(
        token=secrets.token_urlsafe(32),
        user_id=user.id,
        scopes=" ".join(granted),
        expires_at=utcnow() + timedelta(minutes=settings.token_ttl_minutes),
    )
    db.add(token)
    db.commit()
    return token.token


def get_current_user(
    security_scopes: SecurityScopes,
    token: str = Depends(oauth2_scheme),
    db: Session = Depends(get_db),
) -> User:
    challenge = f'Bearer scope="{security_scopes.scope_str}"' if security_scopes.scopes else "Bearer"
    stored = crud.get_access_token(db, token)
    if stored is None or stored.expires_at < utcnow():
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Invalid or expired token",
            headers={"WWW-Authenticate": challenge},
        )
    missing = set(security_scopes.scopes) - set(stored.scopes.split())
    if missing:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"Token lacks scope: {' '.join(sorted(missing))}",
            headers={"WWW-Authenticate": challenge},
        )
    return stored.user


def get_current_admin(user: User = Security(get_current_user, scopes=["admin"])) -> User:
    if not user.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Administrators only")
    return user
