"""Outgoing e-mail and warehouse hand-off, run as background tasks after the response."""
import asyncio
import logging

from bookshop.config import settings

logger = logging.getLogger(__name__)

# The mail relay and the warehouse poll these; tests inspect them directly.
outbox: list[dict[str, str]] = []
warehouse_queue: list[int] = []
signups: list[int] = []


class DeliveryError(RuntimeError):
    """The mail relay refused the message."""


def send_email(to: str, subject: str, body: str) -> None:
    if to.endswith("@invalid.test"):
        raise DeliveryError(f"Mail relay rejected recipient {to}")
    outbox.append({"from": settings.mail_sender, "to": to, "subject": subject, "body": body})
    logger.info("Sent %r to %s", subject, to)


def send_welcome_email(email: str, full_name: str) -> None:
    send_email(email, "Welcome to the bookshop", f"Hi {full_name}, thanks for signing up!")


def record_signup(user_id: int) -> None:
    signups.append(user_id)
    logger.info("New customer %s", user_id)


def send_order_confirmation(email: str, order_id: int, total_cents: int) -> None:
    body = f"Order #{order_id} is confirmed. Total: {total_cents / 100:.2f} EUR."
    send_email(email, f"Your order #{order_id}", body)


async def notify_warehouse(order_id: int) -> None:
    """Hand the order over for picking; the warehouse system drains this queue."""
    warehouse_queue.append(order_id)
    logger.info("Order %s queued for picking", order_id)


async def wait_for_warehouse(timeout: float = 0.2, poll: float = 0.01) -> bool:
    """Give the warehouse system up to ``timeout`` seconds to take the queued orders."""
    waited = 0.0
    while warehouse_queue and waited < timeout:
        await asyncio.sleep(poll)
        waited += poll
    return not warehouse_queue
