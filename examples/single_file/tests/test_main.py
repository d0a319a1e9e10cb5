import logging
from unittest.mock import Mock, patch

import pytest
import requests

import main


@pytest.fixture
def reachable():
    with patch("main.requests.head", return_value=Mock(status_code=200)) as head:
        yield head


def test_health(client):
    assert client.get("/health").json() == {"status": "ok"}


def test_register_and_login(client, caplog):
    with caplog.at_level(logging.INFO, logger="snip"):
        response = client.post("/users", json={"username": "alice", "password": "wonderland"})
    assert response.status_code == 201
    assert "New user signed up: alice" in caplog.text

    assert client.post("/users", json={"username": "alice", "password": "x" * 8}).status_code == 409
    assert client.post("/token", data={"username": "alice", "password": "wrong"}).status_code == 401
    assert client.post("/token", data={"username": "alice", "password": "wonderland"}).status_code == 200


def test_tokens_are_signed_and_expire(monkeypatch):
    token = main.create_access_token(7)
    assert main.read_access_token(token) == 7
    assert main.read_access_token(token[:-1] + ("0" if token[-1] != "0" else "1")) is None
    monkeypatch.setattr(main.settings, "token_ttl_seconds", -1)
    assert main.read_access_token(main.create_access_token(7)) is None


def test_shorten_and_follow(client, auth_headers, reachable):
    headers = auth_headers()
    created = client.post("/links", json={"target_url": "https://fastapi.tiangolo.com/"}, headers=headers)
    assert created.status_code == 201, created.text
    code = created.json()["code"]
    reachable.assert_called_once()

    redirect = client.get(f"/r/{code}", follow_redirects=False)
    assert redirect.status_code == 307
    assert redirect.headers["location"] == "https://fastapi.tiangolo.com/"
    assert client.get(f"/links/{code}", headers=headers).json()["clicks"] == 1


def test_custom_codes_are_unique(client, auth_headers, reachable):
    headers = auth_headers()
    payload = {"target_url": "https://example.com/a", "code": "docs"}
    assert client.post("/links", json=payload, headers=headers).status_code == 201
    assert client.post("/links", json=payload, headers=headers).status_code == 409


def test_unreachable_targets_are_rejected(client, auth_headers):
    with patch("main.requests.head", side_effect=requests.ConnectionError("refused")):
        response = client.post("/links", json={"target_url": "https://down.example/"}, headers=auth_headers())
    assert response.status_code == 400


def test_links_are_private(client, auth_headers, reachable):
    alice, bob = auth_headers("alice"), auth_headers("bob")
    code = client.post("/links", json={"target_url": "https://example.com/"}, headers=alice).json()["code"]

    assert [link["code"] for link in client.get("/links", headers=alice).json()] == [code]
    assert client.get("/links", headers=bob).json() == []
    assert client.get(f"/links/{code}", headers=bob).status_code == 404
    assert client.delete(f"/links/{code}", headers=bob).status_code == 404
    assert client.delete(f"/links/{code}", headers=alice).status_code == 204
    assert client.get(f"/r/{code}", follow_redirects=False).status_code == 404


def test_validation(client, auth_headers):
    headers = auth_headers()
    assert client.get("/links", params={"limit": 1000}, headers=headers).status_code == 422
    assert client.get("/links/abc", headers=headers).status_code == 422
    assert client.post("/links", json={"target_url": "not a url"}, headers=headers).status_code == 422
    assert client.get("/links").status_code == 401
