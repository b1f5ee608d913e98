//! The NPC's model against scikit-learn, and the overlay against the model: for a fixed seed
//! the overlay shows the decision the tree makes on the row the NPC sensed, the
//! probabilities scikit-learn's `predict_proba` gives, and splits the row really satisfies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use whyline_example_game_ai::{Game, npc_model};

fn expected() -> serde_json::Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/npc_tree.expected.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn the_npc_model_gives_scikit_learns_probabilities() {
    let model = npc_model().unwrap();
    let expected = expected();
    let rows = expected["rows"].as_array().unwrap();
    let probabilities = expected["predict_proba"].as_array().unwrap();
    assert_eq!(rows.len(), 64);
    for (row, want) in rows.iter().zip(probabilities) {
        let row: Vec<f64> = row
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let got = model.predict(&row).unwrap().probabilities.unwrap();
        for (g, w) in got.iter().zip(want.as_array().unwrap()) {
            assert!((g - w.as_f64().unwrap()).abs() < 1e-12, "{row:?}: {got:?}");
        }
    }
}

/// Percent as the overlay rounds it.
fn percent(p: f64) -> String {
    format!("{:.0}%", p * 100.0)
}

#[test]
fn the_overlay_shows_the_decision_its_probabilities_and_the_splits_the_row_took() {
    let model = npc_model().unwrap();
    let classes = ["CHASE_PLAYER", "RELOAD", "TAKE_COVER"];
    let mut seen = std::collections::HashSet::new();
    let mut game = Game::new(&model, 7).unwrap();
    let mut overlay = String::new();
    for frame in 1..=600u64 {
        let decision = game.step().unwrap();
        if frame % 25 != 0 {
            continue;
        }
        game.overlay(300_000, &mut overlay).unwrap();
        let row: Vec<f64> = game.last_row().iter().map(|&v| f64::from(v)).collect();
        let prediction = model.predict(&row).unwrap();
        let p = prediction.probabilities.unwrap();
        let chosen = prediction.value as usize;
        assert_eq!(decision.action.class_name(), classes[chosen]);
        seen.insert(classes[chosen]);

        let lines: Vec<&str> = overlay.lines().collect();
        // A closed box of equal widths.
        assert!(lines.iter().all(|l| l.chars().count() == 43), "{overlay}");
        assert!(lines[0].starts_with('┌') && lines.last().unwrap().starts_with('└'));
        assert!(lines[1].contains(&format!("AI Decision: {}", classes[chosen])));
        assert!(
            lines[3].contains(&format!("Confidence: {}", percent(p[chosen]))),
            "{overlay}"
        );
        // Every path line holds for the row.
        let path_lines: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.starts_with("│  ├─ ") || l.starts_with("│  └─ "))
            .collect();
        assert!(!path_lines.is_empty() && path_lines.len() <= 4, "{overlay}");
        for line in path_lines {
            let text = line.trim_matches('│').trim();
            let text = text.trim_start_matches(['├', '└', '─', ' ']);
            let (name, test) = text.split_once(": ").unwrap();
            let feature = ["player_visible", "player_distance", "health", "ammo"]
                .iter()
                .position(|f| *f == name)
                .unwrap();
            let value = row[feature];
            if feature == 0 {
                assert_eq!(test, if value > 0.5 { "YES" } else { "NO" }, "{overlay}");
                continue;
            }
            let parts: Vec<&str> = test.split(' ').collect();
            let shown: f64 = parts[0].parse().unwrap();
            let threshold: f64 = parts[2].parse().unwrap();
            assert!((shown - value).abs() < 1e-4, "{overlay}");
            match parts[1] {
                "<=" => assert!(value <= threshold + 0.005, "{overlay}"),
                ">" => assert!(value > threshold - 0.005, "{overlay}"),
                other => panic!("operator {other}"),
            }
        }
        // The alternatives are the other classes, most likely first.
        let alternatives: Vec<&str> = lines.iter().copied().filter(|l| l.contains('•')).collect();
        assert_eq!(alternatives.len(), 2, "{overlay}");
        let mut others: Vec<usize> = (0..3).filter(|&c| c != chosen).collect();
        others.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
        for (line, class) in alternatives.iter().zip(others) {
            assert!(
                line.contains(&format!("• {} ({})", classes[class], percent(p[class]))),
                "{overlay}"
            );
        }
        assert!(overlay.contains("Frame Time: 0.300ms"), "{overlay}");
    }
    assert!(
        seen.len() >= 2,
        "the run shows more than one decision: {seen:?}"
    );
}

#[test]
fn seed_7_draws_the_same_overlay_on_every_run() {
    let model = npc_model().unwrap();
    let mut game = Game::new(&model, 7).unwrap();
    for _ in 0..150 {
        game.step().unwrap();
    }
    let mut overlay = String::new();
    game.overlay(300_000, &mut overlay).unwrap();
    let golden = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/seed7_frame150.txt"
    ))
    .unwrap();
    assert_eq!(overlay, golden);
}

#[test]
fn a_seed_gives_the_same_traces_and_another_seed_others() {
    let model = npc_model().unwrap();
    let run = |seed| {
        let mut game = Game::new(&model, seed).unwrap();
        for _ in 0..300 {
            game.step().unwrap();
        }
        // Everything but the measured latency is the seed's.
        let mut traces = game.ring().recent(64).unwrap();
        for trace in &mut traces {
            assert!(trace.latency_ns > 0);
            trace.latency_ns = 0;
        }
        traces
    };
    let first = run(7);
    assert_eq!(first.len(), 64);
    assert_eq!(first, run(7));
    assert_ne!(first, run(8));
    // The ring holds the last 64 frames, in order, on the simulated 60 Hz clock.
    assert_eq!(first[0].sequence, 236);
    assert_eq!(
        first[63].timestamp_ns - first[0].timestamp_ns,
        63 * whyline_example_game_ai::FRAME_NS
    );
}

#[test]
fn a_model_that_is_not_the_npcs_is_refused_with_what_it_must_be() {
    let linear = whyline::Model::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../models/credit_logistic.json"
    ))
    .unwrap();
    let error = Game::new(&linear, 7).err().unwrap();
    assert!(
        error
            .to_string()
            .starts_with("the NPC model must be a decision tree classifier"),
        "{error}"
    );
}
