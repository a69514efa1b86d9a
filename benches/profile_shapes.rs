//! The profile detector on real `perf` profiles of workloads of different shapes
//! (`scripts/profile-fixtures.py --shapes`), for `scripts/bench_profile_shapes.py`, which
//! chooses the defaults on one half of each pool and reports on the other, beside Apache Otava.
//!
//! `cargo bench --bench profile_shapes -- POOL OUT.json [TRIALS]`: every run of every shape
//! under POOL is read as `seer profile record` reads it; runs with an odd number form half 0
//! (where defaults are chosen), even ones half 1 (held out). For each half, shape and option
//! of the grid, with a seeded random choice of runs per trial:
//! - A/A: n base runs against n other base runs (n = 3 and 5): any function reported is a
//!   false alarm;
//! - detection: n base runs against n runs with one function slowed by a known factor: found
//!   when that function is reported as slower; any other function reported is counted apart;
//! - histories: 12 commits of one run each, base before a shift at a random commit (6th to
//!   9th), slowed from it on: right when the trend names the slowed function at that commit
//!   and no other function anywhere; A/A histories have no shift.
//!
//! OUT.json holds the counts, the trial designs of half 1 and every run's per-function shares
//! (for Otava on the same series).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hashbrown::HashMap;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use seer_ci_core::profile::{ReadOptions, RunFrames, read_profile};
use seer_ci_core::regress::{CompareOptions, Stacks, TrendFramesOptions, compare, trend_by_frame};
use serde_json::{Value, json};

struct Run {
    name: String,
    frames: RunFrames,
    stacks: Vec<(Vec<i64>, u64)>,
}

/// A slowed function and its factor, as the pool names them.
type Variant = (String, String);

/// One shape's runs: base runs and each slowed variant's, by half.
struct Pool {
    base: [Vec<Run>; 2],
    slow: BTreeMap<Variant, [Vec<Run>; 2]>,
    names: HashMap<i64, String>,
}

fn load(dir: &Path) -> Pool {
    let mut ids: HashMap<String, i64> = HashMap::new();
    let mut pool = Pool { base: [vec![], vec![]], slow: BTreeMap::new(), names: HashMap::new() };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".perf.gz") || p.to_string_lossy().ends_with(".folded.gz"))
        .collect();
    files.sort();
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let stem = file.trim_end_matches(".gz").trim_end_matches(".perf").trim_end_matches(".folded").to_string();
        let (kind, number) = stem.rsplit_once('-').unwrap();
        let number: usize = number.parse().unwrap();
        let folded = read_profile(&path, &ReadOptions::default()).unwrap_or_else(|e| panic!("{file}: {e}"));
        let stacks: Vec<(Vec<i64>, u64)> = folded
            .stacks
            .iter()
            .map(|(s, n)| {
                let s = s
                    .iter()
                    .map(|name| {
                        let next = ids.len() as i64;
                        *ids.entry(name.clone()).or_insert(next)
                    })
                    .collect();
                (s, *n)
            })
            .collect();
        let frames = RunFrames::from_stacks(&stacks);
        let run = Run { name: stem.clone(), frames, stacks };
        let half = 1 - number % 2;
        if kind == "base" {
            pool.base[half].push(run);
        } else {
            // slow-FUNCTION-FACTOR, or the older pool's slow (checksum, 1.10).
            let (function, factor) = match kind.strip_prefix("slow-") {
                Some(rest) => {
                    let (f, x) = rest.rsplit_once('-').unwrap();
                    (f.to_string(), x.to_string())
                }
                None => ("checksum".to_string(), "1.10".to_string()),
            };
            pool.slow.entry((function, factor)).or_insert_with(|| [vec![], vec![]])[half].push(run);
        }
    }
    pool.names = ids.into_iter().map(|(n, id)| (id, n)).collect();
    pool
}

fn merged(runs: &[&Run]) -> Vec<(Vec<i64>, u64)> {
    let mut m: HashMap<&Vec<i64>, u64> = HashMap::new();
    for r in runs {
        for (s, n) in &r.stacks {
            *m.entry(s).or_default() += n;
        }
    }
    m.into_iter().map(|(s, n)| (s.clone(), n)).collect()
}

/// Whether frame `f` is the function named `target` (a symbol ending in `::target`, or it).
fn is(names: &HashMap<i64, String>, f: i64, target: &str) -> bool {
    names.get(&f).is_some_and(|n| n == target || n.ends_with(&format!("::{target}")))
}

