"""Storage.

The kiosk's store of turns, sessions, hand-offs and ratings in ``kiosk.db`` (``store``) over the SQLite base
(``sqlite``); the schema and its version are :mod:`statedb`'s.
"""

from kiosk.storage.sqlite import LockedSqlite, tighten_state_file
from kiosk.storage.store import HandoffStateError, Store, StoreError

__all__ = [
    "HandoffStateError",
    "LockedSqlite",
    "Store",
    "StoreError",
    "tighten_state_file",
]
