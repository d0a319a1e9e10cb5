"""fastapi-fix: codemods that repair the common pitfalls of FastAPI code bases."""

__version__ = "0.1.0"
