//! In-process hub fan-out and message parsing throughput (no sockets).
//!
//! Run: `cargo bench -p feeders --bench hub`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use feeders::bar::to_message;
use feeders::batch::Batch;
use feeders::fake::FakeMarket;
use feeders::hub::{Hub, HubConfig};
use feeders::pattern::Filter;

const SYMS: usize = 100;
const BATCHES: usize = 200;

fn batches() -> Vec<Batch> {
    let syms = (0..SYMS).map(|i| format!("S{i:04}")).collect();
    let mut m = FakeMarket::new("AM", syms, 1, 0);
    (0..BATCHES)
        .map(|_| Batch::parse(&to_message(&m.tick())).expect("own output parses"))
        .collect()
}

fn run(rt: &tokio::runtime::Runtime, batches: &[Batch], filters: &[Filter]) {
    rt.block_on(async {
        let hub = Hub::new(HubConfig::default());
        let mut tasks = Vec::new();
        for f in filters {
            let mut s = hub.subscribe(f.clone(), true);
            tasks.push(tokio::spawn(async move {
                let mut n = 0usize;
                while s.recv().await.is_some() {
                    n += 1;
                }
                n
            }));
        }
        for b in batches {
            hub.publish(b).await;
        }
        hub.close();
        for t in tasks {
            let _ = t.await;
        }
    });
}

fn fanout(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let batches = batches();
    let mut g = c.benchmark_group("hub_fanout");
    for subs in [1usize, 4, 16] {
        // Counted in bars delivered: every subscriber receives every bar.
        g.throughput(Throughput::Elements((BATCHES * SYMS * subs) as u64));
        let all = vec![Filter::All; subs];
        g.bench_function(format!("{subs}_subscribers_all"), |b| {
            b.iter(|| run(&rt, &batches, &all))
        });
    }
    // Each subscriber picks one symbol: the hub must filter and rebuild every message.
    let picky: Vec<Filter> = (0..16)
        .map(|i| Filter::parse(&format!("AM.S{i:04}")).expect("valid pattern"))
        .collect();
    g.throughput(Throughput::Elements((BATCHES * SYMS) as u64));
    g.bench_function("16_subscribers_one_symbol_each", |b| {
        b.iter(|| run(&rt, &batches, &picky))
    });
    g.finish();

    let text = batches[0].text.as_str().to_string();
    let mut g = c.benchmark_group("batch_parse");
    g.throughput(Throughput::Elements(SYMS as u64));
    g.bench_function("100_bars", |b| b.iter(|| Batch::parse(&text)));
    g.finish();
}

criterion_group!(benches, fanout);
criterion_main!(benches);
