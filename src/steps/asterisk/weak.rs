//! When is an extension secret weak, and why (in words that never contain the secret).
//!
//! The rules of the issue and the seed ("several scripts ... look for exactly this setup"):
//! the secret equals the extension, section or user name; is all digits; is shorter than
//! 12; is a common password (zxcvbn's password list or a PBX default); is a dictionary
//! word; or zxcvbn scores it below 3. zxcvbn is called the way `secrets::assess` calls it
//! (same extra words, same thresholds), once, with every name of the peer as user input.
//!
//! zxcvbn costs about a millisecond a secret; a FreePBX box has thousands of 32-character
//! random ones. A long secret is judged without it when zxcvbn provably cannot object
//! (`zxcvbn_cannot_object`: no pattern it knows can cover enough of the secret), and the
//! scan caches zxcvbn's part of the verdict by value (`Judge`).

use std::sync::OnceLock;

use rand::Rng;
use rand::RngExt;
use serde::Serialize;

use crate::secrets::{MIN_LENGTH, MIN_SCORE, Secret};

const DEFAULTS: &str = include_str!("../../../assets/weak-secrets.txt");

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
    assess_with(secret, names, None)
}

/// What zxcvbn adds to the verdict: (common password, dictionary word, low score).
type ZxVerdict = (bool, bool, Option<u8>);

/// Judges many secrets; zxcvbn's part of a verdict is kept by value when the peer's names
/// cannot take part in it (see `cache_key`). One per thread.
#[derive(Default)]
pub struct Judge {
    cache: Cache,
}

/// Keyed by the secret's SHA-256 (no copy of a secret is kept) and the number of names.
type Cache = std::collections::HashMap<([u8; 32], usize), ZxVerdict>;

impl Judge {
    pub fn assess(&mut self, secret: &str, names: &[(&str, &str)]) -> Vec<Reason> {
        assess_with(secret, names, Some(&mut self.cache))
    }
}

/// zxcvbn sees the peer's names as user inputs. Names made only of digits can match only
/// where the secret holds them (l33t turns symbols into letters, never digits), as such
/// or reversed; when none does, zxcvbn's verdict depends on the secret and the number of
/// names alone (the names' ranks shift the fixed words' ranks), so it can be shared.
fn cache_key(secret: &str, names: &[&str]) -> Option<([u8; 32], usize)> {
    let lower = secret.to_lowercase();
    let independent = names.iter().all(|n| {
        let rev: String = n.chars().rev().collect();
        n.bytes().all(|b| b.is_ascii_digit()) && !lower.contains(n) && !lower.contains(&rev)
    });
    independent.then(|| {
        use sha2::Digest;
        (sha2::Sha256::digest(secret.as_bytes()).into(), names.len())
    })
}

fn zxcvbn_part(secret: &str, names: &[&str], alnum: usize) -> ZxVerdict {
    let mut inputs: Vec<&str> = names.to_vec();
    inputs.extend(FIXED_INPUTS);
    let entropy = zxcvbn::zxcvbn(secret, &inputs);
    let score = u8::from(entropy.score());
    let seq = entropy.sequence();
    let (mut common, mut dictionary) = (false, false);
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
    (common, dictionary, (score < MIN_SCORE).then_some(score))
}

const FIXED_INPUTS: [&str; 4] = ["pbx", "trixbox", "asterisk", "freepbx"];

fn assess_with(secret: &str, names: &[(&str, &str)], cache: Option<&mut Cache>) -> Vec<Reason> {
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
    let listed = defaults().contains(&lower);
    let inputs: Vec<&str> = names
        .iter()
        .map(|(_, n)| *n)
        .filter(|n| !n.is_empty())
        .collect();
    let alnum = secret
        .chars()
        .filter(|c| c.is_alphanumeric())
        .count()
        .max(1);
    let (zx_common, dictionary, low) = if zxcvbn_cannot_object(secret, &inputs, alnum) {
        (false, false, None)
    } else {
        match (cache, cache_key(secret, &inputs)) {
            (Some(c), Some(key)) => {
                if let Some(v) = c.get(&key) {
                    *v
                } else {
                    let placeholders: Vec<String> =
                        (0..inputs.len()).map(|i| format!("\u{1}{i}")).collect();
                    let p: Vec<&str> = placeholders.iter().map(String::as_str).collect();
                    let v = zxcvbn_part(secret, &p, alnum);
                    c.insert(key, v);
                    v
                }
            }
            _ => zxcvbn_part(secret, &inputs, alnum),
        }
    };
    let common = listed || zx_common;
    if common {
        out.push(Reason::CommonPassword);
    } else if dictionary {
        out.push(Reason::DictionaryWord);
    }
    if let Some(score) = low {
        out.push(Reason::LowScore(score));
    }
    out
}

