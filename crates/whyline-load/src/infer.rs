//! The infer workload: one row per KServe V2 (Open Inference Protocol) request.
//!
//! ```text
//! POST /v2/models/{name}/infer
//! {"inputs":[{"name":"input-0","shape":[1,F],"datatype":"FP64","data":[x1,...,xF]}]}
//! ```
//!
//! The bodies are built once from a CSV file of rows (a header line, then one row of
//! numbers per line) and sent in turn, so the loop only clones a reference-counted buffer.

use std::path::Path;

use bytes::Bytes;
use serde::Serialize;

use crate::error::{LoadError, Result};
use crate::target::{RequestTemplate, Target};

/// The tensor data type a request declares, and the precision its numbers are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TensorType {
    /// `FP32`: each value rounded to `f32` before it is written.
    Fp32,
    /// `FP64`: each value as read.
    #[default]
    Fp64,
}

impl TensorType {
    /// The protocol's name for the type.
    pub fn protocol_name(self) -> &'static str {
        match self {
            TensorType::Fp32 => "FP32",
            TensorType::Fp64 => "FP64",
        }
    }
}

#[derive(Serialize)]
struct InferRequest<'a> {
    inputs: [InputTensor<'a>; 1],
}

#[derive(Serialize)]
struct InputTensor<'a> {
    name: &'static str,
    shape: [usize; 2],
    datatype: &'static str,
    data: &'a [f64],
}

/// The body of a one-row infer request.
pub fn infer_body(row: &[f64], tensor: TensorType) -> Result<Bytes> {
    let rounded: Vec<f64>;
    let data = match tensor {
        TensorType::Fp64 => row,
        TensorType::Fp32 => {
            rounded = row.iter().map(|&v| f64::from(v as f32)).collect();
            &rounded
        }
    };
    let request = InferRequest {
        inputs: [InputTensor {
            name: "input-0",
            shape: [1, data.len()],
            datatype: tensor.protocol_name(),
            data,
        }],
    };
    serde_json::to_vec(&request)
        .map(Bytes::from)
        .map_err(|_| LoadError::Setting {
            setting: "--rows",
            reason: "a row holds a value JSON cannot write (NaN or infinity)",
        })
}

/// Reads rows from a CSV file with a header (any column names; every column is a feature,
/// in order), with the library's row parser.
pub fn read_rows(path: &Path) -> Result<Vec<Vec<f64>>> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })?;
    let header = text
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("");
    let columns = header.split(',').count();
    let rows = whyline::models::Rows::from_reader(
        text.as_bytes(),
        whyline::models::RowFormat::Csv,
        &[],
        columns,
        whyline::models::RowOptions::new(),
    )
    .map_err(|source| LoadError::Rows {
        path: path.to_owned(),
        source,
    })?;
    Ok(rows.iter().map(<[f64]>::to_vec).collect())
}

/// The requests of an infer run: one per row, to `model`'s infer route on `target`.
pub fn infer_requests(
    target: &Target,
    model: &str,
    rows: &[Vec<f64>],
    tensor: TensorType,
) -> Result<Vec<RequestTemplate>> {
    let path = target.path(&format!("/v2/models/{model}/infer"));
    rows.iter()
        .map(|row| {
            Ok(RequestTemplate {
                path: path.clone(),
                content_type: "application/json",
                body: infer_body(row, tensor)?,
                items: 1,
            })
        })
        .collect()
}

/// Checks an infer answer's shape: a JSON object with a non-empty `outputs` array whose
/// first tensor has `data`.
pub fn check_infer_response(body: &[u8]) -> Result<(), String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("infer answer is not JSON: {e}"))?;
    let outputs = value
        .get("outputs")
        .and_then(serde_json::Value::as_array)
        .ok_or("infer answer has no `outputs` array")?;
    let first = outputs
        .first()
        .ok_or("infer answer has an empty `outputs` array")?;
    if first
        .get("data")
        .and_then(serde_json::Value::as_array)
        .is_none()
    {
        return Err("infer answer's first output has no `data` array".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_infer_body_is_one_tensor_of_shape_one_by_features()
    -> Result<(), Box<dyn std::error::Error>> {
        let body = infer_body(&[1.5, 0.1, -3.0], TensorType::Fp64)?;
        let value: serde_json::Value = serde_json::from_slice(&body)?;
        assert_eq!(
            value,
            serde_json::json!({"inputs":[{"name":"input-0","shape":[1,3],"datatype":"FP64","data":[1.5,0.1,-3.0]}]})
        );
        let body = infer_body(&[0.1], TensorType::Fp32)?;
        let value: serde_json::Value = serde_json::from_slice(&body)?;
        assert_eq!(value["inputs"][0]["datatype"], "FP32");
        assert_eq!(value["inputs"][0]["data"][0], f64::from(0.1_f32));
        Ok(())
    }

    #[test]
    fn answers_without_outputs_are_refused_with_the_reason() {
        assert!(
            check_infer_response(br#"{"model_name":"m","outputs":[{"name":"p","data":[0.1]}]}"#)
                .is_ok()
        );
        for (body, reason) in [
            (&b"not json"[..], "not JSON"),
            (br#"{"outputs":[]}"#, "empty"),
            (br#"{"error":"x"}"#, "no `outputs`"),
            (br#"{"outputs":[{"name":"p"}]}"#, "no `data`"),
        ] {
            match check_infer_response(body) {
                Err(message) => assert!(message.contains(reason), "{message}"),
                Ok(()) => panic!("accepted {}", String::from_utf8_lossy(body)),
            }
        }
    }
}