const FDR: [f64; 4] = [0.01, 0.02, 0.05, 0.10];
const MIN_CHANGE: [f64; 3] = [0.02, 0.03, 0.05];
const ALPHA: [f64; 4] = [0.001, 0.01, 0.05, 0.20];
const MIN_SAMPLES: [f64; 3] = [0.0, 20.0, 50.0];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let (root, out) = (PathBuf::from(&args[0]), PathBuf::from(&args[1]));
    let trials: usize = args.get(2).map_or(200, |t| t.parse().unwrap());
    let mut shapes: Vec<PathBuf> =
        std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    shapes.sort();
    let mut results = serde_json::Map::new();
    let mut designs = serde_json::Map::new();
    let mut shares = serde_json::Map::new();
    for dir in shapes {
        let shape = dir.file_name().unwrap().to_string_lossy().to_string();
        let pool = load(&dir);
        eprintln!(
            "{shape}: {}+{} base runs, {} slowed variants",
            pool.base[0].len(),
            pool.base[1].len(),
            pool.slow.len()
        );
        shares.insert(shape.clone(), run_shares(&pool));
        let mut by_half = Vec::new();
        for half in 0..2 {
            let (counts, design) = evaluate(&pool, half, trials, 7 + half as u64);
            by_half.push(counts);
            if half == 1 {
                designs.insert(shape.clone(), design);
            }
        }
        results.insert(shape, Value::Array(by_half));
    }
    let doc = json!({ "results": results, "designs": designs, "shares": shares, "trials": trials });
    std::fs::write(&out, serde_json::to_vec(&doc).unwrap()).unwrap();
    eprintln!("wrote {}", out.display());
}

/// Every run's self and inclusive share of each function above 0.5% (pooled over the shape).
fn run_shares(pool: &Pool) -> Value {
    let all: Vec<&Run> = pool.base.iter().flatten().chain(pool.slow.values().flatten().flatten()).collect();
    let mut pooled: HashMap<i64, f64> = HashMap::new();
    for r in &all {
        for (f, (_, t)) in &r.frames.frames {
            *pooled.entry(*f).or_default() += *t as f64 / r.frames.samples as f64 / all.len() as f64;
        }
    }
    let mut out = serde_json::Map::new();
    for r in &all {
        let mut m = serde_json::Map::new();
        for (f, (s, t)) in &r.frames.frames {
            if pooled[f] >= 0.005 {
                let n = r.frames.samples as f64;
                m.insert(pool.names[f].clone(), json!([*s as f64 / n, *t as f64 / n]));
            }
        }
        out.insert(r.name.clone(), Value::Object(m));
    }
    Value::Object(out)
}

