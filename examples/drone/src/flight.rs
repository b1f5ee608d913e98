//! The simulated world: a 1.5 km survey corridor along +x, masts and a crane near the track,
//! a crosswind with gusts pushing the drone towards +y, and a drone that follows the
//! manoeuvre it is given with limited acceleration. Every number comes from the seed.

/// Seconds per simulation step (20 Hz).
const DT: f32 = 0.05;
/// How far ahead the forward sensor sees, metres.
const SENSOR_RANGE_M: f32 = 80.0;
/// Half the sensor cone, degrees.
const SENSOR_HALF_ANGLE_DEG: f32 = 30.0;
/// The corridor's half width, metres.
const CORRIDOR_HALF_WIDTH_M: f32 = 30.0;
/// The lowest safe altitude above ground, metres.
const MIN_ALTITUDE_M: f32 = 15.0;
/// Cruise and survey altitude.
const CRUISE_SPEED_MPS: f32 = 12.0;
const SLOW_SPEED_MPS: f32 = 5.0;
const CRUISE_ALTITUDE_M: f32 = 40.0;
const MAX_ALTITUDE_M: f32 = 60.0;

/// A manoeuvre the avoidance policy can order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Manoeuvre {
    /// Hold the track at cruise speed and altitude.
    Cruise,
    /// Slow to survey speed.
    SlowDown,
    /// Climb at 3 m/s.
    Climb,
    /// Move left (towards -y) at 4 m/s.
    AvoidLeft,
    /// Move right (towards +y) at 4 m/s.
    AvoidRight,
}

impl Manoeuvre {
    /// Every manoeuvre, in the order of [`crate::FlightLog::counts`].
    pub const ALL: [Manoeuvre; 5] = [
        Manoeuvre::Cruise,
        Manoeuvre::SlowDown,
        Manoeuvre::Climb,
        Manoeuvre::AvoidLeft,
        Manoeuvre::AvoidRight,
    ];

    /// The manoeuvre of a model class name.
    pub fn from_class(class: &str) -> Option<Manoeuvre> {
        Some(match class {
            "CRUISE" => Manoeuvre::Cruise,
            "SLOW_DOWN" => Manoeuvre::SlowDown,
            "CLIMB" => Manoeuvre::Climb,
            "AVOID_LEFT" => Manoeuvre::AvoidLeft,
            "AVOID_RIGHT" => Manoeuvre::AvoidRight,
            _ => return None,
        })
    }

    /// The model class name.
    pub fn class(self) -> &'static str {
        match self {
            Manoeuvre::Cruise => "CRUISE",
            Manoeuvre::SlowDown => "SLOW_DOWN",
            Manoeuvre::Climb => "CLIMB",
            Manoeuvre::AvoidLeft => "AVOID_LEFT",
            Manoeuvre::AvoidRight => "AVOID_RIGHT",
        }
    }
}

/// Something to fly around: a vertical cylinder.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Obstacle {
    /// What it is.
    pub name: &'static str,
    /// Position along the corridor, metres.
    pub x: f32,
    /// Position across it, metres (+y is right).
    pub y: f32,
    /// Height, metres.
    pub height_m: f32,
    /// Radius, metres.
    pub radius_m: f32,
}

/// What the drone senses: the avoidance model's six features (the spec's `SensorSnapshot`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SensorSnapshot {
    /// Distance to the nearest obstacle in the forward cone (80: none).
    pub obstacle_distance_m: f32,
    /// Its bearing, degrees, negative left.
    pub obstacle_bearing_deg: f32,
    /// How fast the distance shrinks, m/s.
    pub closing_speed_mps: f32,
    /// Height above ground.
    pub altitude_agl_m: f32,
    /// Crosswind, m/s.
    pub crosswind_mps: f32,
    /// Battery left, percent.
    pub battery_pct: f32,
    /// Which obstacle is sensed (`none`).
    pub obstacle: &'static str,
}

impl SensorSnapshot {
    /// The model's input row, in `python/make_drone_model.py`'s feature order.
    pub fn features(&self) -> [f32; 6] {
        [
            self.obstacle_distance_m,
            self.obstacle_bearing_deg,
            self.closing_speed_mps,
            self.altitude_agl_m,
            self.crosswind_mps,
            self.battery_pct,
        ]
    }
}

/// The command in effect (the spec's `ControlOutput`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ControlOutput {
    /// Target ground speed along the corridor.
    pub target_speed_mps: f32,
    /// Climb rate (negative: descending back to cruise altitude).
    pub climb_rate_mps: f32,
    /// Sideways speed commanded (negative: left).
    pub lateral_speed_mps: f32,
}

