//! Reading the fixture sets: `NAME.expected.json` beside its model file.

use std::path::{Path, PathBuf};

use serde_json::Value;
use whyline_models::Model;

/// The fixture directory.
pub(crate) fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// One fixture set: the model, its inputs and the library's outputs.
pub(crate) struct Fixture {
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) model_path: PathBuf,
    pub(crate) model: Model,
    /// The input rows as f32, for the explained path (exact for `make_model_fixtures.py`,
    /// which writes f32-representable values; rounded for the f64 sets).
    pub(crate) inputs: Vec<Vec<f32>>,
    /// The same rows as f64, for `Model::predict`.
    pub(crate) inputs_f64: Vec<Vec<f64>>,
    pub(crate) doc: Value,
}

impl Fixture {
    /// A per-row field of the expected outputs as rows of f64 (a 1-D field gives rows of
    /// one value); `None` when the field is null.
    pub(crate) fn rows(&self, field: &str) -> Option<Vec<Vec<f64>>> {
        let items = self.doc.get(field)?.as_array()?;
        Some(
            items
                .iter()
                .map(|item| match item {
                    Value::Array(values) => values.iter().map(|v| v.as_f64().unwrap()).collect(),
                    v => vec![v.as_f64().unwrap()],
                })
                .collect(),
        )
    }
}

/// The f64 fixture directory (`python/make_f64_fixtures.py`): rows that f32 cannot hold.
pub(crate) fn f64_dir() -> PathBuf {
    dir().join("f64")
}

/// Every fixture set, sorted by name.
pub(crate) fn all() -> Vec<Fixture> {
    let sets = all_in(&dir());
    assert!(
        sets.len() >= 30,
        "expected the committed fixture sets, found {}",
        sets.len()
    );
    sets
}

/// Every f64 fixture set, sorted by name.
pub(crate) fn all_f64() -> Vec<Fixture> {
    let sets = all_in(&f64_dir());
    assert!(
        sets.len() >= 29,
        "expected the committed f64 fixture sets, found {}",
        sets.len()
    );
    sets
}

/// The sets scikit-learn 1.3 wrote (`python/make_legacy_sklearn_fixtures.py`): classifier
/// trees whose node values are weighted class counts, not fractions.
pub(crate) fn all_sklearn13() -> Vec<Fixture> {
    let sets = all_in(&dir().join("sklearn13"));
    assert_eq!(
        sets.len(),
        3,
        "expected the committed scikit-learn 1.3 sets"
    );
    sets
}

/// Every fixture set of `dir`, sorted by name.
fn all_in(dir: &Path) -> Vec<Fixture> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".expected.json").map(str::to_owned)
        })
        .collect();
    names.sort();
    names.into_iter().map(|name| load_in(dir, &name)).collect()
}

/// One fixture set by name.
pub(crate) fn load(name: &str) -> Fixture {
    load_in(&dir(), name)
}

/// One fixture set of `dir` by name.
pub(crate) fn load_in(dir: &Path, name: &str) -> Fixture {
    let expected = dir.join(format!("{name}.expected.json"));
    let doc: Value = serde_json::from_slice(&std::fs::read(&expected).unwrap()).unwrap();
    let model_path = dir.join(doc["model"].as_str().unwrap());
    let model = Model::load(&model_path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let inputs_f64: Vec<Vec<f64>> = doc["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    let inputs = inputs_f64
        .iter()
        .map(|row| row.iter().map(|&x| x as f32).collect())
        .collect();
    Fixture {
        name: name.to_owned(),
        kind: doc["kind"].as_str().unwrap().to_owned(),
        model_path,
        model,
        inputs,
        inputs_f64,
        doc,
    }
}

/// `|actual − expected| / max(|expected|, floor)`.
pub(crate) fn relative_error(actual: f64, expected: f64, floor: f64) -> f64 {
    (actual - expected).abs() / expected.abs().max(floor)
}

/// An f32 row widened to f64 (exact).
pub(crate) fn widen(row: &[f32]) -> Vec<f64> {
    row.iter().map(|&x| f64::from(x)).collect()
}

/// `doc[field]`, an array of rows of numbers, as f32 rows (the precision aprender reads).
pub(crate) fn f32_rows(doc: &Value, field: &str) -> Vec<Vec<f32>> {
    doc[field]
        .as_array()
        .unwrap_or_else(|| panic!("no array {field}"))
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect()
        })
        .collect()
}

/// `doc[field]`, an array of numbers.
pub(crate) fn f64s(doc: &Value, field: &str) -> Vec<f64> {
    doc[field]
        .as_array()
        .unwrap_or_else(|| panic!("no array {field}"))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// Writes a new CRC32 trailer on an aprender `.apr` file's bytes, so that an edit reaches the
/// checks behind the checksum.
pub(crate) fn reseal_apr(bytes: &mut [u8]) {
    let n = bytes.len() - 4;
    let crc = crc32fast::hash(&bytes[..n]);
    bytes[n..].copy_from_slice(&crc.to_le_bytes());
}

/// The leaf each tree of the fixture's model reaches from `row`, as the library numbers them
/// (`apply()`, `pred_leaf`), as f64 to compare with the fixture's `leaves`.
pub(crate) fn leaves_of(fixture: &Fixture, row: &[f64]) -> Vec<f64> {
    fixture
        .model
        .apply(row)
        .unwrap()
        .unwrap_or_else(|| panic!("{}: model has no trees", fixture.name))
        .into_iter()
        .map(f64::from)
        .collect()
}
