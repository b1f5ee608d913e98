//! The generator's own CPU time, read from `/proc/self/stat` (Linux).
//!
//! On a small machine the load generator competes with the server for the same cores; the
//! report gives the cores it used so a reader can account for it.

/// Clock ticks per second of `/proc/*/stat`'s `utime` and `stime` (`USER_HZ`, 100 on
/// every Linux architecture's user-space ABI).
const USER_HZ: f64 = 100.0;

/// The process CPU time at a starting point.
pub(crate) struct CpuClock {
    start_s: Option<f64>,
}

impl CpuClock {
    /// Reads the CPU time now.
    pub(crate) fn start() -> CpuClock {
        CpuClock {
            start_s: process_cpu_s(),
        }
    }

    /// CPU seconds used since [`CpuClock::start`], or `None` off Linux.
    pub(crate) fn elapsed_s(&self) -> Option<f64> {
        Some(process_cpu_s()? - self.start_s?)
    }
}

/// User + system CPU seconds of this process, all threads.
fn process_cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse_stat_cpu_s(&stat)
}

/// Reads `utime` and `stime` (fields 14 and 15) from a `/proc/PID/stat` line. The command
/// name (field 2) is in parentheses and may hold spaces, so fields are counted after the
/// last `)`.
fn parse_stat_cpu_s(stat: &str) -> Option<f64> {
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_whitespace().skip(11); // field 3 is the first here
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / USER_HZ)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utime_and_stime_are_read_after_a_command_name_with_spaces() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
        let line = "4242 (whyline load) R 1 4242 4242 0 -1 4194304 900 0 0 0 250 50 0 0 20 0 3 0";
        assert_eq!(parse_stat_cpu_s(line), Some(3.0));
        assert_eq!(parse_stat_cpu_s("garbage"), None);
    }
}
