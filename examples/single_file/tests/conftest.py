import os

os.environ["SNIP_DATABASE_URL"] = "sqlite://"

import pytest  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

import main  # noqa: E402


@pytest.fixture
def client():
    main.Base.metadata.create_all(bind=main.engine)
    with TestClient(main.app) as test_client:
        yield test_client
    main.Base.metadata.drop_all(bind=main.engine)


@pytest.fixture
def auth_headers(client):
    def _login(username="alice", password="wonderland"):
        created = client.post("/users", json={"username": username, "password": password})
        assert created.status_code == 201, created.text
        token = client.post("/token", data={"username": username, "password": password})
        return {"Authorization": f"Bearer {token.json()['access_token']}"}

    return _login
