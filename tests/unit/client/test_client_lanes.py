"""Lanes: the async client's connections as httpx clients of one connection each, handed out by it."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from airflow_provider_pseven.client.lanes import Lanes


class Server:
    """A mock server that holds every request until released, counting how many it holds at once."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.held = self.most_held = 0

    async def handler(self, request: httpx.Request) -> httpx.Response:
        self.held += 1
        self.most_held = max(self.most_held, self.held)
        await self.release.wait()
        self.held -= 1
        return httpx.Response(200, json={"ok": True})


def builder(server: Server, built: list[httpx.AsyncClient]) -> object:
    def build() -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.MockTransport(server.handler))
        built.append(client)
        return client

    return build


async def _get(lanes: Lanes, slots: asyncio.Semaphore, used: list[httpx.AsyncClient]) -> None:
    async with slots, lanes.lane() as http:
        used.append(http)
        (await http.get("https://pseven.test/")).raise_for_status()


async def in_flight(lanes: Lanes, slots: asyncio.Semaphore, used: list, count: int) -> list[asyncio.Task]:
    """``count`` requests sent at once, given the turns to take their lanes (the server holds them)."""
    tasks = [asyncio.create_task(_get(lanes, slots, used)) for _ in range(count)]
    for _ in range(5):
        await asyncio.sleep(0)
    return tasks


async def test_requests_in_flight_get_a_lane_each_and_no_more_lanes_than_their_limit():
    server, built, used = Server(), [], []
    lanes = Lanes(builder(server, built))  # type: ignore[arg-type]
    slots = asyncio.Semaphore(3)
    requests = await in_flight(lanes, slots, used, 10)
    assert server.most_held == 3 and lanes.built == 3 and len(set(used)) == 3
    server.release.set()
    await asyncio.gather(*requests)
    assert lanes.built == 3 and len(used) == 10 and set(used) == set(built)
    await lanes.aclose()
    assert all(client.is_closed for client in built)


async def test_one_request_at_a_time_keeps_to_the_most_recently_used_lane():
    server, built, used = Server(), [], []
    lanes = Lanes(builder(server, built))  # type: ignore[arg-type]
    slots = asyncio.Semaphore(3)
    burst = await in_flight(lanes, slots, used, 3)
    server.release.set()
    await asyncio.gather(*burst)  # three lanes built
    used.clear()
    for _ in range(4):
        await _get(lanes, slots, used)
    assert lanes.built == 3 and len(set(used)) == 1
    await lanes.aclose()


async def test_a_given_client_carries_every_request():
    server, used = Server(), []
    given = httpx.AsyncClient(transport=httpx.MockTransport(server.handler))
    lanes = Lanes(None, given)
    requests = await in_flight(lanes, asyncio.Semaphore(5), used, 5)
    assert server.most_held == 5 and set(used) == {given} and lanes.built == 1
    server.release.set()
    await asyncio.gather(*requests)
    await lanes.aclose()
    assert given.is_closed


def test_lanes_take_a_builder_or_a_client_not_both():
    with pytest.raises(ValueError, match="either"):
        Lanes(None)
