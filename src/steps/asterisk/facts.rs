//! SIP/IAX extension secrets as facts: the scan that finds the weak ones.
//!
//! Read under `/etc/asterisk` of the root, following `#include` and templates:
//! - chan_sip: `sip.conf` (+ `sip_custom.conf`, `sip_additional.conf` when not included),
//!   `secret=` / `md5secret=` per peer;
//! - IAX2: `iax.conf` (+ `iax_custom.conf`, `iax_additional.conf`), `secret=`, `dbsecret=`,
//!   `auth=rsa`, `permit=`/`deny=`;
//! - PJSIP: `pjsip.conf` (+ every other `pjsip*.conf` not included), `type=auth` sections
//!   with `password=` (or `md5_cred=`), referenced by an endpoint's `auth=` (a phone) or
//!   `outbound_auth=` (a provider's credential); `pjsip_wizard.conf` `inbound_auth/password`.
//!
//! Each secret is judged (`weak`); nothing here holds a secret value: the scan keeps
//! verdicts. Replacing the weak ones is the extensions step (`crate::steps::asterisk`).

use super::{load, weak};

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::root::Root;
use crate::secrets::Secret;
use load::{ASTERISK_DIR, Loaded};
pub use weak::Reason;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Sip,
    Iax,
    Pjsip,
}

impl Channel {
    pub fn label(self) -> &'static str {
        match self {
            Channel::Sip => "SIP",
            Channel::Iax => "IAX2",
            Channel::Pjsip => "PJSIP",
        }
    }

    /// The Asterisk CLI commands that make the channel driver read its files again.
    pub fn reload_commands(self) -> &'static [&'static str] {
        match self {
            Channel::Sip => &["sip reload"],
            Channel::Iax => &["iax2 reload"],
            Channel::Pjsip => &[
                "module reload res_pjsip.so",
                "module reload res_pjsip_config_wizard.so",
            ],
        }
    }
}

/// Who uses the credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A phone that registers here (`host=dynamic`, an endpoint's inbound `auth=`).
    Phone,
    /// Our credential at a provider (`host=provider`, `outbound_auth=`).
    Trunk,
    /// Another server authenticates with it (an IAX `type=user`, a static host).
    Remote,
    /// A PJSIP auth section no endpoint references.
    Unused,
}

/// A configuration file and whether FreePBX regenerates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfFile {
    pub path: String,
    /// Why the file is not the admin's to edit; None when it is.
    pub generated: Option<String>,
}

/// Where a secret is set (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretAt {
    pub file: String,
    /// 0-based line.
    pub line: usize,
    /// `secret`, `password`, `inbound_auth/password`, ...
    pub key: String,
    /// The section that sets it: the peer's own, or a template it inherits from.
    pub section: String,
    pub inherited: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Problem {
    /// The secret is weak, for these reasons.
    Weak { reasons: Vec<Reason> },
    /// Accepts registrations (or calls, for an IAX user) with no secret.
    NoSecret,
    /// An IAX user (the stock `[guest]`) that takes calls with no secret and no permit/deny.
    OpenIax { context: Option<String> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub channel: Channel,
    /// Section name (`100`, `110-auth`, `guest`).
    pub name: String,
    /// `friend`, `peer`, `user`, `auth`, `endpoint`, `wizard` (or `?` when missing).
    pub kind: String,
    pub file: String,
    /// 0-based line of the section header.
    pub line: usize,
    /// The extension it belongs to (a PJSIP auth: the endpoint using it).
    pub extension: String,
    pub username: Option<String>,
    pub role: Role,
    pub secret: Option<SecretAt>,
    /// A hashed secret (`md5secret`, `md5_cred`) or one in the Asterisk database: not judged.
    pub opaque_secret: bool,
    pub problem: Option<Problem>,
}

impl Peer {
    /// `SIP peer 100`, `PJSIP auth 110-auth (endpoint 110)`.
    pub fn describe(&self) -> String {
        let mut s = format!("{} {} {}", self.channel.label(), self.kind, self.name);
        if self.extension != self.name {
            s.push_str(&format!(" (extension {})", self.extension));
        }
        s
    }
}

/// What the scan found under /etc/asterisk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    pub files: Vec<ConfFile>,
    pub peers: Vec<Peer>,
    /// Files that could not be read.
    pub errors: Vec<String>,
}

impl Scan {
    pub fn file(&self, path: &str) -> Option<&ConfFile> {
        self.files.iter().find(|f| f.path == path)
    }

    pub fn is_generated(&self, path: &str) -> bool {
        self.file(path).is_some_and(|f| f.generated.is_some())
    }

