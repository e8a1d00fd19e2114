//! When is an extension secret weak, and why (in words that never contain the secret).
//!
//! The rules of the issue and the seed ("several scripts ... look for exactly this setup"):
//! the secret equals the extension, section or user name; is all digits; is shorter than
//! 12; is a common password (zxcvbn's password list or a PBX default); is a dictionary
//! word; or zxcvbn scores it below 3. zxcvbn is called the way `secrets::assess` calls it
//! (same extra words, same thresholds), once, with every name of the peer as user input.

use std::sync::OnceLock;

use rand::Rng;
use rand::RngExt;
use serde::Serialize;

use crate::secrets::{MIN_LENGTH, MIN_SCORE, Secret};

const DEFAULTS: &str = include_str!("../../assets/weak-secrets.txt");

fn defaults() -> &'static Vec<String> {
    static D: OnceLock<Vec<String>> = OnceLock::new();
    D.get_or_init(|| {
        DEFAULTS
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_lowercase)
            .collect()
    })
}

/// Why a secret is weak. Stable identifiers (the audit's JSON uses them).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case", tag = "rule", content = "detail")]
pub enum Reason {
    /// Equals the extension / section name / user name (which one).
    SameAsName(String),
    AllDigits,
    TooShort,
    /// A PBX default or placeholder, or on zxcvbn's list of common passwords.
    CommonPassword,
    DictionaryWord,
    /// zxcvbn score 0-2.
    LowScore(u8),
}

impl Reason {
    pub fn code(&self) -> &'static str {
        match self {
            Reason::SameAsName(_) => "same_as_name",
            Reason::AllDigits => "all_digits",
            Reason::TooShort => "too_short",
            Reason::CommonPassword => "common_password",
            Reason::DictionaryWord => "dictionary_word",
            Reason::LowScore(_) => "low_score",
        }
    }

    pub fn text(&self) -> String {
        match self {
            Reason::SameAsName(what) => format!("it equals the {what}"),
            Reason::AllDigits => "it is all digits".into(),
            Reason::TooShort => format!("it is shorter than {MIN_LENGTH} characters"),
            Reason::CommonPassword => "it is a common password or a PBX default".into(),
            Reason::DictionaryWord => "it is a dictionary word".into(),
            Reason::LowScore(s) => format!("zxcvbn rates it {s}/4 (needs {MIN_SCORE})"),
        }
    }
}

