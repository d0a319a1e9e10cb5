from fastapi.testclient import TestClient

from bookshop import notifications
from bookshop.main import app


def test_register_sends_welcome_email(client):
    response = client.post(
        "/users", json={"email": "Ada@Example.com", "full_name": "Ada", "password": "analytical"}
    )

    assert response.status_code == 201
    assert response.json()["email"] == "ada@example.com"
    assert notifications.outbox[0]["to"] == "ada@example.com"
    assert notifications.signups == [response.json()["id"]]


def test_register_twice_is_a_conflict(client, login):
    login("ada@example.com")
    response = client.post(
        "/users", json={"email": "ada@example.com", "full_name": "Ada", "password": "analytical"}
    )
    assert response.status_code == 409


def test_signup_succeeds_even_if_welcome_email_bounces():
    # The mail relay rejects this address; the account must still be created.
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post(
            "/users", json={"email": "bob@invalid.test", "full_name": "Bob", "password": "hunter2hunter2"}
        )
        token = client.post("/auth/token", data={"username": "bob@invalid.test", "password": "hunter2hunter2"})

    assert response.status_code == 201
    assert token.status_code == 200
    assert notifications.outbox == []


def test_login_with_wrong_password(client, login):
    login("ada@example.com")
    response = client.post("/auth/token", data={"username": "ada@example.com", "password": "nope"})
    assert response.status_code == 401


def test_me_requires_a_token(client, login):
    assert client.get("/users/me").status_code == 401
    headers = login("ada@example.com")
    assert client.get("/users/me", headers=headers).json()["email"] == "ada@example.com"


def test_only_admins_can_look_up_users(client, login, admin_headers):
    customer = login("ada@example.com")
    user_id = client.get("/users/me", headers=customer).json()["id"]

    assert client.get(f"/users/{user_id}", headers=customer).status_code == 403
    assert client.get(f"/users/{user_id}", headers=admin_headers).json()["id"] == user_id
    assert client.get("/users/999", headers=admin_headers).status_code == 404
    assert client.get("/users/0", headers=admin_headers).status_code == 422
