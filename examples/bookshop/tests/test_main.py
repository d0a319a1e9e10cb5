from unittest.mock import patch


def test_health(client):
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/health/db").json() == {"database": "ok"}


def test_bestsellers_wait_for_the_replica(client, login, book, monkeypatch):
    headers = login("ada@example.com")
    client.post("/orders", json={"items": [{"book_id": book["id"], "quantity": 3}]}, headers=headers)
    monkeypatch.setattr("bookshop.config.settings.report_delay_seconds", 2.5)

    with patch("bookshop.main.time.sleep") as fake_sleep:
        response = client.get("/reports/bestsellers", params={"limit": 5})

    fake_sleep.assert_called_once_with(2.5)
    assert response.json() == [{"book_id": book["id"], "title": book["title"], "copies_sold": 3}]


def test_restock_report_waits_for_the_warehouse_then_the_replica(client, login, book, monkeypatch):
    headers = login("ada@example.com")
    client.post("/orders", json={"items": [{"book_id": book["id"], "quantity": 2}]}, headers=headers)
    monkeypatch.setattr("bookshop.config.settings.report_delay_seconds", 1.5)

    with patch("bookshop.main.time.sleep") as fake_sleep:
        response = client.get("/reports/restock", params={"limit": 3})

    fake_sleep.assert_called_once_with(1.5)
    assert response.json() == [{"book_id": book["id"], "title": book["title"], "copies_sold": 2}]


def test_order_status_websocket(client, login, book):
    headers = login("ada@example.com")
    placed = client.post("/orders", json={"items": [{"book_id": book["id"], "quantity": 1}]}, headers=headers)

    with client.websocket_connect(f"/ws/orders/{placed.json()['id']}") as ws:
        ws.send_text("ping")
        assert ws.receive_json() == {"order_id": placed.json()["id"], "status": "pending"}
    with client.websocket_connect("/ws/orders/999") as ws:
        ws.send_text("ping")
        assert ws.receive_json()["status"] == "unknown"