fn evaluate(pool: &Pool, half: usize, trials: usize, seed: u64) -> (Value, Value) {
    let mut rng = StdRng::seed_from_u64(seed);
    let base: Vec<&Run> = pool.base[half].iter().collect();
    let names = &pool.names;
    let mut design = serde_json::Map::new();
    let mut counts = serde_json::Map::new();
    let mut grid = Vec::new();
    for fdr in FDR {
        for min_change in MIN_CHANGE {
            for min_samples in MIN_SAMPLES {
                grid.push(CompareOptions { min_share: 0.005, min_change, fdr, min_samples });
            }
        }
    }
    let key = |o: &CompareOptions| format!("fdr={},min_change={},min_samples={}", o.fdr, o.min_change, o.min_samples);
    let diff = |b: &[&Run], h: &[&Run], o: CompareOptions| {
        let stacks = Stacks { base: merged(b), head: merged(h), names: names.clone() };
        let bf: Vec<RunFrames> = b.iter().map(|r| r.frames.clone()).collect();
        let hf: Vec<RunFrames> = h.iter().map(|r| r.frames.clone()).collect();
        compare(&bf, &hf, Some(&stacks), o).unwrap()
    };
    for n in [3usize, 5] {
        // A/A.
        let mut plans = Vec::new();
        for _ in 0..if base.len() >= 2 * n { trials } else { 0 } {
            let mut pick = base.clone();
            pick.shuffle(&mut rng);
            plans.push((pick[..n].to_vec(), pick[n..2 * n].to_vec()));
        }
        design.insert(format!("aa/{n}"), plan_json(&plans));
        for o in &grid {
            let alarms = plans
                .iter()
                .filter(|(b, h)| {
                    let c = diff(b, h, *o);
                    !(c.regressions.is_empty() && c.improvements.is_empty() && c.moved.is_empty())
                })
                .count();
            counts.insert(format!("aa/{n}/{}", key(o)), json!([alarms, plans.len()]));
        }
        // Detection.
        for ((function, factor), runs) in &pool.slow {
            let slow: Vec<&Run> = runs[half].iter().collect();
            if slow.len() < n || base.len() < n {
                continue;
            }
            let mut plans = Vec::new();
            for _ in 0..trials / 2 {
                let (mut b, mut h) = (base.clone(), slow.clone());
                b.shuffle(&mut rng);
                h.shuffle(&mut rng);
                plans.push((b[..n].to_vec(), h[..n].to_vec()));
            }
            design.insert(format!("slow/{function}/{factor}/{n}"), plan_json(&plans));
            for o in &grid {
                let (mut found, mut other) = (0, 0);
                for (b, h) in &plans {
                    let c = diff(b, h, *o);
                    if c.regressions.iter().any(|r| is(names, r.frame, function)) {
                        found += 1;
                    }
                    let stray = c.regressions.iter().chain(&c.improvements).any(|r| !is(names, r.frame, function));
                    if stray || !c.moved.is_empty() {
                        other += 1;
                    }
                }
                counts.insert(format!("slow/{function}/{factor}/{n}/{}", key(o)), json!([found, other, plans.len()]));
            }
        }
    }
    // Histories: 12 commits of one run each.
    let mut tgrid = Vec::new();
    for alpha in ALPHA {
        for min_change in MIN_CHANGE {
            for min_samples in MIN_SAMPLES {
                tgrid.push(TrendFramesOptions { min_share: 0.005, min_change, alpha, min_samples });
            }
        }
    }
    let tkey =
        |o: &TrendFramesOptions| format!("alpha={},min_change={},min_samples={}", o.alpha, o.min_change, o.min_samples);
    let mut variants: Vec<(Option<Variant>, Vec<&Run>)> = vec![(None, vec![])];
    for ((f, x), runs) in &pool.slow {
        variants.push((Some((f.clone(), x.clone())), runs[half].iter().collect()));
    }
    for (variant, slow) in &variants {
        let mut plans: Vec<(usize, Vec<&Run>)> = Vec::new();
        for _ in 0..trials / 4 {
            // The shift: 3 to 6 slowed commits at the end (6th to 9th commit first), as the half allows.
            let at = if variant.is_some() { 12 - rng.random_range(3..=slow.len().clamp(3, 6)) } else { 12 };
            let (mut b, mut h) = (base.clone(), slow.clone());
            b.shuffle(&mut rng);
            h.shuffle(&mut rng);
            if b.len() < at.min(12) || (variant.is_some() && h.len() < 12 - at) {
                continue;
            }
            let runs: Vec<&Run> = b[..at.min(12)].iter().chain(h[..12 - at.min(12)].iter()).copied().collect();
            plans.push((at, runs));
        }
        let label = match variant {
            Some((f, x)) => format!("history/{f}/{x}"),
            None => "history/aa".to_string(),
        };
        design.insert(
            label.clone(),
            Value::Array(
                plans
                    .iter()
                    .map(|(at, runs)| json!({"at": at, "runs": runs.iter().map(|r| &r.name).collect::<Vec<_>>()}))
                    .collect(),
            ),
        );
        for o in &tgrid {
            let (mut right, mut stray) = (0, 0);
            for (at, runs) in &plans {
                let groups: Vec<Vec<RunFrames>> = runs.iter().map(|r| vec![r.frames.clone()]).collect();
                let stacks = Stacks { base: merged(runs), head: vec![], names: names.clone() };
                let t = trend_by_frame(&groups, Some(&stacks), *o);
                let points: Vec<_> = t.points.iter().filter(|p| p.frame.is_some()).collect();
                let other =
                    points.iter().any(|p| variant.as_ref().is_none_or(|(f, _)| !is(names, p.frame.unwrap(), f)));
                let hit = variant
                    .as_ref()
                    .is_some_and(|(f, _)| points.iter().any(|p| p.point.at == *at && is(names, p.frame.unwrap(), f)));
                if hit && !other {
                    right += 1;
                }
                if other {
                    stray += 1;
                }
            }
            counts.insert(format!("{label}/{}", tkey(o)), json!([right, stray, plans.len()]));
        }
    }
    (Value::Object(counts), Value::Object(design))
}

fn plan_json(plans: &[(Vec<&Run>, Vec<&Run>)]) -> Value {
    Value::Array(
        plans
            .iter()
            .map(|(b, h)| {
                json!([b.iter().map(|r| &r.name).collect::<Vec<_>>(), h.iter().map(|r| &r.name).collect::<Vec<_>>()])
            })
            .collect(),
    )
}
