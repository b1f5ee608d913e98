//! TreeSHAP compiled once per model and kept: a worker thread owns the model's compiled
//! [`TreeShap`] (which borrows the model, so it cannot sit in a Python object beside it
//! without `unsafe`) and answers requests over a channel. Compiling a 100-tree forest takes
//! longer than explaining a few rows, so a `TreeExplainer` called row by row pays it once.
//! The thread ends when the model's last handle is dropped (its channel closes). It compiles
//! the estimator's trees: rows of a model with a preprocessing stage come transformed.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};

use whyline::explain::{Background, ExplainError, TreeShap, TreeShapScratch};
use whyline::models::Model;

use crate::errors::{self, Kind};
use crate::rows::split_rows;

/// Values `[row][feature][output]`, base values per output, and the number of outputs.
pub(crate) type TreeOutput = (Vec<f64>, Vec<f64>, usize);

/// What a request gets back: the output, or the exception's kind and message.
pub(crate) type Reply = Result<TreeOutput, (Kind, String)>;

/// One request: rows (row-major, `width` per row), the background for interventional values,
/// and the threads to spread the rows over.
struct Job {
    rows: Vec<f32>,
    width: usize,
    background: Option<Background>,
    threads: usize,
    reply: Sender<Reply>,
}

/// The handle of a model's TreeSHAP worker.
#[derive(Debug)]
pub(crate) struct TreeWorker {
    jobs: Sender<Job>,
}

impl TreeWorker {
    /// Starts the worker for `model`; it compiles the trees before its first answer.
    pub(crate) fn start(model: Arc<Model>) -> std::io::Result<TreeWorker> {
        let (jobs, requests) = channel();
        std::thread::Builder::new()
            .name("whyline-tree-shap".into())
            .spawn(move || serve(&model, &requests))?;
        Ok(TreeWorker { jobs })
    }

    /// TreeSHAP of `rows` (path-dependent, or interventional over `background`).
    pub(crate) fn run(
        &self,
        rows: Vec<f32>,
        width: usize,
        background: Option<Background>,
        threads: usize,
    ) -> Reply {
        let (reply, answer) = channel();
        let job = Job {
            rows,
            width,
            background,
            threads,
            reply,
        };
        let gone = || (Kind::Explain, "the TreeSHAP worker stopped".to_owned());
        self.jobs.send(job).map_err(|_| gone())?;
        answer.recv().map_err(|_| gone())?
    }
}

fn serve(model: &Model, requests: &Receiver<Job>) {
    // A pipeline's trees read the estimator's features: the caller transforms the rows.
    let shap = TreeShap::new(model.estimator()).map_err(|e| errors::explain_kind_and_message(&e));
    for job in requests {
        let reply = match &shap {
            Ok(shap) => compute(shap, &job).map_err(|e| errors::explain_kind_and_message(&e)),
            Err(error) => Err(error.clone()),
        };
        // The caller may be gone (an interrupted call): nothing to tell it then.
        let _ = job.reply.send(reply);
    }
}

fn compute(shap: &TreeShap<'_>, job: &Job) -> Result<TreeOutput, ExplainError> {
    let n_outputs = shap.n_outputs();
    let rows = Rows {
        values: &job.rows,
        width: job.width,
    };
    match &job.background {
        None => {
            // Each thread's run of rows at once: trees outside, rows inside (see
            // `TreeShap::shap_values_rows_into`), then every row transposed.
            let per_row = job.width * n_outputs;
            let values = run_runs(rows, job.threads, n_outputs, |run, out, scratch| {
                let (values, scratch) = scratch;
                shap.shap_values_rows_into(run, values, scratch)?;
                for (row, slot) in values
                    .chunks_exact(per_row.max(1))
                    .zip(out.chunks_exact_mut(per_row.max(1)))
                {
                    transpose_into(row, job.width, n_outputs, slot);
                }
                Ok(())
            })?;
            Ok((values, shap.base_values().to_vec(), n_outputs))
        }
        Some(background) => {
            let base = match background.rows().next() {
                Some(first) => shap.interventional_values(first, background)?.1,
                None => Vec::new(),
            };
            let values = run_rows(rows, job.threads, n_outputs, |row, out, _| {
                let (values, _) = shap.interventional_values(row, background)?;
                transpose_into(&values, job.width, n_outputs, out);
                Ok(())
            })?;
            Ok((values, base, n_outputs))
        }
    }
}

