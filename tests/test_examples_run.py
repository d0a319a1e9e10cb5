"""The example apps import, serve their routes and pass their own tests from a copy."""

import pytest

from tests.example_apps import (
    EXAMPLE_APPS,
    EXAMPLES_DIR,
    assert_example_tests_pass,
    copy_example,
    dump_openapi,
)

EXPECTED_PATHS = {
    "bookshop": {
        "/auth/token",
        "/books",
        "/books/{book_id}",
        "/books/{book_id}/cover",
        "/books/{book_id}/enrich",
        "/books/{book_id}/stock",
        "/health",
        "/health/db",
        "/orders",
        "/orders/{order_id}",
        "/reports/bestsellers",
        "/reports/restock",
        "/users",
        "/users/me",
        "/users/{user_id}",
    },
    "single_file": {"/health", "/links", "/links/{code}", "/r/{code}", "/token", "/users"},
}


def test_every_example_is_registered():
    on_disk = {path.name for path in EXAMPLES_DIR.iterdir() if (path / "pyproject.toml").is_file()}
    assert on_disk == set(EXAMPLE_APPS) == set(EXPECTED_PATHS)


@pytest.mark.parametrize("name", sorted(EXAMPLE_APPS))
def test_example_tests_pass_from_a_copy(name, tmp_path):
    output = assert_example_tests_pass(copy_example(name, tmp_path))
    assert " passed" in output


@pytest.mark.parametrize("name", sorted(EXAMPLE_APPS))
def test_example_openapi_has_expected_paths(name, tmp_path):
    app_dir = copy_example(name, tmp_path)
    schema = dump_openapi(app_dir, EXAMPLE_APPS[name].app_ref)

    assert set(schema["paths"]) == EXPECTED_PATHS[name]
    assert not list(app_dir.glob("*.db")), "importing the app must not create its database"
