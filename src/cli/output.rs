//! How the look-up commands print: an aligned table for people (the default), or JSON for
//! scripts (`--json`: one document on stdout). Times are RFC 3339 in UTC.
use app::domain::clock::Timestamp;
use serde_json::Value;

use super::say;

/// A timestamp as RFC 3339 (UTC, seconds).
pub fn time(at: Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(at.millis())
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| at.millis().to_string())
}

/// An optional timestamp: RFC 3339, or `-`.
pub fn maybe_time(at: Option<Timestamp>) -> String {
    at.map_or_else(|| "-".to_owned(), time)
}

/// An optional timestamp for JSON: a string, or null.
pub fn json_time(at: Option<Timestamp>) -> Value {
    at.map_or(Value::Null, |at| Value::String(time(at)))
}

/// Prints `rows` under `headers`, each column as wide as its widest cell; `empty` when there
/// are no rows.
pub fn table(headers: &[&str], rows: &[Vec<String>], empty: &str) -> anyhow::Result<()> {
    if rows.is_empty() {
        return say(empty);
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    say(line(headers.to_vec()))?;
    for row in rows {
        say(line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// Prints `value` as pretty JSON.
pub fn json(value: &Value) -> anyhow::Result<()> {
    say(serde_json::to_string_pretty(value)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc_3339_in_utc() {
        assert_eq!(time(Timestamp(0)), "1970-01-01T00:00:00Z");
        assert_eq!(maybe_time(None), "-");
        assert_eq!(json_time(None), Value::Null);
    }
}
