"""Profiles: statistics from the footer or a scan, and the streaming sample."""

from __future__ import annotations

import importlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.dataplane.support import write_csv
from yaosu.dataplane import Storage, ingest, open_source
from yaosu.dataplane.profile import DistinctCounter, profile_parquet, sample_indices

ingest_module = importlib.import_module("yaosu.dataplane.ingest")


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 3000), st.lists(st.integers(1, 400), min_size=1, max_size=20))
def test_streaming_sample_matches_the_known_length_rule(rows: int, sizes: list[int]) -> None:
    sampler = ingest_module._Sampler()
    start = 0
    while start < rows:
        n = min(sizes[start % len(sizes)], rows - start)
        batch = pa.record_batch({"i": pa.array(range(start, start + n))})
        sampler.offer(batch, start)
        start += n
    assert [r["i"] for r in sampler.result()] == sample_indices(rows)


def test_sample_indices_are_spread_and_bounded() -> None:
    assert sample_indices(0) == [] and sample_indices(5) == [0, 1, 2, 3, 4]
    big = sample_indices(1_000_000)
    assert len(big) == 20 and big[0] == 0 and big[-1] > 900_000
    assert big == sorted(set(big))


def test_statistics_missing_from_the_footer_are_scanned(tmp_path: Path) -> None:
    # Arrow leaves min/max out of the footer for values over 4 KiB.
    long = "长" * 3000
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"s": ["b", long, None], "n": [3, 1, 2]}), path)
    profile = profile_parquet(str(path))
    s, n = profile.columns
    assert (s.null_count, s.min, s.max) == (1, "b", long)
    assert (n.min, n.max, n.distinct_approx) == ("1", "3", 3)
    assert [row["n"] for row in profile.sample] == [3, 1, 2]


def test_distinct_counter_can_be_aborted_and_finished_once() -> None:
    schema = pa.schema([("x", pa.int64())])
    counter = DistinctCounter(schema)
    for i in range(5):
        counter.add(pa.record_batch({"x": pa.array([i, i + 1])}, schema=schema))
    assert counter.finish() == [6]
    aborted = DistinctCounter(schema)
    aborted.add(pa.record_batch({"x": pa.array([1])}, schema=schema))
    aborted.abort()
    aborted.abort()
    assert aborted.finish() is None


def test_profile_of_an_ingested_version(tmp_path: Path, storage: Storage) -> None:
    rows = [["k", "v", "d"]] + [
        [i % 7, None if i % 5 == 0 else i, "2024-01-0" + str(i % 9 + 1)] for i in range(100)
    ]
    with open_source(write_csv(tmp_path / "a.csv", rows)) as source:
        result = ingest(source, storage)
    k, v, d = result.profile.columns
    assert (k.distinct_approx, k.min, k.max, k.null_count) == (7, "0", "6", 0)
    assert (v.null_count, v.min, v.max) == (20, "1", "99")
    assert (d.min, d.max) == ("2024-01-01", "2024-01-09")
    assert result.profile.to_dict()["rows"] == 100
