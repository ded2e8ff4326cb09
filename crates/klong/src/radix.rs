//! Stable grade kernels for typed vectors: the permutation that sorts a vector.
//!
//! Small-range integers use a counting sort; other integers and reals use an MSD radix sort
//! on order-preserving 64-bit keys. Klong's grade-down is the exact reversal of grade-up
//! (equal elements come out in reverse index order), so `down` writes the ascending
//! permutation back to front instead of reversing it afterwards.

/// Elements per block of the counting pass: small enough that the second look at a block
/// (counting, after its min/max) hits the L1 cache.
const BLOCK: usize = 4096;

/// Stable ascending (or, with `down`, reversed) permutation of ints whose values span a small
/// range (at most twice the length, or 2^17), by counting sort; `None` for a wider span.
/// Long vectors of at most `FEW` distinct values go to [`few_values_grade`].
/// The caller guarantees `v.len() < u32::MAX`.
pub fn counting_grade(v: &[i64], down: bool) -> Option<Vec<i64>> {
    if v.len() > FEW_BLOCK
        && let Some(out) = few_values_grade(v, down)
    {
        return Some(out);
    }
    let limit = v.len().max(1 << 16) * 2;
    let (lo, mut pos) = counts(v, limit)?;
    // Counts become the first output position of each value.
    let mut total = 0u32;
    for c in pos.iter_mut() {
        let k = *c;
        *c = total;
        total += k;
    }
    let mut out = vec![0i64; v.len()];
    if down {
        scatter_down(v, lo, &mut pos, &mut out);
    } else {
        scatter_up(v, lo, &mut pos, &mut out);
    }
    Some(out)
}

/// Elements per block of [`few_values_grade`]: the block (and its `u16` positions) stays in
/// cache while it is sorted.
const FEW_BLOCK: usize = 8192;
const _: () = assert!(FEW_BLOCK <= 1 << 16, "block positions are u16");

/// Widest span of values graded by [`few_values_grade`]: runs of a value in a block must
/// stay long enough (8 on average) for the final copy to beat a direct scatter.
const FEW: i128 = (FEW_BLOCK / 8) as i128;

/// [`counting_grade`] of values spanning at most `FEW`, or `None` for a wider span (found
/// at the latest block, so a wide vector costs up to one extra look at its elements).
///
/// Two steps so that no write goes to more than a few places at once: each block of
/// `FEW_BLOCK` elements is read once from memory for its min/max, then counting-sorted on
/// its own while in cache (positions in the block as `u16`, which measured about 10% faster
/// than `u32` indices); then the result is written front to back, value by value, from each
/// block's run of that value. Scattering straight into the 8-byte-per-element result spreads
/// the writes over `span` distant places, which measured about 1.5x slower (CPU time) for
/// 1M elements of 100 values.
fn few_values_grade(v: &[i64], down: bool) -> Option<Vec<i64>> {
    let mut sorted = vec![0u16; v.len()];
    // Per block: its smallest value and where its run starts begin in `starts`; a block of
    // values in [lo, lo + w) has w + 1 run starts there (the last one is the block length).
    let mut blocks: Vec<(i64, usize)> = Vec::with_capacity(v.len().div_ceil(FEW_BLOCK) + 1);
    let mut starts: Vec<u32> = Vec::new();
    let mut pos: Vec<u32> = Vec::new();
    let (mut mn, mut mx) = (i64::MAX, i64::MIN);
    for (blk, dst) in v.chunks(FEW_BLOCK).zip(sorted.chunks_mut(FEW_BLOCK)) {
        let (lo, hi) = blk
            .iter()
            .fold((i64::MAX, i64::MIN), |(l, h), &e| (l.min(e), h.max(e)));
        (mn, mx) = (mn.min(lo), mx.max(hi));
        if mx as i128 - mn as i128 >= FEW {
            return None;
        }
        let w = (hi - lo) as usize + 1;
        let at = starts.len();
        blocks.push((lo, at));
        starts.resize(at + w + 1, 0);
        let st = &mut starts[at..];
        for &e in blk {
            st[e.wrapping_sub(lo) as usize + 1] += 1;
        }
        for d in 1..=w {
            st[d] += st[d - 1];
        }
        pos.clear();
        pos.extend_from_slice(&st[..w]);
        for (i, &e) in (0u16..).zip(blk) {
            let d = e.wrapping_sub(lo) as usize;
            dst[pos[d] as usize] = i;
            pos[d] += 1;
        }
    }
    blocks.push((0, starts.len()));
    // Run of the value `x` in block `b`, as a slice of `sorted` (empty if absent).
    let run = |b: usize, x: i64| -> &[u16] {
        let ((lo, at), (_, next)) = (blocks[b], blocks[b + 1]);
        let d = x.wrapping_sub(lo) as usize;
        if x < lo || d + 1 >= next - at {
            return &[];
        }
        let base = b * FEW_BLOCK;
        &sorted[base + starts[at + d] as usize..base + starts[at + d + 1] as usize]
    };
    let nb = blocks.len() - 1;
    let mut out = Vec::with_capacity(v.len());
    if down {
        for x in (mn..=mx).rev() {
            for b in (0..nb).rev() {
                let base = (b * FEW_BLOCK) as i64;
                out.extend(run(b, x).iter().rev().map(|&i| base + i as i64));
            }
        }
    } else {
        for x in mn..=mx {
            for b in 0..nb {
                let base = (b * FEW_BLOCK) as i64;
                out.extend(run(b, x).iter().map(|&i| base + i as i64));
            }
        }
    }
    Some(out)
}

