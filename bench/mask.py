"""Masking benchmark (issue: SEC-3 de-identification).

Generates a 1,000,000-row × 12-column Parquet version (100,000 rows with --quick) with DuckDB:
resident ids, mobiles (integers, as ingest stores 11-digit numbers), Chinese names including
compound surnames, addresses, birth dates, coordinates, amounts, codes with leading zeros,
date-times. Then, each side in its own child process (peak RSS from ``ru_maxrss``):
- a plain Parquet rewrite of the version through the same engine path and writer settings:
  DuckDB ``COPY (SELECT * FROM read_parquet(…)) TO … (FORMAT parquet, zstd level 1)``;
- ``export_masked`` under a policy touching 5 columns (format mask of the resident id,
  HMAC-SHA256 pseudonym of the mobile, name mask, address → district, birth date → age band),
  which also hashes the written file;
- for information, the same policy without the pseudonym, and with HMAC-SM3 instead.
Prints times, rows/s, peak RSS, the ratio of the best runs masked / plain (target ≤ 2×) and the
ratio of each round (neighbouring runs), and which HMAC-SHA256 ran: the C helper of
``classification/native.py`` or, where it is not built, the SQL form (``YAOSU_NATIVE_HMAC=0``
forces it, for comparison).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import best, in_child, paired, pick

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红玲芬燕彬鹏辉建国志文斌宇浩然"
CITIES = ["北京市", "上海市", "广东省广州市", "广东省深圳市", "浙江省杭州市", "四川省成都市"]
DISTRICTS = ["朝阳区", "海淀区", "浦东新区", "天河区", "南山区", "西湖区", "武侯区", "昆山市"]
STREETS = ["粤海街道科技园路", "建国路", "解放大道", "中山路", "长安街", "人民路"]
KEY = b"bench-node-secret-0123456789abcdef"


def generate(path: Path, rows: int) -> None:
    """Write the synthetic version with the writer settings of masked exports."""
    import duckdb

    from yaosu.classification.masking import PARQUET_OPTIONS

    surnames = [*SURNAMES, "欧阳", "司马", "诸葛"]
    query = f"""
    SELECT
      i + 1 AS 编号,
      {pick(surnames)} || {pick(list(GIVEN))}
        || CASE WHEN random() < 0.6 THEN {pick(list(GIVEN))} ELSE '' END AS 姓名,
      lpad(((floor(random() * 600000) + 110000)::BIGINT)::VARCHAR, 6, '0')
        || strftime(DATE '1950-01-01' + (floor(random() * 20000))::INT, '%Y%m%d')
        || lpad((floor(random() * 1000))::INT::VARCHAR, 3, '0')
        || CASE WHEN random() < 0.1 THEN 'X' ELSE (floor(random() * 10))::INT::VARCHAR END
        AS 身份证号,
      (13000000000 + floor(random() * 6999999999))::BIGINT AS 手机,
      DATE '1940-01-01' + (floor(random() * 29000))::INT AS 出生日期,
      {pick(CITIES)} || {pick(DISTRICTS)} || {pick(STREETS)}
        || (floor(random() * 999) + 1)::INT || '号' AS 地址,
      round(113.7 + random() * 0.6, 6) AS 经度,
      round(22.4 + random() * 0.4, 6) AS 纬度,
      round(random() * 100000, 2) AS 金额,
      lpad((floor(random() * 99999))::INT::VARCHAR, 8, '0') AS 机构代码,
      TIMESTAMP '2015-01-01' + to_seconds((floor(random() * 300000000))::BIGINT) AS 登记时间,
      CASE WHEN random() < 0.5 THEN '男' ELSE '女' END AS 性别
    FROM range({rows}) t(i)
    """
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute("SELECT setseed(0.42)")
        con.execute(f"COPY ({query}) TO '{path}' ({PARQUET_OPTIONS})")
    finally:
        con.close()


def _policy(algorithm: str | None) -> Any:
    """The 5-column policy; with ``algorithm`` None, the same without the mobile's pseudonym."""
    from yaosu.classification.masking import Generalize, Mask, MaskingPolicy, Pseudonymize

    rules: dict[str, Any] = {
        "身份证号": Mask(format="resident_id"),
        "姓名": Mask(format="person_name"),
        "地址": Generalize(kind="address_district"),
        "出生日期": Generalize(kind="age_band", width=10),
    }
    if algorithm is not None:
        rules["手机"] = Pseudonymize(algorithm=algorithm, format="mobile")
    return MaskingPolicy(name="bench", rules=rules)


