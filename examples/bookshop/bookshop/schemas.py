"""Request and response bodies."""
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class UserCreate(BaseModel):
    email: str = Field(max_length=255, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    full_name: str = Field(min_length=1, max_length=120)
    password: str = Field(min_length=8)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str
    is_admin: bool


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


class BookCreate(BaseModel):
    isbn: str = Field(pattern=r"^\d{10}(\d{3})?$")
    title: str = Field(min_length=1, max_length=200)
    author: str = Field(min_length=1, max_length=120)
    price_cents: int = Field(gt=0)
    stock: int = Field(default=0, ge=0)


class BookOut(BookCreate):
    model_config = ConfigDict(from_attributes=True)

    id: int
    page_count: int | None = None
    cover_path: str | None = None
    cover_alt: str | None = None


class OrderLine(BaseModel):
    book_id: int
    quantity: int = Field(gt=0, le=20)


class OrderCreate(BaseModel):
    items: list[OrderLine] = Field(min_length=1)


class OrderItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    book_id: int
    quantity: int
    unit_price_cents: int


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: str
    created_at: datetime
    total_cents: int
    items: list[OrderItemOut]


class Bestseller(BaseModel):
    book_id: int
    title: str
    copies_sold: int
