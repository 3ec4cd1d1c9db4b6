//! Parsers for flag values several commands share.
//!
//! The flags themselves are declared where their commands live (`cli`, `servers`, `daemon`);
//! this module only turns their text into values.

/// A duration for a flag, in milliseconds: `250ms`, `30s`, `2m`, or a bare number of seconds.
pub fn millis(raw: &str) -> Result<u64, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{raw}` is not a duration; write e.g. 500ms, 30s or 2m"))?;
    let scale = match unit.trim() {
        "ms" => 1,
        "" | "s" => 1000,
        "m" => 60_000,
        other => return Err(format!("unknown unit `{other}`; use ms, s or m")),
    };
    number
        .checked_mul(scale)
        .ok_or_else(|| format!("`{raw}` is too long"))
}

#[cfg(test)]
mod tests {
    use super::millis;

    #[test]
    fn durations_table() {
        for (raw, ms) in [
            ("250ms", 250),
            ("30s", 30_000),
            ("30", 30_000),
            ("2m", 120_000),
            (" 5s ", 5000),
        ] {
            assert_eq!(millis(raw), Ok(ms), "{raw}");
        }
        for raw in ["", "s", "1h", "-1s", "1.5s", "99999999999999999999s"] {
            assert!(millis(raw).is_err(), "{raw} should be refused");
        }
    }
}
