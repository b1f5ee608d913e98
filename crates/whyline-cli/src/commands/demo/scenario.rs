//! The synthetic drive of the demo: the seed specification's "cat scenario".
//!
//! 31 seconds at 20 Hz around an impact at T-0: cruising past parked cars, closing on a car
//! ahead, a pedestrian on the kerb, then a cat that crosses from the kerb 1.2 s before the
//! impact. Perception sees the cat late and small: its detection confidence starts at 23% and
//! its closing speed is under-read until it is classified. The vehicle's speed follows the
//! model's own decisions (slowing down or braking), so what happens depends on the model.

/// Sensor-fusion features, in the order the demo model was trained on.
pub(crate) const FEATURES: usize = 6;

/// Decisions per second.
pub(crate) const HZ: u64 = 20;
/// Seconds recorded before the impact.
pub(crate) const BEFORE_S: u64 = 30;
/// Seconds recorded after the impact.
pub(crate) const AFTER_S: u64 = 1;

/// The class indices of the demo model (scikit-learn sorts class names).
pub(crate) const EMERGENCY_BRAKE: usize = 0;
pub(crate) const SLOW_DOWN: usize = 2;

/// What the vehicle's perception reports at one step.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Frame {
    /// Milliseconds relative to the impact.
    pub(crate) relative_ms: i64,
    /// `[distance_m, closing_speed_mps, object_size_m, detection_confidence, lateral_offset_m,
    /// ego_speed_kmh]`.
    pub(crate) features: [f32; FEATURES],
    /// What perception reports ahead (the sealed context names it).
    pub(crate) object: &'static str,
}

/// The drive: call [`Drive::next`] for each step, then [`Drive::react`] with the decision.
pub(crate) struct Drive {
    step: u64,
    ego_kmh: f32,
}

impl Drive {
    pub(crate) fn new() -> Self {
        Self {
            step: 0,
            ego_kmh: 35.0,
        }
    }

    /// Total steps of the drive.
    pub(crate) fn steps() -> u64 {
        (BEFORE_S + AFTER_S) * HZ
    }

    /// The next frame, or `None` when the drive is over.
    pub(crate) fn next(&mut self) -> Option<Frame> {
        if self.step >= Self::steps() {
            return None;
        }
        let relative_ms = (self.step as i64 - (BEFORE_S * HZ) as i64) * 1000 / HZ as i64;
        let t = relative_ms as f32 / 1000.0;
        let wobble = (self.step as f32 * 0.7).sin();
        let ego_mps = self.ego_kmh / 3.6;
        let (features, object) = if t < -20.0 {
            // Parked cars on the right, passing every 4 s.
            let distance = 40.0 - ((t + 30.0) % 4.0) * ego_mps;
            (
                [
                    distance.max(2.0),
                    ego_mps,
                    4.5,
                    0.95,
                    3.2 + 0.1 * wobble,
                    self.ego_kmh,
                ],
                "parked car",
            )
        } else if t < -14.0 {
            // A car ahead in the lane, closing, then pulling away.
            let since = t + 20.0;
            let (distance, closing) = if since < 4.0 {
                (30.0 - 4.2 * since, 4.2)
            } else {
                (13.2 + 3.0 * (since - 4.0), 0.0)
            };
            (
                [
                    distance,
                    closing,
                    4.2,
                    0.97,
                    0.2 + 0.05 * wobble,
                    self.ego_kmh,
                ],
                "car",
            )
        } else if t < -1.2 {
            // A pedestrian on the left kerb.
            let distance = 40.0 - ((t + 14.0) % 5.0) * ego_mps;
            (
                [
                    distance.max(3.0),
                    ego_mps,
                    1.7,
                    0.92,
                    -3.5 + 0.1 * wobble,
                    self.ego_kmh,
                ],
                "pedestrian",
            )
        } else if t <= 0.0 {
            // The cat: crossing from the right kerb at 2.5 m/s, seen late and small.
            let remaining = -t;
            let lateral = 2.5 * remaining;
            let distance = (remaining * ego_mps).max(0.3);
            let seen = ((1.2 - remaining) / 1.05).clamp(0.0, 1.0);
            let confidence = 0.23 + 0.67 * seen;
            let closing = ego_mps * (0.4 + 0.6 * seen);
            // Perception names it only once it is sure.
            let object = if confidence < 0.6 { "unknown" } else { "cat" };
            (
                [distance, closing, 0.3, confidence, lateral, self.ego_kmh],
                object,
            )
        } else {
            // After the impact: nothing ahead.
            ([45.0, 0.0, 4.0, 0.9, 3.5, self.ego_kmh], "none")
        };
        self.step += 1;
        Some(Frame {
            relative_ms,
            features,
            object,
        })
    }

    /// The vehicle responds to the decision for the next step (50 ms).
    pub(crate) fn react(&mut self, class: usize) {
        let dt = 1.0 / HZ as f32;
        let decel_mps2 = match class {
            EMERGENCY_BRAKE => 8.0,
            SLOW_DOWN => 2.0,
            _ => 0.0,
        };
        self.ego_kmh = (self.ego_kmh - decel_mps2 * dt * 3.6).max(0.0);
        if decel_mps2 == 0.0 && self.ego_kmh < 35.0 {
            self.ego_kmh = (self.ego_kmh + 1.0 * dt * 3.6).min(35.0);
        }
    }

    /// Current speed, km/h.
    pub(crate) fn speed_kmh(&self) -> f32 {
        self.ego_kmh
    }
}