/// The length of the long entries, and of the stretch compared.
const LONG: usize = 14;

/// A character as far as a dictionary match can tell: lowercase, with every character
/// zxcvbn's l33t table lets stand for a letter folded into it (`4` and `@` are `a`). `1`,
/// `|` and `7` may each stand for two letters, so i, l and t are one class. Coarser than
/// zxcvbn, never finer: a word it finds in a secret is found here too.
fn canon(c: u8) -> u8 {
    match c.to_ascii_lowercase() {
        b'4' | b'@' => b'a',
        b'8' => b'b',
        b'(' | b'{' | b'[' | b'<' => b'c',
        b'3' => b'e',
        b'6' | b'9' => b'g',
        b'1' | b'!' | b'|' | b'7' | b'+' | b'i' | b'l' | b't' => b'i',
        b'0' => b'o',
        b'$' | b'5' => b's',
        b'%' => b'x',
        b'2' => b'z',
        other => other,
    }
}

/// The first 14 characters (canonical) of every entry of zxcvbn's dictionaries with 14
/// characters or more, forwards and reversed (a match of an entry starts with one of these).
fn long_stems() -> &'static std::collections::HashSet<[u8; LONG]> {
    static W: OnceLock<std::collections::HashSet<[u8; LONG]>> = OnceLock::new();
    W.get_or_init(|| {
        let mut set = std::collections::HashSet::new();
        for w in include_str!("../../../assets/zxcvbn-long-words.txt")
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            stems(w.as_bytes(), &mut set);
        }
        set
    })
}

fn stems(word: &[u8], set: &mut std::collections::HashSet<[u8; LONG]>) {
    if word.len() < LONG {
        return;
    }
    let fwd: Vec<u8> = word.iter().map(|&c| canon(c)).collect();
    let rev: Vec<u8> = fwd.iter().rev().copied().collect();
    for v in [fwd, rev] {
        let mut k = [0u8; LONG];
        k.copy_from_slice(&v[..LONG]);
        set.insert(k);
    }
}

/// Keyboards as zxcvbn 3.1.1 lays them out (its adjacency_graphs; slanted: a row is half a
/// key right of the one above), as (board, x, y) per character, shifted or not: qwerty,
/// dvorak, keypad, Mac keypad.
fn key_positions(c: u8) -> impl Iterator<Item = (usize, i32, i32)> {
    const BOARDS: [&[&str]; 4] = [
        &[
            "`~ 1! 2@ 3# 4$ 5% 6^ 7& 8* 9( 0) -_ =+",
            "    qQ wW eE rR tT yY uU iI oO pP [{ ]} \\|",
            "     aA sS dD fF gG hH jJ kK lL ;: '\"",
            "      zZ xX cC vV bB nN mM ,< .> /?",
        ],
        &[
            "`~ 1! 2@ 3# 4$ 5% 6^ 7& 8* 9( 0) [{ ]}",
            "    '\" ,< .> pP yY fF gG cC rR lL /? =+ \\|",
            "     aA oO eE uU iI dD hH tT nN sS -_",
            "      ;: qQ jJ kK xX bB mM wW vV zZ",
        ],
        &["  / * -", "7 8 9 +", "4 5 6", "1 2 3", "  0 ."],
        &["  = / *", "7 8 9 -", "4 5 6 +", "1 2 3", "  0 ."],
    ];
    BOARDS.iter().enumerate().flat_map(move |(b, rows)| {
        let slanted = b < 2;
        rows.iter().enumerate().flat_map(move |(y, row)| {
            row.bytes()
                .enumerate()
                .filter(move |&(_, k)| k == c && k != b' ')
                .map(move |(col, _)| {
                    // zxcvbn indents each slanted row by one more column
                    let x = if slanted { (col - y) / 3 } else { col / 2 };
                    (b, x as i32, y as i32)
                })
        })
    })
}

