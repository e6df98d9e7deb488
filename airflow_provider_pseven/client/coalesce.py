"""Answer many "what state is run X in" calls with one runs-list request.

When a sweep waits for hundreds of runs of one workflow, each trigger would GET its run's details
every interval. The runs list (``workflows/{id}/runs/``) carries every run's state, so the async
client gathers the summary GETs that arrive together for one workflow and answers them from one
list request, when that is cheaper: at least ``min_batch`` calls, and a list not much longer than
the number of calls it answers. Measured here: a poll on its own costs the client about 1.3 ms of
CPU (benchmarks/trigger_capacity.py, "ours, no list"), a list item about 3 us to parse, so the
client breaks even near 400 items per request saved; the server's cost per listed item is not
known for a real pSeven Enterprise, so ``max_items_per_call`` stays at a cautious 20. Runs missing
from the list fall back to their own GET.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from airflow_provider_pseven.client.calls import Call, Reply
from airflow_provider_pseven.client.errors import PsevenHTTPError

Send = Callable[[Call], Awaitable[Reply]]


@dataclass
class _Batch:
    waiters: list[tuple[Call, asyncio.Future[Reply]]] = field(default_factory=list)


class ListCoalescer:
    """Coalesces calls that name a ``listed_in`` list, per list, within ``window`` seconds."""

    def __init__(
        self, send: Send, *, window: float = 0.05, min_batch: int = 2, max_items_per_call: float = 20.0
    ) -> None:
        self._send = send
        self.window = window
        self.min_batch = min_batch
        self.max_items_per_call = max_items_per_call
        self._batches: dict[tuple[str, str], _Batch] = {}
        self._list_sizes: dict[tuple[str, str], int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._unusable: set[tuple[str, str]] = set()
        #: Counters for benchmarks and logs: list requests made, calls they answered.
        self.list_requests = 0
        self.answered_from_lists = 0

    async def send(self, call: Call) -> Reply:
        assert call.listed_in is not None and call.item_id is not None
        key = (call.base.value, call.listed_in)
        batch = self._batches.get(key)
        if batch is None:
            batch = self._batches[key] = _Batch()
            asyncio.get_running_loop().call_later(self.window, self._flush_soon, key)
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        batch.waiters.append((call, future))
        return await future

    def _flush_soon(self, key: tuple[str, str]) -> None:
        batch = self._batches.pop(key, None)
        if batch is not None:
            task = asyncio.get_running_loop().create_task(self._flush(key, batch))
            self._tasks.add(task)  # keep a reference until it is done
            task.add_done_callback(self._tasks.discard)

    def _worth_a_list(self, key: tuple[str, str], waiting: int) -> bool:
        if waiting < self.min_batch or key in self._unusable:
            return False
        size = self._list_sizes.get(key)
        return size is None or size <= self.max_items_per_call * waiting

    async def _flush(self, key: tuple[str, str], batch: _Batch) -> None:
        waiters = [(call, future) for call, future in batch.waiters if not future.done()]
        if not waiters:
            return
        try:
            answers = await self.answer(key, [call for call, _ in waiters])
        except asyncio.CancelledError:
            for _, future in waiters:
                future.cancel()
            raise
        for (_, future), answer in zip(waiters, answers, strict=True):
            if future.done():
                continue
            if isinstance(answer, BaseException):
                future.set_exception(answer)
            else:
                future.set_result(answer)

    async def answer(self, key: tuple[str, str], calls: Sequence[Call]) -> list[Reply | BaseException]:
        """The answers to item calls of the list ``key``, each a reply or the error it met: from one
        list request when that is worth it, else (and for items the list lacks) from their own GETs."""
        if not self._worth_a_list(key, len(calls)):
            return await self._alone(calls)
        template = calls[0]
        list_call = Call("GET", template.listed_in or "", base=template.base)
        try:
            reply = await self._send(list_call)
            items = {str(item.get("id")): item for item in reply.json_list() if isinstance(item, dict)}
        except PsevenHTTPError as error:
            if error.status >= 500 or error.status == 429:
                return [error] * len(calls)
            # This server does not list these runs for us (4xx): ask for each run, from now on too.
            self._unusable.add(key)
            return await self._alone(calls)
        except Exception as error:
            return [error] * len(calls)
        self.list_requests += 1
        self._list_sizes[key] = len(items)
        answers: list[Reply | BaseException] = []
        missing: list[int] = []
        for index, call in enumerate(calls):
            item = items.get(call.item_id or "")
            if item is None:
                missing.append(index)
                answers.append(reply)  # replaced below
            else:
                self.answered_from_lists += 1
                answers.append(Reply(200, reply.headers, b"", reply.url, call, data=item))
        if missing:
            for index, answer in zip(missing, await self._alone([calls[i] for i in missing]), strict=True):
                answers[index] = answer
        return answers

    async def _alone(self, calls: Sequence[Call]) -> list[Reply | BaseException]:
        """Each call on its own, all at once."""
        return list(await asyncio.gather(*(self._send(call) for call in calls), return_exceptions=True))
