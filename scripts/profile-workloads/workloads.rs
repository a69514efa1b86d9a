//! Three CPU workloads of different shapes, for the profile detector's benchmark
//! (`scripts/profile-fixtures.py --shapes`). Built with plain `rustc -O -C force-frame-pointers=yes`
//! so that `perf record -g` unwinds them, and with no dependencies so that it takes seconds.
//!
//! - `library`: the functions spend their time in std's callees (sorting, parsing, allocation);
//!   `rank_records` and `dedupe_keys` both sort, so std's sort frames are shared between them.
//! - `short`: seven functions from 2% to 25%, meant for short runs (2,000–5,000 samples at 1–2 kHz).
//! - `lengthen`: one function holds 40% of the time, so slowing it lengthens the whole run and
//!   every other function's share falls by dilution.
//!
//! Usage:
//!   workloads SHAPE --calibrate SECONDS         prints NAME=UNITS,… for a run of about SECONDS
//!   workloads SHAPE --units NAME=UNITS,… [--rounds 40] [--slow NAME=FACTOR]
//!
//! Every function does a fixed amount of work per unit; `--slow NAME=1.10` gives it 10% more
//! units (an injected slowdown of a known size in a known function). Units are fixed per pool
//! (calibrated once), so the work of a run never depends on the machine's speed.

use std::hint::black_box;
use std::time::Instant;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

// ---- library ----

#[inline(never)]
fn rank_records(units: u64, rng: &mut Rng) -> u64 {
    let mut acc = 0;
    for _ in 0..units {
        let mut v: Vec<(u32, u32)> = (0..256).map(|_| (rng.next() as u32, (rng.next() % 97) as u32)).collect();
        v.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
        acc ^= u64::from(v[7].0);
    }
    acc
}

#[inline(never)]
fn dedupe_keys(units: u64, rng: &mut Rng) -> u64 {
    let mut acc = 0;
    for _ in 0..units {
        let mut v: Vec<u64> = (0..256).map(|_| rng.next() % 512).collect();
        v.sort_unstable();
        v.dedup();
        acc += v.len() as u64;
    }
    acc
}

