"""Bookshop API entry point: ``uvicorn bookshop.main:app``."""
import logging
import time
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Query, WebSocket, WebSocketDisconnect
from sqlalchemy import text
from sqlalchemy.orm import Session

from bookshop import crud, models, notifications  # noqa: F401  (models registers the tables)
from bookshop.config import settings
from bookshop.database import Base, SessionLocal, engine, get_db
from bookshop.routers import books, orders, users
from bookshop.schemas import Bestseller

logging.basicConfig(level=logging.INFO)


@asynccontextmanager
async def lifespan(app: FastAPI):
    Base.metadata.create_all(bind=engine)
    yield


app = FastAPI(title=settings.app_name, version="1.4.0", lifespan=lifespan)
app.include_router(users.router)
app.include_router(books.router)
app.include_router(orders.router)


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.get("/health/db")
def database_health(db=Depends(get_db)):
    db.execute(text("SELECT 1"))
    return {"database": "ok"}


@app.get("/reports/bestsellers", response_model=list[Bestseller])
async def bestsellers(limit: int = Query(10, ge=1, le=50), db: Session = Depends(get_db)):
    # Orders land on the primary; give the reporting replica time to catch up.
    time.sleep(settings.report_delay_seconds)
    rows = crud.bestsellers(db, limit)
    return [Bestseller(book_id=row.id, title=row.title, copies_sold=row.copies_sold) for row in rows]


@app.websocket("/ws/orders/{order_id}")
async def order_status_feed(websocket: WebSocket, order_id: int):
    """Answer every ping from the shop front-end with the order's current status."""
    await websocket.accept()
    try:
        while True:
            await websocket.receive_text()
            with SessionLocal() as db:
                order = crud.get_order(db, order_id)
                order_status = order.status if order else "unknown"
            await websocket.send_json({"order_id": order_id, "status": order_status})
    except WebSocketDisconnect:
        pass


@app.get("/reports/restock", response_model=list[Bestseller])
async def restock_report(limit: int = Query(10, ge=1, le=50), db: Session = Depends(get_db)):
    """The bestsellers to reorder, once the warehouse has taken the orders queued for picking."""
    await notifications.wait_for_warehouse()
    # Orders land on the primary; give the reporting replica time to catch up.
    time.sleep(settings.report_delay_seconds)
    rows = crud.bestsellers(db, limit)
    return [Bestseller(book_id=row.id, title=row.title, copies_sold=row.copies_sold) for row in rows]
