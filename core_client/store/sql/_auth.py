"""The server's users and API keys, in the SQL store (only the store knows its tables).

A key is ``tkl_<key id>_<secret>``: the key id names it in lists and revocations, and only the
SHA-256 of the whole key is stored, so a copy of the database gives no key away. A key is
shown once, when it is made. Each key grants ``read`` or ``write`` (which includes read) on
projects by name (``project`` or ``entity/project``), or on every project (``*``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select

from ..._errors import UsageError
from . import _schema as S
from ._engine import write_transaction

__all__ = ["ACCESS", "KeyStore", "Principal"]

ACCESS = ("read", "write")
_PREFIX = "tkl_"


@dataclass(frozen=True)
class Principal:
    """Who a request comes from, and what it may do: ``grants`` maps project (or ``*``) to access."""

    user: str
    key_id: str
    grants: dict[str, str] = field(default_factory=dict)

    def can(self, project: str | None, access: str = "read") -> bool:
        """Whether this key may ``access`` (``read``/``write``) ``project`` (None: every project, i.e. needs ``*``)."""
        wanted = ACCESS.index(access)
        for name in ("*",) if project is None else (project, "*"):
            have = self.grants.get(name)
            if have is not None and ACCESS.index(have) >= wanted:
                return True
        return False

    def can_any(self, access: str = "read") -> bool:
        """Whether this key may ``access`` at least one project."""
        wanted = ACCESS.index(access)
        return any(ACCESS.index(a) >= wanted for a in self.grants.values())


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def _check_grants(grants: list[tuple[str, str]]) -> list[tuple[str, str]]:
    checked: dict[str, str] = {}
    for project, access in grants:
        if access not in ACCESS:
            raise UsageError(f"access must be 'read' or 'write'; got {access!r}")
        if not project or len(project) > 260 or project.count("/") > 1:
            raise UsageError(f"project {project!r} is not a project name ('project', 'entity/project' or '*')")
        checked[project] = access
    return sorted(checked.items())


class KeyStore:
    """Users and API keys of the store behind ``engine``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, user: str, grants: list[tuple[str, str]]) -> dict[str, Any]:
        """Make a key for ``user`` (created if new) with ``grants`` ``[(project, access)]``; the answer holds the key, shown once."""
        user = user.strip()
        if not user or len(user) > 128:
            raise UsageError("a key needs a user name (--user NAME), 1-128 characters")
        grants = _check_grants(grants)
        if not grants:
            raise UsageError("a key needs access to at least one project: --project P --access read|write (or --project '*')")
        key_id = secrets.token_hex(4)
        key = f"{_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        now = time.time()
        with write_transaction(self.engine) as conn:
            uid = conn.execute(select(S.users.c.id).where(S.users.c.name == user)).scalar()
            if uid is None:
                uid = conn.execute(S.users.insert().values(name=user, created_at=now)).inserted_primary_key[0]
            conn.execute(S.api_keys.insert().values(key_id=key_id, user_id=uid, secret_sha256=_hash(key), created_at=now))
            for project, access in grants:
                conn.execute(S.api_key_grants.insert().values(key_id=key_id, project=project, access=access))
        return {"key": key, "key_id": key_id, "user": user, "grants": dict(grants), "created_at": now}

    def list(self) -> list[dict[str, Any]]:
        """Every key that is not revoked: ``key_id``, ``user``, ``grants``, ``created_at`` (never the key)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(S.api_keys.c.key_id, S.users.c.name, S.api_keys.c.created_at)
                .join(S.users, S.users.c.id == S.api_keys.c.user_id)
                .where(S.api_keys.c.revoked_at.is_(None))
                .order_by(S.api_keys.c.created_at)
            ).all()
            grants: dict[str, dict[str, str]] = {}
            for key_id, project, access in conn.execute(select(S.api_key_grants)):
                grants.setdefault(key_id, {})[project] = access
            conn.rollback()
        return [{"key_id": k, "user": u, "grants": grants.get(k, {}), "created_at": t} for k, u, t in rows]

    def count(self) -> int:
        """How many keys are live (0: the server has no keys configured)."""
        with self.engine.connect() as conn:
            n = conn.execute(select(func.count()).select_from(S.api_keys).where(S.api_keys.c.revoked_at.is_(None))).scalar()
            conn.rollback()
        return int(n or 0)

    def revoke(self, key_id: str) -> None:
        """Revoke a key by its id (``tkl_<id>_...``, or the whole key); ``UsageError`` for an unknown one."""
        if key_id.startswith(_PREFIX):
            key_id = key_id[len(_PREFIX):].split("_", 1)[0]
        with write_transaction(self.engine) as conn:
            done = conn.execute(
                S.api_keys.update()
                .where(S.api_keys.c.key_id == key_id, S.api_keys.c.revoked_at.is_(None))
                .values(revoked_at=time.time())
            ).rowcount
        if not done:
            raise UsageError(f"no live key with id {key_id!r}; `tracklet server key list` shows them")

    def verify(self, key: str) -> Principal | None:
        """The principal of a live key, or None (unknown, revoked or malformed)."""
        if not key.startswith(_PREFIX) or len(key) > 200:
            return None
        key_id = key[len(_PREFIX):].split("_", 1)[0]
        with self.engine.connect() as conn:
            row = conn.execute(
                select(S.api_keys.c.secret_sha256, S.users.c.name)
                .join(S.users, S.users.c.id == S.api_keys.c.user_id)
                .where(S.api_keys.c.key_id == key_id, S.api_keys.c.revoked_at.is_(None))
            ).first()
            grants = {} if row is None else {
                p: a for p, a in conn.execute(
                    select(S.api_key_grants.c.project, S.api_key_grants.c.access).where(S.api_key_grants.c.key_id == key_id)
                )
            }
            conn.rollback()
        if row is None or not hmac.compare_digest(row[0], _hash(key)):
            return None
        return Principal(user=row[1], key_id=key_id, grants=grants)