#[inline(never)]
fn hash_blocks(units: u64, data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for _ in 0..units {
        for &b in data {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

#[inline(never)]
fn parse_numbers(units: u64, words: &[String]) -> u64 {
    let mut acc = 0u64;
    for _ in 0..units {
        for w in words {
            acc = acc.wrapping_add(w.parse::<u64>().unwrap_or(0));
        }
    }
    acc
}

#[inline(never)]
fn mix_floats(units: u64) -> u64 {
    let mut x = 0.5f64;
    for _ in 0..units {
        for k in 0..128 {
            x = (x * 1.000_1 + f64::from(k)).sqrt().sin().abs() + 0.1;
        }
    }
    x.to_bits()
}

#[inline(never)]
fn scan_bytes(units: u64, data: &[u8]) -> u64 {
    let mut n = 0;
    for _ in 0..units {
        n += black_box(data).iter().filter(|&&b| b == b'\n').count() as u64;
    }
    n
}

#[inline(never)]
fn small_sum(units: u64, data: &[u8]) -> u64 {
    let mut s = 0u64;
    for _ in 0..units {
        s = s.wrapping_add(black_box(data).iter().map(|&b| u64::from(b) * 3).sum::<u64>());
    }
    s
}

// ---- short ----

#[inline(never)]
fn render_rows(units: u64) -> u64 {
    let mut n = 0;
    for u in 0..units {
        let mut s = String::new();
        for k in 0..16 {
            s.push_str(&format!("| {:>6} | {:<8} |\n", u * 16 + k, k * 7));
        }
        n += s.len() as u64;
    }
    n
}

#[inline(never)]
fn encode_base64(units: u64, data: &[u8]) -> u64 {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut acc = 0u64;
    for _ in 0..units {
        for c in black_box(data).chunks(3) {
            let v = (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
            for shift in [18, 12, 6, 0] {
                acc = acc.wrapping_add(u64::from(ALPHABET[((v >> shift) & 63) as usize]));
            }
        }
    }
    acc
}

#[inline(never)]
fn crc_update(units: u64, data: &[u8]) -> u64 {
    let mut crc = 0xffff_ffffu32;
    for _ in 0..units {
        for &b in black_box(data) {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
            }
        }
    }
    u64::from(crc)
}

#[inline(never)]
fn matrix_mul(units: u64) -> u64 {
    let mut a = [[0.0f64; 8]; 8];
    for (i, row) in a.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (i * 8 + j) as f64 / 64.0;
        }
    }
    for _ in 0..units {
        let b = black_box(a);
        let mut c = [[0.0f64; 8]; 8];
        for i in 0..8 {
            for j in 0..8 {
                for k in 0..8 {
                    c[i][j] += b[i][k] * b[k][j];
                }
            }
        }
        a[0][0] = c[7][7] / 64.0;
    }
    a[0][0].to_bits()
}

#[inline(never)]
fn lookup_table(units: u64, rng: &mut Rng) -> u64 {
    let table: Vec<u64> = (0..4096).map(|k| k * 2_654_435_761).collect();
    let mut acc = 0u64;
    for _ in 0..units {
        for _ in 0..256 {
            acc = acc.wrapping_add(table[(rng.next() & 4095) as usize]);
        }
    }
    acc
}

#[inline(never)]
fn trim_lines(units: u64, text: &str) -> u64 {
    let mut n = 0;
    for _ in 0..units {
        n += black_box(text).lines().map(|l| l.trim().len() as u64).sum::<u64>();
    }
    n
}

#[inline(never)]
fn tiny_gcd(units: u64) -> u64 {
    let mut acc = 0;
    for u in 0..units {
        for k in 1..64u64 {
            let (mut a, mut b) = (u * 7919 + k, k * 104_729);
            while b != 0 {
                (a, b) = (b, a % b);
            }
            acc += a;
        }
    }
    acc
}

// ---- lengthen ----

#[inline(never)]
fn simulate_step(units: u64, state: &mut [f64]) -> u64 {
    for _ in 0..units {
        for k in 1..state.len() {
            state[k] = 0.5 * (state[k] + state[k - 1] * 0.999) + 1e-3;
        }
    }
    state[state.len() - 1].to_bits()
}

#[inline(never)]
fn collect_stats(units: u64, state: &[f64]) -> u64 {
    let mut acc = 0.0;
    for _ in 0..units {
        let s = black_box(state);
        let mean = s.iter().sum::<f64>() / s.len() as f64;
        acc += s.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>();
    }
    acc.to_bits()
}

#[inline(never)]
fn write_log(units: u64) -> u64 {
    use std::io::Write;
    let mut out = Vec::new();
    for u in 0..units {
        out.clear();
        for k in 0..8 {
            writeln!(out, "step {u} particle {k}: ok").unwrap();
        }
    }
    out.len() as u64
}

#[inline(never)]
fn normalize(units: u64, state: &mut [f64]) -> u64 {
    for _ in 0..units {
        let max = state.iter().copied().fold(1.0f64, f64::max);
        for v in state.iter_mut() {
            *v /= max;
        }
    }
    state[0].to_bits()
}

#[inline(never)]
fn checksum_state(units: u64, state: &[f64]) -> u64 {
    let mut h = 0u64;
    for _ in 0..units {
        for v in black_box(state) {
            h = h.rotate_left(5) ^ v.to_bits();
        }
    }
    h
}

/// A shape: its functions' target shares, and one unit of each.
struct Shape {
    shares: &'static [(&'static str, f64)],
}

fn shape(name: &str) -> Shape {
    match name {
        "library" => Shape {
            shares: &[
                ("hash_blocks", 0.30),
                ("parse_numbers", 0.20),
                ("mix_floats", 0.15),
                ("rank_records", 0.12),
                ("dedupe_keys", 0.10),
                ("scan_bytes", 0.05),
                ("small_sum", 0.03),
            ],
        },
        "short" => Shape {
            shares: &[
                ("matrix_mul", 0.25),
                ("render_rows", 0.15),
                ("encode_base64", 0.13),
                ("crc_update", 0.10),
                ("lookup_table", 0.06),
                ("trim_lines", 0.04),
                ("tiny_gcd", 0.02),
            ],
        },
        "lengthen" => Shape {
            shares: &[
                ("simulate_step", 0.40),
                ("collect_stats", 0.20),
                ("write_log", 0.12),
                ("normalize", 0.08),
                ("checksum_state", 0.03),
            ],
        },
        other => panic!("no shape {other}: library, short or lengthen"),
    }
}