/// Next to each other on some keyboard (or the same key): a superset of zxcvbn's graphs.
fn adjacent(a: u8, b: u8) -> bool {
    static T: OnceLock<Vec<bool>> = OnceLock::new();
    let t = T.get_or_init(|| {
        // every character's places, looked up once (not once per pair: 16,384 pairs took
        // about 18 ms, paid by every audit and plan)
        let places: Vec<Vec<(usize, i32, i32)>> =
            (0..128u8).map(|c| key_positions(c).collect()).collect();
        let mut t = vec![false; 128 * 128];
        for a in 0..128u8 {
            for b in 0..128u8 {
                t[a as usize * 128 + b as usize] = a.eq_ignore_ascii_case(&b)
                    || places[a as usize].iter().any(|&(ba, xa, ya)| {
                        places[b as usize].iter().any(|&(bb, xb, yb)| {
                            ba == bb && (xa - xb).abs() <= 1 && (ya - yb).abs() <= 1
                        })
                    });
            }
        }
        t
    });
    a < 128 && b < 128 && t[a as usize * 128 + b as usize]
}

#[cfg(test)]
fn adjacent_slow(a: u8, b: u8) -> bool {
    if a.eq_ignore_ascii_case(&b) {
        return true;
    }
    key_positions(a).any(|(ba, xa, ya)| {
        key_positions(b)
            .any(|(bb, xb, yb)| ba == bb && (xa - xb).abs() <= 1 && (ya - yb).abs() <= 1)
    })
}

