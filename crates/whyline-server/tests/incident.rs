//! The incident explorer's chart (`GET /incident`): each class of the window gets its own
//! shape and colour, in the order the classes first appear, wrapping after six; alerts the
//! monitor raised are marked on the chart's top edge and listed with the anomalies.

use serde_json::Value;

use crate::common::{expected, get_json, get_text, infer, infer_body, rows, start_serving};

/// The legend's mark of each shape, drawn at (7, 7) in a 14 × 14 box: the geometry
/// `dashboard/incident.rs` documents (a circle of radius 3.5, a 7 × 7 square, a triangle
/// 9 wide, a diamond 10 wide, a cross of two strokes, a 3 × 9 bar), with its colour.
const LEGEND_MARKS: [(&str, &str); 6] = [
    (
        "circle",
        "<circle cx=\"7.0\" cy=\"7.0\" r=\"3.5\" fill=\"#0072b2\"><title></title></circle>",
    ),
    (
        "square",
        "<rect x=\"3.5\" y=\"3.5\" width=\"7\" height=\"7\" fill=\"#e69f00\"><title></title></rect>",
    ),
    (
        "triangle",
        "<path d=\"M7.0 2.5L11.5 10.5L2.5 10.5Z\" fill=\"#cc79a7\"><title></title></path>",
    ),
    (
        "diamond",
        "<path d=\"M7.0 2.0L12.0 7.0L7.0 12.0L2.0 7.0Z\" fill=\"#009e73\"><title></title></path>",
    ),
    (
        "cross",
        "<path d=\"M3.0 3.0L11.0 11.0M3.0 11.0L11.0 3.0\" stroke=\"#56b4e9\" stroke-width=\"2\"><title></title></path>",
    ),
    (
        "bar",
        "<rect x=\"5.5\" y=\"2.5\" width=\"3\" height=\"9\" fill=\"#d55e00\"><title></title></rect>",
    ),
];

/// The timestamp of entry `index`, from the read API.
async fn time_of(server: &crate::common::Running, index: u64) -> u64 {
    let (status, entry) = get_json(server, &format!("/v1/decisions/{index}")).await;
    assert_eq!(status, 200, "{entry}");
    entry["trace"]["timestamp_ns"].as_u64().unwrap()
}

