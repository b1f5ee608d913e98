//! A frame (sense, decide, record into the ring, act) allocates nothing, counted by an
//! instrumented global allocator (`stats_alloc`: `unsafe` is forbidden in this workspace).
//! A binary without the test harness, whose own threads would allocate while a check counts.

// A test binary, though without the harness clippy cannot tell: tests may unwrap and print.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::alloc::System;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use whyline_example_game_ai::{Game, npc_model};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Allocations (and reallocations) made while `f` runs.
fn allocations_during(f: impl FnOnce()) -> usize {
    let region = Region::new(GLOBAL);
    f();
    let change = region.change();
    change.allocations + change.reallocations
}

fn main() {
    let model = npc_model().unwrap();
    let mut game = Game::new(&model, 7).unwrap();
    let first = allocations_during(|| {
        game.step().unwrap();
    });
    assert_eq!(first, 0, "{first} allocations in the first frame");
    let allocations = allocations_during(|| {
        for _ in 0..2_000 {
            game.step().unwrap();
        }
    });
    assert_eq!(allocations, 0, "{allocations} allocations in 2,000 frames");
    assert_eq!(game.ring().recent(64).unwrap().len(), 64);
    println!("test a_frame_allocates_nothing_from_the_first_one_on ... ok");

    // The counter counts: building a game allocates.
    let building = allocations_during(|| drop(Game::new(&model, 8).unwrap()));
    assert!(building > 0);
    println!("test the_counter_counts_so_a_zero_above_means_something ... ok");
}
