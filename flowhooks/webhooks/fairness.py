"""Which endpoints start the next webhook deliveries: fair shares of a process's slots.

Each free slot goes to the client with the fewest deliveries in flight, and within it
to the endpoint with the fewest (ties: the one served least recently, then the oldest
event), so a client whose receivers hang holds no more than any other client and a
healthy endpoint gets the next slot that frees.

An endpoint that has not answered this process yet (new here, or its last attempt
failed) holds one slot at a time, and all of them together at most ``suspect`` slots,
so a receiver that answers always finds its share free even while others hang before
anyone knows they do. An endpoint whose last attempt failed (a timeout, a refused
connection, an error answer) is also one of at most ``failing`` slots, and holds one
slot at a time after ``probe_after`` failures in a row.

An endpoint is a (client, name) pair: a configured hook's name is its event.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, replace
from heapq import heapify, heappop, heappush

Endpoint = tuple[str, str]  # (client, the endpoint's name within the client)


@dataclass(frozen=True)
class Due:
    """An endpoint with deliveries due now."""

    endpoint: Endpoint
    due: int  # deliveries due now
    failures: int  # its failed attempts in a row (0: the last one succeeded, or none yet)
    first: int  # the seq of its oldest due delivery


@dataclass(frozen=True)
class Slots:
    concurrency: int  # deliveries in flight in the process
    per_endpoint: int  # of which to one endpoint
    failing: int  # of which to endpoints whose last attempt failed
    suspect: int  # of which to endpoints that have not answered this process yet
    probe_after: int  # failures in a row after which an endpoint gets one slot at a time


def share(
    due: Sequence[Due],
    in_flight: Mapping[Endpoint, int],
    failing_in_flight: int,
    slots: Slots,
    served_clients: Mapping[str, int],
    served_endpoints: Mapping[Endpoint, int],
    answering: Set[Endpoint],
) -> list[Endpoint]:
    """The endpoints given the free slots, one entry a slot, in the order given.

    ``served_*``: when each client and endpoint was last given a slot (a growing tick;
    absent: never), so equals take turns. ``answering``: endpoints whose last attempt
    from this process was delivered.
    """
    turn = _Turn(
        due, in_flight, failing_in_flight, slots, served_clients, served_endpoints, answering
    )
    free = slots.concurrency - sum(in_flight.values())
    given: list[Endpoint] = []
    while len(given) < free and (d := turn.next()) is not None:
        given.append(d.endpoint)
    return given


class _Turn:
    """The slots given so far in one call of ``share``, and who is next.

    Within one call a slot only ever gets harder to give, so what can't take one now is
    dropped, and only the endpoint and client just served change their keys (heaps).
    """

    def __init__(
        self,
        due: Sequence[Due],
        in_flight: Mapping[Endpoint, int],
        failing_in_flight: int,
        slots: Slots,
        served_clients: Mapping[str, int],
        served_endpoints: Mapping[Endpoint, int],
        answering: Set[Endpoint],
    ) -> None:
        self.slots, self.answering = slots, answering
        self.served_clients, self.served_endpoints = served_clients, served_endpoints
        self.failing_free = slots.failing - failing_in_flight
        self.suspect_free = slots.suspect - sum(
            n for e, n in in_flight.items() if e not in answering
        )
        self.held: Counter[Endpoint] = Counter(in_flight)
        self.per_client: Counter[str] = Counter()
        for (client, _), n in in_flight.items():
            self.per_client[client] += n
        self.info = {d.endpoint: d for d in due}
        self.left = {d.endpoint: d.due for d in due}
        self.oldest: dict[str, int] = {}
        self.endpoints: dict[str, list[tuple[int, bool, int, int, Endpoint]]] = defaultdict(list)
        for d in due:
            client = d.endpoint[0]
            self.oldest[client] = min(self.oldest.get(client, d.first), d.first)
            if self.can(d):
                self.endpoints[client].append(self.key(d))
        for heap in self.endpoints.values():
            heapify(heap)
        self.clients = [self.client_key(c) for c in self.endpoints]
        heapify(self.clients)

    def can(self, d: Due) -> bool:
        answers = d.endpoint in self.answering
        cap = self.slots.per_endpoint if answers and d.failures < self.slots.probe_after else 1
        fits = (answers or self.suspect_free > 0) and (not d.failures or self.failing_free > 0)
        return self.left[d.endpoint] > 0 and self.held[d.endpoint] < cap and fits

    def key(self, d: Due) -> tuple[int, bool, int, int, Endpoint]:
        e = d.endpoint
        return self.held[e], d.failures > 0, self.served_endpoints.get(e, 0), d.first, e

    def client_key(self, c: str) -> tuple[int, int, int, str]:
        return self.per_client[c], self.served_clients.get(c, 0), self.oldest[c], c

    def next(self) -> Due | None:
        """The endpoint given the next slot (its count taken), or None: nobody can take it."""
        while self.clients:
            client = heappop(self.clients)[-1]
            heap = self.endpoints[client]
            while heap and not self.can(self.info[heap[0][-1]]):
                heappop(heap)
            if not heap:
                continue  # nothing of this client can take a slot any more
            d = self.info[heappop(heap)[-1]]
            self.held[d.endpoint] += 1
            self.left[d.endpoint] -= 1
            self.per_client[client] += 1
            if d.failures:
                self.failing_free -= 1
            if d.endpoint not in self.answering:
                self.suspect_free -= 1
            if self.can(d):
                heappush(heap, self.key(d))
            heappush(self.clients, self.client_key(client))
            return d
        return None


def after_claims(
    due: Sequence[Due], given: Mapping[Endpoint, int], claimed: Mapping[Endpoint, int]
) -> list[Due]:
    """What is left of ``due`` once ``claimed`` of the ``given`` slots were claimed: an
    endpoint that filled fewer than it was given has nothing more due."""
    left = []
    for d in due:
        took = claimed.get(d.endpoint, 0)
        if took < given.get(d.endpoint, 0) or took >= d.due:
            continue
        left.append(replace(d, due=d.due - took) if took else d)
    return left
