//! Shell quoting, in one place: the words of every command the review shows, and the values
//! pbx-harden writes into files that bash sources as root (`conf.apf`, `conf.bfd`, the
//! `KEY="value"` summary lines). Bash must read back exactly the string given, whatever it
//! holds: `$`, backquotes, quotes, backslashes, spaces, newlines. (A NUL cannot be in a
//! shell string at all.)

/// Characters a word may hold bare: bash gives them no meaning in a word or an assignment
/// value (no expansion, globbing, splitting or tilde).
fn bare_ok(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_./=:,@+%".contains(c)
}

/// True when `s` reads back as itself without quotes (as a word or after `KEY=`).
pub fn is_bare(s: &str) -> bool {
    !s.is_empty() && s.chars().all(bare_ok)
}

/// One shell word that reads back as `s`: bare when that is safe, else in single quotes.
pub fn quote(s: &str) -> String {
    if is_bare(s) {
        s.to_string()
    } else {
        format!("'{}'", escape_single(s))
    }
}

/// The text to put between double quotes so that bash reads back `s`: `\`, `"`, `$` and
/// backquotes escaped (nothing else is special inside double quotes in a script).
pub fn escape_double(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `s` in double quotes, as bash reads it back: `"…"`.
pub fn double_quote(s: &str) -> String {
    format!("\"{}\"", escape_double(s))
}

/// The text to put between single quotes so that bash reads back `s` (a `'` closes the
/// quotes, is escaped, and they open again).
pub fn escape_single(s: &str) -> String {
    s.replace('\'', "'\\''")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert_eq!(quote("systemctl"), "systemctl");
        assert_eq!(quote("--port=22022"), "--port=22022");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote("~root"), "'~root'");
        assert_eq!(quote("$(id)"), "'$(id)'");
    }

    #[test]
    fn double_quoted_values() {
        assert_eq!(double_quote("22022"), "\"22022\"");
        assert_eq!(
            double_quote("a $b `c` \"d\" \\e"),
            "\"a \\$b \\`c\\` \\\"d\\\" \\\\e\""
        );
        assert_eq!(escape_single("a'b"), "a'\\''b");
    }
}
