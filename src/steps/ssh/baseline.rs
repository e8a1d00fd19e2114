//! The SSH hardening baseline (`ssh.baseline`) and modern crypto (`ssh.modern_crypto`).
//!
//! Every value is written only where the target's sshd accepts it. The version comes from
//! `sshd -V` on a live system, else from the target's files (the sshd binary's version
//! string, dpkg's status, an EL-style `/usr/share/doc/openssh-server-X.YpZ`, the OpenSSH its
//! OS release shipped), else a conservative default (OpenSSH 4.3, CentOS 5 / trixbox) with a
//! warning. Lists never go past the upstream release (distribution back-ports are left out). `OPTIONS` and
//! `ALGORITHMS` say which OpenSSH release added (or removed) each keyword and algorithm;
//! on a live system whose `ssh -V` matches `sshd -V`, `ssh -Q` gives the real sets.
//!
//! Modern crypto: KEX, ciphers, MACs and host-key algorithms are the ordered lists of
//! ssh-audit's "Hardened OpenSSH Server" policies, intersected with what the sshd supports;
//! ECDSA and DSA host keys lose their HostKey lines (the files stay), and so does an RSA key
//! below 3072 bits when Ed25519 stands in; a new 4096-bit RSA key is made only with
//! `ssh.regenerate_rsa_host_key` (the old files are backed up by the change engine and
//! restored by rollback); moduli below 3072 bits are taken out of /etc/ssh/moduli when group
//! exchange stays on. Known old clients that would be cut off are listed, and the admin's own
//! client is checked when its version can be found in the log of the current connection.

use std::collections::BTreeMap;

use crate::config::sshd::SshdConfig;
use crate::host::Host;
use crate::model::actions::{Action, CommandAction};
use crate::model::{Builder, CheckStatus};
use crate::steps::ssh::answers::Answers;

/// An OpenSSH release, `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32);

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// When nothing says which sshd the target runs: the oldest a PBX of the seed's era has
/// (trixbox on CentOS 5 ships OpenSSH 4.3).
pub const OFFLINE_DEFAULT: Version = Version(4, 3);

/// `X.Y` at the start of `s` (after an optional epoch `1:`), e.g. "9.2p1-2" -> 9.2.
fn version_at(s: &str) -> Option<Version> {
    let s = s.split_once(':').map(|(_, r)| r).unwrap_or(s);
    let mut it = s.splitn(2, '.');
    let major: u32 = it.next()?.parse().ok()?;
    let rest = it.next()?;
    let minor: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    Some(Version(major, minor.parse().ok()?))
}

/// The version in an identification like `OpenSSH_9.2p1 Debian-2+deb12u10, OpenSSL 3.0`.
pub fn parse_version(text: &str) -> Option<Version> {
    let i = text.find("OpenSSH_")?;
    version_at(&text[i + 8..])
}

/// sshd_config keywords of the baseline and the release that added them. Keywords not
/// listed are older than any sshd pbx-harden meets (MaxAuthTries, LoginGraceTime,
/// ClientAlive*, X11Forwarding, LogLevel, MaxStartups, Ciphers, MACs: OpenSSH 3.x or before).
pub const OPTIONS: &[(&str, Version, &str)] = &[
    ("AllowAgentForwarding", Version(5, 2), "OpenSSH 5.2"),
    ("KexAlgorithms", Version(5, 7), "OpenSSH 5.7"),
    // The release notes do not name the release that gave sshd this keyword (6.7-7.0);
    // 7.0 is the safe side: an unknown keyword stops sshd from starting.
    ("HostKeyAlgorithms", Version(7, 0), "OpenSSH 7.0"),
    (
        "AllowTcpForwarding local",
        Version(6, 7),
        "OpenSSH 6.7 (yes/no before)",
    ),
    ("PerSourceMaxStartups", Version(8, 5), "OpenSSH 8.5"),
    ("ModuliFile", Version(8, 2), "OpenSSH 8.2"),
];

pub fn option_since(keyword: &str) -> Option<Version> {
    OPTIONS
        .iter()
        .find(|(k, _, _)| k.eq_ignore_ascii_case(keyword))
        .map(|(_, v, _)| *v)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Kex,
    Cipher,
    Mac,
    Key,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Kex, Kind::Cipher, Kind::Mac, Kind::Key];

    pub fn keyword(self) -> &'static str {
        match self {
            Kind::Kex => "KexAlgorithms",
            Kind::Cipher => "Ciphers",
            Kind::Mac => "MACs",
            Kind::Key => "HostKeyAlgorithms",
        }
    }

    /// `ssh -Q` query name.
    fn query(self) -> &'static str {
        match self {
            Kind::Kex => "kex",
            Kind::Cipher => "cipher",
            Kind::Mac => "mac",
            // Signature algorithms (rsa-sha2-*), not key types; before 8.5 the query fails
            // and the table is used.
            Kind::Key => "HostKeyAlgorithms",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Kex => "key exchange",
            Kind::Cipher => "cipher",
            Kind::Mac => "MAC",
            Kind::Key => "host-key algorithm",
        }
    }
}

/// (kind, name, added in, removed in, why it is weak: None for the good ones).
type Algo = (
    Kind,
    &'static str,
    Version,
    Option<Version>,
    Option<&'static str>,
);

const SHA1: &str = "uses SHA-1, which has practical collisions";
const NIST: &str =
    "NIST P-curves: their constants are unexplained, many auditors no longer trust them";
const CBC: &str = "CBC mode: open to the plaintext-recovery attacks on SSH CBC (CVE-2008-5161)";
const EAM: &str = "encrypt-and-MAC: the MAC is over the plaintext; the -etm variants are safe";
const SMALL_MAC: &str = "64-bit tag: too short";
const MD5: &str = "uses MD5, which is broken";
const BROKEN_CIPHER: &str = "a broken or 64-bit-block cipher (RC4, Blowfish, CAST, 3DES)";
const DSA: &str = "DSA: 1024-bit keys only, disabled by OpenSSH since 7.0";