/// Occurrences of each value of `v` in one pass: `(lo, counts)` with `counts[i]` the number
/// of elements equal to `lo + i`, or `None` once the values span more than `limit`.
///
/// The table grows as blocks bring values outside it (by the span again on the side that
/// grew, within `limit`), so the input is read once instead of once for min/max and once
/// more to count.
fn counts(v: &[i64], limit: usize) -> Option<(i64, Vec<u32>)> {
    let first = *v.first()?;
    let (mut lo, mut cnt) = (first, vec![0u32; 1]);
    // Range of the values seen so far; the table [lo, lo + cnt.len()) always covers it.
    let (mut dmn, mut dmx) = (first, first);
    for b in v.chunks(BLOCK) {
        let (bmn, bmx) = b
            .iter()
            .fold((i64::MAX, i64::MIN), |(l, h), &e| (l.min(e), h.max(e)));
        let (omn, omx) = (dmn, dmx);
        dmn = dmn.min(bmn);
        dmx = dmx.max(bmx);
        let hi = lo as i128 + cnt.len() as i128 - 1;
        if (bmn as i128) < lo as i128 || bmx as i128 > hi {
            let span = dmx as i128 - dmn as i128 + 1;
            if span > limit as i128 {
                return None;
            }
            // Room for the span again on a side that grew, the table staying within `limit`.
            let slack = span.min((limit as i128 - span) / 2);
            let nlo = if bmn < omn {
                (dmn as i128 - slack).max(i64::MIN as i128)
            } else {
                dmn as i128
            };
            let nhi = if bmx > omx {
                (dmx as i128 + slack).min(i64::MAX as i128)
            } else {
                dmx as i128
            };
            let mut t = vec![0u32; (nhi - nlo + 1) as usize];
            // Only the seen range [omn, omx] holds counts.
            let from = (omn as i128 - lo as i128) as usize;
            let to = (omx as i128 - lo as i128) as usize;
            let at = (omn as i128 - nlo) as usize;
            t[at..at + to - from + 1].copy_from_slice(&cnt[from..=to]);
            (lo, cnt) = (nlo as i64, t);
        }
        // Every element of the block lies in [lo, lo + cnt.len()): the wrapping difference
        // is its exact offset.
        for &e in b {
            cnt[e.wrapping_sub(lo) as usize] += 1;
        }
    }
    Some((lo, cnt))
}

