//! Passwords: a type that never prints, a passphrase generator, the strength rules of the
//! seed (zxcvbn score, length, no user name, no dictionary word; reasons that echo nothing of
//! the password), SHA-512 crypt hashes, and `protect_process` (no core file, not dumpable).

use std::fmt;

use rand::seq::IndexedRandom;
use rand::{Rng, RngExt};
use serde::{Deserialize, Deserializer};
use sha_crypt::{PasswordHasher, PasswordVerifier, ShaCrypt};
use zeroize::Zeroizing;

/// A secret string. `Debug` prints `Secret(***)`; there is no `Display` and no `Serialize`,
/// so a secret cannot reach a log, a snapshot or an exported answers file by accident.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(Zeroizing::new(s.into()))
    }

    /// The plaintext. Call sites are few and reviewed: hashing, scoring, the one-time display.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn char_count(&self) -> usize {
        self.0.chars().count()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

/// Minimum length the seed's advice turns into a rule.
pub const MIN_LENGTH: usize = 12;
/// Minimum zxcvbn score (0–4).
pub const MIN_SCORE: u8 = 3;

const WORDLIST: &str = include_str!("../assets/eff_large_wordlist.txt");
// Both lists are checked when the program is built, so a pick from them always finds one.
const _: () = assert!(has_word(WORDLIST) && !SYMBOLS.is_empty());

const fn has_word(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\n' {
            return true;
        }
        i += 1;
    }
    false
}
/// Symbols used in generated passphrases: none that a shell, TOML or a serial line mangles.
const SYMBOLS: &[char] = &[
    '!', '%', '+', ',', '.', ':', '=', '?', '@', '^', '_', '~', '-',
];

pub fn wordlist() -> impl Iterator<Item = &'static str> {
    WORDLIST.lines().filter(|l| !l.is_empty())
}

pub const DEFAULT_WORDS: usize = 5;
pub const MIN_WORDS: usize = 3;
pub const MAX_WORDS: usize = 12;

/// A passphrase in the seed's style: a "sentence" of random words with spaces, one word
/// capitalised, a digit and a symbol. Five words give about 75 bits.
pub fn generate_passphrase<R: Rng + ?Sized>(words: usize, rng: &mut R) -> Secret {
    let words = words.clamp(MIN_WORDS, MAX_WORDS);
    let list: Vec<&str> = wordlist().collect();
    let mut picked: Vec<String> = (0..words)
        .map(|_| list.choose(rng).copied().unwrap_or_default().to_string())
        .collect();
    let cap = rng.random_range(0..words);
    let mut chars = picked[cap].chars();
    if let Some(first) = chars.next() {
        picked[cap] = first.to_uppercase().chain(chars).collect();
    }
    let at = rng.random_range(0..words);
    let digit = char::from(b'0' + rng.random_range(0..10u8));
    let symbol = SYMBOLS.choose(rng).copied().unwrap_or('-');
    picked[at].push(digit);
    picked[at].push(symbol);
    Secret::new(picked.join(" "))
}

/// The verdict on a password, with the reasons a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strength {
    /// zxcvbn score 0–4.
    pub score: u8,
    /// Why it is refused; empty when acceptable.
    pub problems: Vec<String>,
    /// zxcvbn's advice, for display.
    pub hints: Vec<String>,
    /// Rough time to crack offline (slow hash), for display.
    pub crack_time: String,
}

impl Strength {
    pub fn acceptable(&self) -> bool {
        self.problems.is_empty()
    }

    pub fn label(&self) -> &'static str {
        match self.score {
            0 => "very weak",
            1 => "weak",
            2 => "fair",
            3 => "strong",
            _ => "very strong",
        }
    }
}

/// Build zxcvbn's dictionaries on a thread of their own, while the caller reads the system:
/// they take about 80 M instructions (most of an audit's CPU on the demo), once per
/// process, on the first zxcvbn call. A call that comes while they are being built waits
/// for them rather than building them again.
pub fn warm_zxcvbn() {
    std::thread::spawn(|| {
        let _ = zxcvbn::zxcvbn("warm-up", &[]);
    });
}

