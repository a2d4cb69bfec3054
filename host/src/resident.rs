//! A process's resident memory as `/proc/<pid>/status` gives it: the benchmarks' figures.

/// Resident memory: all of it, and the anonymous part (its heap and stacks: what is its own,
/// where the rest are pages of files, the binary's and compiled plugins', that the page cache
/// shares and may reclaim).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resident {
    /// `VmRSS`, kB.
    pub total_kb: u64,
    /// `RssAnon`, kB.
    pub anon_kb: u64,
}

impl Resident {
    /// Process `pid`'s now (zeros for what cannot be read).
    pub fn of(pid: u32) -> Self {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let kb = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        Resident { total_kb: kb("VmRSS:"), anon_kb: kb("RssAnon:") }
    }
}

impl std::fmt::Display for Resident {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RSS {:>5} MB (anonymous {:>4} MB)", self.total_kb / 1024, self.anon_kb / 1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_some() {
        let r = Resident::of(std::process::id());
        assert!(r.total_kb > 0 && r.anon_kb > 0 && r.anon_kb <= r.total_kb, "{r:?}");
        assert_eq!(Resident::of(u32::MAX), Resident::default(), "no such process");
    }
}