#[rustfmt::skip]
pub const ALGORITHMS: &[Algo] = &[
    // key exchange
    (Kind::Kex, "diffie-hellman-group1-sha1", Version(2, 0), None, Some("1024-bit group (Logjam) and SHA-1")),
    (Kind::Kex, "diffie-hellman-group14-sha1", Version(3, 9), None, Some(SHA1)),
    (Kind::Kex, "diffie-hellman-group-exchange-sha1", Version(2, 9), None, Some(SHA1)),
    (Kind::Kex, "diffie-hellman-group-exchange-sha256", Version(4, 4), None, None),
    (Kind::Kex, "ecdh-sha2-nistp256", Version(5, 7), None, Some(NIST)),
    (Kind::Kex, "ecdh-sha2-nistp384", Version(5, 7), None, Some(NIST)),
    (Kind::Kex, "ecdh-sha2-nistp521", Version(5, 7), None, Some(NIST)),
    (Kind::Kex, "curve25519-sha256@libssh.org", Version(6, 5), None, None),
    (Kind::Kex, "curve25519-sha256", Version(7, 4), None, None),
    (Kind::Kex, "diffie-hellman-group14-sha256", Version(7, 3), None, Some("2048-bit group: below the 3072 bits auditors ask for")),
    (Kind::Kex, "diffie-hellman-group16-sha512", Version(7, 3), None, None),
    (Kind::Kex, "diffie-hellman-group18-sha512", Version(7, 3), None, None),
    (Kind::Kex, "sntrup4591761x25519-sha512@tinyssh.org", Version(8, 0), Some(Version(8, 5)), Some("withdrawn experimental post-quantum KEX")),
    (Kind::Kex, "sntrup761x25519-sha512@openssh.com", Version(8, 5), None, None),
    (Kind::Kex, "sntrup761x25519-sha512", Version(9, 9), None, None),
    (Kind::Kex, "mlkem768x25519-sha256", Version(9, 9), None, None),
    // ciphers
    (Kind::Cipher, "3des-cbc", Version(2, 0), None, Some(BROKEN_CIPHER)),
    (Kind::Cipher, "blowfish-cbc", Version(2, 0), Some(Version(7, 6)), Some(BROKEN_CIPHER)),
    (Kind::Cipher, "cast128-cbc", Version(2, 0), Some(Version(7, 6)), Some(BROKEN_CIPHER)),
    (Kind::Cipher, "arcfour", Version(2, 0), Some(Version(7, 6)), Some(BROKEN_CIPHER)),
    (Kind::Cipher, "arcfour128", Version(4, 2), Some(Version(7, 6)), Some(BROKEN_CIPHER)),
    (Kind::Cipher, "arcfour256", Version(4, 2), Some(Version(7, 6)), Some(BROKEN_CIPHER)),
    (Kind::Cipher, "aes128-cbc", Version(2, 3), None, Some(CBC)),
    (Kind::Cipher, "aes192-cbc", Version(2, 3), None, Some(CBC)),
    (Kind::Cipher, "aes256-cbc", Version(2, 3), None, Some(CBC)),
    (Kind::Cipher, "rijndael-cbc@lysator.liu.se", Version(2, 3), Some(Version(7, 6)), Some(CBC)),
    (Kind::Cipher, "aes128-ctr", Version(3, 7), None, None),
    (Kind::Cipher, "aes192-ctr", Version(3, 7), None, None),
    (Kind::Cipher, "aes256-ctr", Version(3, 7), None, None),
    (Kind::Cipher, "aes128-gcm@openssh.com", Version(6, 2), None, None),
    (Kind::Cipher, "aes256-gcm@openssh.com", Version(6, 2), None, None),
    (Kind::Cipher, "chacha20-poly1305@openssh.com", Version(6, 5), None, None),
    // MACs
    (Kind::Mac, "hmac-md5", Version(2, 0), None, Some(MD5)),
    (Kind::Mac, "hmac-md5-96", Version(2, 0), None, Some(MD5)),
    (Kind::Mac, "hmac-ripemd160", Version(2, 0), Some(Version(7, 6)), Some(EAM)),
    (Kind::Mac, "hmac-sha1", Version(2, 0), None, Some(SHA1)),
    (Kind::Mac, "hmac-sha1-96", Version(2, 0), None, Some(SHA1)),
    (Kind::Mac, "umac-64@openssh.com", Version(4, 7), None, Some(SMALL_MAC)),
    (Kind::Mac, "hmac-sha2-256", Version(5, 9), None, Some(EAM)),
    (Kind::Mac, "hmac-sha2-512", Version(5, 9), None, Some(EAM)),
    (Kind::Mac, "umac-128@openssh.com", Version(6, 2), None, Some(EAM)),
    (Kind::Mac, "hmac-md5-etm@openssh.com", Version(6, 2), None, Some(MD5)),
    (Kind::Mac, "hmac-md5-96-etm@openssh.com", Version(6, 2), None, Some(MD5)),
    (Kind::Mac, "hmac-sha1-etm@openssh.com", Version(6, 2), None, Some(SHA1)),
    (Kind::Mac, "hmac-sha1-96-etm@openssh.com", Version(6, 2), None, Some(SHA1)),
    (Kind::Mac, "umac-64-etm@openssh.com", Version(6, 2), None, Some(SMALL_MAC)),
    (Kind::Mac, "hmac-sha2-256-etm@openssh.com", Version(6, 2), None, None),
    (Kind::Mac, "hmac-sha2-512-etm@openssh.com", Version(6, 2), None, None),
    (Kind::Mac, "umac-128-etm@openssh.com", Version(6, 2), None, None),
    // host-key algorithms
    (Kind::Key, "ssh-dss", Version(2, 0), None, Some(DSA)),
    (Kind::Key, "ssh-rsa", Version(2, 0), None, Some("RSA signatures with SHA-1")),
    (Kind::Key, "ecdsa-sha2-nistp256", Version(5, 7), None, Some(NIST)),
    (Kind::Key, "ecdsa-sha2-nistp384", Version(5, 7), None, Some(NIST)),
    (Kind::Key, "ecdsa-sha2-nistp521", Version(5, 7), None, Some(NIST)),
    (Kind::Key, "ssh-ed25519", Version(6, 5), None, None),
    (Kind::Key, "ssh-ed25519-cert-v01@openssh.com", Version(6, 5), None, None),
    (Kind::Key, "rsa-sha2-256", Version(7, 2), None, None),
    (Kind::Key, "rsa-sha2-512", Version(7, 2), None, None),
    (Kind::Key, "rsa-sha2-256-cert-v01@openssh.com", Version(7, 8), None, None),
    (Kind::Key, "rsa-sha2-512-cert-v01@openssh.com", Version(7, 8), None, None),
    (Kind::Key, "sk-ssh-ed25519@openssh.com", Version(8, 2), None, None),
    (Kind::Key, "sk-ssh-ed25519-cert-v01@openssh.com", Version(8, 2), None, None),
];

/// The modern lists, in the order of ssh-audit's "Hardened OpenSSH Server" policies.
pub fn modern(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Kex => &[
            "sntrup761x25519-sha512",
            "sntrup761x25519-sha512@openssh.com",
            "mlkem768x25519-sha256",
            "curve25519-sha256",
            "curve25519-sha256@libssh.org",
            "diffie-hellman-group16-sha512",
            "diffie-hellman-group18-sha512",
            "diffie-hellman-group-exchange-sha256",
        ],
        Kind::Cipher => &[
            "chacha20-poly1305@openssh.com",
            "aes256-gcm@openssh.com",
            "aes128-gcm@openssh.com",
            "aes256-ctr",
            "aes192-ctr",
            "aes128-ctr",
        ],
        Kind::Mac => &[
            "hmac-sha2-256-etm@openssh.com",
            "hmac-sha2-512-etm@openssh.com",
            "umac-128-etm@openssh.com",
        ],
        Kind::Key => &[
            "sk-ssh-ed25519-cert-v01@openssh.com",
            "ssh-ed25519-cert-v01@openssh.com",
            "rsa-sha2-512-cert-v01@openssh.com",
            "rsa-sha2-256-cert-v01@openssh.com",
            "sk-ssh-ed25519@openssh.com",
            "ssh-ed25519",
            "rsa-sha2-512",
            "rsa-sha2-256",
        ],
    }
}

/// Why an algorithm is weak, if it is (unknown names are not judged).
pub fn weak_reason(kind: Kind, name: &str) -> Option<&'static str> {
    ALGORITHMS
        .iter()
        .find(|a| a.0 == kind && a.1 == name)
        .and_then(|a| a.4)
}

/// The algorithms an OpenSSH release knows, from the table.
pub fn known_set(kind: Kind, v: Version) -> Vec<&'static str> {
    ALGORITHMS
        .iter()
        .filter(|a| a.0 == kind && a.2 <= v && a.3.is_none_or(|r| v < r))
        .map(|a| a.1)
        .collect()
}

/// What is known about the target's sshd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// None: unknown (the offline default is used).
    pub version: Option<Version>,
    /// Where the version came from, for the review.
    pub source: String,
    /// Algorithm sets from `ssh -Q` (live, same release as sshd); else the table's.
    pub queried: BTreeMap<Kind, Vec<String>>,
}

