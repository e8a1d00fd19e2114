//! Masking secrets in what is shown: diffs, command output, error messages.
//!
//! Two rules, both linear in the text:
//! - by key, line by line: the value of every secret-valued key (`secret`, `md5secret`,
//!   `password`, `md5_cred`, `password_hash`, ...; `key = value`, `key => value`,
//!   `key: value`), the password field of `shadow`/`gshadow` entries, and the secret
//!   columns of a CSV whose header names them; so old secrets on `-` lines and other
//!   secrets on context lines are masked as well as the new ones;
//! - by value: crypt hashes (`$1$`, `$2b$`, `$5$`, `$6$`, `$y$`, ...) anywhere, and the
//!   known secret strings given (one Aho-Corasick pass).

use aho_corasick::AhoCorasick;

pub const MASK: &str = "********";

/// True for a key whose value is a secret (compared without case; `"` and spaces ignored).
pub fn is_secret_key(key: &str) -> bool {
    let k = key
        .trim()
        .trim_matches(['"', '\'', '[', ']'])
        .to_ascii_lowercase();
    let k = k.rsplit('.').next().unwrap_or(&k);
    // sshd's `PasswordAuthentication=no`, `PermitEmptyPasswords=no` are settings, not secrets.
    if k.contains("authentication") || k.starts_with("permitempty") {
        return false;
    }
    const PARTS: &[&str] = &[
        "secret",
        "password",
        "passwd",
        "passphrase",
        "md5_cred",
        "_cred",
        "apikey",
        "api_key",
        "token",
        "private_key",
    ];
    k == "pass" || k == "pwd" || PARTS.iter().any(|p| k.contains(p))
}

/// Which files hold account passwords in their second field.
fn is_shadow_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    matches!(
        name,
        "shadow" | "gshadow" | "shadow-" | "gshadow-" | "shadow.new" | "gshadow.new"
    )
}

/// A password field that tells nothing: empty, `*`, `!`, `!!`, `x`, `!*`.
fn harmless_pw_field(f: &str) -> bool {
    matches!(f, "" | "*" | "!" | "!!" | "x" | "!*" | "*LK*" | "NP")
}

/// How a file's lines are masked; built once per file.
#[derive(Debug, Clone, Default)]
pub struct LineMasker {
    shadow: bool,
    /// Secret columns of a CSV file (by its header line).
    csv_cols: Vec<usize>,
    csv_header: Option<String>,
}

impl LineMasker {
    /// For `path`, whose first line is `first_line` (a CSV header is recognised there).
    pub fn new(path: &str, first_line: &str) -> LineMasker {
        let mut m = LineMasker {
            shadow: is_shadow_file(path),
            ..Default::default()
        };
        if path.ends_with(".csv") && first_line.contains(',') {
            m.csv_cols = first_line
                .split(',')
                .enumerate()
                .filter(|(_, h)| is_secret_key(h))
                .map(|(i, _)| i)
                .collect();
            m.csv_header = Some(first_line.to_string());
        }
        m
    }

    /// One line with its secret values masked (`line` without its line end).
    pub fn mask(&self, line: &str) -> String {
        if self.shadow {
            let mut f: Vec<&str> = line.split(':').collect();
            if f.len() > 1 && !harmless_pw_field(f[1]) {
                f[1] = MASK;
                return f.join(":");
            }
            return line.to_string();
        }
        if !self.csv_cols.is_empty() && self.csv_header.as_deref() != Some(line) {
            let f: Vec<&str> = line.split(',').collect();
            return f
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    if self.csv_cols.contains(&i) && !v.is_empty() {
                        MASK
                    } else {
                        v
                    }
                })
                .collect::<Vec<_>>()
                .join(",");
        }
        mask_key_value(line)
    }
}

/// `key = value`, `key => value`, `key: value` (also inside a longer line, word by word:
/// `option: secret=abc`) with a secret key: the value masked.
pub fn mask_key_value(line: &str) -> String {
    // A whole-line assignment first: the value runs to the end of the line.
    let trimmed = line.trim_start();
    if !trimmed.starts_with(['#', ';']) {
        for sep in ["=>", "=", ":"] {
            if let Some(i) = line.find(sep) {
                let (k, rest) = line.split_at(i);
                // The key of the line is what comes before the first separator of any kind.
                if k.contains(['=', ':']) {
                    continue;
                }
                let k = k.trim();
                if !k.is_empty() && k.split_whitespace().count() == 1 && is_secret_key(k) {
                    let v = &rest[sep.len()..];
                    let lead = v.len() - v.trim_start().len();
                    if v.trim().is_empty() {
                        return line.to_string();
                    }
                    return format!("{}{sep}{}{MASK}", &line[..i], &v[..lead]);
                }
                break;
            }
        }
    }
    // `secret=abc` as one word of a longer line (a command's message).
    if !line.contains('=') {
        return line.to_string();
    }
    let mut out = String::with_capacity(line.len());
    for (i, word) in line.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        match word.split_once('=') {
            Some((k, v)) if !v.is_empty() && is_secret_key(k) => {
                out.push_str(k);
                out.push('=');
                out.push_str(MASK);
            }
            _ => out.push_str(word),
        }
    }
    out
}

fn hash_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'/' | b'$' | b'=' | b',' | b'+' | b'-')
}

