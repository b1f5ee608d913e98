//! The attack path as text, JSON, DOT and HTML.

use whyline_core::provenance::{EdgeKind, NodeDetail, NodeId};
use whyline_forensics::provenance::{
    AnomalyThresholds, render_dot, render_html, render_html_section, render_json, render_text,
};

use crate::support::{Log, MS, T0, full_path, inference, input};

#[test]
fn the_text_rendering_gives_the_span_the_chain_the_edges_and_the_roots() {
    let (path, ids) = full_path();
    let text = render_text(&path);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "Provenance of node {} (7 nodes, 6 edges, depth <= 10)",
            ids.brake
        )
    );
    assert_eq!(
        lines[1],
        "Time span: 2025-11-23T14:32:47.000000000Z .. 2025-11-23T14:32:47.012000000Z (0.012000 s)"
    );
    assert!(text.contains("\nCausal order (root causes first):\n"));
    // Ids are right-aligned in a column of six.
    assert!(
        text.contains("\n!      4  +0.000000 s  input camera_front"),
        "{text}"
    );
    assert!(
        text.contains("\n      10  +0.006000 s  fusion kalman\n"),
        "{text}"
    );
    let line_of = |id: NodeId| {
        lines
            .iter()
            .find(|l| l.get(2..8) == Some(format!("{:>6}", id.0).as_str()))
            .copied()
            .unwrap_or_else(|| panic!("no line for node {id}:\n{text}"))
    };
    assert_eq!(
        line_of(ids.camera),
        format!(
            "! {:>6}  +0.000000 s  input camera_front (digest 0x000000000000abcd)  [root cause]",
            ids.camera.0
        )
    );
    assert_eq!(
        line_of(ids.crop),
        format!("  {:>6}  +0.002000 s  transform crop", ids.crop.0)
    );
    assert_eq!(
        line_of(ids.perception),
        format!(
            "  {:>6}  +0.005000 s  inference perception v3 -> decision {}, output 1.000, confidence 0.95",
            ids.perception.0, ids.perception_decision
        )
    );
    assert_eq!(
        line_of(ids.fused),
        format!("  {:>6}  +0.006000 s  fusion kalman", ids.fused.0)
    );
    assert_eq!(
        line_of(ids.planner),
        format!(
            "! {:>6}  +0.009000 s  inference planner -> decision {}, output 1.000, confidence 0.55",
            ids.planner.0, ids.planner_decision
        )
    );
    assert_eq!(
        line_of(ids.brake),
        format!(
            "! {:>6}  +0.012000 s  action EMERGENCY_BRAKE (confidence 0.55; alternatives STEER_LEFT 0.45)  [incident]",
            ids.brake.0
        )
    );
    assert!(text.contains(&format!(
        "\nEdges:\n  {} -> {}  data_flow\n",
        ids.camera, ids.crop
    )));
    assert!(text.contains(&format!("  {} -> {}  caused\n", ids.planner, ids.brake)));
    assert!(text.contains("\nAnomalies (7):\n"));
    assert!(text.contains(&format!(
        "  ! node {}: action confidence 0.55 is below 0.60\n",
        ids.brake
    )));
    assert!(text.ends_with(&format!("\nRoot causes: {}, {}\n", ids.camera, ids.lidar)));
}

