"""Per-request batching, so a list of posts costs one query for all their creators."""

from __future__ import annotations

from models.rows import UserSummary
from services import accounts


class UserLoader:
    """Collects the user ids a response will need and fetches them in one query."""

    def __init__(self) -> None:
        self._pending: set[int] = set()
        self._users: dict[int, UserSummary] = {}

    def prime(self, user_ids: list[int]) -> None:
        """Announce ids that are likely to be asked for; nothing is fetched yet."""
        self._pending.update(i for i in user_ids if i not in self._users)

    def get(self, user_id: int) -> UserSummary | None:
        """The user, fetching it together with every pending id on first use."""
        if user_id not in self._users:
            self._pending.add(user_id)
            self._users.update(accounts.users_by_ids(self._pending))
            self._pending.clear()
        return self._users.get(user_id)
