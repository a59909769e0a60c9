//! CPU time of the bench and of its servers (Linux `/proc`), so a table on a small machine
//! shows how much of it the client itself took.

use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// User plus system CPU time used so far by process `pid` (`None`: this process); `None`
/// where `/proc` is not there.
pub fn used(pid: Option<u32>) -> Option<Duration> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    ticks_in_stat(&stat).map(|ticks| Duration::from_millis(ticks * 1000 / ticks_per_second()))
}

/// utime + stime of a `/proc/PID/stat` line, in clock ticks.
fn ticks_in_stat(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the line; the first after the name is field 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`, 100 when that is not at hand).
fn ticks_per_second() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
            .filter(|&t| t > 0)
            .unwrap_or(100)
    })
}

/// CPU time of several processes.
pub fn used_by(pids: &[u32]) -> Duration {
    pids.iter().filter_map(|&pid| used(Some(pid))).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_read_after_a_command_name_with_spaces() {
        let stat = "4242 (tokio runtime) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0";
        assert_eq!(ticks_in_stat(stat), Some(300));
    }

    #[test]
    fn this_process_has_used_some_cpu() {
        if std::path::Path::new("/proc/self/stat").exists() {
            assert!(used(None).is_some());
        }
    }
}
