#!/usr/bin/env python3
"""Compare kdfs SQL with DuckDB on the same minute bars.

Stores 10 symbols x 100,000 minute bars in a fresh kdfs server, exports them back as Arrow
and loads that into an in-memory DuckDB table, then runs three market queries on both and
prints the medians: kdfs server-side time (what `kdfs sql --timing` reports) over repeated runs
on one connection (`--repeat`: a warm server, as DuckDB's in-process loop is warm), the same
from a fresh CLI process each run (a server that was idle: cold caches), the warm round trip,
and DuckDB's in-process time. The answers are compared too.

    python3 scripts/bench_sql_duckdb.py                       # builds target/release/kdfs
    python3 scripts/bench_sql_duckdb.py --kdfs path/to/kdfs --runs 9

duckdb and pyarrow are installed with pip on first use; they are not project dependencies.
"""

import argparse
import importlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SYMBOLS = 10
BARS = 100_000
T0 = 1_704_153_600_000  # 2024-01-02T00:00:00Z in ms
MINUTE = 60_000

QUERIES = {
    "hourly OHLC+VWAP per symbol": (
        "SELECT key, date_trunc('hour', ts) AS hour, first_value(o ORDER BY t) AS o, "
        "max(h) AS h, min(l) AS l, last_value(c ORDER BY t) AS c, "
        "sum(c * v) / sum(v) AS vwap FROM frames('historical/minute') GROUP BY 1, 2",
        "SELECT key, date_trunc('hour', ts) AS hour, first(o ORDER BY t) AS o, "
        "max(h) AS h, min(l) AS l, last(c ORDER BY t) AS c, "
        "sum(c * v) / sum(v) AS vwap FROM bars GROUP BY 1, 2",
    ),
    "last bar per symbol": (
        "SELECT key, max(t) AS t, last_value(c ORDER BY t) AS c "
        "FROM frames('historical/minute') GROUP BY key",
        "SELECT key, max(t) AS t, arg_max(c, t) AS c FROM bars GROUP BY key",
    ),
    "full-scan average": (
        "SELECT avg(c) AS a, count(*) AS n FROM frames('historical/minute')",
        "SELECT avg(c) AS a, count(*) AS n FROM bars",
    ),
}


def need(module, package):
    try:
        return importlib.import_module(module)
    except ImportError:
        print(f"installing {package} with pip (benchmark only)", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", package])
        return importlib.import_module(module)


def bars(pa, seed):
    """A deterministic random walk of minute bars, like benches/sql.rs."""
    state = seed + 1
    price = 100.0
    cols = {k: [] for k in "tohlcv"}
    mask = (1 << 64) - 1
    for i in range(BARS):
        vals = []
        for _ in range(4):
            state = (state * 6364136223846793005 + 1442695040888963407) & mask
            vals.append((state >> 33) / (1 << 31))
        o = price
        c = o + vals[0] - 0.5
        cols["t"].append(T0 + i * MINUTE)
        cols["o"].append(o)
        cols["c"].append(c)
        cols["h"].append(max(o, c) + vals[1] * 0.2)
        cols["l"].append(min(o, c) - vals[2] * 0.2)
        cols["v"].append(int(vals[3] * 1000))
        price = c
    return pa.table({k: pa.array(v, pa.int64() if k in "tv" else pa.float64())
                     for k, v in cols.items()})


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--kdfs", help="kdfs binary (default: build target/release/kdfs)")
    ap.add_argument("--runs", type=int, default=7, help="timed runs per query (median)")
    args = ap.parse_args()

    pa = need("pyarrow", "pyarrow")
    need("pyarrow.feather", "pyarrow")
    duckdb = need("duckdb", "duckdb")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    kdfs = args.kdfs
    if not kdfs:
        print("building kdfs (release)...", file=sys.stderr)
        subprocess.check_call(["cargo", "build", "--release", "--bin", "kdfs"], cwd=root)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
        kdfs = os.path.join(target, "release", "kdfs")

    work = tempfile.mkdtemp(prefix="kdfs-bench-")
    server = subprocess.Popen([kdfs, "server", "--dir", os.path.join(work, "dfs"), "--port", "0"],
                              stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        m = re.search(r"listening on [^:]+:(\d+)", line)
        if not m:
            sys.exit(f"kdfs server did not start: {line!r}")
        port = ["--port", m.group(1)]

        print(f"storing {SYMBOLS} x {BARS:,} minute bars...", file=sys.stderr)
        tables = []
        for s in range(SYMBOLS):
            key = f"historical/minute/S{s:02}"
            path = os.path.join(work, f"S{s:02}.arrow")
            pa.feather.write_feather(bars(pa, s), path, compression="uncompressed")
            run([kdfs, "import", key, path] + port)
            # DuckDB gets what kdfs hands back, so both see the very same rows.
            out = os.path.join(work, f"S{s:02}.out.arrow")
            run([kdfs, "export", key, "--format", "arrow", "-o", out] + port)
            t = pa.feather.read_table(out)
            tables.append(t.append_column("key", pa.array([key] * t.num_rows)))
        con = duckdb.connect()
        all_bars = pa.concat_tables(tables)
        con.execute("CREATE TABLE bars AS SELECT *, make_timestamp(t * 1000) AS ts FROM all_bars")

        def kdfs_once(sql, repeat=1):
            r = run([kdfs, "sql", sql, "--format", "csv", "--timing", "--repeat", str(repeat)]
                    + port)
            m = re.search(r"server: ([\d.]+) ms, round trip: ([\d.]+) ms", r.stderr)
            return float(m.group(1)), float(m.group(2)), r.stdout

        def duck_once(sql):
            start = time.perf_counter()
            relation = con.sql(sql)
            # The method's name changed between DuckDB releases.
            fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
            result = fetch()
            return (time.perf_counter() - start) * 1e3, result

        rows = []
        for name, (ksql, dsql) in QUERIES.items():
            _, _, kout = kdfs_once(ksql)  # warm: loads the frames into the cache
            _, dres = duck_once(dsql)
            krows = len(kout.strip().splitlines()) - 1
            if krows != dres.num_rows:
                print(f"WARNING {name}: kdfs {krows} rows, DuckDB {dres.num_rows}", file=sys.stderr)
            warm_server, warm_rtt, _ = kdfs_once(ksql, repeat=args.runs)
            cold = [kdfs_once(ksql)[0] for _ in range(args.runs)]
            ds = [duck_once(dsql)[0] for _ in range(args.runs)]
            rows.append((name, warm_server, statistics.median(cold), warm_rtt,
                         statistics.median(ds)))

        print(f"\n{SYMBOLS} symbols x {BARS:,} minute bars, median of {args.runs} runs "
              f"(duckdb {duckdb.__version__}, {os.cpu_count()} cpus)")
        print(f"{'query':<30} {'kdfs warm':>10} {'kdfs cold':>10} {'round trip':>11} "
              f"{'duckdb':>9} {'warm/duckdb':>12}")
        for name, warm_ms, cold_ms, rtt_ms, duck_ms in rows:
            print(f"{name:<30} {warm_ms:>7.2f} ms {cold_ms:>7.2f} ms {rtt_ms:>8.2f} ms "
                  f"{duck_ms:>6.2f} ms {warm_ms / duck_ms:>11.2f}x")
        print("target: kdfs server time within 1.5x of DuckDB on each query (warm: both sides"
              " run the query repeatedly; cold: a fresh connection to an idle server)")
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