/// Place each index at its value's next position (a separate function so the compiler
/// knows `pos` and `out` do not alias).
fn scatter_up(v: &[i64], lo: i64, pos: &mut [u32], out: &mut [i64]) {
    for (i, &e) in v.iter().enumerate() {
        let d = e.wrapping_sub(lo) as usize;
        out[pos[d] as usize] = i as i64;
        pos[d] += 1;
    }
}

/// [`scatter_up`] into the mirrored position, giving the reversed permutation directly.
fn scatter_down(v: &[i64], lo: i64, pos: &mut [u32], out: &mut [i64]) {
    let last = out.len() - 1;
    for (i, &e) in v.iter().enumerate() {
        let d = e.wrapping_sub(lo) as usize;
        out[last - pos[d] as usize] = i as i64;
        pos[d] += 1;
    }
}

/// A key and the index of its element.
type Entry = (u64, u32);

/// Buckets up to this size are finished with a comparison sort.
const SMALL: usize = 256;

/// Largest digit width of a radix level.
const BITS: u32 = 11;

/// Stable ascending (or, with `down`, reversed) permutation of `v` ordered by `key`, by
/// most-significant-digit radix sort on the bits where the keys differ (up to 11 bits per
/// level), finishing small buckets with a comparison sort. Scatters are stable and every
/// bucket starts in index order, and the final sorts order by (key, index), so equal keys
/// keep their index order. The caller guarantees `v.len() < u32::MAX`.
pub fn radix_grade<T: Copy>(v: &[T], key: impl Fn(T) -> u64, down: bool) -> Vec<i64> {
    let n = v.len();
    let entries = || v.iter().zip(0u32..).map(|(&x, i)| (key(x), i));
    // The indices in ascending order, appended bucket by bucket (no zero-filled result to
    // overwrite); grade-down is their exact reversal.
    let mut out: Vec<i64> = Vec::with_capacity(n);
    let put = |out: &mut Vec<i64>, sorted: &[Entry]| out.extend(sorted.iter().map(|e| e.1 as i64));
    let (mn, mx) = v.iter().fold((u64::MAX, 0), |(l, h), &x| {
        let k = key(x);
        (l.min(k), h.max(k))
    });
    match level(mn, mx) {
        Some((shift, mask)) if n > SMALL => {
            // The top level scatters entries made on the fly from `v`; then each bucket is
            // sorted in a scratch buffer of its own size (cache-resident for all but very
            // skewed keys) and only its indices are written out.
            let mut tmp: Vec<Entry> = vec![(0, 0); n];
            let ends = scatter(entries(), &mut tmp, shift, mask);
            // Grows to the largest bucket; its stale contents are overwritten by `msd_into`.
            let mut scratch: Vec<Entry> = Vec::new();
            let mut lo = 0;
            for &end in &ends[..=mask] {
                let hi = end as usize;
                let bucket = &mut tmp[lo..hi];
                if shift == 0 || bucket.len() <= 1 {
                    put(&mut out, bucket);
                } else {
                    if scratch.len() < bucket.len() {
                        scratch.resize(bucket.len(), (0, 0));
                    }
                    let sorted = &mut scratch[..bucket.len()];
                    msd_into(bucket, sorted);
                    put(&mut out, sorted);
                }
                lo = hi;
            }
        }
        _ => {
            let mut a: Vec<Entry> = entries().collect();
            a.sort_unstable();
            put(&mut out, &a);
        }
    }
    if down {
        out.reverse();
    }
    out
}

/// Digit position of a level: `(shift, mask)` over the bits where keys in [mn, mx] differ,
/// or `None` when all keys are equal.
fn level(mn: u64, mx: u64) -> Option<(u32, usize)> {
    if mn == mx {
        return None;
    }
    // Keys in [mn, mx] share every bit above the highest bit where mn and mx differ.
    let high = 64 - (mn ^ mx).leading_zeros();
    let shift = high.saturating_sub(BITS);
    Some((shift, (1usize << (high - shift)) - 1))
}

/// [`level`] for the keys of `a`.
fn level_of(a: &[Entry]) -> Option<(u32, usize)> {
    let (mn, mx) = a
        .iter()
        .fold((u64::MAX, 0), |(l, h), &(k, _)| (l.min(k), h.max(k)));
    level(mn, mx)
}

