//! The generated ingest bodies are whyline's formats: they parse back with the codecs, one
//! trace per decision, with the model's own outputs.

use whyline::core::{AprtRecords, from_json_slice};
use whyline::{AnyPath, DecisionTrace, Explainable, Model};
use whyline_load::{IngestFormat, Target, encode_body, generate_traces, ingest_requests};

use crate::fixtures::{TestResult, demo_model, demo_rows};

fn parse_jsonl(body: &[u8]) -> Result<Vec<DecisionTrace<AnyPath>>, whyline::core::CoreError> {
    body.split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(from_json_slice::<AnyPath>)
        .collect()
}

fn parse_aprt(body: &[u8]) -> Result<Vec<DecisionTrace<AnyPath>>, whyline::core::CoreError> {
    AprtRecords::<AnyPath>::new(body)
        .map(|record| record.map(|(_, trace)| trace))
        .collect()
}

#[test]
fn generated_traces_parse_back_with_both_codecs_and_carry_the_models_outputs() -> TestResult {
    let traces = generate_traces(&demo_model(), &demo_rows(), 1_010)?;
    assert_eq!(traces.len(), 1_010);
    let model = Model::load(demo_model())?;
    let rows = whyline::models::Rows::for_model_path(
        &demo_rows(),
        whyline::models::RowFormat::Auto,
        &model,
        whyline::models::RowOptions::new(),
    )?
    .to_f32();
    // Rows cycle: trace 1,000 is row 0 again.
    for (sequence, trace) in traces.iter().enumerate() {
        assert_eq!(trace.sequence, sequence as u64);
        let row = &rows[(sequence % 1_000) * 6..(sequence % 1_000 + 1) * 6];
        assert_eq!(trace.output, model.predict_one(row)?, "trace {sequence}");
        assert_eq!(trace.input_hash, whyline::core::digest::fnv1a_features(row));
        assert!(matches!(trace.path, AnyPath::Forest(_)), "a forest path");
    }
    let json = encode_body(&traces, IngestFormat::JsonLines)?;
    let aprt = encode_body(&traces, IngestFormat::Aprt)?;
    let from_json = parse_jsonl(&json)?;
    let from_aprt = parse_aprt(&aprt)?;
    assert_eq!(from_json.len(), 1_010);
    assert_eq!(from_aprt.len(), 1_010);
    for (index, ((original, j), a)) in traces.iter().zip(&from_json).zip(&from_aprt).enumerate() {
        assert_eq!(j, original, "JSON trace {index}");
        // APRT keeps whole microseconds of latency.
        assert_eq!(
            a.output.to_bits(),
            original.output.to_bits(),
            "APRT trace {index}"
        );
        assert_eq!(a.sequence, original.sequence);
        assert_eq!(a.path, original.path, "APRT trace {index}");
    }
    Ok(())
}

#[tokio::test]
async fn ingest_requests_are_batches_of_the_asked_size_with_the_formats_content_type() -> TestResult
{
    let target = Target::resolve("http://127.0.0.1:9").await?;
    let requests = ingest_requests(
        &target,
        &demo_model(),
        &demo_rows(),
        IngestFormat::Aprt,
        250,
        3,
    )?;
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(request.items, 250);
        assert_eq!(request.path, "/v1/decisions");
        assert_eq!(request.content_type, "application/x-aprt");
        assert_eq!(parse_aprt(&request.body)?.len(), 250);
    }
    let error = ingest_requests(
        &target,
        &demo_model(),
        &demo_rows(),
        IngestFormat::JsonLines,
        0,
        3,
    );
    assert!(
        matches!(
            error,
            Err(whyline_load::LoadError::Setting {
                setting: "--batch",
                ..
            })
        ),
        "expected a --batch error, got {:?}",
        error.map(|r| r.len())
    );
    Ok(())
}
