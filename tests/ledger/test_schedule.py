"""Checkpoints are issued on a schedule while the node serves."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from yaosu.app import _checkpoint_loop
from yaosu.db import unit_of_work
from yaosu.ledger.events import Actor
from yaosu.ledger.service import ledger_service
from yaosu.models.ledger import LedgerCheckpoint


def test_scheduled_loop_signs_new_checkpoints(fresh_engine: Any) -> None:
    with unit_of_work(fresh_engine) as s:
        ledger_service.record(s, "test.thing_happened", Actor("u", "o"), ["x"], {})

    async def run_briefly() -> None:
        task = asyncio.create_task(_checkpoint_loop(fresh_engine, 0))
        for _ in range(200):
            await asyncio.sleep(0.01)
            with unit_of_work(fresh_engine, write=False) as s:
                if s.get(LedgerCheckpoint, 1) is not None:
                    break
        task.cancel()

    # Its own thread: a browser test in the same worker may hold a running loop on this one.
    worker = threading.Thread(target=asyncio.run, args=(run_briefly(),))
    worker.start()
    worker.join()
    with unit_of_work(fresh_engine, write=False) as s:
        cp = s.get(LedgerCheckpoint, 1)
        assert cp is not None and cp.note.startswith("test.yaosu.localhost/ledger\n1\n")