#[test]
fn the_json_rendering_parses_back_with_every_field() {
    let (path, ids) = full_path();
    let json: serde_json::Value = serde_json::from_str(&render_json(&path).unwrap()).unwrap();
    assert_eq!(json["incident"], ids.brake.0);
    assert_eq!(json["max_depth"], 10);
    assert_eq!(json["start_ns"], T0);
    assert_eq!(json["end_ns"], T0 + 12 * MS);
    assert_eq!(json["duration_ns"], 12 * MS);
    assert_eq!(json["truncated"], false);
    assert_eq!(
        json["root_causes"],
        serde_json::json!([ids.camera.0, ids.lidar.0])
    );
    assert_eq!(json["anomaly_indices"], serde_json::json!([0, 1, 5, 6]));
    let nodes = json["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 7);
    let planner = &nodes[5];
    assert_eq!(planner["id"], ids.planner.0);
    assert_eq!(planner["depth"], 1);
    assert_eq!(planner["node"]["kind"], "inference");
    assert_eq!(planner["node"]["model_id"], "planner");
    assert_eq!(planner["node"]["decision_index"], ids.planner_decision);
    assert_eq!(planner["node"]["timestamp_ns"], T0 + 9 * MS);
    assert_eq!(planner["decision"]["sequence"], 1);
    assert_eq!(
        planner["decision"]["alerts"][0]["kind"],
        "out_of_distribution"
    );
    assert!(
        nodes[0].get("decision").is_none(),
        "no decision field for an input"
    );
    assert_eq!(nodes[6]["node"]["kind"], "action");
    let alternative = &nodes[6]["node"]["alternatives"][0];
    assert_eq!(alternative[0], "STEER_LEFT");
    assert!((alternative[1].as_f64().unwrap() - 0.45).abs() < 1e-6);
    let edges = json["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 6);
    assert_eq!(edges[5]["kind"], "caused");
    assert_eq!(edges[5]["from_kind"], "inference");
    assert_eq!(edges[5]["to_kind"], "action");
    let kinds: Vec<&str> = json["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "out_of_distribution_input",
            "out_of_distribution_input",
            "low_confidence",
            "falling_confidence",
            "alert",
            "low_confidence",
            "falling_confidence"
        ]
    );
}

#[test]
fn the_dot_rendering_styles_anomalies_roots_and_the_incident_and_escapes_labels() {
    let mut log = Log::new();
    let decision = log.decision(0, 0.9);
    // Quotes, a backslash, a newline and a control character in a source name.
    let odd = log.node(0, input("cam \"A\\B\"\nline\u{7}"), &[], EdgeKind::DataFlow);
    let model = log.node(
        1,
        inference("m", "1", decision),
        &[odd],
        EdgeKind::Triggered,
    );
    let action = log.node(
        2,
        NodeDetail::Action {
            action_type: "stop".into(),
            confidence: 0.3,
            alternatives: Vec::new(),
        },
        &[model],
        EdgeKind::Caused,
    );
    let graph = log.read();
    let path = graph
        .reconstruct_attack_path(action, 5, &AnomalyThresholds::default())
        .unwrap();
    let dot = render_dot(&path);
    assert!(
        dot.starts_with("digraph provenance {\n  rankdir=LR;\n"),
        "{dot}"
    );
    assert!(dot.ends_with("}\n"));
    assert!(
        dot.contains(&format!(
            "  n{odd} [label=\"#{odd} input\\ninput cam \\\"A\\\\B\\\"\\nline (digest 0x000000000000abcd)\", style=\"rounded,filled\", fillcolor=\"#eef2ff\"];\n"
        )),
        "{dot}"
    );
    assert!(
        dot.contains(&format!(
            "  n{model} [label=\"#{model} inference\\ninference m v1 -> decision {decision}, output 1.000, confidence 0.90\"];\n"
        )),
        "{dot}"
    );
    // The action: low confidence (0.30) and fallen from 0.90, in red, doubled.
    assert!(
        dot.contains(&format!(
            "  n{action} [label=\"#{action} action\\naction stop (confidence 0.30)\\n! action confidence 0.30 is below 0.60\\n! confidence fell from 0.90 (node {model}) to 0.30\", color=red, fontcolor=red, peripheries=2];\n"
        )),
        "{dot}"
    );
    assert!(dot.contains(&format!("  n{odd} -> n{model} [label=\"triggered\"];\n")));
    assert!(dot.contains(&format!("  n{model} -> n{action} [label=\"caused\"];\n")));
}

#[test]
fn the_html_rendering_is_one_page_whose_section_escapes_every_value() {
    let mut log = Log::new();
    let decision = log.decision(0, 0.9);
    log.alert(0, "out_of_distribution", "x < 0 & y > 1");
    let sensor = log.node(
        0,
        input("<script>alert(1)</script>"),
        &[],
        EdgeKind::DataFlow,
    );
    let model = log.node(
        1,
        inference("m&m", "\"2\"", decision),
        &[sensor],
        EdgeKind::Triggered,
    );
    let graph = log.read();
    let path = graph
        .reconstruct_attack_path(model, 3, &AnomalyThresholds::default())
        .unwrap();
    let section = render_html_section(&path);
    assert!(
        section.starts_with(&format!(
            "<section class=\"provenance\"><h2>Provenance of node {model}</h2><p class=\"meta\">2 nodes, 1 edges · 2025-11-23T14:32:47.000000000Z .. 2025-11-23T14:32:47.001000000Z (0.001000 s)</p><ol>"
        )),
        "{section}"
    );
    assert!(section.ends_with("</ol></section>"));
    assert!(!section.contains("<script>"), "{section}");
    assert!(section.contains("input &lt;script&gt;alert(1)&lt;/script&gt;"));
    // The sensor fed a decision found out of distribution: an anomaly card.
    assert!(section.contains(&format!(
        "<li class=\"card anomaly\" id=\"node-{sensor}\"><strong>#{sensor} input</strong>"
    )));
    assert!(
        section.contains(&format!(
            "<li class=\"card anomaly\" id=\"node-{model}\"><strong>#{model} inference</strong> inference m&amp;m v&quot;2&quot; -&gt; decision {decision}"
        )),
        "{section}"
    );
    assert!(section.contains(&format!("<br><small>triggered from #{sensor}</small>")));
    assert!(section.contains(&format!(
        "<br><span class=\"bad\">! red alert out_of_distribution on decision {decision}: x &lt; 0 &amp; y &gt; 1</span>"
    )));
    let page = render_html(&path);
    assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(page.contains(&format!("<title>Provenance of node {model}</title>")));
    assert!(page.contains(&section), "the page embeds the section");
    assert!(page.ends_with("</body></html>\n"));

    // A node without an anomaly is a plain card.
    let mut calm = Log::new();
    let sensor = calm.node(0, input("radar"), &[], EdgeKind::DataFlow);
    let path = calm
        .read()
        .reconstruct_attack_path(sensor, 1, &AnomalyThresholds::default())
        .unwrap();
    assert!(
        render_html_section(&path).contains(&format!(
            "<li class=\"card\" id=\"node-{sensor}\"><strong>#{sensor} input</strong> input radar (digest 0x000000000000abcd)</li>"
        )),
        "{}",
        render_html_section(&path)
    );
}
