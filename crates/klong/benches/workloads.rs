//! Speed workloads of the performance issue. Run with `cargo bench -p klong`.
//!
//! Each workload is a Klong program evaluated (parse + run) on a prepared interpreter.
//! Criterion reports its estimates; at the end a table of medians (11 timed runs each) is
//! printed so results can be compared with KlongPy and nmh's `kg` directly.

use criterion::Criterion;
use klong::Klong;
use std::time::{Duration, Instant};

/// (name, setup program, measured program)
const WORKLOADS: &[(&str, &str, &str)] = &[
    ("sum of prebuilt 10M ints  +/v", "v::!10000000", "+/v"),
    ("sum of enumerate  +/!10000000", "", "+/!10000000"),
    (
        "3 element-wise ops on 1M ints",
        "w::!1000000",
        "((w+1)*2)-w",
    ),
    ("grade-up of 1M reals", "r::{x;.rn()}'!1000000", "<r"),
    ("group of 1M small ints", "s::(!1000000)!100", "=s"),
    ("grade-up of 1M small ints", "s::(!1000000)!100", "<s"),
    ("{x*x}' over 100k", "u::!100000", "{x*x}'u"),
    ("{x+y}/ over 100k", "u::!100000", "{x+y}/u"),
    (
        "naive fib(20)",
        "fib::{:[x<2;x;fib(x-1)+fib(x-2)]}",
        "fib(20)",
    ),
    ("10k dictionary inserts", "", "d:::{};{d,x,x}'!10000"),
    (
        "10k dictionary lookups",
        "d:::{};{d,x,x}'!10000",
        "{d?x}'!10000",
    ),
    (
        "300x300 matrix product by dot products",
        "m::[300 300]:^!90000;mm::{[bt];bt::+y;{[r];r::x;{+/r*x}'bt}'x}",
        "mm(m;m)",
    ),
    (
        "onmsg handler on a 100-bar batch",
        "onmsg::{[a d];d:::{};d,[\"ev\" \"AVG\"];a::{x?\"c\"}'x;d,\"a\",+/a%#a};bars::{[b];b:::{};b,\"c\",x*1.5;b,\"v\",x;b}'!100",
        "onmsg(bars)",
    ),
    (
        "join 10k strings with commas",
        "ss::{$x}'!10000",
        "{x,\",\",y}/ss",
    ),
    (
        "split a 10k-field string at commas",
        "js::{x,\",\",y}/{$x}'!10000",
        "(js?0c,):_js",
    ),
];

fn setup(prog: &str) -> Klong {
    let mut k = Klong::new();
    k.set_max_alloc(1 << 28);
    if !prog.is_empty() {
        k.eval(prog).expect("setup program");
    }
    k
}

fn median(k: &mut Klong, prog: &str, runs: usize) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let v = k.eval(prog).expect("workload");
            let d = t.elapsed();
            drop(v);
            d
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .configure_from_args();
    let mut table = Vec::new();
    for (name, pre, prog) in WORKLOADS {
        if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        let mut k = setup(pre);
        c.bench_function(name, |b| b.iter(|| k.eval(prog).expect("workload")));
        table.push((name, median(&mut k, prog, 11)));
    }
    c.final_summary();
    println!("\n{:<42} {:>12}", "workload", "median");
    for (name, d) in table {
        println!("{name:<42} {:>12}", format!("{:.3?}", d));
    }
}
