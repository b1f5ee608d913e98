//! Evaluation of the streaming provenance anomaly detector on synthetic AV pipelines with
//! injected attacks: precision, recall, ROC AUC, detection delay, throughput and memory.
//! Fixed seeds: the same build gives the same detection figures (timings vary).
//!
//! ```text
//! cargo run --release -p whyline-monitor --example provenance_eval
//! cargo run --release -p whyline-monitor --example provenance_eval -- --update-doc docs/provenance-anomaly.md
//! ```
//!
//! `--update-doc FILE` replaces the text between `<!-- eval:begin -->` and `<!-- eval:end -->`
//! in FILE with the tables printed.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

#[path = "../tests/support/provenance_workload.rs"]
mod workload;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Instant;

use whyline_monitor::provenance_anomaly::{ProvenanceAnomalySettings, StreamingProvenanceMonitor};
use workload::{Attack, Workload};

const WARMUP_SEED: u64 = 1;
const TEST_SEED: u64 = 2;
const CONCURRENT: usize = 16;
const WARMUP_GRAPHS: u64 = 5_000;
const TEST_GRAPHS: u64 = 20_000;
const ATTACK_RATE: f64 = 0.1;

/// What happened to one test graph.
#[derive(Default)]
struct Outcome {
    attack: Option<Attack>,
    /// Highest `distance − threshold` over the graph's life (the ROC score).
    score: f64,
    /// Edge index of the alert, if any.
    alert_at: Option<usize>,
    first_attack_edge: Option<usize>,
}

fn fitted(settings: &ProvenanceAnomalySettings) -> (StreamingProvenanceMonitor, String) {
    fitted_on(settings, WARMUP_GRAPHS)
}

fn fitted_on(
    settings: &ProvenanceAnomalySettings,
    warmup_graphs: u64,
) -> (StreamingProvenanceMonitor, String) {
    let mut monitor = StreamingProvenanceMonitor::new(settings.clone()).unwrap();
    let mut warmup = Workload::new(WARMUP_SEED, CONCURRENT, 0, 0.0, &[]);
    let mut finished = 0;
    while finished < warmup_graphs {
        let item = warmup.next_edge();
        monitor.learn(&item.edge).unwrap();
        finished += u64::from(item.last);
    }
    let summary = monitor.fit_baseline().unwrap();
    let thresholds: Vec<f64> = summary.clusters.iter().map(|c| c.threshold).collect();
    let min = thresholds.iter().copied().fold(f64::INFINITY, f64::min);
    let max = thresholds.iter().copied().fold(0.0, f64::max);
    let text = format!(
        "baseline: {warmup_graphs} normal graphs, {} edges learned, {} snapshots clustered into {} clusters (thresholds {min:.3} to {max:.3})",
        summary.snapshots_offered,
        summary.snapshots_clustered,
        summary.clusters.len()
    );
    (monitor, text)
}

