"""Query helpers shared by the routers."""
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bookshop.models import AccessToken, Book, Order, OrderItem, User


def get_user(db: Session, user_id: int) -> User | None:
    return db.get(User, user_id)


def get_user_by_email(db: Session, email: str) -> User | None:
    return db.query(User).filter(User.email == email.lower()).first()


def create_user(db: Session, email: str, full_name: str, hashed_password: str) -> User:
    user = User(email=email.lower(), full_name=full_name, hashed_password=hashed_password)
    db.add(user)
    db.commit()
    db.refresh(user)
    return user


def get_access_token(db: Session, token: str) -> AccessToken | None:
    return db.get(AccessToken, token)


def get_book(db: Session, book_id: int) -> Book | None:
    return db.get(Book, book_id)


def get_book_by_isbn(db: Session, isbn: str) -> Book | None:
    return db.scalar(select(Book).where(Book.isbn == isbn))


def search_books(db: Session, q: str | None, skip: int = 0, limit: int = 20) -> list[Book]:
    stmt = select(Book).order_by(Book.title)
    if q:
        pattern = f"%{q}%"
        stmt = stmt.where(Book.title.ilike(pattern) | Book.author.ilike(pattern))
    return list(db.scalars(stmt.offset(skip).limit(limit)))


def get_order(db: Session, order_id: int) -> Order | None:
    return db.get(Order, order_id)


def list_orders_for(db: Session, customer_id: int, skip: int = 0, limit: int = 20) -> list[Order]:
    stmt = (
        select(Order)
        .where(Order.customer_id == customer_id)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .offset(skip)
        .limit(limit)
    )
    return list(db.scalars(stmt))


def bestsellers(db: Session, limit: int = 10):
    copies_sold = func.sum(OrderItem.quantity).label("copies_sold")
    stmt = (
        select(Book.id, Book.title, copies_sold)
        .join(OrderItem, OrderItem.book_id == Book.id)
        .group_by(Book.id, Book.title)
        .order_by(copies_sold.desc(), Book.title)
        .limit(limit)
    )
    return db.execute(stmt).all()
