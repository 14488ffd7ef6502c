//! Text that came from outside (file names, catalog entries) as it may be shown: a name
//! with a newline or an ANSI escape sequence must not forge a line of output or repaint
//! the terminal, so control characters are shown escaped.

use std::borrow::Cow;

/// `text` with every control character (C0, DEL, C1) written as Rust writes it in a
/// string literal (`\n`, `\u{1b}`); text without one is returned as it is.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    Cow::Owned(shown)
}

#[cfg(test)]
mod tests {
    use super::escape_controls;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(escape_controls("boron.bin"), "boron.bin");
        assert_eq!(escape_controls("a\nerror: forged"), "a\\nerror: forged");
        assert_eq!(escape_controls("x\u{1b}[2Jy"), "x\\u{1b}[2Jy");
        assert_eq!(escape_controls("caf\u{e9}\u{9b}"), "caf\u{e9}\\u{9b}");
    }
}