    pub fn problems(&self) -> impl Iterator<Item = (&Peer, &Problem)> {
        self.peers
            .iter()
            .filter_map(|p| p.problem.as_ref().map(|pr| (p, pr)))
    }
}

/// Why FreePBX (not the admin) owns a file, if it does.
pub fn generated_reason(path: &str, head: &str) -> Option<String> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let banner = head.lines().any(|l| {
        let t = l.trim_start();
        (t.starts_with(';') || t.starts_with('#')) && t.to_lowercase().contains("do not edit")
    });
    if banner {
        return Some("it says \"Do NOT edit\": FreePBX writes it".into());
    }
    if name.contains("_custom") {
        return None;
    }
    if name.ends_with("_additional.conf") {
        return Some("FreePBX regenerates *_additional.conf on every Apply Config".into());
    }
    if name.starts_with("pjsip.") && name.ends_with(".conf") && name != "pjsip.conf" {
        return Some(format!("FreePBX regenerates {name} on every Apply Config"));
    }
    if matches!(name, "sip_registrations.conf" | "iax_registrations.conf") {
        return Some(format!("FreePBX regenerates {name}"));
    }
    None
}

fn is_truthy(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "yes" | "true" | "y" | "t" | "1" | "on"
    )
}

/// Scan /etc/asterisk of the root.
pub fn scan(root: &Root) -> Scan {
    let mut out = Scan::default();
    if !root.exists(ASTERISK_DIR) {
        return out;
    }
    let d = |n: &str| format!("{ASTERISK_DIR}/{n}");
    let sip = Loaded::load(
        root,
        &d("sip.conf"),
        &[d("sip_custom.conf"), d("sip_additional.conf")],
    );
    let iax = Loaded::load(
        root,
        &d("iax.conf"),
        &[d("iax_custom.conf"), d("iax_additional.conf")],
    );
    let pj_extra: Vec<String> = root
        .glob(&d("pjsip*.conf"))
        .into_iter()
        .filter(|p| !p.ends_with("/pjsip_wizard.conf") && !p.ends_with("/pjsip_notify.conf"))
        .collect();
    let pjsip = Loaded::load(root, &d("pjsip.conf"), &pj_extra);
    let wizard = Loaded::load(root, &d("pjsip_wizard.conf"), &[]);
    for l in [&sip, &iax, &pjsip, &wizard] {
        for f in &l.files {
            if out.file(f).is_none() {
                out.files.push(ConfFile {
                    path: f.clone(),
                    generated: generated_reason(f, l.head_of(f)),
                });
            }
        }
        out.errors.extend(l.errors.iter().cloned());
    }
    let mut jobs = Vec::new();
    scan_chan_sip(&sip, &mut out.peers, &mut jobs);
    scan_iax(&iax, &mut out.peers, &mut jobs);
    scan_pjsip(&pjsip, &mut out.peers, &mut jobs);
    scan_wizard(&wizard, &mut out.peers, &mut jobs);
    run_jobs(&mut out.peers, jobs);
    out
}

fn secret_at(l: &Loaded, idx: usize, key: &str) -> Option<(SecretAt, String)> {
    let (e, from) = l.lookup(idx, key)?;
    Some((
        SecretAt {
            file: e.file.clone(),
            line: e.line,
            key: key.to_string(),
            section: l.sections[from].name.clone(),
            inherited: from != idx,
        },
        load::unescape(&e.value),
    ))
}

fn val(l: &Loaded, idx: usize, key: &str) -> Option<String> {
    l.lookup(idx, key).map(|(e, _)| e.value.clone())
}