impl Target {
    pub fn version(&self) -> Version {
        self.version.unwrap_or(OFFLINE_DEFAULT)
    }

    pub fn has_option(&self, keyword: &str) -> bool {
        option_since(keyword).is_none_or(|v| self.version() >= v)
    }

    pub fn supported(&self, kind: Kind) -> Vec<String> {
        match self.queried.get(&kind) {
            Some(v) => v.clone(),
            None => known_set(kind, self.version())
                .into_iter()
                .map(str::to_string)
                .collect(),
        }
    }
}

fn run_text(run: &dyn crate::exec::Runner, argv: &[&str]) -> Option<String> {
    let o = run.run(&crate::exec::argv(argv), None).ok()?;
    Some(format!("{}\n{}", o.stdout, o.stderr))
}

/// Find the target's sshd version.
pub fn detect(sys: &Host) -> Target {
    let mut t = Target {
        version: None,
        source: String::new(),
        queried: BTreeMap::new(),
    };
    let root = &sys.root;
    if root.is_live()
        && let Some(bin) = sys.sshd_binary.force()
        && let Some(v) = run_text(&*sys.runner, &[&bin.display().to_string(), "-V"])
            .as_deref()
            .and_then(parse_version)
    {
        t.version = Some(v);
        t.source = format!("{} -V", bin.display());
        // ssh -Q lists what the library of the same release supports.
        let client = run_text(&*sys.runner, &["ssh", "-V"])
            .as_deref()
            .and_then(parse_version);
        if client == Some(v) {
            for k in Kind::ALL {
                if let Some(out) = sys
                    .runner
                    .run(&crate::exec::argv(&["ssh", "-Q", k.query()]), None)
                    .ok()
                    .filter(|o| o.ok())
                {
                    let list: Vec<String> = out
                        .stdout
                        .lines()
                        .map(|l| l.trim().to_string())
                        .filter(|l| !l.is_empty())
                        .collect();
                    if !list.is_empty() {
                        t.queried.insert(k, list);
                    }
                }
            }
        }
        return t;
    }
    for bin in ["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd"] {
        if let Ok(Some(bytes)) = root.read(bin)
            && let Some(v) = binary_version(&bytes)
        {
            t.version = Some(v);
            t.source = format!("the version string in {bin}");
            return t;
        }
    }
    if let Ok(Some(status)) = root.read_text("/var/lib/dpkg/status")
        && let Some(v) = dpkg_version(&status, "openssh-server")
    {
        t.version = Some(v);
        t.source = "dpkg's status of openssh-server".into();
        return t;
    }
    for pat in [
        "/usr/share/doc/openssh-server-*",
        "/usr/share/doc/openssh-[0-9]*",
    ] {
        if let Some(v) = root.glob(pat).iter().find_map(|p| {
            let name = p.rsplit('/').next().unwrap_or("");
            let ver = name.rsplit('-').next()?;
            version_at(ver)
        }) {
            t.version = Some(v);
            t.source = format!(
                "the name of {}",
                root.glob(pat).first().cloned().unwrap_or_default()
            );
            return t;
        }
    }
    if let Some(v) = os_release_version(&sys.os.pretty) {
        t.version = Some(v);
        t.source = format!("the OpenSSH that {} shipped", sys.os.pretty);
        return t;
    }
    t.source =
        "no sshd binary, dpkg status, openssh doc directory or known OS release on the target"
            .into();
    t
}

/// The OpenSSH a release shipped (the oldest of its point releases), by PRETTY_NAME.
const OS_OPENSSH: &[(&str, Version)] = &[
    ("release 5", Version(4, 3)),
    ("release 6", Version(5, 3)),
    // 7.0-7.3 shipped 6.6, 7.4 and later 7.4: the older one is the safe side.
    ("release 7", Version(6, 6)),
    ("Linux 7", Version(6, 6)),
    ("release 8", Version(8, 0)),
    ("Linux 8", Version(8, 0)),
    ("release 9", Version(8, 7)),
    ("Linux 9", Version(8, 7)),
    ("Debian GNU/Linux 9", Version(7, 4)),
    ("Debian GNU/Linux 10", Version(7, 9)),
    ("Debian GNU/Linux 11", Version(8, 4)),
    ("Debian GNU/Linux 12", Version(9, 2)),
    ("Debian GNU/Linux 13", Version(10, 0)),
    ("Ubuntu 16.04", Version(7, 2)),
    ("Ubuntu 18.04", Version(7, 6)),
    ("Ubuntu 20.04", Version(8, 2)),
    ("Ubuntu 22.04", Version(8, 9)),
    ("Ubuntu 24.04", Version(9, 6)),
];

fn os_release_version(pretty: &str) -> Option<Version> {
    OS_OPENSSH.iter().find_map(|(pat, v)| {
        let i = pretty.find(pat)?;
        let next = pretty[i + pat.len()..].chars().next();
        (!next.is_some_and(|c| c.is_ascii_digit())).then_some(*v)
    })
}

fn binary_version(bytes: &[u8]) -> Option<Version> {
    let pat = b"OpenSSH_";
    bytes
        .windows(pat.len() + 3)
        .position(|w| {
            w.starts_with(pat) && w[pat.len()].is_ascii_digit() && w[pat.len() + 1] == b'.'
        })
        .and_then(|i| {
            let tail = &bytes[i..bytes.len().min(i + 24)];
            parse_version(&String::from_utf8_lossy(tail))
        })
}

fn dpkg_version(status: &str, package: &str) -> Option<Version> {
    status.split("\n\n").find_map(|stanza| {
        let mut pkg = false;
        let mut installed = false;
        let mut ver = None;
        for l in stanza.lines() {
            if let Some(p) = l.strip_prefix("Package: ") {
                pkg = p.trim() == package;
            } else if let Some(s) = l.strip_prefix("Status: ") {
                installed = s.trim().ends_with(" installed");
            } else if let Some(v) = l.strip_prefix("Version: ") {
                ver = version_at(v.trim());
            }
        }
        (pkg && installed).then_some(ver).flatten()
    })
}

/// The baseline, as (keyword, value, why). `AllowTcpForwarding` is handled apart.
pub const BASELINE: &[(&str, &str, &str)] = &[
    (
        "MaxAuthTries",
        "3",
        "fewer password guesses per connection (Lynis and CIS ask for 3 or less); with more than \
         two keys in your agent, log in with -o IdentitiesOnly=yes or the password comes too late",
    ),
    (
        "LoginGraceTime",
        "60",
        "an unauthenticated connection is dropped after 60 s (the default is 120)",
    ),
    (
        "ClientAliveInterval",
        "300",
        "the server probes a silent client every 5 minutes, so a dead session is noticed",
    ),
    (
        "ClientAliveCountMax",
        "2",
        "a session whose client stopped answering is closed after two probes (10 minutes)",
    ),
    (
        "X11Forwarding",
        "no",
        "a PBX has no X; forwarding lets a compromised server reach the admin's display",
    ),
    (
        "AllowAgentForwarding",
        "no",
        "a compromised server could use the admin's agent to log in elsewhere",
    ),
    (
        "LogLevel",
        "VERBOSE",
        "logs the key fingerprint of each login, for audits and for fail2ban/BFD",
    ),
    (
        "MaxStartups",
        "10:30:60",
        "refuses floods of unauthenticated connections early",
    ),
    (
        "PerSourceMaxStartups",
        "3",
        "one address cannot hold every unauthenticated slot (DHEat)",
    ),
];

