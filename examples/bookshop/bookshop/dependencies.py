"""Small dependencies shared by several routers."""
from fastapi import Query


class Pagination:
    """The ``?skip=&limit=`` pair accepted by every list endpoint."""

    def __init__(self, skip: int = Query(0, ge=0), limit: int = Query(20, ge=1, le=100)) -> None:
        self.skip = skip
        self.limit = limit