struct Inputs {
    rng: Rng,
    data: Vec<u8>,
    words: Vec<String>,
    text: String,
    state: Vec<f64>,
}

fn run(name: &str, units: u64, x: &mut Inputs) -> u64 {
    match name {
        "rank_records" => rank_records(units, &mut x.rng),
        "dedupe_keys" => dedupe_keys(units, &mut x.rng),
        "hash_blocks" => hash_blocks(units, &x.data),
        "parse_numbers" => parse_numbers(units, &x.words),
        "mix_floats" => mix_floats(units),
        "scan_bytes" => scan_bytes(units, &x.data),
        "small_sum" => small_sum(units, &x.data),
        "render_rows" => render_rows(units),
        "encode_base64" => encode_base64(units, &x.data),
        "crc_update" => crc_update(units, &x.data),
        "matrix_mul" => matrix_mul(units),
        "lookup_table" => lookup_table(units, &mut x.rng),
        "trim_lines" => trim_lines(units, &x.text),
        "tiny_gcd" => tiny_gcd(units),
        "simulate_step" => simulate_step(units, &mut x.state),
        "collect_stats" => collect_stats(units, &x.state),
        "write_log" => write_log(units),
        "normalize" => normalize(units, &mut x.state),
        "checksum_state" => checksum_state(units, &x.state),
        other => panic!("no function {other}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let shape = shape(args.first().map(String::as_str).unwrap_or(""));
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let mut x = Inputs {
        rng: Rng(0x9e37_79b9_7f4a_7c15),
        data: (0..1024u32).map(|k| (k * 31 % 251) as u8 | if k % 61 == 0 { b'\n' } else { 0 }).collect(),
        words: (0..64u64).map(|k| (k * 1_000_003 % 99_991).to_string()).collect(),
        text: (0..64).map(|k| format!("   line {k} with some words   \n")).collect(),
        state: (0..512).map(|k| f64::from(k) / 512.0).collect(),
    };
    if let Some(seconds) = flag("--calibrate") {
        let seconds: f64 = seconds.parse().expect("--calibrate SECONDS");
        let mut out = Vec::new();
        for &(name, share) in shape.shares {
            // Time 20 units, then enough to last 0.2 s, for a steady per-unit cost.
            let t = Instant::now();
            black_box(run(name, 20, &mut x));
            let probe = (20.0 * 0.2 / t.elapsed().as_secs_f64().max(1e-6)).max(20.0) as u64;
            let t = Instant::now();
            black_box(run(name, probe, &mut x));
            let per_unit = t.elapsed().as_secs_f64() / probe as f64;
            out.push(format!("{name}={}", ((share * seconds / per_unit) as u64).max(1)));
        }
        println!("{}", out.join(","));
        return;
    }
    let units: Vec<(String, u64)> = flag("--units")
        .expect("--units NAME=UNITS,… (from --calibrate)")
        .split(',')
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("NAME=UNITS");
            (k.to_string(), v.parse().expect("a count of units"))
        })
        .collect();
    let rounds: u64 = flag("--rounds").map_or(40, |r| r.parse().expect("--rounds N"));
    let slow = flag("--slow").map(|s| {
        let (k, v) = s.split_once('=').expect("--slow NAME=FACTOR");
        (k.to_string(), v.parse::<f64>().expect("a factor"))
    });
    let mut total = 0u64;
    for round in 0..rounds {
        for (name, n) in &units {
            let factor = slow.as_ref().filter(|(k, _)| k == name).map_or(1.0, |(_, f)| *f);
            // This round's share of the function's units, so that the rounds add up exactly.
            let all = (*n as f64 * factor).round() as u64;
            let part = all * (round + 1) / rounds - all * round / rounds;
            total = total.wrapping_add(run(name, part, &mut x));
        }
    }
    println!("{total}");
}