/// True when zxcvbn cannot find `secret` weak: the verdict without it is the same.
///
/// zxcvbn splits a password into l matches (dictionary words, l33t and reversed ones,
/// keyboard runs, repeats, sequences, dates, years) and brute-force stretches; it guesses
/// l! x (the product of each match's guesses) + 10000^(l-1), and scores below 3 under
/// 10^8 + 5. So a score below 3 needs l <= 2 (three give 10^8 + 6 at least), with guesses
/// multiplying to under 5 x 10^7, so no brute-force stretch longer than 7. When the secret
/// (its first 100 characters, all zxcvbn reads) has no keyboard run, repeat or sequence
/// longer than 10 (checked here against supersets of zxcvbn's patterns) and dates are 10
/// at most, one of two matches covering it must be a dictionary word of at least half its
/// length; `assess` also calls a dictionary match covering all but two of its letters and
/// digits a dictionary word. Neither can happen when the secret is long enough for both to
/// need 14 characters or more and none of zxcvbn's entries that long (nor a long name of
/// the peer) fits anywhere in it, in any case, reversed, or with any l33t substitution.
pub fn zxcvbn_cannot_object(secret: &str, names: &[&str], alnum: usize) -> bool {
    if !secret.bytes().all(|b| b.is_ascii_graphic()) || secret.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let s = &secret.as_bytes()[..secret.len().min(100)];
    let n = s.len();
    let half = n.div_ceil(2);
    if half < 14 || alnum < 16 || n < 27 {
        return false;
    }
    let lower: Vec<u8> = s.iter().map(u8::to_ascii_lowercase).collect();
    const MAX_RUN: usize = 10;
    // keyboard runs
    let mut run = 1;
    for w in lower.windows(2) {
        run = if adjacent(w[0], w[1]) { run + 1 } else { 1 };
        if run > MAX_RUN {
            return false;
        }
    }
    // sequences (the same step, up to 5, between code points; in either case)
    for v in [s, &lower[..]] {
        let mut run = 2;
        for w in v.windows(3) {
            let (d1, d2) = (w[1] as i32 - w[0] as i32, w[2] as i32 - w[1] as i32);
            run = if d1 == d2 && d1.abs() <= 5 {
                run + 1
            } else {
                2
            };
            if run > MAX_RUN {
                return false;
            }
        }
    }
    // repeats: a stretch of period p that is at least two periods and longer than 10
    for p in 1..=n / 2 {
        let mut same = 0;
        for i in 0..n - p {
            same = if lower[i] == lower[i + p] {
                same + 1
            } else {
                0
            };
            if same >= p && same + p > MAX_RUN {
                return false;
            }
        }
    }
    // long dictionary entries and long names, anywhere, forwards or reversed, l33t or not:
    // each would start with a stem of 14 characters
    let mut names_stems = std::collections::HashSet::new();
    for name in names.iter().filter(|n| n.chars().count() >= LONG) {
        if !name.is_ascii() {
            return false;
        }
        stems(name.as_bytes(), &mut names_stems);
    }
    let c: Vec<u8> = s.iter().map(|&b| canon(b)).collect();
    for w in c.windows(LONG) {
        let mut k = [0u8; LONG];
        k.copy_from_slice(w);
        if long_stems().contains(&k) || names_stems.contains(&k) {
            return false;
        }
    }
    true
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
    fn the_adjacency_table_is_the_keyboards() {
        for a in 0..128u8 {
            for b in 0..128u8 {
                assert_eq!(adjacent(a, b), adjacent_slow(a, b), "{a} {b}");
            }
        }
        assert!(adjacent(b'q', b'w') && adjacent(b'7', b'8') && !adjacent(b'q', b'p'));
    }

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

    fn random(rng: &mut rand::rngs::StdRng, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
            .collect()
    }

    /// Whenever the shortcut is taken, zxcvbn agrees: nothing to object to.
    #[test]
    fn the_shortcut_never_changes_a_verdict() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(15);
        let hex = b"0123456789abcdef";
        let b62 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let printable: Vec<u8> = (33..127).collect();
        let mut taken = 0;
        let mut tried = 0;
        for (alphabet, n) in [
            (&hex[..], 32),
            (&b62[..], 27),
            (&printable[..], 30),
            (&hex[..], 27),
            (&b"0123456789"[..], 40),
        ] {
            for _ in 0..60 {
                let s = random(&mut rng, alphabet, n);
                let names = ["1042", "pbx-user-with-long-name"];
                let alnum = s.chars().filter(|c| c.is_alphanumeric()).count().max(1);
                tried += 1;
                if zxcvbn_cannot_object(&s, &names, alnum) {
                    taken += 1;
                    assert_eq!(zxcvbn_part(&s, &names, alnum), (false, false, None), "{s}");
                }
            }
        }
        assert!(taken * 10 >= tried * 7, "taken {taken} of {tried}");
        // generated secrets take it too
        for _ in 0..50 {
            let g = generate(&mut rng);
            assert!(zxcvbn_cannot_object(g.expose(), &[], 24), "{}", g.expose());
        }
    }

    /// Long patterns zxcvbn knows send a secret to zxcvbn; where the shortcut is taken on a
    /// patterned secret, zxcvbn agrees.
    #[test]
    fn patterns_are_left_to_zxcvbn() {
        for s in [
            "qwertyuiopasdfghjklzxcvbnm1234",
            "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik",
            "Password1Password1Password1!",
            "correct-horse-battery-staple-xx",
            "19871231-20011109-19991231-1234",
        ] {
            let alnum = s.chars().filter(|c| c.is_alphanumeric()).count();
            if zxcvbn_cannot_object(s, &[], alnum) {
                assert_eq!(zxcvbn_part(s, &[], alnum), (false, false, None), "{s}");
            }
        }
        for s in [
            "qwertyuiopqwertyuiopqwertyuiop",     // keyboard
            "abcdefghijklmnopqrstuvwxyz0123",     // sequence
            "7f3a9c7f3a9c7f3a9c7f3a9c7f3a9c",     // repeat
            "Pr1c3w4t3rh0us3C00p3rs-x7Kq2mZ",     // a long word in l33t
            "sr3p00cesuohretaweCirp-x7Kq2mZw",    // reversed
            "9f2c-counterintelligence-a81d3",     // a long word
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", // one key
            "123456789012345678901234567890",     // digits only
            "short-b7f3a9",                       // short
        ] {
            let alnum = s.chars().filter(|c| c.is_alphanumeric()).count();
            assert!(!zxcvbn_cannot_object(s, &[], alnum), "{s}");
        }
        let name = "frontdesk-reception-phone";
        let s = "enohp-noitpecer-ksedtnorf9f2c7a";
        assert!(
            !zxcvbn_cannot_object(s, &[name], 26),
            "a long name, reversed"
        );
    }

    #[test]
    fn the_cache_gives_the_same_verdicts() {
        let mut j = Judge::default();
        for (s, names) in [
            ("password1", vec![("extension", "100")]),
            ("password1", vec![("extension", "101")]),
            ("1001", vec![("extension", "1001")]),
            ("1001", vec![("extension", "1002")]),
            ("bob808bob", vec![("user name", "bob")]),
            ("trixbox2024", vec![("extension", "200")]),
            (
                "trixbox2024",
                vec![("extension", "201"), ("user name", "x")],
            ),
        ] {
            assert_eq!(j.assess(s, &names), assess_with(s, &names, None), "{s}");
            assert_eq!(
                j.assess(s, &names),
                assess_with(s, &names, None),
                "{s} again"
            );
        }
    }
}
