"""Customer orders."""
from fastapi import APIRouter, BackgroundTasks, Depends, Header, HTTPException, Path, Security, status
from sqlalchemy.orm import Session

from bookshop import crud
from bookshop.auth import get_current_user
from bookshop.database import get_db
from bookshop.dependencies import Pagination
from bookshop.models import User
from bookshop.notifications import notify_warehouse, send_order_confirmation
from bookshop.schemas import OrderCreate, OrderOut
from bookshop.services import OutOfStockError, order_service

router = APIRouter(prefix="/orders", tags=["orders"])


@router.post("", response_model=OrderOut, status_code=status.HTTP_201_CREATED)
async def place_order(
    data: OrderCreate,
    background_tasks: BackgroundTasks,
    idempotency_key: str | None = Header(None, max_length=64),
    db: Session = Depends(get_db),
    customer: User = Security(get_current_user, scopes=["orders"]),
):
    try:
        order = order_service.place(db, customer.id, data, idempotency_key)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc))
    except OutOfStockError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc))
    background_tasks.add_task(notify_warehouse, order.id)
    background_tasks.add_task(send_order_confirmation, customer.email, order.id, order.total_cents)
    return order


@router.get("", response_model=list[OrderOut])
async def list_my_orders(
    page: Pagination = Depends(),
    db: Session = Depends(get_db),
    customer: User = Security(get_current_user, scopes=["orders"]),
):
    return crud.list_orders_for(db, customer.id, skip=page.skip, limit=page.limit)


@router.get("/{order_id}", response_model=OrderOut)
def read_order(
    order_id: int = Path(..., gt=0),
    db: Session = Depends(get_db),
    customer: User = Security(get_current_user, scopes=["orders"]),
):
    order = crud.get_order(db, order_id)
    if order is None or order.customer_id != customer.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Order not found")
    return order
