"""`yaosu resource review --describes` and `yaosu resource classification` on a committed node
of each backend: what the rows describe is shown with where it came from, and corrected with a
reason by the provider's officer."""

from __future__ import annotations

from pathlib import Path

from tests.catalog.test_version_cli import node, yaosu  # noqa: F401  (the node fixture)
from tests.classification.test_describes import stops
from tests.fixtures.classification import csv_bytes


def test_shown_and_corrected_from_the_shell(node: str, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "stops.csv"
    path.write_bytes(csv_bytes(stops()))
    r = yaosu("--as", "officer.gaj", "resource", "ingest", node, str(path))
    assert r.exit_code == 0, r.output
    r = yaosu("--as", "officer.gaj", "resource", "classification", node)
    assert r.exit_code == 0, r.output
    assert "rows describe 描述对象: place 地点或设施 (按字段推断)" in r.output
    r = yaosu("--as", "officer.gaj", "resource", "review", node, "--describes", "person")
    assert r.exit_code == 1 and "reason_required" in r.output
    r = yaosu(
        "--as", "officer.gaj", "resource", "review", node, "--describes", "person",
        "--reason", "含出行轨迹",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "person 个人 (人工更正)" in r.output
