//! Names of the files the host writes for a plugin (recordings), as Janus names them.

/// Microseconds since 1970, as Janus's default recording names carry them.
pub fn micros_now() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_micros()
}

/// Milliseconds since 1970 (the wall clock, as plugins stamp what they keep).
pub fn millis_now() -> u64 {
    u64::try_from(micros_now() / 1000).unwrap_or(u64::MAX)
}

/// `name` in the folder `dir`; without one, `name` alone (the host takes a relative name in
/// the plugin's first `sandbox.write_dir`).
pub fn in_folder(dir: Option<&str>, name: &str) -> String {
    match dir {
        Some(dir) => format!("{}/{name}", dir.trim_end_matches('/')),
        None => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_goes_in_its_folder() {
        assert_eq!(in_folder(Some("/rec/"), "a.mjr"), "/rec/a.mjr");
        assert_eq!(in_folder(Some("rec"), "a.mjr"), "rec/a.mjr");
        assert_eq!(in_folder(None, "a.mjr"), "a.mjr");
    }
}
