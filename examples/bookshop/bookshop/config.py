"""Runtime settings, read from ``BOOKSHOP_*`` environment variables.

The same image runs locally, in CI and on the PaaS, so nothing is hard-coded
beyond development defaults.
"""
import os


def _float_env(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


class Settings:
    """Process-wide configuration, resolved once at import time."""

    def __init__(self) -> None:
        self.app_name = os.environ.get("BOOKSHOP_APP_NAME", "Bookshop API")
        self.database_url = os.environ.get("BOOKSHOP_DATABASE_URL", "sqlite:///./bookshop.db")
        self.token_ttl_minutes = int(os.environ.get("BOOKSHOP_TOKEN_TTL_MINUTES", "60"))
        # Reports read from a replica that lags the primary by a few hundred ms.
        self.report_delay_seconds = _float_env("BOOKSHOP_REPORT_DELAY", 0.5)
        self.login_failure_delay_seconds = _float_env("BOOKSHOP_LOGIN_FAILURE_DELAY", 0.3)
        self.covers_dir = os.environ.get("BOOKSHOP_COVERS_DIR", "./covers")
        self.isbn_lookup_url = os.environ.get(
            "BOOKSHOP_ISBN_LOOKUP_URL", "https://openlibrary.org/isbn/{isbn}.json"
        )
        self.mail_sender = os.environ.get("BOOKSHOP_MAIL_SENDER", "orders@bookshop.example")


settings = Settings()
