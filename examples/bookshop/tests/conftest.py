import os

# Configure the app before it is imported: private in-memory database, no deliberate delays.
os.environ["BOOKSHOP_DATABASE_URL"] = "sqlite://"
os.environ["BOOKSHOP_REPORT_DELAY"] = "0"
os.environ["BOOKSHOP_LOGIN_FAILURE_DELAY"] = "0"

import pytest  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from bookshop import notifications  # noqa: E402
from bookshop.database import Base, SessionLocal, engine  # noqa: E402
from bookshop.main import app  # noqa: E402
from bookshop.models import User  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_state(tmp_path, monkeypatch):
    Base.metadata.create_all(bind=engine)
    monkeypatch.setattr("bookshop.config.settings.covers_dir", str(tmp_path / "covers"))
    for sent in (notifications.outbox, notifications.warehouse_queue, notifications.signups):
        sent.clear()
    yield
    Base.metadata.drop_all(bind=engine)


@pytest.fixture
def client():
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def login(client):
    """Register an account (optionally an admin) and return auth headers for it."""

    def _login(email="reader@example.com", password="correct horse", scopes="orders", admin=False):
        response = client.post(
            "/users", json={"email": email, "full_name": "Test Reader", "password": password}
        )
        assert response.status_code == 201, response.text
        if admin:
            with SessionLocal() as db:
                db.get(User, response.json()["id"]).is_admin = True
                db.commit()
        token = client.post(
            "/auth/token", data={"username": email, "password": password, "scope": scopes}
        )
        assert token.status_code == 200, token.text
        return {"Authorization": f"Bearer {token.json()['access_token']}"}

    return _login


@pytest.fixture
def admin_headers(login):
    return login("admin@bookshop.example", scopes="admin orders", admin=True)


@pytest.fixture
def book(client, admin_headers):
    payload = {
        "isbn": "9780141439518",
        "title": "Pride and Prejudice",
        "author": "Jane Austen",
        "price_cents": 899,
        "stock": 5,
    }
    response = client.post("/books", json=payload, headers=admin_headers)
    assert response.status_code == 201, response.text
    return response.json()
