#!/usr/bin/env python3
"""Medians of KlongPy on the array workloads of `crates/klong/benches/workloads.rs`.

Same programs and sizes as the Rust bench, setup excluded: for each workload a fresh
interpreter runs the setup, the program once untimed, then RUNS timed calls; the median is
printed in the bench's table format. Run it alternately with the bench binary on the same
machine, e.g.

    pip install klongpy==0.7.1
    python3 scripts/klongpy_workloads.py grade 11

The first argument keeps the workloads whose name contains it (default: all).
Nothing in the repository depends on this script.
"""

import statistics
import sys
import time

from klongpy import KlongInterpreter

from kg_workloads import WORKLOADS as ALL_WORKLOADS

# The bulk primitives (NumPy work in KlongPy), with the same programs as for kg.
WORKLOADS = [w for w in ALL_WORKLOADS if w[0].startswith(("sum of", "3 element", "grade", "group"))]


def main() -> None:
    only = sys.argv[1] if len(sys.argv) > 1 else ""
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 11
    for name, setup, prog in WORKLOADS:
        if only not in name:
            continue
        k = KlongInterpreter()
        k(setup)
        k(prog)
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            result = k(prog)
            times.append(time.perf_counter() - t)
            del result
        print(f"{name:<42} {statistics.median(times) * 1e3:10.2f} ms", flush=True)


if __name__ == "__main__":
    main()