/// `BASELINE` entries this sshd accepts, plus AllowTcpForwarding local where it can.
pub fn baseline_for(t: &Target) -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = BASELINE
        .iter()
        .filter(|(k, _, _)| t.has_option(k))
        .map(|(k, v, _)| (*k, *v))
        .collect();
    if t.has_option("AllowTcpForwarding local") {
        out.push(("AllowTcpForwarding", "local"));
    }
    out
}

/// The modern list of `kind` this sshd supports, in order (empty: leave the keyword alone).
pub fn modern_for(t: &Target, kind: Kind) -> Vec<String> {
    if kind == Kind::Kex && !t.has_option("KexAlgorithms") {
        return Vec::new();
    }
    if kind == Kind::Key && !t.has_option("HostKeyAlgorithms") {
        return Vec::new();
    }
    // What this sshd supports, and no newer than its upstream release: distributions
    // back-port algorithms (Debian 12's 9.2 has the plain sntrup761x25519-sha512 of 9.9),
    // but ssh-audit's policy for a release lists what that release has upstream.
    let have = t.supported(kind);
    let upstream = known_set(kind, t.version());
    modern(kind)
        .iter()
        .filter(|a| have.iter().any(|h| h == *a) && upstream.contains(a))
        .map(|s| s.to_string())
        .collect()
}

/// Clients an SSH server commonly has to serve, and what they speak (as far as their
/// release notes say).
pub struct Client {
    pub name: &'static str,
    /// For the wizard's one-line list.
    pub short: &'static str,
    pub kex: &'static [&'static str],
    pub ciphers: &'static [&'static str],
    pub macs: &'static [&'static str],
    pub keys: &'static [&'static str],
}

pub const OLD_CLIENTS: &[Client] = &[
    Client {
        name: "PuTTY 0.67 and older (before 2017)",
        short: "PuTTY < 0.68",
        kex: &[
            "diffie-hellman-group-exchange-sha256",
            "diffie-hellman-group14-sha1",
            "ecdh-sha2-nistp256",
        ],
        ciphers: &["aes256-ctr", "aes128-ctr", "aes256-cbc", "3des-cbc"],
        macs: &["hmac-sha2-256", "hmac-sha1"],
        keys: &["ssh-rsa", "ssh-dss", "ecdsa-sha2-nistp256"],
    },
    Client {
        name: "PuTTY 0.68-0.74 (2017-2020)",
        short: "PuTTY 0.68-0.74",
        kex: &[
            "curve25519-sha256@libssh.org",
            "diffie-hellman-group-exchange-sha256",
            "diffie-hellman-group14-sha1",
        ],
        ciphers: &["chacha20-poly1305@openssh.com", "aes256-ctr", "aes128-ctr"],
        macs: &[
            "hmac-sha2-256-etm@openssh.com",
            "hmac-sha2-256",
            "hmac-sha1",
        ],
        keys: &["ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"],
    },
    Client {
        name: "OpenSSH 5.x-6.4 (CentOS 6, Ubuntu 12.04)",
        short: "OpenSSH 5.x-6.4",
        kex: &[
            "diffie-hellman-group-exchange-sha256",
            "ecdh-sha2-nistp256",
            "diffie-hellman-group14-sha1",
        ],
        ciphers: &["aes128-ctr", "aes192-ctr", "aes256-ctr", "aes128-cbc"],
        macs: &[
            "hmac-sha2-256",
            "hmac-sha2-512",
            "hmac-sha1",
            "umac-64@openssh.com",
        ],
        keys: &["ssh-rsa", "ecdsa-sha2-nistp256", "ssh-dss"],
    },
    Client {
        name: "OpenSSH 4.x (CentOS 5, trixbox)",
        short: "OpenSSH 4.x",
        kex: &[
            "diffie-hellman-group-exchange-sha256",
            "diffie-hellman-group14-sha1",
            "diffie-hellman-group1-sha1",
        ],
        ciphers: &["aes128-ctr", "aes256-ctr", "aes128-cbc", "3des-cbc"],
        macs: &["hmac-sha1", "hmac-md5", "umac-64@openssh.com"],
        keys: &["ssh-rsa", "ssh-dss"],
    },
    Client {
        name: "OpenSSH 6.5-7.1 (CentOS 7.0-7.3, Ubuntu 14.04)",
        short: "OpenSSH 6.5-7.1",
        kex: &[
            "curve25519-sha256@libssh.org",
            "diffie-hellman-group-exchange-sha256",
        ],
        ciphers: &[
            "chacha20-poly1305@openssh.com",
            "aes128-gcm@openssh.com",
            "aes128-ctr",
        ],
        macs: &["hmac-sha2-256-etm@openssh.com", "umac-128-etm@openssh.com"],
        keys: &["ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256"],
    },
    Client {
        name: "phones and devices fetching provisioning files over SFTP with Dropbear before 2020.79 or libssh2 before 1.9",
        short: "phones provisioning over SFTP (Dropbear < 2020.79, libssh2 < 1.9)",
        kex: &[
            "diffie-hellman-group14-sha1",
            "diffie-hellman-group1-sha1",
            "ecdh-sha2-nistp256",
        ],
        ciphers: &["aes128-ctr", "aes256-ctr", "aes128-cbc", "3des-cbc"],
        macs: &["hmac-sha2-256", "hmac-sha1"],
        keys: &["ssh-rsa", "ssh-dss", "ecdsa-sha2-nistp256"],
    },
];

/// The first category in which `client` and the server share nothing, if any.
pub fn cut_off_by(client: &Client, lists: &BTreeMap<Kind, Vec<String>>) -> Option<Kind> {
    shares_all(
        [client.kex, client.ciphers, client.macs, client.keys],
        lists,
    )
}

/// The first category (KEX, cipher, MAC, host key) in which the offered algorithms and the
/// server's lists have nothing in common.
fn shares_all(offered: [&[&str]; 4], lists: &BTreeMap<Kind, Vec<String>>) -> Option<Kind> {
    for (kind, offered) in Kind::ALL.into_iter().zip(offered) {
        let Some(server) = lists.get(&kind) else {
            continue;
        };
        if !offered.iter().any(|a| server.iter().any(|s| s == a)) {
            return Some(kind);
        }
    }
    None
}

/// The clients a set of server lists cuts off, with the category that does it.
pub fn cut_off(lists: &BTreeMap<Kind, Vec<String>>) -> Vec<(&'static str, Kind)> {
    OLD_CLIENTS
        .iter()
        .filter_map(|c| cut_off_by(c, lists).map(|k| (c.name, k)))
        .collect()
}

/// Bits of an RSA public key line (`ssh-rsa AAAA... comment`).
pub fn rsa_bits(pub_line: &str) -> Option<usize> {
    use base64::Engine;
    let mut it = pub_line.split_whitespace();
    if it.next()? != "ssh-rsa" {
        return None;
    }
    let blob = base64::engine::general_purpose::STANDARD
        .decode(it.next()?)
        .ok()?;
    let mut pos = 0usize;
    let mut field = || -> Option<&[u8]> {
        let len = u32::from_be_bytes(blob.get(pos..pos + 4)?.try_into().ok()?) as usize;
        let f = blob.get(pos + 4..pos + 4 + len)?;
        pos += 4 + len;
        Some(f)
    };
    let _name = field()?;
    let _e = field()?;
    let n = field()?;
    let n: Vec<u8> = n.iter().copied().skip_while(|b| *b == 0).collect();
    let first = *n.first()?;
    Some((n.len() - 1) * 8 + (8 - first.leading_zeros() as usize))
}

/// The type of a host key, from its `.pub` file (`ssh-rsa`, `ssh-ed25519`, `ecdsa-...`).
fn key_type(sys: &Host, private: &str) -> Option<String> {
    let text = sys
        .root
        .read_text(&format!("{private}.pub"))
        .ok()
        .flatten()?;
    text.split_whitespace().next().map(str::to_string)
}

