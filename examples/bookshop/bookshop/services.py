"""Business rules that touch more than one table."""
from sqlalchemy.orm import Session

from . import crud
from .models import Book, Order, OrderItem
from .schemas import BookCreate, OrderCreate


class OutOfStockError(Exception):
    def __init__(self, book: Book, requested: int) -> None:
        super().__init__(f"Only {book.stock} copies of {book.title!r} left, {requested} requested")
        self.book = book


class BookService:
    def create(self, db: Session, data: BookCreate) -> Book:
        book = Book(**data.model_dump())
        db.add(book)
        db.commit()
        db.refresh(book)
        return book

    def restock(self, db: Session, book: Book, quantity: int) -> Book:
        book.stock += quantity
        db.commit()
        return book

    def set_cover(self, db: Session, book: Book, path: str, alt_text: str) -> Book:
        book.cover_path = path
        book.cover_alt = alt_text or book.title
        db.commit()
        return book

    def apply_metadata(self, db: Session, book: Book, metadata: dict) -> Book:
        """Copy what we trust from an Open Library edition record."""
        if metadata.get("number_of_pages"):
            book.page_count = int(metadata["number_of_pages"])
        db.commit()
        return book


class OrderService:
    def place(
        self, db: Session, customer_id: int, data: OrderCreate, idempotency_key: str | None = None
    ) -> Order:
        if idempotency_key:
            previous = (
                db.query(Order)
                .filter_by(customer_id=customer_id, idempotency_key=idempotency_key)
                .first()
            )
            if previous is not None:
                return previous

        order = Order(customer_id=customer_id, idempotency_key=idempotency_key)
        for line in data.items:
            book = crud.get_book(db, line.book_id)
            if book is None:
                raise LookupError(f"Book {line.book_id} does not exist")
            if book.stock < line.quantity:
                raise OutOfStockError(book, line.quantity)
            book.stock -= line.quantity
            order.items.append(
                OrderItem(book_id=book.id, quantity=line.quantity, unit_price_cents=book.price_cents)
            )
        db.add(order)
        db.commit()
        db.refresh(order)
        return order


book_service = BookService()
order_service = OrderService()
