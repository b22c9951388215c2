//! Checks on short text a person types: names, tags, labels, filters.

use crate::{Error, Result};

/// `raw` trimmed, when it is 1 to `max` bytes without control characters; `what` names it in
/// the error ("a tag").
pub fn one_line<'a>(raw: &'a str, max: usize, what: &str) -> Result<&'a str> {
    let text = raw.trim();
    if text.is_empty() || text.len() > max || text.chars().any(char::is_control) {
        return Err(Error::Library(shoebox_core::Error::Invalid(format!(
            "{what} is 1 to {max} bytes without control characters"
        ))));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_short_line_is_accepted_trimmed_and_nothing_else() {
        assert_eq!(one_line("  ada ", 8, "a name").ok(), Some("ada"));
        for bad in ["", "   ", "a\nb", "tab\there", "123456789"] {
            assert!(one_line(bad, 8, "a name").is_err(), "{bad:?}");
        }
    }
}
