#!/usr/bin/env python3
"""Medians of nmh's C Klong interpreter `kg` on the workloads of `crates/klong/benches/workloads.rs`.

Same programs and sizes as the Rust bench, setup excluded. `kg` has no wall clock, so each
run is timed inside kg with `.pc()` (process CPU time from C `clock()`, GC included): the
generated script runs the setup, the program once untimed, then RUNS lines of
`t::.pc();PROG;.p(.pc()-t)`, and prints their median and mean. An empty program timed the same way (`.pc()` itself computes
with kg's bignums) is printed first as the timing floor. A workload whose first (untimed)
run would exceed the time limit is reported as `> LIMIT`; one whose probe run takes more
than 10 s is timed once.

    python3 scripts/kg_workloads.py /path/to/kg [filter] [runs] [limit-seconds]
    python3 scripts/kg_workloads.py --ours /path/to/klong [filter] [runs]

Under load, wall-clock medians (the bench's table) are inflated by waiting for a core while
`.pc()` in kg is CPU time, so `--ours` times this crate's `klong` binary the same way, as CPU
time: the process CPU time (user + sys, getrusage) of setup + one untimed run + K runs
minus that of setup + one untimed run, divided by K, with K chosen so the K runs take about
a second; median of RUNS such pairs.

kg is nmh's public-domain interpreter (t3x.org/klong); this repository neither contains
nor depends on it. Run this alternately with the bench binary (`cargo bench -p klong`) on
the same machine.
"""

import os
import resource
import statistics
import subprocess
import sys
import tempfile

# (name, setup program, measured program), as in benches/workloads.rs
WORKLOADS = [
    ("timing floor (empty program)", "", "0"),
    ("sum of prebuilt 10M ints  +/v", "v::!10000000", "+/v"),
    ("sum of enumerate  +/!10000000", "", "+/!10000000"),
    ("3 element-wise ops on 1M ints", "w::!1000000", "((w+1)*2)-w"),
    ("grade-up of 1M reals", "r::{x;.rn()}'!1000000", "<r"),
    ("group of 1M small ints", "s::(!1000000)!100", "=s"),
    ("grade-up of 1M small ints", "s::(!1000000)!100", "<s"),
    ("{x*x}' over 100k", "u::!100000", "{x*x}'u"),
    ("{x+y}/ over 100k", "u::!100000", "{x+y}/u"),
    ("naive fib(20)", "fib::{:[x<2;x;fib(x-1)+fib(x-2)]}", "fib(20)"),
    ("10k dictionary inserts", "", "d:::{};{d,x,x}'!10000"),
    ("10k dictionary lookups", "d:::{};{d,x,x}'!10000", "{d?x}'!10000"),
    (
        "300x300 matrix product by dot products",
        "m::[300 300]:^!90000;mm::{[bt];bt::+y;{[r];r::x;{+/r*x}'bt}'x}",
        "mm(m;m)",
    ),
    (
        "onmsg handler on a 100-bar batch",
        'onmsg::{[a d];d:::{};d,["ev" "AVG"];a::{x?"c"}\'x;d,"a",+/a%#a};'
        'bars::{[b];b:::{};b,"c",x*1.5;b,"v",x;b}\'!100',
        "onmsg(bars)",
    ),
    ("join 10k strings with commas", "ss::{$x}'!10000", '{x,",",y}/ss'),
    (
        "split a 10k-field string at commas",
        'js::{x,",",y}/{$x}\'!10000',
        "(js?0c,):_js",
    ),
]


def run_kg(kg: str, setup: str, prog: str, runs: int, limit: float) -> list[float] | None:
    """Times `runs` runs of `prog` after `setup` and one untimed run; None on timeout."""
    lines = [setup] if setup else []
    lines.append(prog)
    lines += [f"t::.pc();{prog};.p(.pc()-t)"] * runs
    with tempfile.NamedTemporaryFile("w", suffix=".kg", delete=False) as f:
        f.write("\n".join(lines) + "\n")
        path = f.name
    try:
        # -n: no image, -u: no memory limit (10M-element lists exceed kg's default);
        # stdin from /dev/null, since kg's line editor spins on a piped stdin at EOF.
        out = subprocess.run(
            [kg, "-n", "-u", path],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=limit * (runs + 1) + 30,
        )
    except subprocess.TimeoutExpired:
        return None
    finally:
        os.unlink(path)
    times = [float(x) for x in out.stdout.split()]
    if out.returncode != 0 or len(times) != runs:
        raise RuntimeError(f"kg failed on {prog!r}: {out.stdout[-300:]} {out.stderr[-300:]}")
    return times


def child_cpu(cmd: list[str]) -> float:
    """Runs cmd and returns its CPU time (user + sys) in seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def ours_cpu(klong: str, setup: str, prog: str, runs: int) -> tuple[float, int]:
    """CPU seconds per run of prog in `klong FILE` by the difference method; (median, K)."""
    def script(k: int) -> str:
        lines = ([setup] if setup else []) + [prog] * (k + 1)
        with tempfile.NamedTemporaryFile("w", suffix=".kg", delete=False) as f:
            f.write("\n".join(lines) + "\n")
            return f.name

    base, one = script(0), script(1)
    try:
        per = max(child_cpu([klong, one]) - child_cpu([klong, base]), 1e-6)
    finally:
        os.unlink(one)
    k = int(min(max(1.0 / per, 3), 20000))
    full = script(k)
    try:
        diffs = [(child_cpu([klong, full]) - child_cpu([klong, base])) / k for _ in range(runs)]
    finally:
        os.unlink(full)
        os.unlink(base)
    return statistics.median(diffs), k


def main() -> None:
    if sys.argv[1] == "--ours":
        klong = sys.argv[2]
        only = sys.argv[3] if len(sys.argv) > 3 else ""
        runs = int(sys.argv[4]) if len(sys.argv) > 4 else 5
        for name, setup, prog in WORKLOADS[1:]:
            if only in name:
                med, k = ours_cpu(klong, setup, prog, runs)
                print(f"{name:<42} {med * 1e3:12.3f} ms  (K={k}, {runs} pairs)", flush=True)
        return
    kg = sys.argv[1]
    only = sys.argv[2] if len(sys.argv) > 2 else ""
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    limit = float(sys.argv[4]) if len(sys.argv) > 4 else 120.0
    for name, setup, prog in WORKLOADS:
        if only not in name and not name.startswith("timing floor"):
            continue
        try:
            probe = run_kg(kg, setup, prog, 1, limit)
            if probe is None or probe[0] > limit:
                print(f"{name:<42} > {limit:.0f} s", flush=True)
                continue
            times = probe if probe[0] > 10 else run_kg(kg, setup, prog, runs, limit)
        except RuntimeError as e:
            print(f"{name:<42} error: {e}", flush=True)
            continue
        # kg collects garbage lazily, so a run's GC may land in a later run: the mean
        # amortizes it as the difference method does for ours; the median may skip it.
        med, mean = statistics.median(times), statistics.mean(times)
        print(
            f"{name:<42} {med * 1e3:12.3f} ms  mean {mean * 1e3:.3f} ms  ({len(times)} runs)",
            flush=True,
        )


if __name__ == "__main__":
    main()