/// Score a password against the seed's rules. `user` is the login name it must not contain.
/// zxcvbn reads at most the first 100 characters; that is enough to judge.
pub fn assess(password: &str, user: &str) -> Strength {
    let mut problems = Vec::new();
    let len = password.chars().count();
    if len == 0 {
        return Strength {
            score: 0,
            problems: vec!["the password is empty".into()],
            hints: Vec::new(),
            crack_time: "instant".into(),
        };
    }
    if len < MIN_LENGTH {
        // Never the length itself: a reason echoes nothing of the password.
        problems.push(format!("it is shorter than {MIN_LENGTH} characters"));
    }
    let user_l = user.to_lowercase();
    if !user_l.is_empty() && password.to_lowercase().contains(&user_l) {
        problems.push("it contains the user name".into());
    }
    let inputs: Vec<&str> = if user.is_empty() {
        vec!["pbx", "trixbox", "asterisk", "freepbx"]
    } else {
        vec![user, "pbx", "trixbox", "asterisk", "freepbx"]
    };
    let entropy = zxcvbn::zxcvbn(password, &inputs);
    let score = u8::from(entropy.score());
    // "Any dictionary word is not safe at all, and substituting numbers for letters is very
    // poor practice as well": one dictionary match spanning the whole password (l33t or not).
    let seq = entropy.sequence();
    let alnum: usize = password.chars().filter(|c| c.is_alphanumeric()).count();
    if seq.iter().any(|m| {
        matches!(
            m.pattern,
            zxcvbn::matching::patterns::MatchPattern::Dictionary(_)
        ) && m.token.chars().count() + 2 >= alnum.max(1)
    }) && seq.len() <= 3
    {
        problems.push("it is a dictionary word, which guessing tools try first".into());
    }
    if score < MIN_SCORE {
        problems.push(format!(
            "zxcvbn rates it {} ({score}/4); it needs {MIN_SCORE}/4",
            match score {
                0 => "very weak",
                1 => "weak",
                _ => "fair",
            }
        ));
    }
    let mut hints = Vec::new();
    if let Some(fb) = entropy.feedback() {
        if let Some(w) = fb.warning() {
            hints.push(w.to_string());
        }
        hints.extend(fb.suggestions().iter().map(|s| s.to_string()));
    }
    let crack_time = entropy
        .crack_times()
        .offline_slow_hashing_1e4_per_second()
        .to_string();
    Strength {
        score,
        problems,
        hints,
        crack_time,
    }
}

/// Keep secrets out of core files and other processes: RLIMIT_CORE 0 and not dumpable
/// (`PR_SET_DUMPABLE` 0: no core, no ptrace, /proc/PID/mem of root only). Called first thing
/// in `main`; best effort (a failure leaves the defaults, it is not a reason to stop).
pub fn protect_process() {
    let none = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit with a valid struct; prctl with integer arguments only.
    unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &none);
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// True when `protect_process` is in effect for this process.
pub fn process_protected() -> bool {
    let mut core = libc::rlimit {
        rlim_cur: 1,
        rlim_max: 1,
    };
    // SAFETY: prctl with integer arguments; getrlimit into a valid struct.
    let dumpable = unsafe {
        libc::getrlimit(libc::RLIMIT_CORE, &mut core);
        libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0)
    };
    dumpable == 0 && core.rlim_cur == 0
}

/// SHA-512 crypt (`$6$`) hash with a random 16-character salt, as `chpasswd -e` takes it.
pub fn crypt_sha512<R: Rng + ?Sized>(
    password: &Secret,
    rng: &mut R,
) -> std::result::Result<String, String> {
    let mut salt = [0u8; 12];
    rng.fill_bytes(&mut salt);
    ShaCrypt::SHA512
        .hash_password_with_salt(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("SHA-512 crypt failed: {e}"))
}

/// Does `password` match a crypt hash from /etc/shadow (`$5$` or `$6$`)? Other schemes
/// (MD5, yescrypt, DES) are reported as "unknown" (`None`).
pub fn verify_crypt(password: &str, hash: &str) -> Option<bool> {
    if !(hash.starts_with("$6$") || hash.starts_with("$5$")) {
        return None;
    }
    Some(
        ShaCrypt::default()
            .verify_password(password.as_bytes(), hash)
            .is_ok(),
    )
}

