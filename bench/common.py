"""What the benchmarks share: a DuckDB expression picking a random option, and running one side
of a comparison in a fresh process so its peak RSS is its own."""

from __future__ import annotations

import multiprocessing
import resource
import statistics
from collections.abc import Callable
from typing import Any


def pick(options: list[str]) -> str:
    """A DuckDB expression choosing one of ``options`` at random for each row."""
    listed = ", ".join("'" + o + "'" for o in options)
    return f"list_element([{listed}], (floor(random() * {len(options)}) + 1)::INT)"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _child(queue: Any, fn: Callable[..., dict[str, Any]], args: tuple[Any, ...]) -> None:
    try:
        result = fn(*args)
    except Exception as exc:  # reported as the side's result, not a crash of the benchmark
        result = {"error": f"{type(exc).__name__}: {exc}"}
    result["rss_mb"] = peak_rss_mb()
    queue.put(result)


def in_child(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run ``fn(*args)`` (a module-level function) in a fresh process; its result gains
    ``rss_mb``, or is ``{"error": …}``."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=_child, args=(queue, fn, args))
    process.start()
    result: dict[str, Any] = queue.get()
    process.join()
    return result


def best(current: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The faster of two runs (a run without seconds, i.e. an error, only replaces nothing)."""
    if not current or ("seconds" in new and new["seconds"] < current.get("seconds", float("inf"))):
        return new
    return current


def paired(label: str, ratios: list[float]) -> str:
    """One line with the ratio of each round (its two runs were neighbours in time) and their
    median: steadier than the ratio of best runs on a shared machine."""
    each = ", ".join(f"{r:.2f}×" for r in ratios)
    return f"  {label} round by round: {each} (median {statistics.median(ratios):.2f}×)"