/// Stable scatter of the entries `src` into `dst` by the digit `(shift, mask)`; returns the
/// end of each bucket in `dst` (bucket `d` spans `ends[d - 1]..ends[d]`, bucket 0 starts at
/// 0). `src` is iterated twice: to count, then to place.
fn scatter(
    src: impl Iterator<Item = Entry> + Clone,
    dst: &mut [Entry],
    shift: u32,
    mask: usize,
) -> [u32; 1 << BITS] {
    let digit = |k: u64| ((k >> shift) as usize) & mask;
    let mut pos = [0u32; 1 << BITS];
    for (k, _) in src.clone() {
        pos[digit(k)] += 1;
    }
    let mut total = 0u32;
    for c in pos[..=mask].iter_mut() {
        let k = *c;
        *c = total;
        total += k;
    }
    for e in src {
        let d = digit(e.0);
        dst[pos[d] as usize] = e;
        pos[d] += 1;
    }
    pos
}

/// Sort `a` in place, with `tmp` (same length) as scratch. Levels alternate between the two
/// buffers instead of copying every level back.
fn msd(a: &mut [Entry], tmp: &mut [Entry]) {
    if a.len() <= SMALL {
        a.sort_unstable();
        return;
    }
    let Some((shift, mask)) = level_of(a) else {
        return; // all keys equal: already in index order
    };
    let ends = scatter(a.iter().copied(), tmp, shift, mask);
    let mut lo = 0;
    for &end in &ends[..=mask] {
        let hi = end as usize;
        if shift == 0 || hi - lo <= 1 {
            // The digit was the whole remaining key, or a single element: done.
            a[lo..hi].copy_from_slice(&tmp[lo..hi]);
        } else {
            msd_into(&mut tmp[lo..hi], &mut a[lo..hi]);
        }
        lo = hi;
    }
}

/// Sort `src` into `dst` (same length); `src` is left as scratch.
fn msd_into(src: &mut [Entry], dst: &mut [Entry]) {
    if src.len() <= SMALL {
        dst.copy_from_slice(src);
        dst.sort_unstable();
        return;
    }
    let Some((shift, mask)) = level_of(src) else {
        dst.copy_from_slice(src);
        return;
    };
    let ends = scatter(src.iter().copied(), dst, shift, mask);
    if shift == 0 {
        return;
    }
    let mut lo = 0;
    for &end in &ends[..=mask] {
        let hi = end as usize;
        if hi - lo > 1 {
            msd(&mut dst[lo..hi], &mut src[lo..hi]);
        }
        lo = hi;
    }
}

/// Order-preserving map of an `i64` to `u64`.
pub fn int_key(x: i64) -> u64 {
    (x as u64) ^ (1 << 63)
}

