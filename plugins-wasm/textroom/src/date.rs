//! The `date` of messages and announcements, as Janus writes it (`strftime("%FT%T%z")`),
//! in UTC: `2026-12-04T17:29:07+0000`.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, from the host's wall clock.
pub fn now() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format_utc(secs)
}

/// Seconds since 1970 as a date and time (the civil calendar from a day count, after Howard
/// Hinnant's `civil_from_days`).
fn format_utc(secs: u64) -> String {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (rest / 3600, rest % 3600 / 60, rest % 60);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}+0000")
}

#[cfg(test)]
mod tests {
    use super::format_utc;

    #[test]
    fn dates_are_janus_shaped() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00+0000");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00+0000");
        assert_eq!(format_utc(1_796_405_347), "2026-12-04T17:29:07+0000");
    }
}