/// Crypt hashes (`$id$...`, at least 8 characters after the id) masked anywhere in `text`;
/// also the password field of anything shaped like a shadow entry
/// (`name:HASH:days:...`, a DES hash has no `$`).
pub fn scrub_hashes(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        if b[i] == b'$' {
            // $id$ with id 1-4 of [0-9a-z]
            let mut j = i + 1;
            while j < b.len() && j - i <= 5 && (b[j].is_ascii_digit() || b[j].is_ascii_lowercase())
            {
                j += 1;
            }
            if j > i + 1 && j - i <= 5 && j < b.len() && b[j] == b'$' {
                let mut k = j + 1;
                while k < b.len() && hash_char(b[k]) {
                    k += 1;
                }
                if k - (j + 1) >= 8 {
                    out.push_str(&text[copied..i]);
                    out.push_str(MASK);
                    copied = k;
                    i = k;
                    continue;
                }
            }
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    // Shadow-shaped words: name:pw:lastchg:min:max:warn:inactive:expire:reserved
    if !out.contains(':') {
        return out;
    }
    let mut res = String::with_capacity(out.len());
    for (n, line) in out.split('\n').enumerate() {
        if n > 0 {
            res.push('\n');
        }
        let words: Vec<String> = line
            .split(' ')
            .map(|w| {
                let f: Vec<&str> = w.split(':').collect();
                if f.len() >= 8
                    && f[2].bytes().all(|c| c.is_ascii_digit())
                    && !harmless_pw_field(f[1])
                    && f[1] != MASK
                {
                    let mut g = f.clone();
                    g[1] = MASK;
                    g.join(":")
                } else {
                    w.to_string()
                }
            })
            .collect();
        res.push_str(&words.join(" "));
    }
    res
}

/// Known secret strings, found in one pass over a text (Aho-Corasick); built once and used
/// on every line of a diff.
pub struct ValueMasker(Option<AhoCorasick>);

impl ValueMasker {
    pub fn new(secrets: &[&str]) -> ValueMasker {
        let pats: Vec<&str> = secrets.iter().copied().filter(|s| !s.is_empty()).collect();
        if pats.is_empty() {
            return ValueMasker(None);
        }
        ValueMasker(
            AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::LeftmostLongest)
                .build(&pats)
                .ok(),
        )
    }

    /// `text` with every known secret replaced by [`MASK`].
    pub fn mask(&self, text: &str) -> String {
        match &self.0 {
            None => text.to_string(),
            Some(ac) => {
                let mut out = String::with_capacity(text.len());
                ac.replace_all_with(text, &mut out, |_, _, dst| {
                    dst.push_str(MASK);
                    true
                });
                out
            }
        }
    }
}

/// Known secret strings replaced by [`MASK`], in one pass.
pub fn scrub_values(text: &str, secrets: &[&str]) -> String {
    ValueMasker::new(secrets).mask(text)
}

/// Text from a command (sshd -t, useradd, ...) as shown to the admin: crypt hashes and
/// `secret=...` words masked, line by line.
pub fn scrub(text: &str) -> String {
    let hashed = scrub_hashes(text);
    hashed
        .split('\n')
        .map(mask_key_value)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_are_masked_by_key() {
        for (l, want) in [
            ("secret=abc123", "secret=********"),
            ("secret = abc123 ; old", "secret = ********"),
            ("  md5secret=>abc", "  md5secret=>********"),
            ("password: hunter2", "password: ********"),
            ("md5_cred=0123", "md5_cred=********"),
            ("password_hash = \"$6$x$y\"", "password_hash = ********"),
            ("type=friend", "type=friend"),
            ("secret=", "secret="),
            (";secret=abc", ";secret=********"),
            ("deny=0.0.0.0/0.0.0.0", "deny=0.0.0.0/0.0.0.0"),
            ("PasswordAuthentication=no", "PasswordAuthentication=no"),
            ("option: secret=abc x", "option: secret=******** x"),
        ] {
            assert_eq!(mask_key_value(l), want, "{l}");
        }
    }

    #[test]
    fn shadow_and_csv_fields() {
        let m = LineMasker::new("/etc/shadow", "root:x");
        assert_eq!(
            m.mask("root:$6$abc$def:19000:0:99999:7:::"),
            "root:********:19000:0:99999:7:::"
        );
        assert_eq!(m.mask("daemon:*:19000::::::"), "daemon:*:19000::::::");
        let h = "channel,file,section,extension,username,new_secret";
        let m = LineMasker::new("/root/pbx-harden-secrets.csv", h);
        assert_eq!(m.mask(h), h);
        assert_eq!(m.mask("sip,a,b,100,u,Zq9-x"), "sip,a,b,100,u,********");
    }

    #[test]
    fn hashes_are_scrubbed_anywhere() {
        let t = "line 3: Bad configuration option: root:$6$rounds=5000$saltsalt$abcdefghijklmnop:19000:0:99999:7:::\n\
                 x $y$j9T$abcdefgh$ijklmnopqrstu y $2b$12$abcdefghijklmnopqrstuv $1$abcdefgh$ijklmnopqrstuvwxyz12";
        let s = scrub(t);
        for bad in ["saltsalt", "j9T", "abcdefghijklmnop", "$2b$12$abc"] {
            assert!(!s.contains(bad), "{s}");
        }
        assert!(s.contains("Bad configuration option"), "{s}");
        let des = scrub("keyword root:aB3dEfGhIjKlM:19000:0:99999:7::: here");
        assert!(!des.contains("aB3dEfGhIjKlM"), "{des}");
        assert_eq!(scrub("costs $5 and $10"), "costs $5 and $10");
    }

    #[test]
    fn values_in_one_pass() {
        assert_eq!(
            scrub_values("a hunter2 b hunter22", &["hunter2", "hunter22", ""]),
            "a ******** b ********"
        );
    }
}