/// The host keys sshd loads: its HostKey lines, or the defaults of its release.
fn host_keys(cfg: &SshdConfig, t: &Target) -> Vec<String> {
    let declared: Vec<String> = cfg
        .all("hostkey")
        .into_iter()
        .filter_map(|o| o.args.first().cloned())
        .collect();
    if !declared.is_empty() {
        return declared;
    }
    let v = t.version();
    let mut d = vec!["/etc/ssh/ssh_host_rsa_key".to_string()];
    if v < Version(7, 0) {
        d.push("/etc/ssh/ssh_host_dsa_key".into());
    }
    if v >= Version(5, 7) {
        d.push("/etc/ssh/ssh_host_ecdsa_key".into());
    }
    if v >= Version(6, 5) {
        d.push("/etc/ssh/ssh_host_ed25519_key".into());
    }
    d
}

/// Files whose values are set elsewhere (update-crypto-policies writes them): never edited.
fn managed_elsewhere(path: &str) -> bool {
    path.starts_with("/etc/crypto-policies/") || path.starts_with("/usr/share/crypto-policies/")
}

/// Set a first-wins keyword where it wins: in place, or ahead of the Include when the winning
/// line is in a file that must not be edited (RHEL 8/9's crypto policy back-end).
fn set_winning(cfg: &mut SshdConfig, keyword: &str, args: &[String]) {
    match cfg.first(keyword) {
        Some(o) if managed_elsewhere(&cfg.files[o.file].path) => {
            cfg.set_first_ahead(keyword, args);
        }
        _ => {
            cfg.set_first(keyword, args);
        }
    }
}

/// Apply the baseline and modern crypto to `cfg` (the SSH part's edited configuration),
/// with their warnings, the host-key command and the moduli edit. True when sshd must be
/// restarted for something outside sshd_config (a new host key, new moduli).
pub fn plan(
    b: &mut Builder<'_>,
    facts: &super::facts::Facts,
    answers: &Answers,
    cfg: &mut SshdConfig,
) -> bool {
    let (actions, files) = (b.actions.len(), b.current(MODULI).ok().flatten());
    plan_inner(b, facts, answers, cfg);
    b.actions.len() != actions || b.current(MODULI).ok().flatten() != files
}

fn plan_inner(
    b: &mut Builder<'_>,
    facts: &super::facts::Facts,
    answers: &Answers,
    cfg: &mut SshdConfig,
) {
    let Some(s) = &answers.ssh else {
        return;
    };
    let baseline = s.baseline.unwrap_or(false);
    let modern_on = s.modern_crypto.unwrap_or(false);
    let regen = s.regenerate_rsa_host_key.unwrap_or(false);
    if !baseline && !modern_on && !regen {
        return;
    }
    let t = facts.target.clone();
    if t.version.is_none() {
        b.warn(
            "ssh.baseline",
            format!(
                "the target's OpenSSH release is not known ({}): only what OpenSSH {OFFLINE_DEFAULT} \
                 (trixbox, CentOS 5) accepts is written",
                t.source
            ),
        );
    }
    if baseline {
        for (k, v) in baseline_for(&t) {
            if k == "AllowTcpForwarding" {
                // Keep an admin's stricter choice; `ssh -L` to AMI needs local forwarding.
                let now = cfg.value_or("allowtcpforwarding", "yes");
                if now != "yes" && now != "all" {
                    continue;
                }
            }
            set_winning(cfg, k, &[v.to_string()]);
            for o in cfg.in_match(k) {
                b.warn(
                    "ssh.baseline",
                    format!(
                        "{} line {}: a Match block sets {k} {} for the connections it matches",
                        cfg.files[o.file].path,
                        o.line + 1,
                        o.args.join(" ")
                    ),
                );
            }
        }
        let skipped: Vec<String> = BASELINE
            .iter()
            .filter(|(k, _, _)| !t.has_option(k))
            .map(|(k, _, _)| k.to_string())
            .chain(
                (!t.has_option("AllowTcpForwarding local"))
                    .then(|| "AllowTcpForwarding local".to_string()),
            )
            .collect();
        if !skipped.is_empty() {
            b.warn(
                "ssh.baseline",
                format!(
                    "OpenSSH {} ({}) does not know {}: left out",
                    t.version(),
                    if t.version.is_some() {
                        t.source.as_str()
                    } else {
                        "assumed"
                    },
                    skipped.join(", ")
                ),
            );
        }
    }
    if modern_on {
        modern_crypto(b, facts, s, cfg, &t);
    } else if regen {
        rsa_host_key(b, cfg, &t, true, false);
    }
}

