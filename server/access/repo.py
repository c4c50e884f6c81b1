"""Used nonces in the database: how long they are kept, and their pruning. Decisions and the
claim of a granted code's nonce are stored by ``server.access.decision_store``, in one
statement, so one code admits once, anywhere."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session

from protocol.credential import DEFAULT_SKEW_S, MAX_LIFETIME_S
from server.access.models import UsedNonce

# A code granted offline is kept used until it cannot be valid anymore.
NONCE_KEEP_S = MAX_LIFETIME_S + 2 * DEFAULT_SKEW_S


def prune_used_nonces(session: Session, *, now: datetime) -> int:
    """Nonces of tokens that have expired can never be presented validly again. One DELETE
    (at the national peak a minute's worth is some 18,000 rows, not to be loaded as objects);
    how many it removed."""
    table = UsedNonce.__table__  # type: ignore[attr-defined]
    result = session.connection().execute(delete(table).where(table.c.expires_at < now))
    session.commit()
    return int(result.rowcount)
