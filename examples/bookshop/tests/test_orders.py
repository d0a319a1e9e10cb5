from bookshop import notifications


def order(book, quantity=1):
    return {"items": [{"book_id": book["id"], "quantity": quantity}]}


def test_place_order(client, login, book):
    headers = login("ada@example.com")
    response = client.post("/orders", json=order(book, 2), headers=headers)

    assert response.status_code == 201, response.text
    placed = response.json()
    assert placed["total_cents"] == 2 * 899
    assert client.get(f"/books/{book['id']}").json()["stock"] == 3
    assert notifications.warehouse_queue == [placed["id"]]
    assert notifications.outbox[-1]["subject"] == f"Your order #{placed['id']}"


def test_idempotency_key_prevents_double_orders(client, login, book):
    headers = {**login("ada@example.com"), "Idempotency-Key": "checkout-42"}
    first = client.post("/orders", json=order(book), headers=headers).json()
    second = client.post("/orders", json=order(book), headers=headers).json()

    assert first["id"] == second["id"]
    assert client.get(f"/books/{book['id']}").json()["stock"] == 4


def test_out_of_stock_and_unknown_books(client, login, book):
    headers = login("ada@example.com")
    assert client.post("/orders", json=order(book, 6), headers=headers).status_code == 409
    assert client.post("/orders", json=order({"id": 999}), headers=headers).status_code == 404
    assert client.get(f"/books/{book['id']}").json()["stock"] == 5


def test_orders_need_the_orders_scope(client, login, book):
    headers = login("ada@example.com", scopes="")
    response = client.post("/orders", json=order(book), headers=headers)
    assert response.status_code == 403
    assert 'scope="orders"' in response.headers["WWW-Authenticate"]


def test_customers_only_see_their_own_orders(client, login, book):
    ada = login("ada@example.com")
    bob = login("bob@example.com")
    placed = client.post("/orders", json=order(book), headers=ada).json()

    assert [o["id"] for o in client.get("/orders", headers=ada).json()] == [placed["id"]]
    assert client.get("/orders", headers=bob).json() == []
    assert client.get(f"/orders/{placed['id']}", headers=ada).status_code == 200
    assert client.get(f"/orders/{placed['id']}", headers=bob).status_code == 404