fn modern_crypto(
    b: &mut Builder<'_>,
    facts: &super::facts::Facts,
    s: &crate::steps::ssh::answers::SshAnswers,
    cfg: &mut SshdConfig,
    t: &Target,
) {
    let sys = b.sys;
    let mut lists: BTreeMap<Kind, Vec<String>> = BTreeMap::new();
    for kind in Kind::ALL {
        let mut l = modern_for(t, kind);
        if kind == Kind::Kex
            && l.iter()
                .any(|a| a == "diffie-hellman-group-exchange-sha256")
        {
            // Group exchange stays only with moduli of 3072 bits and more.
            if !moduli(b, cfg, t) {
                l.retain(|a| a != "diffie-hellman-group-exchange-sha256");
            }
        }
        if l.is_empty() {
            let why = match kind {
                Kind::Kex if !t.has_option("KexAlgorithms") => {
                    format!("sshd before OpenSSH 5.7 has no {}", kind.keyword())
                }
                Kind::Key if !t.has_option("HostKeyAlgorithms") => {
                    format!("sshd before OpenSSH 7.0 has no {}", kind.keyword())
                }
                _ => format!(
                    "OpenSSH {} supports none of the modern {}s",
                    t.version(),
                    kind.label()
                ),
            };
            b.warn(
                "ssh.modern_crypto",
                format!("{} left as it is: {why}", kind.keyword()),
            );
            continue;
        }
        lists.insert(kind, l);
    }

    // Host keys: drop ECDSA and DSA, keep RSA and Ed25519.
    let keys = host_keys(cfg, t);
    let mut keep = Vec::new();
    let mut dropped = Vec::new();
    for k in &keys {
        match key_type(sys, k).as_deref() {
            Some("ssh-rsa") | Some("ssh-ed25519") => keep.push(k.clone()),
            Some(ty) if ty.starts_with("ecdsa-") || ty == "ssh-dss" => dropped.push(k.clone()),
            // Missing or unreadable: sshd skips it; keep the line as it is.
            _ if cfg.all("hostkey").is_empty() => {}
            _ => keep.push(k.clone()),
        }
    }
    // An RSA key below 3072 bits is not offered when Ed25519 can stand in and the admin did
    // not ask for a new RSA key.
    let regen = s.regenerate_rsa_host_key.unwrap_or(false);
    let has_ed = keep
        .iter()
        .any(|k| key_type(sys, k).as_deref() == Some("ssh-ed25519"));
    if !regen && has_ed {
        let short: Vec<(String, usize)> = keep
            .iter()
            .filter(|k| key_type(sys, k).as_deref() == Some("ssh-rsa"))
            .filter_map(|k| {
                let line = sys.root.read_text(&format!("{k}.pub")).ok().flatten()?;
                rsa_bits(&line)
                    .filter(|b| *b < 3072)
                    .map(|b| (k.clone(), b))
            })
            .collect();
        for (k, bits) in short {
            keep.retain(|x| *x != k);
            dropped.push(k.clone());
            b.warn(
                "ssh.regenerate_rsa_host_key",
                format!(
                    "the RSA host key {k} has {bits} bits, below the 3072 that auditors accept: \
                     it is no longer offered (Ed25519 is); set ssh.regenerate_rsa_host_key = true \
                     to offer a new 4096-bit RSA key instead"
                ),
            );
        }
    }
    let usable: Vec<String> = keep.iter().filter_map(|k| key_type(sys, k)).collect();
    if usable.is_empty() {
        b.warn(
            "ssh.modern_crypto",
            "no RSA or Ed25519 host key found: HostKey lines left as they are",
        );
    } else if !dropped.is_empty() || !cfg.all("hostkey").is_empty() {
        cfg.set_each("HostKey", &keep);
        if !dropped.is_empty() {
            b.warn(
                "ssh.modern_crypto",
                format!(
                    "sshd no longer offers {} (the files stay): a client that knows only that \
                     key of this server asks once to accept the Ed25519 or RSA key; compare its \
                     fingerprint (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) before saying yes",
                    dropped.join(", ")
                ),
            );
        }
    }
    // HostKeyAlgorithms must leave an algorithm for a key that sshd has.
    if let Some(l) = lists.get_mut(&Kind::Key) {
        let has_rsa = usable.iter().any(|u| u == "ssh-rsa");
        let has_ed = usable.iter().any(|u| u == "ssh-ed25519");
        l.retain(|a| (has_rsa && a.starts_with("rsa-sha2-")) || (has_ed && a.contains("ed25519")));
        if !l
            .iter()
            .any(|a| !a.contains("-cert-") && !a.starts_with("sk-"))
        {
            b.warn(
                "ssh.modern_crypto",
                "HostKeyAlgorithms left as it is: no host key for a modern algorithm",
            );
            lists.remove(&Kind::Key);
        }
    }
    for (kind, l) in &lists {
        set_winning(cfg, kind.keyword(), &[l.join(",")]);
        for o in cfg.in_match(kind.keyword()) {
            b.warn(
                "ssh.modern_crypto",
                format!(
                    "{} line {}: a Match block sets {} for the connections it matches",
                    cfg.files[o.file].path,
                    o.line + 1,
                    kind.keyword()
                ),
            );
        }
    }
    rsa_host_key(b, cfg, t, regen, true);

    // Who is cut off.
    let mut effective = lists.clone();
    if !effective.contains_key(&Kind::Key) && !usable.is_empty() {
        // Without HostKeyAlgorithms the key types decide.
        let mut k = Vec::new();
        for u in &usable {
            if u == "ssh-rsa" {
                k.extend([
                    "rsa-sha2-512".to_string(),
                    "rsa-sha2-256".into(),
                    "ssh-rsa".into(),
                ]);
            } else {
                k.push(u.clone());
            }
        }
        effective.insert(Kind::Key, k);
    }
    let cut = cut_off(&effective);
    if !cut.is_empty() {
        b.warn(
            "ssh.modern_crypto",
            format!(
                "these clients could no longer connect: {}",
                cut.iter()
                    .map(|(n, k)| format!("{n} (no common {})", k.label()))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        );
    }
    admin_client_check(b, facts, &effective);
}

/// The RSA host key: a warning below 3072 bits, a new 4096-bit key when the admin agreed.
fn rsa_host_key(b: &mut Builder<'_>, cfg: &SshdConfig, t: &Target, regen: bool, modern: bool) {
    let sys = b.sys;
    let Some(rsa) = host_keys(cfg, t)
        .into_iter()
        .find(|k| key_type(sys, k).as_deref() == Some("ssh-rsa"))
    else {
        if regen {
            b.warn(
                "ssh.regenerate_rsa_host_key",
                "sshd loads no RSA host key: nothing to regenerate",
            );
        }
        return;
    };
    let bits = sys
        .root
        .read_text(&format!("{rsa}.pub"))
        .ok()
        .flatten()
        .and_then(|l| rsa_bits(&l));
    let Some(bits) = bits else {
        b.warn(
            "ssh.modern_crypto",
            format!("{rsa}.pub: cannot read the RSA key's size"),
        );
        return;
    };
    if bits >= 4096 {
        return;
    }
    if !regen {
        if bits < 3072 || modern {
            b.warn(
                "ssh.regenerate_rsa_host_key",
                format!(
                    "the RSA host key {rsa} has {bits} bits{}: set ssh.regenerate_rsa_host_key = true \
                     for a new 4096-bit key (clients that know the old RSA key will warn once)",
                    if bits < 3072 {
                        ", below the 3072 that auditors accept"
                    } else {
                        "; ssh-audit's hardened policies ask for 4096"
                    }
                ),
            );
        }
        return;
    }
    if sys.root.is_live() && crate::host::find_program("ssh-keygen").is_none() {
        b.error("ssh.regenerate_rsa_host_key", "ssh-keygen is not installed");
        return;
    }
    let host = sys.root.host(&rsa).display().to_string();
    b.actions.push(Action::Command(CommandAction {
        argv: crate::exec::argv(&[
            "sh",
            "-c",
            "rm -f -- \"$1\" \"$1.pub\" && ssh-keygen -q -t rsa -b 4096 -N '' -C '' -f \"$1\"",
            "sh",
            &host,
        ]),
        undo: Vec::new(),
        touches: vec![rsa.clone(), format!("{rsa}.pub")],
        changes_state: true,
    }));
    b.warn(
        "ssh.regenerate_rsa_host_key",
        format!(
            "the RSA host key {rsa} ({bits} bits) is replaced by a new 4096-bit key: a client \
             that knows only the old RSA key warns that the host key changed (the Ed25519 key \
             stays); rollback restores the old key"
        ),
    );
}

const MODULI: &str = "/etc/ssh/moduli";

/// Keep only DH group-exchange moduli of 3072 bits and more. False when none would remain
/// (then group exchange is left out of KexAlgorithms).
fn moduli(b: &mut Builder<'_>, cfg: &SshdConfig, t: &Target) -> bool {
    let path = if t.has_option("ModuliFile") {
        cfg.first("modulifile")
            .and_then(|o| o.args.first().cloned())
            .unwrap_or_else(|| MODULI.to_string())
    } else {
        MODULI.to_string()
    };
    let Ok(Some(bytes)) = b.current(&path) else {
        // No moduli file: sshd falls back to its built-in groups of 2048 bits and more.
        b.warn(
            "ssh.modern_crypto",
            format!("{path} is missing: diffie-hellman-group-exchange-sha256 is left out"),
        );
        return false;
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let mut out = String::new();
    let mut kept = 0usize;
    let mut removed = 0usize;
    for line in text.split_inclusive('\n') {
        let f: Vec<&str> = line.split_whitespace().collect();
        let size = (f.len() >= 7 && !line.trim_start().starts_with('#'))
            .then(|| f[4].parse::<u32>().ok())
            .flatten();
        match size {
            Some(s) if s < 3071 => removed += 1,
            Some(_) => {
                kept += 1;
                out.push_str(line);
            }
            None => out.push_str(line),
        }
    }
    if kept == 0 {
        b.warn(
            "ssh.modern_crypto",
            format!("{path} has no modulus of 3072 bits or more: group exchange is left out"),
        );
        return false;
    }
    if removed > 0 {
        b.write(
            &path,
            Some(out.into_bytes()),
            0o644,
            "modern crypto: group-exchange moduli below 3072 bits removed",
        );
    }
    true
}

/// The admin's client, when the log of the current connection names it (sshd logs the
/// client's version at LogLevel DEBUG): does it share an algorithm of every kind?
fn admin_client_check(
    b: &mut Builder<'_>,
    facts: &super::facts::Facts,
    lists: &BTreeMap<Kind, Vec<String>>,
) {
    let sys = b.sys;
    let name = "your SSH client can still connect";
    if admin_connection(&sys.env).is_none() {
        b.check(
            name,
            CheckStatus::Warn(
                "not run over SSH: the client that will log in is not known; keep a console at hand"
                    .into(),
            ),
        );
        return;
    };
    let version = facts.admin_client.force().clone();
    let profile = version.as_deref().and_then(client_profile);
    match (version, profile) {
        (Some(v), Some(offered)) => {
            let o = [
                offered[0].as_slice(),
                offered[1].as_slice(),
                offered[2].as_slice(),
                offered[3].as_slice(),
            ];
            b.check(
                name,
                match shares_all(o, lists) {
                    None => CheckStatus::Pass(format!("{v} shares an algorithm of every kind")),
                    Some(k) => CheckStatus::Fail(format!(
                        "{v} shares no {} with the new lists: set ssh.modern_crypto = false, or \
                         update the client",
                        k.label()
                    )),
                },
            )
        }
        (v, _) => b.check(
            name,
            CheckStatus::Warn(format!(
                "the algorithms your client offers cannot be known here{}: a client older than \
                 OpenSSH 6.5 or PuTTY 0.68 would be refused; keep this session open until the new \
                 login works",
                v.map(|v| format!(" ({v} is not in the table)"))
                    .unwrap_or_default()
            )),
        ),
    }
}

/// sshd logs `Connection from IP port P` (LogLevel VERBOSE) and then `Remote protocol
/// version 2.0, remote software version X` (LogLevel DEBUG); find the version for this
/// connection in the last 4 MiB of auth.log / secure, or (live, without them) the journal.
/// SSH_CONNECTION's client address and port.
fn admin_connection(env: &crate::host::Env) -> Option<(String, u16)> {
    let mut f = env.ssh_connection.as_deref()?.split_whitespace();
    Some((f.next()?.to_string(), f.next()?.parse().ok()?))
}

/// The version of the admin's SSH client (`SSH_CONNECTION`), when sshd's log names it.
pub fn admin_client_version(sys: &Host) -> Option<String> {
    let (ip, port) = admin_connection(&sys.env)?;
    client_version_from_logs(sys, &ip, port)
}

fn client_version_from_logs(sys: &Host, ip: &str, port: u16) -> Option<String> {
    let mut texts: Vec<String> = ["/var/log/auth.log", "/var/log/secure"]
        .iter()
        .filter_map(|log| tail(&sys.root.host(log), 4 << 20))
        .collect();
    if texts.is_empty() && sys.root.is_live() {
        texts.extend(
            sys.runner
                .run(
                    &crate::exec::argv(&[
                        "journalctl",
                        "-q",
                        "--no-pager",
                        "-o",
                        "short",
                        "_COMM=sshd",
                        "-n",
                        "20000",
                    ]),
                    None,
                )
                .ok()
                .filter(|o| o.ok())
                .map(|o| o.stdout),
        );
    }
    texts
        .iter()
        .find_map(|t| version_in_log(t, &format!("{ip} port {port}")))
}

fn tail(path: &std::path::Path, max: u64) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(max))).ok()?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

