from unittest.mock import Mock, patch


def test_search_catalogue(client, book):
    assert [b["title"] for b in client.get("/books", params={"q": "austen"}).json()] == [book["title"]]
    assert client.get("/books", params={"q": "tolkien"}).json() == []
    assert client.get("/books", params={"q": "x" * 51}).status_code == 422
    assert client.get("/books", params={"limit": 500}).status_code == 422


def test_read_book(client, book):
    assert client.get(f"/books/{book['id']}").json()["isbn"] == "9780141439518"
    assert client.get("/books/404").status_code == 404
    assert client.get("/books/0").status_code == 422


def test_customers_cannot_edit_the_catalogue(client, login, book):
    headers = login("ada@example.com")
    payload = {"isbn": "9780261103573", "title": "The Hobbit", "author": "Tolkien", "price_cents": 1099}
    assert client.post("/books", json=payload, headers=headers).status_code == 403


def test_duplicate_isbn_is_rejected(client, admin_headers, book):
    payload = {"isbn": book["isbn"], "title": "Again", "author": "Someone", "price_cents": 100}
    assert client.post("/books", json=payload, headers=admin_headers).status_code == 409


def test_restock(client, admin_headers, book):
    response = client.post(f"/books/{book['id']}/stock", json={"quantity": 7}, headers=admin_headers)
    assert response.json()["stock"] == 12


def test_upload_cover(client, admin_headers, book, tmp_path):
    response = client.put(
        f"/books/{book['id']}/cover",
        files={"file": ("cover.png", b"\x89PNG fake image", "image/png")},
        data={"alt_text": "A country house"},
        headers=admin_headers,
    )

    assert response.status_code == 200, response.text
    assert (tmp_path / "covers" / "9780141439518.png").read_bytes() == b"\x89PNG fake image"
    assert response.json()["cover_alt"] == "A country house"


def test_upload_cover_rejects_other_types(client, admin_headers, book):
    response = client.put(
        f"/books/{book['id']}/cover",
        files={"file": ("cover.gif", b"GIF89a", "image/gif")},
        headers=admin_headers,
    )
    assert response.status_code == 415


def test_enrich_from_open_library(client, admin_headers, book):
    edition = Mock(status_code=200, ok=True)
    edition.json.return_value = {"number_of_pages": 480}
    with patch("bookshop.routers.books.requests.get", return_value=edition) as fake_get:
        response = client.post(f"/books/{book['id']}/enrich", headers=admin_headers)

    assert response.json()["page_count"] == 480
    assert "9780141439518" in fake_get.call_args.args[0]


def test_enrich_when_open_library_is_down(client, admin_headers, book, monkeypatch):
    monkeypatch.setattr(
        "bookshop.routers.books.requests.get", Mock(return_value=Mock(status_code=503, ok=False))
    )
    response = client.post(f"/books/{book['id']}/enrich", headers=admin_headers)
    assert response.status_code == 502
