//! The exceptions of the package and the one place Rust errors become them.
//!
//! | exception | raised for |
//! |---|---|
//! | `WhylineError` | the base of all below (a subclass of `Exception`) |
//! | `InputError` (also a `ValueError`) | rows the model cannot take: wrong width, NaN or ±inf where it has no missing rule, a background of the wrong width |
//! | `ModelError` | model bytes whyline cannot load, a model the method does not fit |
//! | `ExplainError` | an explanation method refusing its settings or failing |
//! | `LedgerError` (also an `OSError`) | a path that is not a ledger, I/O, unreadable keys, a bad incident window |
//! | `MonitorError` | the monitor refusing a profile or a decision (a stopped line) |
//! | `MonitorClosedError` | a call on a closed monitor |
//!
//! Messages are the error's own text followed by its causes, joined with `": "` — what the
//! CLI prints (`anyhow`'s `{:#}`).

use std::error::Error;

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use whyline::WhylineError as FacadeError;
use whyline::core::CoreError;
use whyline::explain::ExplainError as RustExplainError;
use whyline::models::ModelError as RustModelError;
use whyline::monitor::MonitorError as RustMonitorError;

create_exception!(
    whyline,
    WhylineError,
    PyException,
    "Base class of every error whyline raises."
);
create_exception!(
    whyline,
    ModelError,
    WhylineError,
    "A model whyline cannot load, or a method that does not fit the model."
);
create_exception!(
    whyline,
    ExplainError,
    WhylineError,
    "An explanation method refused its settings or failed."
);
create_exception!(
    whyline,
    MonitorError,
    WhylineError,
    "The monitor refused a profile or a decision."
);
create_exception!(
    whyline,
    MonitorClosedError,
    MonitorError,
    "A call on a monitor that was closed."
);

/// Registers the exceptions (and the two with a second base, made in Python) on the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("WhylineError", py.get_type::<WhylineError>())?;
    m.add("ModelError", py.get_type::<ModelError>())?;
    m.add("ExplainError", py.get_type::<ExplainError>())?;
    m.add("MonitorError", py.get_type::<MonitorError>())?;
    m.add("MonitorClosedError", py.get_type::<MonitorClosedError>())?;
    // InputError is also a ValueError and LedgerError also an OSError, so code catching the
    // builtin kinds keeps working: classes with two bases are made with `type()`.
    let builtins = py.import("builtins")?;
    let make = |name: &str, other: Bound<'_, PyAny>, doc: &str| -> PyResult<()> {
        let bases = PyTuple::new(py, [py.get_type::<WhylineError>().into_any(), other])?;
        let namespace = pyo3::types::PyDict::new(py);
        namespace.set_item("__doc__", doc)?;
        namespace.set_item("__module__", "whyline")?;
        let class = builtins.getattr("type")?.call1((name, bases, namespace))?;
        m.add(name, class)
    };
    make(
        "InputError",
        py.get_type::<PyValueError>().into_any(),
        "Rows the model cannot take: wrong width, unknown feature names, NaN or infinity \
         where the model has no missing-value rule.",
    )?;
    make(
        "LedgerError",
        py.get_type::<PyOSError>().into_any(),
        "A path that is not a ledger, an I/O failure, an unreadable key, a bad incident window.",
    )?;
    Ok(())
}

/// Which exception an error becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Input,
    Model,
    Explain,
    Ledger,
    Monitor,
    Closed,
}

/// The message the CLI prints for `error`: its text, then each cause after `": "`.
pub(crate) fn message(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let part = cause.to_string();
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    text
}