/// Order-preserving map of an `f64` to `u64` (total order; -0.0 and 0.0 compare equal).
pub fn real_key(x: f64) -> u64 {
    let x = if x == 0.0 { 0.0 } else { x };
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stable ascending grade by a comparison sort, reversed for `down`.
    fn reference<T: Copy>(v: &[T], key: impl Fn(T) -> u64, down: bool) -> Vec<i64> {
        let mut idx: Vec<i64> = (0..v.len() as i64).collect();
        idx.sort_by_key(|&i| key(v[i as usize]));
        if down {
            idx.reverse();
        }
        idx
    }

    /// Index and both values where two grades first differ (short failure messages).
    fn first_difference(got: &[i64], want: &[i64]) -> Option<(usize, i64, i64)> {
        if got.len() != want.len() {
            return Some((usize::MAX, got.len() as i64, want.len() as i64));
        }
        (0..got.len())
            .find(|&i| got[i] != want[i])
            .map(|i| (i, got[i], want[i]))
    }

    fn xorshift(seed: u64) -> impl FnMut() -> u64 {
        let mut x = seed;
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    fn int_inputs() -> Vec<Vec<i64>> {
        let mut r = xorshift(7);
        let n = 20_000;
        vec![
            (0..n).map(|i| i % 100).collect(),
            // Spans 200 in the first block, then 400 inside the table's slack.
            (0..n)
                .map(|i| if i < BLOCK as i64 { i % 200 } else { i % 400 })
                .collect(),
            (0..n).map(|i| 1000 - i % 257).collect(),
            // Runs of 1000 equal values, some values missing: blocks see only a few of them.
            (0..n).map(|i| (i / 1000) % 7 * 3 - 5).collect(),
            (0..n).map(|i| (i * 7919) % 1024).collect(),
            (0..n).map(|i| (i * 7919) % 1025).collect(),
            (0..n).map(|i| (n - i) / 3).collect(),
            (0..n).map(|_| (r() % 300) as i64 - 150).collect(),
            (0..n)
                .map(|i| if i % 2 == 0 { i * 5 } else { -i * 7 })
                .collect(),
            (0..n).map(|i| i * 37).collect(),
            (0..n)
                .map(|i| if i == n - 1 { 1 << 40 } else { i % 9 })
                .collect(),
            (0..n).map(|_| r() as i64).collect(),
            (0..n)
                .map(|i| [i64::MIN, i64::MAX, 0, -1][i as usize % 4])
                .collect(),
            (0..n).map(|i| i64::MAX - i % 5).collect(),
            (0..n).map(|i| i64::MIN + i % 5).collect(),
            vec![42; 1000],
            vec![3],
        ]
    }

    #[test]
    fn int_grades_match_a_stable_comparison_sort() {
        for v in int_inputs() {
            for down in [false, true] {
                let want = reference(&v, int_key, down);
                let counted = counting_grade(&v, down);
                if let Some(got) = &counted {
                    assert_eq!(first_difference(got, &want), None, "counting, down={down}");
                }
                let got = radix_grade(&v, int_key, down);
                assert_eq!(first_difference(&got, &want), None, "radix, down={down}");
            }
        }
    }

    #[test]
    fn few_values_grade_takes_narrow_spans_only() {
        let n = 3 * FEW_BLOCK as i64 + 5;
        let narrow: Vec<i64> = (0..n).map(|i| (i * 7) % FEW as i64).collect();
        let got = few_values_grade(&narrow, true).expect("span below FEW");
        let want = reference(&narrow, int_key, true);
        assert_eq!(first_difference(&got, &want), None);
        // One value in the last block widens the span to FEW: declined, and the counting
        // sort grades it instead.
        let wide: Vec<i64> = (0..n)
            .map(|i| if i == n - 1 { FEW as i64 } else { i % 7 })
            .collect();
        assert!(few_values_grade(&wide, false).is_none());
        let got = counting_grade(&wide, false).expect("small range");
        let want = reference(&wide, int_key, false);
        assert_eq!(first_difference(&got, &want), None);
    }

    #[test]
    fn counting_grade_declines_wide_spans() {
        let v: Vec<i64> = (0..1000).map(|i| i * 1000).collect();
        assert!(counting_grade(&v, false).is_none());
        let mut late = vec![0i64; 1000];
        late[999] = 1 << 20;
        assert!(counting_grade(&late, false).is_none());
    }

    #[test]
    fn real_grades_match_a_stable_comparison_sort() {
        let mut r = xorshift(11);
        let mut unit = move || (r() >> 11) as f64 / (1u64 << 53) as f64;
        let n = 20_000;
        let inputs: Vec<Vec<f64>> = vec![
            (0..n).map(|_| unit()).collect(),
            (0..n).map(|_| (unit() * 50.0).floor() - 25.0).collect(),
            (0..n)
                .map(|_| (unit() - 0.5) * 10f64.powf(unit() * 300.0))
                .collect(),
            (0..n)
                .map(|i| [0.0, -0.0, 1.5, -2.5, f64::INFINITY][i % 5])
                .collect(),
            vec![-0.0; 500],
        ];
        for v in inputs {
            for down in [false, true] {
                let got = radix_grade(&v, real_key, down);
                let want = reference(&v, real_key, down);
                assert_eq!(first_difference(&got, &want), None, "down={down}");
            }
        }
    }
}