pub fn describe(reasons: &[Reason]) -> String {
    reasons
        .iter()
        .map(Reason::text)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The reasons `secret` is weak; empty when it is fine. `names` are (what, name) pairs such
/// as ("extension", "100"), ("user name", "pbx1").
pub fn assess(secret: &str, names: &[(&str, &str)]) -> Vec<Reason> {
    let mut out = Vec::new();
    let lower = secret.to_lowercase();
    if let Some((what, _)) = names
        .iter()
        .find(|(_, n)| !n.is_empty() && n.to_lowercase() == lower)
    {
        out.push(Reason::SameAsName((*what).to_string()));
    }
    if !secret.is_empty() && secret.bytes().all(|b| b.is_ascii_digit()) {
        out.push(Reason::AllDigits);
    }
    let len = secret.chars().count();
    if len < MIN_LENGTH {
        out.push(Reason::TooShort);
    }
    let mut common = defaults().contains(&lower);
    let mut inputs: Vec<&str> = names
        .iter()
        .map(|(_, n)| *n)
        .filter(|n| !n.is_empty())
        .collect();
    inputs.extend(["pbx", "trixbox", "asterisk", "freepbx"]);
    let entropy = zxcvbn::zxcvbn(secret, &inputs);
    let score = u8::from(entropy.score());
    let seq = entropy.sequence();
    let alnum = secret
        .chars()
        .filter(|c| c.is_alphanumeric())
        .count()
        .max(1);
    let mut dictionary = false;
    for m in seq {
        if let zxcvbn::matching::patterns::MatchPattern::Dictionary(d) = &m.pattern {
            let whole = m.token.chars().count() + 2 >= alnum && seq.len() <= 3;
            // zxcvbn's DictionaryType is not exported; its Debug name is stable.
            let kind = format!("{:?}", d.dictionary_name);
            if whole && kind == "Passwords" {
                common = true; // `password1`, `1234aa`: a listed password, barely changed
            } else if whole && kind != "UserInputs" {
                dictionary = true;
            }
        }
    }
    if common {
        out.push(Reason::CommonPassword);
    } else if dictionary {
        out.push(Reason::DictionaryWord);
    }
    if score < MIN_SCORE {
        out.push(Reason::LowScore(score));
    }
    out
}

/// The secret written in place of a weak one: four groups of six characters from
/// letters and digits without look-alikes (`0O1lI`), e.g. `Hq7kTw-...`: about 139 bits,
/// nothing a phone's web form, a provisioning template or sip.conf mangles.
pub fn generate<R: Rng + ?Sized>(rng: &mut R) -> Secret {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    loop {
        let mut s = String::with_capacity(27);
        for g in 0..4 {
            if g > 0 {
                s.push('-');
            }
            for _ in 0..6 {
                s.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
            }
        }
        let has = |f: fn(&char) -> bool| s.chars().any(|c| f(&c));
        if has(char::is_ascii_uppercase)
            && has(char::is_ascii_lowercase)
            && has(char::is_ascii_digit)
            && assess(&s, &[]).is_empty()
        {
            return Secret::new(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn the_seed_rules() {
        let ext = [("extension", "100"), ("user name", "100")];
        let r = assess("100", &ext);
        assert!(r.contains(&Reason::SameAsName("extension".into())), "{r:?}");
        assert!(r.contains(&Reason::AllDigits));
        assert!(r.contains(&Reason::TooShort));
        assert!(assess("123456", &[]).contains(&Reason::CommonPassword));
        assert!(assess("amp111", &[]).contains(&Reason::CommonPassword));
        assert!(assess("P4ssw0rd", &[]).contains(&Reason::CommonPassword));
        assert!(assess("trunkpass", &[]).contains(&Reason::TooShort));
        assert!(assess("extraordinary", &[]).contains(&Reason::DictionaryWord));
        assert!(assess("1234aa", &[]).contains(&Reason::CommonPassword));
        let r = assess("aaaaaaaaaaaaaaaa", &[]);
        assert!(r.iter().any(|r| matches!(r, Reason::LowScore(_))), "{r:?}");
        assert_eq!(
            assess("Rq7!wanderer-Opal-ledger-92", &[("extension", "102")]),
            vec![]
        );
        assert_eq!(
            assess("Tundra-Mosaic 8! lantern-Quill", &[("extension", "202")]),
            vec![]
        );
    }

    #[test]
    fn reasons_never_contain_the_secret() {
        for s in ["password1", "office", "trunkpass", "secret"] {
            for r in assess(s, &[("extension", "201")]) {
                assert!(!r.text().contains(s), "{r:?}");
            }
        }
    }

    #[test]
    fn odd_unicode_is_judged_without_panicking() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let pool: Vec<char> = "aA1!-_ é漢字ẞßİıǅ🙂\u{301}\u{200d}\u{feff}\t;\\\"'0Ωω"
            .chars()
            .collect();
        for _ in 0..300 {
            let n = rng.random_range(1..40);
            let s: String = (0..n)
                .map(|_| pool[rng.random_range(0..pool.len())])
                .collect();
            let _ = assess(&s, &[("extension", "İ"), ("user name", "ß")]);
        }
    }

    #[test]
    fn generated_secrets_are_strong_and_plain() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for _ in 0..50 {
            let s = generate(&mut rng);
            let v = s.expose();
            assert_eq!(v.len(), 27);
            assert!(
                v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
                "{v}"
            );
            assert!(assess(v, &[("extension", "200")]).is_empty());
        }
    }
}
