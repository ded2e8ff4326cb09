//! Slowing down token guessing: every wrong token from one peer address makes the next refusal
//! to that address wait longer, so guessing from one machine gets slower and slower, while a
//! correct token is never delayed and other addresses are not affected.
//!
//! The table is bounded ([`MAX_PEERS`] entries): when it is full, forgiven entries go first,
//! then the one whose last wrong token is oldest. IPv6 peers are counted per /64 network, the
//! block one machine usually gets, so rotating addresses within it does not reset the count.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Peers remembered at most (a few hundred KiB at worst).
pub const MAX_PEERS: usize = 4096;
/// Wrong tokens from one peer answered without delay (a typo should not hurt).
pub const FREE_STRIKES: u32 = 1;
/// Delay of the first slowed refusal; each further wrong token doubles it.
pub const FIRST_DELAY: Duration = Duration::from_millis(250);
/// The delay never grows beyond this, so a locked-out peer still gets answers.
pub const MAX_DELAY: Duration = Duration::from_secs(8);
/// A peer with no wrong token for this long starts again from zero.
pub const FORGIVE_AFTER: Duration = Duration::from_secs(15 * 60);

/// Wrong tokens of one peer.
#[derive(Debug, Clone, Copy)]
struct Strikes {
    count: u32,
    last: Instant,
}

/// Wrong-token counts per peer address.
#[derive(Debug, Default)]
pub struct Throttle {
    peers: Mutex<HashMap<IpAddr, Strikes>>,
}

impl Throttle {
    /// An empty table.
    pub fn new() -> Throttle {
        Throttle::default()
    }

    /// Count a wrong token from `peer` at `now`; returns how long to wait before refusing.
    pub fn strike(&self, peer: IpAddr, now: Instant) -> Duration {
        let key = key(peer);
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        if !peers.contains_key(&key) && peers.len() >= MAX_PEERS {
            make_room(&mut peers, now);
        }
        let strikes = peers.entry(key).or_insert(Strikes {
            count: 0,
            last: now,
        });
        if now.saturating_duration_since(strikes.last) >= FORGIVE_AFTER {
            strikes.count = 0;
        }
        strikes.count = strikes.count.saturating_add(1);
        strikes.last = now;
        delay(strikes.count)
    }

    /// `peer` presented the right token: forget its wrong ones.
    pub fn forgive(&self, peer: IpAddr) {
        let key = key(peer);
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        peers.remove(&key);
    }

    /// Peers currently remembered.
    pub fn len(&self) -> usize {
        self.peers.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no peer is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The delay before refusing the `count`-th wrong token in a row.
fn delay(count: u32) -> Duration {
    let Some(doublings) = count.checked_sub(FREE_STRIKES + 1) else {
        return Duration::ZERO;
    };
    // 2^5 * 250 ms is already past the cap: no need to compute larger powers.
    FIRST_DELAY
        .saturating_mul(1 << doublings.min(16))
        .min(MAX_DELAY)
}

/// The address peers are counted under: the IPv4 address, or the /64 network of an IPv6 one.
fn key(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V4(_) => peer,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(network.into())
            }
        },
    }
}

/// Free at least one slot of a full table.
fn make_room(peers: &mut HashMap<IpAddr, Strikes>, now: Instant) {
    peers.retain(|_, s| now.saturating_duration_since(s.last) < FORGIVE_AFTER);
    if peers.len() < MAX_PEERS {
        return;
    }
    let oldest = peers.iter().min_by_key(|(_, s)| s.last).map(|(ip, _)| *ip);
    if let Some(ip) = oldest {
        peers.remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn delays_grow_per_peer_up_to_the_cap() {
        let t = Throttle::new();
        let now = Instant::now();
        let delays: Vec<Duration> = (0..10).map(|_| t.strike(A, now)).collect();
        assert_eq!(delays[0], Duration::ZERO);
        assert_eq!(delays[1], FIRST_DELAY);
        assert_eq!(delays[2], FIRST_DELAY * 2);
        assert_eq!(delays[3], FIRST_DELAY * 4);
        assert_eq!(delays[9], MAX_DELAY);
        assert!(delays.windows(2).all(|w| w[0] <= w[1]), "{delays:?}");
        // Another peer starts from zero.
        assert_eq!(t.strike(B, now), Duration::ZERO);
        assert_eq!(delay(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn success_and_time_forgive() {
        let t = Throttle::new();
        let now = Instant::now();
        for _ in 0..5 {
            t.strike(A, now);
        }
        t.forgive(A);
        assert_eq!(t.strike(A, now), Duration::ZERO);
        for _ in 0..5 {
            t.strike(A, now);
        }
        let later = now + FORGIVE_AFTER;
        assert_eq!(t.strike(A, later), Duration::ZERO);
        assert_eq!(t.strike(A, later), FIRST_DELAY);
    }

    #[test]
    fn the_table_stays_bounded_and_keeps_recent_offenders() {
        let t = Throttle::new();
        let start = Instant::now();
        for _ in 0..4 {
            t.strike(A, start);
        }
        for i in 0..(MAX_PEERS as u32 + 100) {
            let ip = IpAddr::V4(Ipv4Addr::from(0x0b00_0000 + i));
            t.strike(ip, start + Duration::from_millis(1 + u64::from(i)));
        }
        assert_eq!(t.len(), MAX_PEERS);
        // The oldest offender was dropped to make room; fresh ones are remembered.
        assert_eq!(
            t.strike(A, start + Duration::from_secs(10_000)),
            Duration::ZERO
        );
    }

    #[test]
    fn ipv6_peers_count_per_network() {
        let t = Throttle::new();
        let now = Instant::now();
        let one: IpAddr = "2001:db8:1:2::1".parse::<Ipv6Addr>().unwrap().into();
        let same_net: IpAddr = "2001:db8:1:2:ffff::9".parse::<Ipv6Addr>().unwrap().into();
        let other_net: IpAddr = "2001:db8:1:3::1".parse::<Ipv6Addr>().unwrap().into();
        t.strike(one, now);
        assert_eq!(t.strike(same_net, now), FIRST_DELAY);
        assert_eq!(t.strike(other_net, now), Duration::ZERO);
        let mapped: IpAddr = Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped().into();
        t.strike(A, now);
        assert_eq!(t.strike(mapped, now), FIRST_DELAY);
    }
}