def _plain(src: str, out: str) -> dict[str, Any]:
    from yaosu.classification.masking import PARQUET_OPTIONS, connect

    con = connect([src, out])
    try:
        started = time.perf_counter()
        row = con.execute(
            f"COPY (SELECT * FROM read_parquet(?)) TO ? ({PARQUET_OPTIONS}, USE_TMP_FILE false)",
            [src, out],
        ).fetchone()
        seconds = time.perf_counter() - started
    finally:
        con.close()
    return {"seconds": seconds, "rows": row[0] if row else 0, "size": Path(out).stat().st_size}


def _masked(src: str, out: str, algorithm: str | None) -> dict[str, Any]:
    import pyarrow.parquet as pq

    from yaosu.classification.masking import columns_of, export_masked

    columns = columns_of(pq.read_schema(src))
    started = time.perf_counter()
    result = export_masked(src, out, _policy(algorithm), columns, KEY)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": result.rows, "size": result.size_bytes}


def _hmac_engine() -> str:
    from yaosu.classification import native

    if native.available():
        return "HMAC-SHA256 by the C helper (yaosu_hmac_sha256, OpenSSL)"
    return "HMAC-SHA256 in SQL (the C helper is not built or YAOSU_NATIVE_HMAC=0)"


def _report(label: str, result: dict[str, Any], rows: int) -> None:
    if "error" in result:
        print(f"{label + ':':<24} failed: {result['error']}")
        return
    seconds = result["seconds"]
    print(
        f"{label + ':':<24} {seconds:6.2f}s  {rows / seconds:>12,.0f} rows/s  "
        f"peak RSS {result['rss_mb']:6.0f} MB  parquet {result['size'] / 1e6:,.1f} MB"
    )


def main(quick: bool = False) -> None:
    rows = 100_000 if quick else 1_000_000
    print(f"== mask: {rows:,} rows × 12 columns, policy on 5 columns vs a plain Parquet rewrite")
    tmp = Path(tempfile.mkdtemp(prefix="yaosu-bench-mask-"))
    try:
        src = tmp / "version.parquet"
        started = time.perf_counter()
        generate(src, rows)
        print(
            f"generated in {time.perf_counter() - started:.1f}s: "
            f"{src.stat().st_size / 1e6:,.1f} MB Parquet"
        )
        runs = 1 if quick else 5
        print(f"each side runs {runs}× in a fresh process, interleaved; the best run is shown")
        print(f"pseudonyms: {_hmac_engine()}")
        plain: dict[str, Any] = {}
        masked: dict[str, Any] = {}
        no_pseudonym: dict[str, Any] = {}
        rounds: list[float] = []  # masked / plain of each round
        for _ in range(runs):
            plain_run = in_child(_plain, str(src), str(tmp / "plain.parquet"))
            masked_run = in_child(_masked, str(src), str(tmp / "masked.parquet"), "hmac-sha256")
            plain, masked = best(plain, plain_run), best(masked, masked_run)
            if "seconds" in plain_run and "seconds" in masked_run:
                rounds.append(masked_run["seconds"] / plain_run["seconds"])
            no_pseudonym = best(
                no_pseudonym, in_child(_masked, str(src), str(tmp / "masked-4.parquet"), None)
            )
        sm3 = in_child(_masked, str(src), str(tmp / "masked-sm3.parquet"), "hmac-sm3")  # once
        _report("plain rewrite", plain, rows)
        _report("masked, 5 columns", masked, rows)
        _report("  without pseudonym", no_pseudonym, rows)
        _report("  with hmac-sm3", sm3, rows)
        if "seconds" in plain and "seconds" in masked:
            ratio = masked["seconds"] / plain["seconds"]
            print(f"ratio masked / plain: {ratio:.2f}× (target ≤ 2.00×)")
        if len(rounds) > 1:
            print(paired("masked / plain", rounds))
        if "seconds" in plain and "seconds" in no_pseudonym:
            ratio = no_pseudonym["seconds"] / plain["seconds"]
            print(f"  (the 4 columns other than the HMAC-SHA256 pseudonym: {ratio:.2f}×)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
