"""Catalogue: browsing for everyone, editing for administrators."""
import os
import shutil

import requests
from fastapi import APIRouter, Body, Depends, File, Form, HTTPException, Path, Query, UploadFile, status
from sqlalchemy.orm import Session

from .. import crud
from ..auth import get_current_admin
from ..config import settings
from ..database import get_db
from ..dependencies import Pagination
from ..models import Book, User
from ..schemas import BookCreate, BookOut
from ..services import book_service

router = APIRouter(prefix="/books", tags=["books"])

COVER_TYPES = {"image/jpeg": ".jpg", "image/png": ".png"}


def get_book_or_404(book_id: int = Path(..., gt=0), db: Session = Depends(get_db)) -> Book:
    book = crud.get_book(db, book_id)
    if book is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Book not found")
    return book


@router.get("", response_model=list[BookOut])
def list_books(
    q: str | None = Query(None, max_length=50),
    page: Pagination = Depends(),
    db: Session = Depends(get_db),
):
    return crud.search_books(db, q, skip=page.skip, limit=page.limit)


@router.get("/{book_id}", response_model=BookOut)
def read_book(book: Book = Depends(get_book_or_404)):
    return book


@router.post("", response_model=BookOut, status_code=status.HTTP_201_CREATED)
async def create_book(
    data: BookCreate,
    db: Session = Depends(get_db),
    admin: User = Depends(get_current_admin),
):
    if crud.get_book_by_isbn(db, data.isbn):
        raise HTTPException(status.HTTP_409_CONFLICT, "A book with this ISBN already exists")
    return book_service.create(db, data)


@router.post("/{book_id}/stock", response_model=BookOut)
async def restock_book(
    quantity: int = Body(..., embed=True, gt=0),
    book: Book = Depends(get_book_or_404),
    db: Session = Depends(get_db),
    admin: User = Depends(get_current_admin),
):
    return book_service.restock(db, book, quantity)


@router.put("/{book_id}/cover", response_model=BookOut)
async def upload_cover(
    file: UploadFile = File(...),
    alt_text: str = Form("", max_length=255),
    book: Book = Depends(get_book_or_404),
    db: Session = Depends(get_db),
    admin: User = Depends(get_current_admin),
):
    extension = COVER_TYPES.get(file.content_type or "")
    if extension is None:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "Covers must be JPEG or PNG")
    os.makedirs(settings.covers_dir, exist_ok=True)
    destination = os.path.join(settings.covers_dir, f"{book.isbn}{extension}")
    with open(destination, "wb") as out:
        shutil.copyfileobj(file.file, out)
    return book_service.set_cover(db, book, destination, alt_text)


@router.post("/{book_id}/enrich", response_model=BookOut)
async def enrich_from_open_library(
    book: Book = Depends(get_book_or_404),
    db: Session = Depends(get_db),
    admin: User = Depends(get_current_admin),
):
    """Fill in the page count from the Open Library edition record."""
    response = requests.get(settings.isbn_lookup_url.format(isbn=book.isbn), timeout=5)
    if response.status_code == 404:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "ISBN unknown to Open Library")
    if not response.ok:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, "Open Library is unavailable")
    return book_service.apply_metadata(db, book, response.json())
