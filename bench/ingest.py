"""Ingest benchmark (issue: data plane).

Generates a 1,000,000-row × 20-column CSV in GB18030 (50,000 rows with --quick): Chinese names
and addresses, resident-ID-like strings, codes with leading zeros, integers, floats, dates and
date-times. Prints, each side run in its own child process (peak RSS from ``ru_maxrss``):
- our ingest of the GB18030 file to a hashed, profiled version (and of a UTF-8 copy);
- DuckDB's plain ``COPY (SELECT * FROM read_csv(…)) TO … (FORMAT parquet)`` of the same file —
  DuckDB reads GB18030 only with its network-installed ``encodings`` extension, so when that is
  missing it is timed on the UTF-8 copy of the same data instead, and labelled so;
- the ratio ours / DuckDB (target ≤ 1.5×), rows/s and peak RSS.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import best, in_child, paired, pick

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红玲芬燕彬鹏辉建国志文斌宇浩然"
CITIES = [
    "北京市",
    "上海市",
    "广东省广州市",
    "广东省深圳市",
    "浙江省杭州市",
    "四川省成都市",
    "湖北省武汉市",
]
DISTRICTS = ["朝阳区", "海淀区", "浦东新区", "天河区", "南山区", "西湖区", "武侯区", "江汉区"]
ROADS = ["人民路", "解放大道", "中山路", "建设街", "和平里", "新华路", "长安街", "科技园路"]


def generate(folder: Path, rows: int) -> tuple[Path, Path]:
    """Write the same data as UTF-8 and as GB18030 CSV; returns (gb18030, utf8)."""
    import duckdb

    surnames = [*SURNAMES, "欧阳", "司马", "𠀀"]  # '𠀀' exists only in GB18030, not GBK
    given = list(GIVEN)
    query = f"""
    SELECT
      i + 1 AS 编号,
      {pick(surnames)} || {pick(given)}
        || CASE WHEN random() < 0.6 THEN {pick(given)} ELSE '' END AS 姓名,
      lpad(((floor(random() * 600000) + 110000)::BIGINT)::VARCHAR, 6, '0')
        || strftime(DATE '1950-01-01' + (floor(random() * 20000))::INT, '%Y%m%d')
        || lpad((floor(random() * 1000))::INT::VARCHAR, 3, '0')
        || CASE WHEN random() < 0.1 THEN 'X' ELSE (floor(random() * 10))::INT::VARCHAR END
        AS 身份证号,
      CASE WHEN random() < 0.5 THEN '男' ELSE '女' END AS 性别,
      strftime(DATE '1950-01-01' + (floor(random() * 20000))::INT, '%Y-%m-%d') AS 出生日期,
      (13000000000 + floor(random() * 6999999999))::BIGINT AS 手机,
      {pick(CITIES)} AS 城市,
      {pick(CITIES)} || {pick(DISTRICTS)} || {pick(ROADS)}
        || (floor(random() * 999) + 1)::INT || '号' AS 地址,
      lpad((floor(random() * 999999))::INT::VARCHAR, 6, '0') AS 邮编,
      (floor(random() * 90) + 1)::INT AS 年龄,
      round(random() * 100000, 2) AS 收入,
      random() * 100 AS 评分,
      strftime(TIMESTAMP '2015-01-01' + to_seconds((floor(random() * 300000000))::BIGINT),
               '%Y-%m-%d %H:%M:%S') AS 登记时间,
      CASE WHEN random() < 0.7 THEN '是' ELSE '否' END AS 是否有效,
      lpad((floor(random() * 99999))::INT::VARCHAR, 8, '0') AS 机构代码,
      'user' || i || '@example.cn' AS 邮箱,
      round(random() * 5000, 2) AS 金额,
      CASE WHEN random() < 0.05 THEN NULL ELSE (floor(random() * 1000))::INT END AS 次数,
      CASE WHEN random() < 0.1 THEN '备注,含"引号"' WHEN random() < 0.5 THEN '正常' END AS 备注,
      strftime(DATE '2020-01-01' + (floor(random() * 1500))::INT, '%Y/%m/%d') AS 更新日期
    FROM range({rows}) t(i)
    """
    utf8 = folder / "data-utf8.csv"
    gb = folder / "data-gb18030.csv"
    con = duckdb.connect()
    try:
        con.execute("SELECT setseed(0.42)")
        con.execute(f"COPY ({query}) TO '{utf8}' (FORMAT csv, HEADER)")
    finally:
        con.close()
    with utf8.open(encoding="utf-8", newline="") as src, gb.open("wb") as out:
        while chunk := src.read(1 << 20):
            out.write(chunk.encode("gb18030"))
    return gb, utf8


def _ours(path: str, store: str) -> dict[str, Any]:
    from yaosu.dataplane import Storage, ingest, open_source

    started = time.perf_counter()
    with open_source(path) as source:
        result = ingest(source, Storage(store))
    return {
        "seconds": time.perf_counter() - started,
        "rows": result.rows,
        "size": result.size_bytes,
        "key": result.key,
        "encoding": result.encoding,
        "types": [c.type.value for c in result.columns],
    }


def _duckdb(path: str, out: str, encoding: str | None) -> dict[str, Any]:
    import duckdb

    options = f", encoding='{encoding}'" if encoding else ""
    con = duckdb.connect()
    try:
        started = time.perf_counter()
        con.execute(f"COPY (SELECT * FROM read_csv('{path}'{options})) TO '{out}' (FORMAT parquet)")
        seconds = time.perf_counter() - started
    except duckdb.Error as exc:
        return {"error": str(exc).splitlines()[0]}
    finally:
        con.close()
    return {"seconds": seconds, "size": os.path.getsize(out)}


def main(quick: bool = False) -> None:
    rows = 50_000 if quick else 1_000_000
    print(f"== ingest: {rows:,} rows × 20 columns, GB18030 CSV → hashed, profiled Parquet version")
    tmp = Path(tempfile.mkdtemp(prefix="yaosu-bench-ingest-"))
    try:
        started = time.perf_counter()
        gb, utf8 = generate(tmp, rows)
        sizes = (
            f"GB18030 {gb.stat().st_size / 1e6:,.1f} MB, UTF-8 {utf8.stat().st_size / 1e6:,.1f} MB"
        )
        print(f"generated in {time.perf_counter() - started:.1f}s: {sizes}")
        runs = 1 if quick else 5
        print(f"each side runs {runs}× in a fresh process, interleaved; the best run is shown")
        ours_gb: dict[str, Any] = {}
        ours_utf8: dict[str, Any] = {}
        duck_gb: dict[str, Any] = {}
        duck_utf8: dict[str, Any] = {}
        rounds: dict[str, list[float]] = {"GB18030": [], "UTF-8 copy": []}
        for _ in range(runs):
            gb_run = in_child(_ours, str(gb), str(tmp / "store"))
            duck_run = in_child(_duckdb, str(utf8), str(tmp / "duck-utf8.parquet"), None)
            utf8_run = in_child(_ours, str(utf8), str(tmp / "store"))
            ours_gb, duck_utf8 = best(ours_gb, gb_run), best(duck_utf8, duck_run)
            ours_utf8 = best(ours_utf8, utf8_run)
            for label, run in (("GB18030", gb_run), ("UTF-8 copy", utf8_run)):
                if "seconds" in run and "seconds" in duck_run:
                    rounds[label].append(run["seconds"] / duck_run["seconds"])
            if not duck_gb or "error" not in duck_gb:
                duck_gb = best(
                    duck_gb,
                    in_child(_duckdb, str(gb), str(tmp / "duck-gb.parquet"), "gb18030"),
                )
        for label, result in (("ours, GB18030", ours_gb), ("ours, UTF-8 copy", ours_utf8)):
            _report(label, result, rows)
        if "error" in duck_gb:
            print(f"duckdb, GB18030:     cannot read it offline ({duck_gb['error']})")
        else:
            _report("duckdb, GB18030", duck_gb, rows)
        _report("duckdb, UTF-8 copy", duck_utf8, rows)
        if ours_gb.get("key") and ours_gb.get("key") == ours_utf8.get("key"):
            print("same version key from both encodings: yes")
        baseline = duck_gb if "error" not in duck_gb else duck_utf8
        base_label = "GB18030" if baseline is duck_gb else "UTF-8 copy"
        for label, result in (("GB18030", ours_gb), ("UTF-8 copy", ours_utf8)):
            if "seconds" in result and "seconds" in baseline:
                ratio = result["seconds"] / baseline["seconds"]
                print(
                    f"ratio ours ({label}) / duckdb ({base_label}): {ratio:.2f}× (target ≤ 1.50×)"
                )
                if baseline is duck_utf8 and len(rounds[label]) > 1:
                    print(paired(f"ours ({label}) / duckdb", rounds[label]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _report(label: str, result: dict[str, Any], rows: int) -> None:
    if "error" in result:
        print(f"{label + ':':<20} failed: {result['error']}")
        return
    seconds = result["seconds"]
    print(
        f"{label + ':':<20} {seconds:6.2f}s  {rows / seconds:>12,.0f} rows/s  "
        f"peak RSS {result['rss_mb']:6.0f} MB  parquet {result['size'] / 1e6:,.1f} MB"
    )


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