/// The thread's CPU time (Linux schedstat), so a shared machine's other tenants do not count.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn roc_auc(positives: &[f64], negatives: &[f64]) -> f64 {
    // Mann–Whitney: P(score of a positive > score of a negative), ties count half.
    let mut all: Vec<(f64, bool)> = positives
        .iter()
        .map(|s| (*s, true))
        .chain(negatives.iter().map(|s| (*s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let average_rank = (i + j + 1) as f64 / 2.0;
        rank_sum += average_rank * all[i..j].iter().filter(|x| x.1).count() as f64;
        i = j;
    }
    let p = positives.len() as f64;
    let n = negatives.len() as f64;
    (rank_sum - p * (p + 1.0) / 2.0) / (p * n)
}

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Recall (three expected attacks) and false positive rate for a grid of settings.
fn sweep() {
    for (clusters, warmup) in [(128, 5_000), (256, 5_000)] {
        for z in [3.0, 3.5] {
            for points in [32768] {
                let settings = ProvenanceAnomalySettings {
                    clusters,
                    threshold_z: z,
                    max_baseline_points: points,
                    min_threshold: 0.02,
                    ..ProvenanceAnomalySettings::default()
                };
                let (mut monitor, _) = fitted_on(&settings, warmup);
                let mut stream = Workload::new(
                    TEST_SEED,
                    CONCURRENT,
                    1_000_000,
                    ATTACK_RATE,
                    &Attack::ALL[..3],
                );
                let mut alerted: HashMap<u64, (Option<Attack>, bool)> = HashMap::new();
                let mut done = 0;
                while done < 5_000 {
                    let item = stream.next_edge();
                    let observation = monitor.observe(&item.edge).unwrap();
                    let entry = alerted
                        .entry(item.edge.graph)
                        .or_insert((item.attack, false));
                    entry.1 |= observation.alert.is_some();
                    done += u32::from(item.last);
                }
                let attacked = alerted.values().filter(|v| v.0.is_some()).count();
                let hits = alerted.values().filter(|v| v.0.is_some() && v.1).count();
                let normal = alerted.len() - attacked;
                let false_alarms = alerted.values().filter(|v| v.0.is_none() && v.1).count();
                println!(
                    "clusters {clusters:3} warm-up {warmup} z {z} points {points}: recall {:.3} fpr {:.4}",
                    hits as f64 / attacked as f64,
                    false_alarms as f64 / normal as f64
                );
            }
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut update_doc = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--update-doc" => update_doc = args.next(),
            other => panic!("unknown argument {other}; usage: provenance_eval [--update-doc FILE]"),
        }
    }
    let settings = ProvenanceAnomalySettings::default();
    if std::env::var_os("PROVENANCE_EVAL_SWEEP").is_some() {
        sweep();
        return;
    }
    let mut out = String::new();
    let (mut monitor, baseline) = fitted(&settings);
    writeln!(out, "{baseline}.\n").unwrap();

    // Detection.
    let mut stream = Workload::new(TEST_SEED, CONCURRENT, 1_000_000, ATTACK_RATE, &Attack::ALL);
    let mut outcomes: HashMap<u64, Outcome> = HashMap::new();
    let mut done = 0;
    let mut edges = 0u64;
    while done < TEST_GRAPHS {
        let item = stream.next_edge();
        edges += 1;
        let observation = monitor.observe(&item.edge).unwrap();
        let outcome = outcomes.entry(item.edge.graph).or_insert_with(|| Outcome {
            attack: item.attack,
            score: f64::NEG_INFINITY,
            first_attack_edge: item.first_attack_edge,
            ..Outcome::default()
        });
        if observation.edges >= settings.min_edges
            && let Some(score) = monitor.score(item.edge.graph)
        {
            outcome.score = outcome.score.max(score);
        }
        if observation.alert.is_some() {
            outcome.alert_at = Some(item.position);
        }
        done += u64::from(item.last);
    }
    outcomes.retain(|_, outcome| outcome.score.is_finite());
    let normal: Vec<&Outcome> = outcomes.values().filter(|o| o.attack.is_none()).collect();
    let false_alarms = normal.iter().filter(|o| o.alert_at.is_some()).count();
    let negatives: Vec<f64> = normal.iter().map(|o| o.score).collect();
    writeln!(
        out,
        "test stream: {} graphs ({} normal, {} attacked, {:.0} % attack rate), {edges} edges, {CONCURRENT} graphs interleaved, seed {TEST_SEED}.\n",
        outcomes.len(),
        normal.len(),
        outcomes.len() - normal.len(),
        ATTACK_RATE * 100.0
    )
    .unwrap();
    writeln!(out, "| attack | graphs | detected | recall | ROC AUC | delay (edges after the first attack edge): median / max | alerts before the attack edge |").unwrap();
    writeln!(out, "|---|---:|---:|---:|---:|---:|---:|").unwrap();
    let mut true_alarms = 0;
    let mut attacked_total = 0;
    let mut all_positive_scores = Vec::new();
    let mut detected_expected = 0;
    let mut expected_total = 0;
    for attack in Attack::ALL {
        let attacked: Vec<&Outcome> = outcomes
            .values()
            .filter(|o| o.attack == Some(attack))
            .collect();
        let detected: Vec<&&Outcome> = attacked.iter().filter(|o| o.alert_at.is_some()).collect();
        let mut delays: Vec<f64> = detected
            .iter()
            .filter_map(|o| Some(o.alert_at? as f64 - o.first_attack_edge? as f64))
            .filter(|d| *d >= 0.0)
            .collect();
        let early = detected.len() - delays.len();
        let max_delay = delays.iter().copied().fold(0.0, f64::max);
        let positives: Vec<f64> = attacked.iter().map(|o| o.score).collect();
        let auc = roc_auc(&positives, &negatives);
        writeln!(
            out,
            "| {} | {} | {} | {:.3} | {:.3} | {} / {} | {} |",
            attack.name(),
            attacked.len(),
            detected.len(),
            detected.len() as f64 / attacked.len().max(1) as f64,
            auc,
            if delays.is_empty() {
                "-".to_owned()
            } else {
                median(&mut delays).to_string()
            },
            if delays.is_empty() {
                "-".to_owned()
            } else {
                max_delay.to_string()
            },
            early
        )
        .unwrap();
        true_alarms += detected.len();
        attacked_total += attacked.len();
        all_positive_scores.extend(positives);
        if attack != Attack::SpoofedKnownSource {
            detected_expected += detected.len();
            expected_total += attacked.len();
        }
    }
    let precision = true_alarms as f64 / (true_alarms + false_alarms).max(1) as f64;
    writeln!(
        out,
        "\nall attacks: precision {:.3}, recall {:.3} ({:.3} without the spoofed known source), ROC AUC {:.3}; false alarms {} of {} normal graphs (false positive rate {:.4}).\n",
        precision,
        true_alarms as f64 / attacked_total.max(1) as f64,
        detected_expected as f64 / expected_total.max(1) as f64,
        roc_auc(&all_positive_scores, &negatives),
        false_alarms,
        normal.len(),
        false_alarms as f64 / normal.len().max(1) as f64
    )
    .unwrap();

    // Throughput: observe a pre-generated stream of 10^6 edges.
    let mut stream = Workload::new(
        TEST_SEED + 1,
        CONCURRENT,
        10_000_000,
        ATTACK_RATE,
        &Attack::ALL,
    );
    let edges: Vec<_> = (0..1_000_000).map(|_| stream.next_edge().edge).collect();
    let (mut timed, _) = fitted(&settings);
    let start = Instant::now();
    let cpu_start = thread_cpu_ns();
    let mut alerts = 0u64;
    for edge in &edges {
        alerts += u64::from(
            timed
                .observe(std::hint::black_box(edge))
                .unwrap()
                .alert
                .is_some(),
        );
    }
    let cpu = thread_cpu_ns()
        .zip(cpu_start)
        .map(|(end, start)| end - start);
    let elapsed = start.elapsed();
    writeln!(
        out,
        "throughput: {} ns per edge of thread CPU time, {:.0} ns wall ({:.2} M edges/s wall) over 10^6 observed edges ({alerts} alerts), sketch width {}, {} clusters.\n",
        cpu.map_or("n/a".to_owned(), |ns| format!("{:.0}", ns as f64 / edges.len() as f64)),
        elapsed.as_nanos() as f64 / edges.len() as f64,
        edges.len() as f64 / elapsed.as_secs_f64() / 1e6,
        settings.sketch_width,
        settings.clusters
    )
    .unwrap();
    drop(edges);

    // Memory: 10^6 then 10^7 edges through one monitor.
    let (mut long, _) = fitted(&settings);
    let before = long.memory_bytes();
    let mut stream = Workload::new(
        TEST_SEED + 2,
        CONCURRENT,
        100_000_000,
        ATTACK_RATE,
        &Attack::ALL,
    );
    let mut at_million = 0;
    for index in 1..=10_000_000u64 {
        long.observe(&stream.next_edge().edge).unwrap();
        if index == 1_000_000 {
            at_million = long.memory_bytes();
        }
    }
    let at_ten_million = long.memory_bytes();
    let stats = long.stats();
    writeln!(
        out,
        "memory: {before} bytes after the fit, {at_million} after 10^6 edges, {at_ten_million} after 10^7 edges ({} graphs evicted, {} nodes pushed out of the node table).",
        stats.graphs_evicted, stats.nodes_evicted
    )
    .unwrap();

    print!("{out}");
    if let Some(path) = update_doc {
        let doc = std::fs::read_to_string(&path).expect("read the doc");
        let begin = "<!-- eval:begin -->";
        let end = "<!-- eval:end -->";
        let (head, rest) = doc
            .split_once(begin)
            .expect("the doc has an eval:begin marker");
        let (_, tail) = rest
            .split_once(end)
            .expect("the doc has an eval:end marker");
        std::fs::write(&path, format!("{head}{begin}\n{out}{end}{tail}")).expect("write the doc");
    }
}
