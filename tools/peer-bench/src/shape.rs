//! The one decision every workload records: an 8-feature linear model's trace, built with the
//! same numbers for whyline and entrenar, and the same logistic model behind both monitors.

use whyline_core::{DecisionTrace, LinearPath};

/// The model's weights (the linear workloads' and the monitor's).
pub const WEIGHTS: [f32; 8] = [0.5, -0.25, 0.125, 1.0, -1.5, 0.75, 0.05, -0.3];
/// The model's intercept.
pub const BIAS: f32 = 0.1;
/// The input row.
pub const ROW: [f32; 8] = [1.0, 2.0, 0.5, -0.25, 0.125, 3.0, -1.0, 0.75];

const EPOCH_NS: u64 = 1_700_000_000_000_000_000;
const LATENCY_NS: u64 = 1_234;

fn input_hash(sequence: u64) -> u64 {
    sequence.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// An empty whyline trace whose path has room for 8 contributions.
pub fn whyline_empty() -> DecisionTrace<LinearPath> {
    DecisionTrace {
        timestamp_ns: 0,
        sequence: 0,
        input_hash: 0,
        output: 0.0,
        latency_ns: 0,
        path: LinearPath {
            contributions: Vec::with_capacity(8),
            ..LinearPath::default()
        },
    }
}

/// Fills a reused whyline trace for decision `sequence` (whyline's natural way: no allocation).
#[inline]
pub fn whyline_fill(trace: &mut DecisionTrace<LinearPath>, sequence: u64) {
    trace.sequence = sequence;
    trace.timestamp_ns = EPOCH_NS + sequence;
    trace.input_hash = input_hash(sequence);
    trace.latency_ns = LATENCY_NS;
    let path = &mut trace.path;
    path.contributions.clear();
    path.contributions
        .extend(WEIGHTS.iter().zip(&ROW).map(|(w, x)| w * x));
    path.intercept = BIAS;
    path.logit = BIAS + path.contributions.iter().sum::<f32>();
    path.prediction = path.logit;
    path.probability = Some(0.9);
    trace.output = path.prediction;
}

/// entrenar's trace for decision `sequence`, the same numbers (entrenar's natural way: its
/// collectors take the trace by value, so each decision builds a new one).
#[inline]
pub fn entrenar_trace(
    sequence: u64,
) -> entrenar::monitor::inference::DecisionTrace<entrenar::monitor::inference::LinearPath> {
    let contributions: Vec<f32> = WEIGHTS.iter().zip(&ROW).map(|(w, x)| w * x).collect();
    let logit = BIAS + contributions.iter().sum::<f32>();
    let path = entrenar::monitor::inference::LinearPath::new(contributions, BIAS, logit, logit)
        .with_probability(0.9);
    entrenar::monitor::inference::DecisionTrace::new(
        EPOCH_NS + sequence,
        sequence,
        input_hash(sequence),
        path,
        logit,
        LATENCY_NS,
    )
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Logistic regression over 8 features, implemented for whyline's `Explainable` (as in
/// whyline-monitor's `monitor_overhead` bench).
pub struct WhylineLogistic;

impl whyline_core::Explainable for WhylineLogistic {
    type Path = LinearPath;

    fn n_features(&self) -> usize {
        8
    }

    fn explain_into(&self, row: &[f32], path: &mut LinearPath) -> whyline_core::Result<f32> {
        whyline_core::check_finite_row(row, 8, &[])?;
        path.contributions.clear();
        path.contributions
            .extend(row.iter().zip(&WEIGHTS).map(|(x, w)| x * w));
        path.intercept = BIAS;
        path.logit = BIAS + path.contributions.iter().sum::<f32>();
        let p1 = sigmoid(path.logit);
        let class = if p1 >= 0.5 { 1.0 } else { 0.0 };
        path.prediction = class;
        path.probability = Some(if class == 1.0 { p1 } else { 1.0 - p1 });
        Ok(class)
    }

    fn predict_one(&self, row: &[f32]) -> whyline_core::Result<f32> {
        whyline_core::check_finite_row(row, 8, &[])?;
        let logit = BIAS + row.iter().zip(&WEIGHTS).map(|(x, w)| x * w).sum::<f32>();
        Ok(if logit >= 0.0 { 1.0 } else { 0.0 })
    }
}

/// The same model implemented for entrenar's `Explainable` (aprender's trait), the way
/// aprender's own `LogisticExplainable` does it: one path per sample, owned vectors.
pub struct EntrenarLogistic;

impl entrenar::monitor::inference::Explainable for EntrenarLogistic {
    type Path = entrenar::monitor::inference::LinearPath;

    fn predict_explained(&self, x: &[f32], n_samples: usize) -> (Vec<f32>, Vec<Self::Path>) {
        let mut outputs = Vec::with_capacity(n_samples);
        let mut paths = Vec::with_capacity(n_samples);
        for sample in x.chunks_exact(8).take(n_samples) {
            let contributions: Vec<f32> = sample.iter().zip(&WEIGHTS).map(|(x, w)| x * w).collect();
            let logit = BIAS + contributions.iter().sum::<f32>();
            let p1 = sigmoid(logit);
            let class = if p1 >= 0.5 { 1.0 } else { 0.0 };
            let probability = if class == 1.0 { p1 } else { 1.0 - p1 };
            outputs.push(class);
            paths.push(
                entrenar::monitor::inference::LinearPath::new(contributions, BIAS, logit, class)
                    .with_probability(probability),
            );
        }
        (outputs, paths)
    }

    fn explain_one(&self, sample: &[f32]) -> Self::Path {
        let contributions: Vec<f32> = sample.iter().zip(&WEIGHTS).map(|(x, w)| x * w).collect();
        let logit = BIAS + contributions.iter().sum::<f32>();
        entrenar::monitor::inference::LinearPath::new(contributions, BIAS, logit, logit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use entrenar::monitor::inference::Explainable as _;
    use whyline_core::Explainable as _;

    #[test]
    fn both_models_decide_the_same() {
        let mut path = LinearPath::default();
        let ours = WhylineLogistic.explain_into(&ROW, &mut path);
        let (theirs, paths) = EntrenarLogistic.predict_explained(&ROW, 1);
        assert_eq!(ours.ok(), theirs.first().copied());
        assert_eq!(
            Some(&path.contributions),
            paths.first().map(|p| &p.contributions)
        );
        assert_eq!(Some(path.logit), paths.first().map(|p| p.logit));
    }

    #[test]
    fn both_traces_carry_the_same_numbers() {
        let mut ours = whyline_empty();
        whyline_fill(&mut ours, 42);
        let theirs = entrenar_trace(42);
        assert_eq!(ours.sequence, theirs.sequence);
        assert_eq!(ours.timestamp_ns, theirs.timestamp_ns);
        assert_eq!(ours.input_hash, theirs.input_hash);
        assert_eq!(ours.output, theirs.output);
        assert_eq!(ours.path.contributions, theirs.path.contributions);
        assert_eq!(ours.path.probability, theirs.path.probability);
    }
}