fn version_in_log(text: &str, needle: &str) -> Option<String> {
    let mut pid: Option<String> = None;
    let mut found = None;
    for l in text.lines() {
        if l.contains(needle) && l.contains("Connection from") {
            pid = l
                .split("sshd[")
                .nth(1)
                .and_then(|r| r.split(']').next())
                .map(str::to_string);
        }
        if let Some(p) = &pid
            && l.contains(&format!("sshd[{p}]"))
            && let Some(v) = l.split("remote software version ").nth(1)
        {
            // The last connection from this address and port is the current one.
            found = Some(v.trim().to_string());
            pid = None;
        }
    }
    found
}

/// What a client of this identification offers (KEX, ciphers, MACs, host keys): OpenSSH by
/// release, PuTTY by release.
fn client_profile(ident: &str) -> Option<[Vec<&'static str>; 4]> {
    let of = |c: &Client| {
        [
            c.kex.to_vec(),
            c.ciphers.to_vec(),
            c.macs.to_vec(),
            c.keys.to_vec(),
        ]
    };
    if let Some(v) = parse_version(ident) {
        return Some(Kind::ALL.map(|k| known_set(k, v)));
    }
    let r = ident.strip_prefix("PuTTY_Release_0.")?;
    let minor: u32 = r
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .ok()?;
    Some(if minor < 68 {
        of(&OLD_CLIENTS[0])
    } else if minor < 75 {
        of(&OLD_CLIENTS[1])
    } else {
        [
            vec![
                "curve25519-sha256",
                "curve25519-sha256@libssh.org",
                "diffie-hellman-group-exchange-sha256",
            ],
            vec![
                "chacha20-poly1305@openssh.com",
                "aes256-gcm@openssh.com",
                "aes256-ctr",
            ],
            vec![
                "hmac-sha2-256-etm@openssh.com",
                "hmac-sha2-512-etm@openssh.com",
            ],
            vec!["ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256"],
        ]
    })
}

/// What the wizard's SSH screen shows: the baseline items this sshd takes, the ones it does
/// not, the clients modern crypto cuts off, and whether the admin's own client is one.
pub struct WizardFacts {
    pub baseline: Vec<(&'static str, &'static str)>,
    pub left_out: Vec<String>,
    pub cut_off: Vec<String>,
    pub admin_cut: bool,
    /// The RSA host key sshd loads and its size, when below 4096 bits.
    pub short_rsa: Option<(String, usize)>,
    /// sshd_config already has every baseline value / every modern list this sshd takes
    /// (a box hardened before starts from what it has).
    pub baseline_met: bool,
    pub modern_met: bool,
}

pub fn wizard_facts(sys: &Host, facts: &super::facts::Facts) -> WizardFacts {
    let t = facts.target.clone();
    let baseline = baseline_for(&t);
    let left_out = BASELINE
        .iter()
        .filter(|(k, _, _)| !t.has_option(k))
        .map(|(k, _, _)| k.to_string())
        .chain(
            (!t.has_option("AllowTcpForwarding local"))
                .then(|| "AllowTcpForwarding local".to_string()),
        )
        .collect();
    let mut lists = BTreeMap::new();
    for k in Kind::ALL {
        let l = modern_for(&t, k);
        if !l.is_empty() {
            lists.insert(k, l);
        }
    }
    let cut_off = OLD_CLIENTS
        .iter()
        .filter(|c| cut_off_by(c, &lists).is_some())
        .map(|c| c.short.to_string())
        .collect();
    let admin_cut = facts
        .admin_client
        .force()
        .as_deref()
        .and_then(client_profile)
        .is_some_and(|o| {
            shares_all(
                [
                    o[0].as_slice(),
                    o[1].as_slice(),
                    o[2].as_slice(),
                    o[3].as_slice(),
                ],
                &lists,
            )
            .is_some()
        });
    let short_rsa = sys.sshd.as_ref().ok().and_then(|cfg| {
        let key = host_keys(cfg, &t)
            .into_iter()
            .find(|k| key_type(sys, k).as_deref() == Some("ssh-rsa"))?;
        let bits = rsa_bits(&sys.root.read_text(&format!("{key}.pub")).ok()??)?;
        (bits < 4096).then_some((key, bits))
    });
    let value = |k: &str| {
        sys.sshd
            .as_ref()
            .ok()
            .and_then(|c| c.first(k))
            .and_then(|o| o.args.first().cloned())
    };
    let baseline_met = baseline
        .iter()
        .all(|(k, v)| value(k).is_some_and(|x| x.eq_ignore_ascii_case(v)));
    let modern_met = lists.iter().all(|(k, l)| {
        *k == Kind::Key || value(k.keyword()).as_deref() == Some(l.join(",").as_str())
    });
    WizardFacts {
        baseline,
        left_out,
        cut_off,
        admin_cut,
        short_rsa,
        baseline_met,
        modern_met,
    }
}