/// A secret to judge once the scan is done (zxcvbn is the slow part: the judgments run
/// on every core).
struct Job {
    peer: usize,
    value: Secret,
    names: Vec<(&'static str, String)>,
}

/// Queue a non-empty secret for judging; its peer is the next one pushed to `out`.
fn judge(
    jobs: &mut Vec<Job>,
    out: &[Peer],
    value: &str,
    names: &[(&'static str, &str)],
) -> Option<Problem> {
    jobs.push(Job {
        peer: out.len(),
        value: Secret::new(value),
        names: names.iter().map(|(w, n)| (*w, n.to_string())).collect(),
    });
    None
}

fn run_jobs(peers: &mut [Peer], jobs: Vec<Job>) {
    let one = |judge: &mut weak::Judge, j: &Job| {
        let names: Vec<(&str, &str)> = j.names.iter().map(|(w, n)| (*w, n.as_str())).collect();
        (j.peer, judge.assess(j.value.expose(), &names))
    };
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    let results: Vec<(usize, Vec<Reason>)> = if threads < 2 || jobs.len() < 32 {
        let mut judge = weak::Judge::default();
        jobs.iter().map(|j| one(&mut judge, j)).collect()
    } else {
        let size = jobs.len().div_ceil(threads);
        std::thread::scope(|sc| {
            let handles: Vec<_> = jobs
                .chunks(size)
                .map(|c| {
                    sc.spawn(move || {
                        let mut judge = weak::Judge::default();
                        c.iter().map(|j| one(&mut judge, j)).collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    };
    for (i, reasons) in results {
        if !reasons.is_empty()
            && let Some(p) = peers.get_mut(i)
        {
            p.problem = Some(Problem::Weak { reasons });
        }
    }
}

fn peer_names<'a>(
    name: &'a str,
    extension: &'a str,
    user: &'a [String],
) -> Vec<(&'static str, &'a str)> {
    let mut v = vec![("extension", extension)];
    if name != extension {
        v.push(("section name", name));
    }
    for u in user {
        v.push(("user name", u.as_str()));
    }
    v
}

fn scan_chan_sip(l: &Loaded, out: &mut Vec<Peer>, jobs: &mut Vec<Job>) {
    for (i, s) in l.sections.iter().enumerate() {
        let lname = s.name.to_ascii_lowercase();
        if s.is_template || lname == "general" || lname == "authentication" {
            continue;
        }
        let kind = val(l, i, "type").map(|t| t.to_ascii_lowercase());
        let host = val(l, i, "host").unwrap_or_default();
        let dynamic = host.eq_ignore_ascii_case("dynamic");
        let users: Vec<String> = ["username", "defaultuser", "fromuser", "authuser"]
            .iter()
            .filter_map(|k| val(l, i, k))
            .filter(|u| !u.is_empty())
            .collect();
        let secret = secret_at(l, i, "secret").filter(|(_, v)| !v.is_empty());
        let md5 = val(l, i, "md5secret").is_some_and(|v| !v.is_empty());
        if kind.is_none() && secret.is_none() && !md5 {
            continue; // not a peer (a section chan_sip skips)
        }
        let kind_s = kind.clone().unwrap_or_else(|| "?".into());
        let role = if dynamic {
            Role::Phone
        } else if !host.is_empty() || kind.as_deref() == Some("peer") {
            Role::Trunk
        } else {
            Role::Remote
        };
        let problem = match &secret {
            Some((_, v)) => judge(jobs, out, v, &peer_names(&s.name, &s.name, &users)),
            None if !md5 && dynamic && kind.as_deref() != Some("user") => Some(Problem::NoSecret),
            None => None,
        };
        out.push(Peer {
            channel: Channel::Sip,
            name: s.name.clone(),
            kind: kind_s,
            file: s.file.clone(),
            line: s.line,
            extension: s.name.clone(),
            username: users.first().cloned(),
            role,
            secret: secret.map(|(a, _)| a),
            opaque_secret: md5,
            problem,
        });
    }
}

fn scan_iax(l: &Loaded, out: &mut Vec<Peer>, jobs: &mut Vec<Job>) {
    for (i, s) in l.sections.iter().enumerate() {
        if s.is_template || s.name.eq_ignore_ascii_case("general") {
            continue;
        }
        let Some(kind) = val(l, i, "type").map(|t| t.to_ascii_lowercase()) else {
            continue;
        };
        if !matches!(kind.as_str(), "user" | "peer" | "friend") {
            continue;
        }
        let host = val(l, i, "host").unwrap_or_default();
        let dynamic = host.eq_ignore_ascii_case("dynamic");
        let users: Vec<String> = val(l, i, "username")
            .filter(|u| !u.is_empty())
            .into_iter()
            .collect();
        let secret = secret_at(l, i, "secret").filter(|(_, v)| !v.is_empty());
        let db = val(l, i, "dbsecret").is_some_and(|v| !v.is_empty());
        let rsa = val(l, i, "auth").is_some_and(|a| a.to_ascii_lowercase().contains("rsa"))
            && val(l, i, "inkeys").is_some_and(|k| !k.is_empty());
        let restricted = acl_restricts(l, i);
        let takes_calls = kind != "peer";
        let role = if dynamic {
            Role::Phone
        } else if kind == "peer" || !host.is_empty() {
            Role::Trunk
        } else {
            Role::Remote
        };
        let problem = match &secret {
            Some((_, v)) => judge(jobs, out, v, &peer_names(&s.name, &s.name, &users)),
            None if db || rsa => None,
            None if takes_calls && !restricted => Some(Problem::OpenIax {
                context: val(l, i, "context"),
            }),
            None if dynamic => Some(Problem::NoSecret),
            None => None,
        };
        out.push(Peer {
            channel: Channel::Iax,
            name: s.name.clone(),
            kind,
            file: s.file.clone(),
            line: s.line,
            extension: s.name.clone(),
            username: users.first().cloned(),
            role,
            secret: secret.map(|(a, _)| a),
            opaque_secret: db,
            problem,
        });
    }
}

/// Do `permit`/`deny`/`acl` limit who may use the section? Without a `deny` a `permit`
/// changes nothing, and FreePBX's `deny=0.0.0.0/0.0.0.0` + `permit=0.0.0.0/0.0.0.0`
/// lets everyone in.
fn acl_restricts(l: &Loaded, idx: usize) -> bool {
    if !l.all(idx, "acl").is_empty() {
        return true;
    }
    let everyone = |v: &str| {
        let v = v.trim();
        matches!(
            v,
            "0.0.0.0/0" | "0.0.0.0/0.0.0.0" | "::/0" | "0.0.0.0" | "any"
        )
    };
    !l.all(idx, "deny").is_empty() && !l.all(idx, "permit").iter().any(|e| everyone(&e.value))
}

fn list(v: Option<String>) -> Vec<String> {
    v.map(|s| {
        s.split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

fn scan_pjsip(l: &Loaded, out: &mut Vec<Peer>, jobs: &mut Vec<Job>) {
    let kind_of = |i: usize| val(l, i, "type").map(|t| t.to_ascii_lowercase());
    // name -> endpoints that use it inbound / outbound
    let mut inbound: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut outbound: BTreeSet<String> = BTreeSet::new();
    let mut max_contacts: BTreeMap<String, u32> = BTreeMap::new();
    for (i, s) in l.sections.iter().enumerate() {
        if s.is_template {
            continue;
        }
        match kind_of(i).as_deref() {
            Some("endpoint") => {
                for a in list(val(l, i, "auth")) {
                    inbound.entry(a).or_default().push(s.name.clone());
                }
                outbound.extend(list(val(l, i, "outbound_auth")));
            }
            Some("registration") => outbound.extend(list(val(l, i, "outbound_auth"))),
            Some("aor") => {
                let n = val(l, i, "max_contacts")
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                max_contacts.insert(s.name.clone(), n);
            }
            _ => {}
        }
    }
    for (i, s) in l.sections.iter().enumerate() {
        if s.is_template {
            continue;
        }
        match kind_of(i).as_deref() {
            Some("auth") => {
                let users: Vec<String> = val(l, i, "username")
                    .filter(|u| !u.is_empty())
                    .into_iter()
                    .collect();
                let users_of = inbound.get(&s.name).cloned().unwrap_or_default();
                let extension = users_of.first().cloned().unwrap_or_else(|| {
                    let n = s.name.as_str();
                    n.strip_suffix("-auth")
                        .or_else(|| n.strip_suffix("_auth"))
                        .unwrap_or(n)
                        .to_string()
                });
                let role = if !users_of.is_empty() {
                    Role::Phone
                } else if outbound.contains(&s.name) {
                    Role::Trunk
                } else {
                    Role::Unused
                };
                let auth_type = val(l, i, "auth_type")
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let secret = secret_at(l, i, "password").filter(|(_, v)| !v.is_empty());
                let hashed = auth_type == "md5"
                    || val(l, i, "md5_cred").is_some_and(|v| !v.is_empty())
                    || val(l, i, "password_digest").is_some_and(|v| !v.is_empty());
                let opaque = secret.is_none() && hashed;
                let problem = match &secret {
                    Some((_, v)) if auth_type != "md5" => {
                        judge(jobs, out, v, &peer_names(&s.name, &extension, &users))
                    }
                    None if !opaque && role == Role::Phone => Some(Problem::NoSecret),
                    _ => None,
                };
                out.push(Peer {
                    channel: Channel::Pjsip,
                    name: s.name.clone(),
                    kind: "auth".into(),
                    file: s.file.clone(),
                    line: s.line,
                    extension,
                    username: users.first().cloned(),
                    role,
                    secret: secret.map(|(a, _)| a),
                    opaque_secret: opaque,
                    problem,
                });
            }
            Some("endpoint") => {
                // Registrations accepted (an AOR with max_contacts) with no inbound auth.
                let registers = list(val(l, i, "aors"))
                    .iter()
                    .any(|a| max_contacts.get(a).copied().unwrap_or(0) > 0);
                if registers && list(val(l, i, "auth")).is_empty() {
                    out.push(Peer {
                        channel: Channel::Pjsip,
                        name: s.name.clone(),
                        kind: "endpoint".into(),
                        file: s.file.clone(),
                        line: s.line,
                        extension: s.name.clone(),
                        username: None,
                        role: Role::Phone,
                        secret: None,
                        opaque_secret: false,
                        problem: Some(Problem::NoSecret),
                    });
                }
            }
            _ => {}
        }
    }
}

fn scan_wizard(l: &Loaded, out: &mut Vec<Peer>, jobs: &mut Vec<Job>) {
    for (i, s) in l.sections.iter().enumerate() {
        if s.is_template || !val(l, i, "type").is_some_and(|t| t.eq_ignore_ascii_case("wizard")) {
            continue;
        }
        let registers = val(l, i, "accepts_registrations").is_some_and(|v| is_truthy(&v));
        let accepts_auth = val(l, i, "accepts_auth").is_some_and(|v| is_truthy(&v));
        for (dir, key, role) in [
            (
                "inbound",
                "inbound_auth/password",
                if registers { Role::Phone } else { Role::Remote },
            ),
            ("outbound", "outbound_auth/password", Role::Trunk),
        ] {
            let users: Vec<String> = val(l, i, &format!("{dir}_auth/username"))
                .filter(|u| !u.is_empty())
                .into_iter()
                .collect();
            let secret = secret_at(l, i, key).filter(|(_, v)| !v.is_empty());
            let problem = match &secret {
                Some((_, v)) => judge(jobs, out, v, &peer_names(&s.name, &s.name, &users)),
                None if dir == "inbound" && registers && !accepts_auth => Some(Problem::NoSecret),
                None => None,
            };
            if secret.is_none() && problem.is_none() {
                continue;
            }
            out.push(Peer {
                channel: Channel::Pjsip,
                name: s.name.clone(),
                kind: if dir == "inbound" {
                    "wizard".into()
                } else {
                    "wizard outbound_auth".into()
                },
                file: s.file.clone(),
                line: s.line,
                extension: s.name.clone(),
                username: users.first().cloned(),
                role,
                secret: secret.map(|(a, _)| a),
                opaque_secret: false,
                problem,
            });
        }
    }
}

// ----- what to tell the admin -----

/// What to do about a weak secret that pbx-harden does not change itself (None: rotate).
pub fn manual_fix(scan: &Scan, p: &Peer) -> Option<String> {
    let sec = p.secret.as_ref()?;
    if let Some(f) = scan.file(&sec.file)
        && let Some(why) = &f.generated
    {
        let what = match p.role {
            Role::Trunk => format!(
                "ask the provider for a long random secret and enter it for trunk {} in the \
                 FreePBX web interface (Connectivity -> Trunks)",
                p.name
            ),
            Role::Remote => format!(
                "change the secret of {} in the FreePBX web interface (Connectivity -> Trunks) \
                 and on the other server at the same time",
                p.name
            ),
            Role::Phone | Role::Unused => format!(
                "set a new secret for extension {} in the FreePBX web interface (Applications \
                 -> Extensions; Setup -> Extensions on trixbox) and re-provision the phone",
                p.extension
            ),
        };
        return Some(format!(
            "{} is not edited ({why}): {what}, then Apply Config",
            sec.file
        ));
    }
    match p.role {
        Role::Trunk => {
            return Some(
                "a trunk's secret is the provider's: ask the provider for a long random one".into(),
            );
        }
        Role::Remote => {
            return Some(
                "another server authenticates with it: change it on both ends at once".into(),
            );
        }
        Role::Phone | Role::Unused => {}
    }
    if sec.inherited {
        return Some(format!(
            "the secret comes from template [{}], which other peers share: give {} a secret= \
             line of its own",
            sec.section, p.name
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_files() {
        assert!(generated_reason("/etc/asterisk/sip_additional.conf", "").is_some());
        assert!(generated_reason("/etc/asterisk/pjsip.auth.conf", "").is_some());
        assert!(generated_reason("/etc/asterisk/pjsip.auth_custom.conf", "").is_none());
        assert!(generated_reason("/etc/asterisk/sip_custom.conf", "").is_none());
        assert!(generated_reason("/etc/asterisk/sip.conf", "; plain\n").is_none());
        assert!(
            generated_reason("/etc/asterisk/pjsip.conf", ";  Do NOT edit this file\n").is_some()
        );
    }
}