/// Is this a crypt hash `chpasswd -e` and PAM will take as a usable password?
pub fn check_crypt_hash(hash: &str) -> Result<(), String> {
    if hash.is_empty() {
        return Err("the hash is empty".into());
    }
    if hash.starts_with('!') || hash.starts_with('*') {
        return Err("this hash is locked (starts with ! or *): the user could not log in".into());
    }
    if hash.contains([':', '\n', ' ']) {
        return Err("a crypt hash has no ':', spaces or line breaks".into());
    }
    let ok_prefix = ["$6$", "$5$", "$y$", "$2b$", "$2y$", "$gy$"];
    if !ok_prefix.iter().any(|p| hash.starts_with(p)) {
        return Err(
            "use a SHA-512 ($6$), SHA-256 ($5$), yescrypt ($y$) or bcrypt ($2b$) hash; \
             MD5 and DES hashes are too weak"
                .into(),
        );
    }
    if hash.starts_with("$6$") || hash.starts_with("$5$") {
        // $6$[rounds=N$]salt$hash, hash 86 (512) / 43 (256) characters
        let parts: Vec<&str> = hash.split('$').collect();
        let want = if hash.starts_with("$6$") { 86 } else { 43 };
        let h = parts.last().copied().unwrap_or("");
        if h.len() != want
            || !h
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '/')
        {
            return Err(format!(
                "this does not look like a complete {} hash",
                if want == 86 { "SHA-512" } else { "SHA-256" }
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
    }

    #[test]
    fn generated_passphrases_are_strong() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..30 {
            let p = generate_passphrase(DEFAULT_WORDS, &mut rng);
            let s = assess(p.expose(), "trixuser");
            assert!(s.acceptable(), "{:?}", s.problems);
            assert_eq!(p.expose().split(' ').count(), DEFAULT_WORDS);
            assert!(p.expose().chars().any(|c| c.is_ascii_digit()));
            assert!(p.expose().chars().any(|c| c.is_uppercase()));
        }
    }

    #[test]
    fn the_process_can_be_protected() {
        // In a child, so the test process itself stays as it was.
        // SAFETY: the child only makes system calls and exits.
        match unsafe { nix::unistd::fork() }.unwrap() {
            nix::unistd::ForkResult::Child => {
                protect_process();
                unsafe { libc::_exit(if process_protected() { 0 } else { 1 }) }
            }
            nix::unistd::ForkResult::Parent { child } => {
                let st = nix::sys::wait::waitpid(child, None).unwrap();
                assert_eq!(st, nix::sys::wait::WaitStatus::Exited(child, 0));
            }
        }
    }

    #[test]
    fn weak_passwords_get_reasons() {
        let s = assess("password", "trixuser");
        assert!(
            s.problems.iter().any(|p| p.contains("dictionary word")),
            "{s:?}"
        );
        assert!(
            s.problems.iter().any(|p| p.contains("shorter than 12")),
            "{s:?}"
        );
        // No reason echoes a character or the length of the password.
        for p in &s.problems {
            assert!(
                !p.contains('8') && !p.contains("p*") && !p.contains("\"p"),
                "{p}"
            );
        }
        let s = assess("trixuser-Kettle-93!x", "trixuser");
        assert!(s.problems.iter().any(|p| p.contains("user name")), "{s:?}");
        let s = assess("P4ssw0rd", "x");
        assert!(s.problems.iter().any(|p| p.contains("dictionary")), "{s:?}");
        let s = assess("aaaaaaaaaaaaaaaa", "x");
        assert!(s.problems.iter().any(|p| p.contains("zxcvbn")), "{s:?}");
        assert!(assess("", "x").problems[0].contains("empty"));
    }

    #[test]
    fn crypt_round_trip() {
        let mut rng = StdRng::seed_from_u64(1);
        let pw = Secret::new("correct horse battery staple");
        let h = crypt_sha512(&pw, &mut rng).unwrap();
        assert!(h.starts_with("$6$"), "{h}");
        assert_eq!(check_crypt_hash(&h), Ok(()));
        assert_eq!(verify_crypt("correct horse battery staple", &h), Some(true));
        assert_eq!(verify_crypt("wrong", &h), Some(false));
        assert_eq!(verify_crypt("x", "$1$abc$def"), None);
        assert!(check_crypt_hash("$1$abc$def").is_err());
        assert!(check_crypt_hash("!$6$x$y").is_err());
    }
}
