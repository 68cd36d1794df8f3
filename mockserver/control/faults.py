"""Fault rules (WireMock/LocalStack-chaos style) and the bounded request journal. Pure state, no HTTP."""
from __future__ import annotations

import collections
import fnmatch
import itertools
import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Fault:
    id: str
    action: str  # status | latency | drop
    method: str = "*"
    path: str = "/api/*"
    status: int = 503
    retry_after: int | None = None
    latency_ms: int = 0
    after_bytes: int = 1
    times: int | None = None
    probability: float = 1.0
    tenant: str | None = None
    fired: int = 0

    def matches(self, method: str, path: str, tenant: str | None) -> bool:
        return (
            (self.method == "*" or self.method.upper() == method)
            and fnmatch.fnmatchcase(path, self.path)
            and (self.tenant is None or self.tenant == tenant)
            and (self.times is None or self.times > 0)
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultRules:
    def __init__(self, seed: int | None = None) -> None:
        self._rules: list[Fault] = []
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._tenant_rngs: dict[str, random.Random] = {}  # tenants that set a seed of their own
        self._ids = itertools.count(1)

    def seed(self, seed: int | None, tenant: str | None = None) -> None:
        """Seed the draws of one tenant's requests, or (None) of the whole server, dropping the tenants' seeds."""
        with self._lock:
            if tenant is None:
                self._tenant_rngs.clear()
                self._rng.seed(seed)
            else:
                self._tenant_rngs[tenant] = random.Random(seed)

    def add(self, tenant: str | None, **spec: Any) -> Fault:
        with self._lock:
            fault = Fault(id=f"f{next(self._ids)}", tenant=tenant, **spec)
            self._rules.append(fault)
            return fault

    def list(self, tenant: str | None) -> list[Fault]:
        with self._lock:
            return [f for f in self._rules if tenant is None or f.tenant == tenant]

    def remove(self, fault_id: str, tenant: str | None) -> bool:
        with self._lock:
            kept = [f for f in self._rules if not (f.id == fault_id and (tenant is None or f.tenant == tenant))]
            removed = len(kept) != len(self._rules)
            self._rules = kept
            return removed

    def clear(self, tenant: str | None) -> None:
        with self._lock:
            self._rules = [f for f in self._rules if tenant is not None and f.tenant != tenant]

    def fire(self, method: str, path: str, tenant: str | None) -> Fault | None:
        """The first matching rule that fires this time (counting it down), if any."""
        with self._lock:
            rng = self._tenant_rngs.get(tenant or "", self._rng)
            for fault in self._rules:
                if fault.matches(method, path, tenant) and rng.random() < fault.probability:
                    fault.fired += 1
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None


@dataclass
class JournalEntry:
    id: int
    time: str
    method: str
    path: str
    query: str
    status: int | None
    duration_ms: float
    operation_id: str | None
    tenant: str | None
    fault: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)


class Journal:
    """The last `size` requests; API keys are never stored (only the tenant id)."""

    def __init__(self, size: int) -> None:
        self._entries: collections.deque[JournalEntry] = collections.deque(maxlen=size)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def next_id(self) -> int:
        return next(self._ids)

    def add(self, entry: JournalEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    def find(self, tenant: str | None, method: str | None = None, path: str | None = None,
             operation_id: str | None = None, limit: int | None = None) -> list[JournalEntry]:
        with self._lock:
            entries = list(reversed(self._entries))
        found = [
            e for e in entries
            if (tenant is None or e.tenant == tenant)
            and (method is None or e.method == method.upper())
            and (path is None or fnmatch.fnmatchcase(e.path, path))
            and (operation_id is None or e.operation_id == operation_id)
        ]
        return found[:limit] if limit else found

    def clear(self, tenant: str | None) -> None:
        with self._lock:
            kept = [e for e in self._entries if tenant is not None and e.tenant != tenant]
            self._entries.clear()
            self._entries.extend(kept)