fn indices(answer: &Value) -> Vec<u64> {
    answer["parameters"]["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["index"].as_u64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn seven_classes_get_the_six_shapes_in_order_of_appearance_then_wrap() {
    let server = &start_serving(&[("digits", "sk_logreg_digits.whyline.json")], |_, _| {});
    // scikit-learn predicts 6, 0, 5, 9, 2, 9, 0, 4, 1 for the first nine rows: seven classes,
    // first seen in the order 6 0 5 9 2 4 1.
    let oracle = expected("sk_logreg_digits.expected.json");
    let predicted: Vec<u64> = serde_json::from_value(oracle["predict"].clone()).unwrap();
    let mut order: Vec<String> = Vec::new();
    for class in &predicted[..9] {
        if !order.contains(&class.to_string()) {
            order.push(class.to_string());
        }
    }
    assert_eq!(order, ["6", "0", "5", "9", "2", "4", "1"], "the fixture");
    let (status, answer) = infer(server, "digits", &infer_body(&rows(&oracle)[..9])).await;
    assert_eq!(status, 200, "{answer}");
    let decided: Vec<Value> = answer["outputs"][0]["data"].as_array().unwrap().clone();
    let decided: Vec<u64> = decided.iter().map(|v| v.as_f64().unwrap() as u64).collect();
    assert_eq!(
        decided,
        predicted[..9],
        "the server decides as scikit-learn"
    );
    let last = *indices(&answer).last().unwrap();
    let time = time_of(server, last).await;

    let text = get_text(server.url(&format!("/incident?at={time}&before=1m&after=1s"))).await;
    let legend = &text[text.find("<ul class=\"legend\">").expect("a legend")..];
    let mut at = 0;
    for (i, class) in order.iter().enumerate() {
        let (shape, mark) = LEGEND_MARKS[i % LEGEND_MARKS.len()];
        let item = format!("{mark}</svg>{class} ({shape})</li>");
        let found = legend[at..]
            .find(&item)
            .unwrap_or_else(|| panic!("class {class}: no {item} after byte {at} of {legend}"));
        at += found + item.len();
    }
    // Each decision is drawn once on the chart with its class's shape: the title says the
    // class, and the seventh class wraps round to the first shape.
    let chart = &text[..text.find("<figcaption>").unwrap()];
    for (class, shape_open, colour) in [
        ("6", "<circle", "#0072b2"),
        ("0", "<rect", "#e69f00"),
        ("5", "<path", "#cc79a7"),
        ("9", "<path", "#009e73"),
        ("2", "<path", "#56b4e9"),
        ("4", "<rect", "#d55e00"),
        ("1", "<circle", "#0072b2"),
    ] {
        let title = format!("><title>{class} · ");
        let mut found = 0;
        for (position, _) in chart.match_indices(&title) {
            let opened = chart[..position].rfind('<').unwrap();
            let element = &chart[opened..position];
            assert!(
                element.starts_with(shape_open) && element.contains(colour),
                "class {class} drawn as {element}"
            );
            found += 1;
        }
        let expected = predicted[..9]
            .iter()
            .filter(|p| p.to_string() == class)
            .count();
        assert_eq!(found, expected, "class {class}: one mark per decision");
    }
    // Without a time, the form alone, asking for one.
    let text = get_text(server.url("/incident")).await;
    assert!(
        text.contains(
            "<p class=\"notice\">Choose the incident's time and the window around it.</p>"
        ),
        "{text}"
    );
    assert!(!text.contains("id=\"anomalies\""));
    // A window the page cannot read: 400, naming the field.
    for (query, field) in [("before=soon", "before: "), ("after=later", "after: ")] {
        let (status, error) = get_json(server, &format!("/incident?at={time}&{query}")).await;
        assert_eq!(status, 400, "{query}: {error}");
        assert!(
            error["error"].as_str().unwrap().starts_with(field),
            "{error}"
        );
    }
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alert_of_another_rule_is_marked_on_the_chart_and_listed_first() {
    // A latency budget of one nanosecond: every decision is over it, so the monitor raises a
    // yellow `latency_over_budget` alert with each, which the log keeps beside it.
    let server = &start_serving(&[("iris", "sk_logreg_iris.whyline.json")], |config, _| {
        config
            .profile_text(
                "[inference_monitor]\nintegrity_level = \"SIL2\"\ncollector = \"ledger\"\n\
                 durability = \"interval\"\nsigning = \"ed25519\"\n\n\
                 [andon]\nmax_latency_ms = 0.000001\n",
                std::path::Path::new("latency.toml"),
            )
            .unwrap();
    });
    let (status, answer) = infer(server, "iris", &infer_body(&[vec![5.1, 3.5, 1.4, 0.2]])).await;
    assert_eq!(status, 200, "{answer}");
    let index = indices(&answer)[0];
    let time = time_of(server, index).await;
    let text = get_text(server.url(&format!("/incident?at={time}"))).await;
    // The form keeps the defaults of the window it was given none of.
    assert!(text.contains("name=\"before\" value=\"30s\""), "{text}");
    assert!(text.contains("name=\"after\" value=\"1s\""), "{text}");
    // On the chart: a triangle on the top edge (y = 24) at T-0 (x = 44 + 30/31 of 844),
    // titled with the alert.
    let x0 = 44.0 + 30.0 / 31.0 * 844.0;
    let mark =
        format!("<path class=\"alert-mark\" d=\"M{x0:.1} 24.0l-5 -8h10z\"><title>yellow alert: ");
    let at = text
        .find(&mark)
        .unwrap_or_else(|| panic!("no {mark} in {text}"));
    let title = &text[at + mark.len()..];
    let title = &title[..title.find("</title>").unwrap()];
    assert!(title.contains("latency"), "{title}");
    // The decision is ringed as anomalous, and the alert heads the anomalies, linked to it.
    assert!(text.contains("class=\"anomaly-ring\""));
    let anomalies = &text[text.find("id=\"anomalies\"").unwrap()..];
    assert!(
        anomalies.starts_with("id=\"anomalies\"><h2>Anomalies (1)</h2>"),
        "{anomalies}"
    );
    assert!(
        anomalies.contains(&format!(
            "yellow alert: {title} · <a href=\"/decisions/{index}\">#{index}</a>"
        )),
        "{anomalies}"
    );
    server.stop();
}
