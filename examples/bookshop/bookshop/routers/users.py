"""Sign-up, login and account lookup."""
import asyncio

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Path, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy.orm import Session

from bookshop import auth, crud
from bookshop.config import settings
from bookshop.database import get_db
from bookshop.models import User
from bookshop.notifications import record_signup, send_welcome_email
from bookshop.schemas import Token, UserCreate, UserOut

router = APIRouter(tags=["users"])


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED)
async def register(data: UserCreate, background_tasks: BackgroundTasks, db: Session = Depends(get_db)):
    if crud.get_user_by_email(db, data.email):
        raise HTTPException(status.HTTP_409_CONFLICT, "Email already registered")
    user = crud.create_user(
        db, email=data.email, full_name=data.full_name, hashed_password=auth.hash_password(data.password)
    )
    background_tasks.add_task(send_welcome_email, user.email, user.full_name)
    background_tasks.add_task(record_signup, user.id)
    return user


@router.post("/auth/token", response_model=Token)
async def login(form_data: OAuth2PasswordRequestForm = Depends(), db: Session = Depends(get_db)):
    user = auth.authenticate(db, form_data.username, form_data.password)
    if user is None:
        # Slow down credential stuffing without tying up a worker.
        await asyncio.sleep(settings.login_failure_delay_seconds)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Incorrect email or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Token(access_token=auth.issue_token(db, user, form_data.scopes))


@router.get("/users/me", response_model=UserOut)
def read_current_user(current_user: User = Depends(auth.get_current_user)):
    return current_user


@router.get("/users/{user_id}", response_model=UserOut)
async def read_user(
    user_id: int = Path(..., gt=0),
    db: Session = Depends(get_db),
    admin: User = Depends(auth.get_current_admin),
):
    user = crud.get_user(db, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "User not found")
    return user