/// `sshd -T` shows every value the baseline and modern crypto put in `after` (the edited
/// configuration), and no weak algorithm in a list they wrote.
pub fn verify(
    b: &mut Builder<'_>,
    answers: &Answers,
    after: &SshdConfig,
    map: &BTreeMap<String, Vec<String>>,
) {
    let Some(s) = &answers.ssh else {
        return;
    };
    let baseline = s.baseline.unwrap_or(false);
    let modern_on = s.modern_crypto.unwrap_or(false);
    if !baseline && !modern_on {
        return;
    }
    let mut wrong = Vec::new();
    let mut shown = Vec::new();
    let get = |k: &str| map.get(k).map(|g| g.join(" ").to_ascii_lowercase());
    if baseline {
        let keys = BASELINE
            .iter()
            .map(|(k, _, _)| *k)
            .chain(["AllowTcpForwarding"]);
        for k in keys {
            let kl = k.to_ascii_lowercase();
            let Some(want) = after.first(&kl).and_then(|o| o.args.first().cloned()) else {
                continue;
            };
            let want = want.to_ascii_lowercase();
            match get(&kl) {
                Some(g) if g == want => shown.push(format!("{kl} {g}")),
                // sshd -T prints times in seconds and MaxStartups as start:rate:full.
                Some(g) => wrong.push(format!("{kl} {g} (wanted {want})")),
                None => wrong.push(format!("{kl} missing (wanted {want})")),
            }
        }
    }
    if modern_on {
        for kind in Kind::ALL {
            let kl = kind.keyword().to_ascii_lowercase();
            let Some(want) = after.first(&kl).and_then(|o| o.args.first().cloned()) else {
                continue;
            };
            let got = get(&kl).unwrap_or_default();
            if got != want.to_ascii_lowercase() {
                wrong.push(format!("{kl} {got} (wanted {want})"));
                continue;
            }
            let weak: Vec<String> = got
                .split(',')
                .filter_map(|a| weak_reason(kind, a).map(|w| format!("{a} ({w})")))
                .collect();
            if weak.is_empty() {
                shown.push(format!("{kl} ({} algorithms)", got.split(',').count()));
            } else {
                wrong.push(format!("{kl} offers {}", weak.join(", ")));
            }
        }
    }
    b.check(
        "sshd -T shows the baseline and crypto values",
        if wrong.is_empty() {
            CheckStatus::Pass(shown.join(", "))
        } else {
            CheckStatus::Fail(wrong.join("; "))
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            parse_version("OpenSSH_9.2p1 Debian-2+deb12u10, OpenSSL 3.0.19"),
            Some(Version(9, 2))
        );
        assert_eq!(
            parse_version("sshd: illegal option -- V\nOpenSSH_4.3p2, OpenSSL"),
            Some(Version(4, 3))
        );
        assert_eq!(version_at("1:9.2p1-2+deb12u10"), Some(Version(9, 2)));
        assert_eq!(version_at("10.0p1"), Some(Version(10, 0)));
        assert_eq!(
            os_release_version("CentOS release 5.11 (Final)"),
            Some(Version(4, 3))
        );
        assert_eq!(
            os_release_version("Debian GNU/Linux 12 (bookworm)"),
            Some(Version(9, 2))
        );
        assert_eq!(os_release_version("Debian GNU/Linux 1x"), None);
        let status = "Package: openssh-client\nStatus: install ok installed\nVersion: 1:8.0\n\n\
                      Package: openssh-server\nStatus: install ok installed\nVersion: 1:9.2p1-2\n";
        assert_eq!(dpkg_version(status, "openssh-server"), Some(Version(9, 2)));
        assert_eq!(
            binary_version(b"\x00\x01xxOpenSSH_7.4p1 RHEL\x00"),
            Some(Version(7, 4))
        );
    }

    #[test]
    fn lists_follow_the_release() {
        let t = |v| Target {
            version: Some(v),
            source: String::new(),
            queried: BTreeMap::new(),
        };
        assert_eq!(
            modern_for(&t(Version(9, 2)), Kind::Kex),
            vec![
                "sntrup761x25519-sha512@openssh.com",
                "curve25519-sha256",
                "curve25519-sha256@libssh.org",
                "diffie-hellman-group16-sha512",
                "diffie-hellman-group18-sha512",
                "diffie-hellman-group-exchange-sha256"
            ]
        );
        assert!(modern_for(&t(Version(5, 3)), Kind::Kex).is_empty());
        assert!(modern_for(&t(Version(4, 3)), Kind::Mac).is_empty());
        assert_eq!(
            modern_for(&t(Version(4, 3)), Kind::Cipher),
            vec!["aes256-ctr", "aes192-ctr", "aes128-ctr"]
        );
        let old: Vec<&str> = baseline_for(&t(Version(4, 3)))
            .iter()
            .map(|x| x.0)
            .collect();
        assert!(!old.contains(&"AllowAgentForwarding"));
        assert!(!old.contains(&"PerSourceMaxStartups"));
        assert!(!old.contains(&"AllowTcpForwarding"));
        let new: Vec<&str> = baseline_for(&t(Version(9, 2)))
            .iter()
            .map(|x| x.0)
            .collect();
        assert!(new.contains(&"PerSourceMaxStartups") && new.contains(&"AllowTcpForwarding"));
    }

    #[test]
    fn weak_and_cut_off() {
        assert!(weak_reason(Kind::Kex, "ecdh-sha2-nistp256").is_some());
        assert!(weak_reason(Kind::Mac, "hmac-sha2-256").is_some());
        assert!(weak_reason(Kind::Mac, "hmac-sha2-256-etm@openssh.com").is_none());
        let t = Target {
            version: Some(Version(9, 2)),
            source: String::new(),
            queried: BTreeMap::new(),
        };
        let mut lists = BTreeMap::new();
        for k in Kind::ALL {
            lists.insert(k, modern_for(&t, k));
        }
        let cut: Vec<&str> = cut_off(&lists).iter().map(|c| c.0).collect();
        assert!(cut.iter().any(|c| c.starts_with("PuTTY 0.67")), "{cut:?}");
        assert!(cut.iter().any(|c| c.starts_with("OpenSSH 4")), "{cut:?}");
        assert!(!cut.iter().any(|c| c.starts_with("OpenSSH 6.5")), "{cut:?}");
    }

    #[test]
    fn rsa_key_size() {
        use base64::Engine;
        let field = |b: &[u8]| {
            let mut v = (b.len() as u32).to_be_bytes().to_vec();
            v.extend_from_slice(b);
            v
        };
        let mut n = vec![0u8, 0xC0];
        n.extend(std::iter::repeat_n(0x11, 127));
        let mut blob = field(b"ssh-rsa");
        blob.extend(field(&[1, 0, 1]));
        blob.extend(field(&n));
        let line = format!(
            "ssh-rsa {} root@pbx",
            base64::engine::general_purpose::STANDARD.encode(blob)
        );
        assert_eq!(rsa_bits(&line), Some(1024));
        assert_eq!(rsa_bits("ssh-ed25519 AAAA x"), None);
        assert_eq!(rsa_bits("ssh-rsa !!! x"), None);
    }
}