/// How much room is left (the spec's `SafetyMargins`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SafetyMargins {
    /// Distance to the nearest obstacle's surface, in any direction.
    pub min_separation_m: f32,
    /// Time to reach the sensed obstacle at the current closing speed (999: not closing).
    pub time_to_collision_s: f32,
    /// Height above the lowest safe altitude.
    pub altitude_margin_m: f32,
    /// Distance to the corridor's edge.
    pub corridor_margin_m: f32,
    /// The obstacle nearest in any direction.
    pub nearest: &'static str,
}

/// The simulated drone and its world.
#[derive(Clone, Debug)]
pub struct Flight {
    rng: fastrand::Rng,
    obstacles: Vec<Obstacle>,
    x: f32,
    y: f32,
    z: f32,
    speed: f32,
    lateral: f32,
    climb: f32,
    battery: f32,
    wind: f32,
    gust_left_s: f32,
    control: ControlOutput,
}

impl Flight {
    /// The course and weather of `seed`, the drone at the corridor's start.
    pub fn new(seed: u64) -> Flight {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut obstacles = Vec::new();
        let mut x = 90.0;
        let mut masts = 0;
        while x < 1_450.0 {
            masts += 1;
            obstacles.push(Obstacle {
                name: MAST_NAMES[masts % MAST_NAMES.len()],
                x,
                y: rng.f32() * 10.0 - 5.0,
                height_m: 45.0 + rng.f32() * 30.0,
                radius_m: 1.0 + rng.f32(),
            });
            x += 110.0 + rng.f32() * 60.0;
        }
        // A crane mast beside the track, where a gust will push the drone towards it.
        obstacles.push(Obstacle {
            name: "crane",
            x: 600.0 + rng.f32() * 200.0,
            y: 9.0 + rng.f32() * 3.0,
            height_m: 70.0,
            radius_m: 2.0,
        });
        obstacles.sort_by(|a, b| a.x.total_cmp(&b.x));
        Flight {
            rng,
            obstacles,
            x: 0.0,
            y: 0.0,
            z: CRUISE_ALTITUDE_M,
            speed: CRUISE_SPEED_MPS,
            lateral: 0.0,
            climb: 0.0,
            battery: 96.0,
            wind: 3.0,
            gust_left_s: 0.0,
            control: ControlOutput {
                target_speed_mps: CRUISE_SPEED_MPS,
                climb_rate_mps: 0.0,
                lateral_speed_mps: 0.0,
            },
        }
    }

    /// The obstacles of the course.
    pub fn obstacles(&self) -> &[Obstacle] {
        &self.obstacles
    }

    /// Position along the corridor.
    pub fn x(&self) -> f32 {
        self.x
    }

    /// Position across the corridor.
    pub fn y(&self) -> f32 {
        self.y
    }

    /// The command in effect.
    pub fn control(&self) -> ControlOutput {
        self.control
    }

    /// What the forward sensor reports now.
    pub fn sense(&self) -> SensorSnapshot {
        let mut best: Option<(f32, f32, &Obstacle)> = None;
        for obstacle in &self.obstacles {
            let dx = obstacle.x - self.x;
            let dy = obstacle.y - self.y;
            // Passed, out of range, or below the drone: not a threat ahead.
            if dx <= 0.0 || obstacle.height_m < self.z {
                continue;
            }
            let distance = (dx * dx + dy * dy).sqrt() - obstacle.radius_m;
            let bearing = dy.atan2(dx).to_degrees();
            if distance > SENSOR_RANGE_M || bearing.abs() > SENSOR_HALF_ANGLE_DEG {
                continue;
            }
            if best.is_none_or(|(d, _, _)| distance < d) {
                best = Some((distance.max(0.0), bearing, obstacle));
            }
        }
        let (distance, bearing, closing, obstacle) = match best {
            Some((distance, bearing, obstacle)) => {
                let to = bearing.to_radians();
                // Static obstacles: the closing speed is the drone's velocity towards them.
                let closing = self.speed * to.cos() + self.lateral * to.sin();
                (distance, bearing, closing, obstacle.name)
            }
            None => (SENSOR_RANGE_M, 0.0, 0.0, "none"),
        };
        SensorSnapshot {
            obstacle_distance_m: tenth(distance),
            obstacle_bearing_deg: tenth(bearing),
            closing_speed_mps: tenth(closing),
            altitude_agl_m: tenth(self.z),
            crosswind_mps: tenth(self.wind),
            battery_pct: self.battery.round(),
            obstacle,
        }
    }