/// The exception `kind` with `message`, looked up on the module (two kinds are made there).
pub(crate) fn raise(kind: Kind, message: String) -> PyErr {
    match kind {
        Kind::Model => ModelError::new_err(message),
        Kind::Explain => ExplainError::new_err(message),
        Kind::Monitor => MonitorError::new_err(message),
        Kind::Closed => MonitorClosedError::new_err(message),
        Kind::Input | Kind::Ledger => Python::attach(|py| {
            let name = if kind == Kind::Input {
                "InputError"
            } else {
                "LedgerError"
            };
            match py
                .import("whyline._native")
                .and_then(|m| m.getattr(name))
                .and_then(|class| class.call1((message.clone(),)))
            {
                Ok(instance) => PyErr::from_value(instance),
                Err(_) => WhylineError::new_err(message),
            }
        }),
    }
}

fn core_kind(error: &CoreError) -> Kind {
    match error {
        CoreError::InputShape { .. }
        | CoreError::FeatureCount { .. }
        | CoreError::NonFiniteInput { .. } => Kind::Input,
        _ => Kind::Model,
    }
}

fn model_kind(error: &RustModelError) -> Kind {
    match error {
        RustModelError::Input(core) => core_kind(core),
        RustModelError::Rows(_) => Kind::Input,
        _ => Kind::Model,
    }
}

/// A model error (loading, predicting) as an exception.
pub(crate) fn from_model(error: &RustModelError) -> PyErr {
    raise(model_kind(error), message(error))
}

/// A core error (a row refused) as an exception.
pub(crate) fn from_core(error: &CoreError) -> PyErr {
    raise(core_kind(error), message(error))
}

/// An explanation error as an exception: bad rows are input errors, models the method does
/// not fit are model errors.
pub(crate) fn from_explain(error: &RustExplainError) -> PyErr {
    let (kind, message) = explain_kind_and_message(error);
    raise(kind, message)
}

/// The exception kind and message of an explanation error (for a thread without the GIL).
pub(crate) fn explain_kind_and_message(error: &RustExplainError) -> (Kind, String) {
    let kind = match error {
        RustExplainError::InputWidth { .. }
        | RustExplainError::InvalidInput { .. }
        | RustExplainError::BackgroundWidth { .. }
        | RustExplainError::NonFiniteBackground { .. } => Kind::Input,
        RustExplainError::MethodDoesNotFit { .. } => Kind::Model,
        RustExplainError::Model(model) => model_kind(model),
        RustExplainError::Core(core) => core_kind(core),
        _ => Kind::Explain,
    };
    (kind, message(error))
}

/// A monitor error as an exception: a row the model refused is an input error.
pub(crate) fn from_monitor(error: &RustMonitorError) -> PyErr {
    let kind = match error {
        RustMonitorError::Model { .. } => Kind::Input,
        RustMonitorError::ConfigIo { .. } => Kind::Ledger,
        _ => Kind::Monitor,
    };
    raise(kind, message(error))
}

/// A facade error (building a recorder) as an exception.
pub(crate) fn from_facade(error: &FacadeError) -> PyErr {
    let kind = match error {
        FacadeError::Monitor(monitor) => return from_monitor(monitor),
        FacadeError::Model(model) => model_kind(model),
        FacadeError::Core(core) => core_kind(core),
        _ => Kind::Ledger,
    };
    raise(kind, message(error))
}

/// Any error of the ledger, forensics or key reading, as a ledger error.
pub(crate) fn ledger(error: &dyn Error) -> PyErr {
    raise(Kind::Ledger, message(error))
}

#[cfg(test)]
mod tests {
    use super::{Kind, RustMonitorError, core_kind, message};
    use whyline::core::CoreError;

    #[test]
    fn the_message_is_the_error_then_its_causes_as_the_cli_prints_them() {
        let error = RustMonitorError::Model {
            row: 3,
            source: CoreError::FeatureCount {
                expected: 6,
                found: 5,
            },
        };
        assert_eq!(
            message(&error),
            "model rejected row 3: input row has 5 features, the model expects 6"
        );
    }

    #[test]
    fn rows_of_the_wrong_width_are_input_errors() {
        let error = CoreError::FeatureCount {
            expected: 6,
            found: 5,
        };
        assert_eq!(core_kind(&error), Kind::Input);
    }
}
