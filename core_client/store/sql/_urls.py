"""Database URLs as users write them, and as messages may show them."""

from __future__ import annotations

__all__ = ["normalize_url", "safe_url"]


def normalize_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` as users write them, for SQLAlchemy's psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def safe_url(url: str) -> str:
    """``url`` with its password masked, for messages."""
    if url.startswith("sqlite:"):
        return url
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL SQLAlchemy cannot parse is said as it is, less what may be a password
        return url.split("@", 1)[-1]