    /// The margins now.
    pub fn margins(&self) -> SafetyMargins {
        let mut nearest = ("none", f32::INFINITY);
        for obstacle in &self.obstacles {
            let horizontal = ((obstacle.x - self.x).powi(2) + (obstacle.y - self.y).powi(2)).sqrt()
                - obstacle.radius_m;
            let above = (self.z - obstacle.height_m).max(0.0);
            let separation = (horizontal.max(0.0).powi(2) + above.powi(2)).sqrt();
            if separation < nearest.1 {
                nearest = (obstacle.name, separation);
            }
        }
        let sensed = self.sense();
        let time_to_collision = if sensed.closing_speed_mps > 0.1 && sensed.obstacle != "none" {
            sensed.obstacle_distance_m / sensed.closing_speed_mps
        } else {
            999.0
        };
        SafetyMargins {
            min_separation_m: tenth(nearest.1),
            time_to_collision_s: tenth(time_to_collision.min(999.0)),
            altitude_margin_m: tenth(self.z - MIN_ALTITUDE_M),
            corridor_margin_m: tenth(CORRIDOR_HALF_WIDTH_M - self.y.abs()),
            nearest: nearest.0,
        }
    }

    /// Flies one step under `manoeuvre`, and the weather moves on.
    pub fn apply(&mut self, manoeuvre: Manoeuvre) -> ControlOutput {
        // The autopilot returns to the track only with room around it: beside an obstacle
        // it holds its offset.
        let clear = self.margins().min_separation_m > 15.0;
        let back_to_track = if clear {
            (-self.y).clamp(-1.5, 1.5)
        } else {
            0.0
        };
        let back_to_altitude = ((CRUISE_ALTITUDE_M - self.z) * 0.5).clamp(-1.0, 1.0);
        self.control = match manoeuvre {
            Manoeuvre::Cruise => ControlOutput {
                target_speed_mps: CRUISE_SPEED_MPS,
                climb_rate_mps: back_to_altitude,
                lateral_speed_mps: back_to_track,
            },
            Manoeuvre::SlowDown => ControlOutput {
                target_speed_mps: SLOW_SPEED_MPS,
                climb_rate_mps: back_to_altitude,
                lateral_speed_mps: back_to_track,
            },
            Manoeuvre::Climb => ControlOutput {
                target_speed_mps: SLOW_SPEED_MPS,
                climb_rate_mps: if self.z < MAX_ALTITUDE_M { 3.0 } else { 0.0 },
                lateral_speed_mps: 0.0,
            },
            Manoeuvre::AvoidLeft => ControlOutput {
                target_speed_mps: SLOW_SPEED_MPS,
                climb_rate_mps: 0.0,
                lateral_speed_mps: -4.0,
            },
            Manoeuvre::AvoidRight => ControlOutput {
                target_speed_mps: SLOW_SPEED_MPS,
                climb_rate_mps: 0.0,
                lateral_speed_mps: 4.0,
            },
        };
        // Limited response: 3 m/s² along, 4 m/s² across, 2 m/s² vertically.
        self.speed += (self.control.target_speed_mps - self.speed).clamp(-3.0 * DT, 3.0 * DT);
        self.lateral += (self.control.lateral_speed_mps - self.lateral).clamp(-4.0 * DT, 4.0 * DT);
        self.climb += (self.control.climb_rate_mps - self.climb).clamp(-2.0 * DT, 2.0 * DT);
        // The crosswind pushes towards +y (a fifth of its speed as drift).
        self.x += self.speed * DT;
        self.y += (self.lateral + 0.2 * self.wind) * DT;
        self.z = (self.z + self.climb * DT).max(MIN_ALTITUDE_M * 0.5);
        self.battery -= (0.04 + 0.03 * self.climb.max(0.0)) * DT;
        self.weather();
        self.control
    }

    /// Gusts: now and then the crosswind rises to 9–14 m/s for 2–5 s.
    fn weather(&mut self) {
        if self.gust_left_s > 0.0 {
            self.gust_left_s -= DT;
            if self.gust_left_s <= 0.0 {
                self.wind = 2.0 + self.rng.f32() * 2.0;
            }
        } else if self.rng.f32() < 0.004 {
            self.gust_left_s = 2.0 + self.rng.f32() * 3.0;
            self.wind = 9.0 + self.rng.f32() * 5.0;
        } else {
            self.wind = (self.wind + (self.rng.f32() - 0.5) * 0.2).clamp(0.0, 5.0);
        }
    }
}

const MAST_NAMES: [&str; 4] = ["radio mast", "power pylon", "wind mast", "lamp mast"];

/// One decimal, as the sensors report.
fn tenth(value: f32) -> f32 {
    (value * 10.0).round() / 10.0
}