#[derive(Clone, Copy)]
struct Rows<'a> {
    values: &'a [f32],
    width: usize,
}

impl Rows<'_> {
    fn n_rows(&self) -> usize {
        self.values.len().checked_div(self.width).unwrap_or(0)
    }

    /// Rows `first..first + count`, row-major (fewer where the rows end).
    fn run(&self, first: usize, count: usize) -> &[f32] {
        let start = (first * self.width).min(self.values.len());
        let end = ((first + count) * self.width).min(self.values.len());
        self.values.get(start..end).unwrap_or(&[])
    }
}

/// `[output × width + feature]` into `[feature × outputs + output]` (shap's last axis is the
/// output).
fn transpose_into(values: &[f64], width: usize, n_outputs: usize, out: &mut [f64]) {
    for (output, chunk) in values.chunks(width.max(1)).enumerate().take(n_outputs) {
        for (feature, &value) in chunk.iter().enumerate() {
            if let Some(slot) = out.get_mut(feature * n_outputs + output) {
                *slot = value;
            }
        }
    }
}

type Scratch = (Vec<f64>, TreeShapScratch);

/// Runs `work` on every row, `threads` threads each taking a contiguous run of rows (as
/// `Explainer::explain_rows` splits them), writing `width × n_outputs` values per row into
/// one buffer; the first error in row order wins.
fn run_rows<F>(
    rows: Rows<'_>,
    threads: usize,
    n_outputs: usize,
    work: F,
) -> Result<Vec<f64>, ExplainError>
where
    F: Fn(&[f32], &mut [f64], &mut Scratch) -> Result<(), ExplainError> + Sync,
{
    let per_row = rows.width * n_outputs;
    run_runs(rows, threads, n_outputs, |run, out, scratch| {
        for (row, slot) in run
            .chunks_exact(rows.width.max(1))
            .zip(out.chunks_mut(per_row.max(1)))
        {
            work(row, slot, scratch)?;
        }
        Ok(())
    })
}

/// Runs `work` once per thread on its contiguous run of rows (row-major values) and the
/// matching `width × n_outputs` values per row of one output buffer; the first error in
/// row order wins.
fn run_runs<F>(
    rows: Rows<'_>,
    threads: usize,
    n_outputs: usize,
    work: F,
) -> Result<Vec<f64>, ExplainError>
where
    F: Fn(&[f32], &mut [f64], &mut Scratch) -> Result<(), ExplainError> + Sync,
{
    let per_row = rows.width * n_outputs;
    let mut values = vec![0.0f64; rows.n_rows() * per_row];
    let runs = split_rows(rows.n_rows(), threads);
    let run = |first: usize, out: &mut [f64]| -> Result<(), ExplainError> {
        let mut scratch = (Vec::new(), TreeShapScratch::default());
        let count = out.len().checked_div(per_row).unwrap_or(0);
        let run = rows.run(first, count);
        work(run, out, &mut scratch)
    };
    if runs.len() <= 1 {
        run(0, &mut values)?;
        return Ok(values);
    }
    std::thread::scope(|scope| {
        let mut rest = values.as_mut_slice();
        let mut handles = Vec::with_capacity(runs.len());
        for (first, count) in runs {
            let (mine, tail) = rest.split_at_mut((count * per_row).min(rest.len()));
            rest = tail;
            let run = &run;
            handles.push(scope.spawn(move || run(first, mine)));
        }
        for handle in handles {
            match handle.join() {
                Ok(result) => result?,
                Err(payload) => std::panic::resume_unwind(payload),
            }
        }
        Ok::<(), ExplainError>(())
    })?;
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::transpose_into;

    #[test]
    fn outputs_become_the_last_axis() {
        // Two outputs of three features: [o0: 1 2 3, o1: 4 5 6] -> [f0: 1 4, f1: 2 5, f2: 3 6].
        let mut out = vec![0.0; 6];
        transpose_into(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3, 2, &mut out);
        assert_eq!(out, vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    }
}
