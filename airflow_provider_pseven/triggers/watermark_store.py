"""Where a RunEventTrigger keeps its watermark: the asset state store of the assets it feeds."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

#: Seconds one read or write of the asset state store may take before it counts as failed.
STORE_TIMEOUT = 30.0


def store_key(identity: str) -> str:
    return "pseven.run_events." + hashlib.sha1(identity.encode("utf-8")).hexdigest()[:16]


class WatermarkStore:
    """The watermark in the asset state store of every asset the watcher feeds; each read and
    write bounded by ``STORE_TIMEOUT``. Without a store (a trigger run outside a watcher), memory."""

    def __init__(self, accessors: Any, key: str) -> None:
        self.key = key
        self.accessors = accessors_of(accessors)
        self._memory: Any = None

    async def read(self) -> Any:
        if not self.accessors:
            return self._memory
        values = [await asyncio.wait_for(a.aget(self.key), STORE_TIMEOUT) for a in self.accessors]
        return next((v for v in values if v is not None), None)

    async def write(self, value: dict[str, Any]) -> None:
        if not self.accessors:
            self._memory = value
            return
        for accessor in self.accessors:
            await asyncio.wait_for(accessor.aset(self.key, value), STORE_TIMEOUT)


def accessors_of(store: Any) -> list[Any]:
    """Per-asset accessors of Airflow's ``AssetStateStoreAccessors`` (a watcher may feed several
    assets: one trigger serves identical watchers), or the store itself if it is a single one."""
    if store is None:
        return []
    found = [*getattr(store, "_by_name", {}).values(), *getattr(store, "_by_uri", {}).values()]
    return found or [store]


__all__ = ["STORE_TIMEOUT", "WatermarkStore", "store_key"]
