//! APF's trust files (`allow_hosts.rules`, `deny_hosts.rules`, and the `glob_*` files that use
//! the same format): strict validation of the hosts that go into them, and an editor that
//! writes entries exactly as the installed version's `apf -a` / `apf -d` would, removes
//! exactly one entry and its comment (APF 9.7 and 1.7.6 remove every line that merely
//! *contains* the address, so `apf -u 198.51.100.7` also drops `198.51.100.77`), lists the
//! entries with their comments (the wizard's hosts screen) and edits the comment of an entry
//! in place (its `# added … on DATE` keeps the date).
//!
//! What each version writes (comment line, then the entry; date is `%D %H:%M:%S`):
//!
//! | version | comment line | after the entry |
//! |---|---|---|
//! | 2.x | `# added HOST on DATE addedtime=EPOCH[ with comment: CMT]` | nothing |
//! | 1.7.x | `# added HOST on DATE[ with comment: CMT]` | nothing |
//! | 9.x | `# added HOST on DATE with comment: CMT` + 7 spaces (`"$2 $3 … $9"`) | a blank line (allow only) |

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::config::text::Text;

/// The shape of the trust files of an APF release line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustFormat {
    /// 9.x (and the 0.9.x it renamed): `grep -v "#"`, comment always has `with comment:`.
    Apf9,
    /// 1.7.x: `grep -v "#"`, comment suffix only with a comment.
    Apf17,
    /// 2.x: `grep -v '^#'`, `addedtime=` in the comment.
    Apf2,
}

impl TrustFormat {
    /// From the `version:` of APF's VERSION file (`9.7-2`, `1.7.6-2`, `2.0.2`).
    pub fn from_version(v: &str) -> Option<TrustFormat> {
        let major: u32 = v.trim().split(['.', '-']).next()?.trim().parse().ok()?;
        let minor: u32 = v.trim().split(['.', '-']).nth(1)?.trim().parse().ok()?;
        Some(match (major, minor) {
            (0, _) | (9.., _) => TrustFormat::Apf9,
            (1, _) => TrustFormat::Apf17,
            _ => TrustFormat::Apf2,
        })
    }

    /// Is this line a comment (ignored by APF when it loads the file)?
    pub fn is_comment(self, line: &str) -> bool {
        match self {
            TrustFormat::Apf2 => line.starts_with('#'),
            // 9.x / 1.7.x load with `grep -v "#"`: a '#' anywhere drops the line.
            TrustFormat::Apf9 | TrustFormat::Apf17 => line.contains('#'),
        }
    }

    /// Does APF understand IPv6 addresses in the trust files at all?
    pub fn has_ipv6(self) -> bool {
        !matches!(self, TrustFormat::Apf9)
    }
}

/// A host as APF's trust system takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Ip(IpAddr),
    Net(IpAddr, u8),
    Fqdn(String),
}

impl Host {
    /// Whether this host covers `ip`; `None` for a name (it is resolved by APF, not here).
    pub fn covers(&self, ip: IpAddr) -> Option<bool> {
        match self {
            Host::Ip(a) => Some(same_ip(*a, ip)),
            Host::Net(net, len) => Some(net_contains(*net, *len, ip)),
            Host::Fqdn(_) => None,
        }
    }

    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::Ip(a) | Host::Net(a, _) => Some(*a),
            Host::Fqdn(_) => None,
        }
    }

    pub fn is_v6(&self) -> bool {
        matches!(self.ip(), Some(IpAddr::V6(_)))
    }
}

/// IPv4-mapped IPv6 addresses compare equal to their IPv4 form.
fn canon(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    canon(a) == canon(b)
}

/// Is `ip` inside `net/len`?
pub fn net_contains(net: IpAddr, len: u8, ip: IpAddr) -> bool {
    match (canon(net), canon(ip)) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let len = u32::from(len.min(32));
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let len = u32::from(len.min(128));
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Source,
    Dest,
}

/// `proto:flow:[s|d]=port:[s|d]=host` (4, 5 or 6 fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advanced {
    /// "tcp" / "udp"; None: both.
    pub proto: Option<String>,
    /// "in" / "out"; None: both.
    pub direction: Option<String>,
    pub port_flow: Flow,
    pub ports: (u16, u16),
    pub host_flow: Flow,
    pub host: Host,
}

impl Advanced {
    pub fn covers_port(&self, port: u16) -> bool {
        (self.ports.0..=self.ports.1).contains(&port)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Plain(Host),
    Advanced(Advanced),
}

impl Entry {
    pub fn host(&self) -> &Host {
        match self {
            Entry::Plain(h) => h,
            Entry::Advanced(a) => &a.host,
        }
    }
}

fn is_dotted_numeric(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// Parse one host: an IPv4 or IPv6 address, a CIDR network, or a fully qualified name.
/// Errors are sentences that name the text and say how to write it.
pub fn parse_host(s: &str) -> Result<Host, String> {
    if s.is_empty() {
        return Err("an empty host".into());
    }
    if s.chars().any(|c| c.is_whitespace()) || s.contains('#') {
        return Err(format!(
            "\"{s}\" is not one host: spaces and \"#\" are not allowed (APF would skip or split \
             the line); put remarks into comment"
        ));
    }
    if let Some((addr, len)) = s.split_once('/') {
        if addr.is_empty() || len.is_empty() {
            return Err(format!(
                "\"{s}\" is not a network: write it like 192.0.2.0/24"
            ));
        }
        if !addr.contains(':') && !addr.contains('.') {
            return Err(format!(
                "\"{s}\": write the network in full, e.g. 0.0.0.0/0 or 10.0.0.0/8 (APF rejects \
                 the short form)"
            ));
        }
        let ip = parse_ip(addr).map_err(|e| format!("\"{s}\": {e}"))?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let len: u8 = match len.parse::<u16>() {
            Ok(n) if n <= max && !len.starts_with('+') && (len == "0" || !len.starts_with('0')) => {
                n as u8
            }
            _ => {
                return Err(format!(
                    "\"{s}\": /{len} is not a prefix length for {} (0-{max})",
                    if ip.is_ipv4() { "IPv4" } else { "IPv6" }
                ));
            }
        };
        if !net_is_aligned(ip, len) {
            return Err(format!(
                "\"{s}\" has host bits set: the network is {}/{len}",
                network_of(ip, len)
            ));
        }
        return Ok(if u16::from(len) == max {
            Host::Ip(ip)
        } else {
            Host::Net(ip, len)
        });
    }
    if s.contains(':') || is_dotted_numeric(s) {
        return parse_ip(s)
            .map(Host::Ip)
            .map_err(|e| format!("\"{s}\": {e}"));
    }
    parse_fqdn(s).map(|()| Host::Fqdn(s.to_string()))
}

fn parse_ip(s: &str) -> Result<IpAddr, String> {
    if s.contains(':') {
        if s.contains('%') {
            return Err("an IPv6 zone (%...) can not be used in a firewall rule".into());
        }
        return s
            .parse::<Ipv6Addr>()
            .map(IpAddr::V6)
            .map_err(|_| "not a valid IPv6 address".into());
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 4 {
        return Err(format!(
            "not a complete IPv4 address ({} of 4 numbers; APF would look it up as a host name)",
            parts.len()
        ));
    }
    for p in &parts {
        if p.is_empty() || p.len() > 3 || p.parse::<u16>().map_or(true, |n| n > 255) {
            return Err(format!("\"{p}\" is not a number 0-255"));
        }
        if p.len() > 1 && p.starts_with('0') {
            return Err(format!(
                "\"{p}\" has a leading zero (some tools read it as octal)"
            ));
        }
    }
    s.parse::<Ipv4Addr>()
        .map(IpAddr::V4)
        .map_err(|_| "not a valid IPv4 address".into())
}

fn parse_fqdn(s: &str) -> Result<(), String> {
    let name = s.strip_suffix('.').unwrap_or(s);
    if name.len() > 253 {
        return Err(format!("\"{s}\" is longer than a host name can be (253)"));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err(format!(
            "\"{s}\" is not a fully qualified name (e.g. pbx2.example.com) nor an address"
        ));
    }
    for l in &labels {
        if l.is_empty() || l.len() > 63 {
            return Err(format!("\"{s}\": a part of the name is empty or too long"));
        }
        if !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(format!(
                "\"{s}\" is not a host name: only letters, digits, \"-\" and \".\" are allowed"
            ));
        }
        if l.starts_with('-') || l.ends_with('-') {
            return Err(format!(
                "\"{s}\": a part of a host name can not start or end with \"-\""
            ));
        }
    }
    let tld = labels.last().copied().unwrap_or("");
    if !tld.chars().any(|c| c.is_ascii_alphabetic()) {
        return Err(format!("\"{s}\" is neither an address nor a host name"));
    }
    Ok(())
}

fn net_is_aligned(ip: IpAddr, len: u8) -> bool {
    network_of(ip, len) == ip
}

fn network_of(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let l = u32::from(len.min(32));
            let mask = if l == 0 { 0 } else { u32::MAX << (32 - l) };
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
        }
        IpAddr::V6(a) => {
            let l = u32::from(len.min(128));
            let mask = if l == 0 { 0 } else { u128::MAX << (128 - l) };
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
        }
    }
}

/// A port or an APF range (`22`, `10000_20000`).
fn parse_apf_port(s: &str) -> Result<(u16, u16), String> {
    let one = |p: &str| -> Result<u16, String> {
        match p.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) && !p.starts_with('+') => Ok(n as u16),
            _ => Err(format!("\"{p}\" is not a port (1-65535)")),
        }
    };
    match s.split_once('_') {
        Some((lo, hi)) => {
            let (lo, hi) = (one(lo)?, one(hi)?);
            if lo >= hi {
                return Err(format!(
                    "\"{s}\": the low port must come first and be lower"
                ));
            }
            Ok((lo, hi))
        }
        None => one(s).map(|p| (p, p)),
    }
}

fn parse_flow(s: &str) -> Option<Flow> {
    match s {
        "s" => Some(Flow::Source),
        "d" => Some(Flow::Dest),
        _ => None,
    }
}

const ADVANCED_FORMS: &str =
    "write it as tcp:in:d=22:s=192.0.2.1, in:d=22:s=192.0.2.1 or d=22:s=192.0.2.1";

/// Parse a trust entry: a plain host, or the advanced `proto:flow:d=PORT:s=HOST` form.
pub fn parse_entry(s: &str, fmt: TrustFormat) -> Result<Entry, String> {
    if !s.contains('=') {
        let h = parse_host(s)?;
        if h.is_v6() && !fmt.has_ipv6() {
            return Err(format!(
                "\"{s}\": this APF version has no IPv6 support in its trust files"
            ));
        }
        return Ok(Entry::Plain(h));
    }
    if s.chars().any(|c| c.is_whitespace()) || s.contains('#') {
        return Err(format!(
            "\"{s}\": spaces and \"#\" are not allowed in a trust entry"
        ));
    }
    // Protect a bracketed IPv6 address from the ':' split (2.x syntax).
    let (safe, v6) = match (s.find('['), s.find(']')) {
        (Some(a), Some(b)) if a < b => {
            if fmt != TrustFormat::Apf2 {
                return Err(format!("\"{s}\": IPv6 in an advanced entry needs APF 2.x"));
            }
            (
                format!("{}@V6@{}", &s[..a], &s[b + 1..]),
                Some(s[a + 1..b].to_string()),
            )
        }
        (None, None) => (s.to_string(), None),
        _ => return Err(format!("\"{s}\": unbalanced [ ]")),
    };
    let fields: Vec<&str> = safe.split(':').collect();
    let (pre, kv) = match fields.len() {
        2..=4 => fields.split_at(fields.len() - 2),
        _ => return Err(format!("\"{s}\" is not a trust entry: {ADVANCED_FORMS}")),
    };
    let (mut proto, mut direction) = (None, None);
    match pre {
        [] => {}
        [d] => direction = Some(*d),
        [p, d] => {
            proto = Some(*p);
            direction = Some(*d);
        }
        _ => unreachable!(),
    }
    if let Some(p) = proto
        && p != "tcp"
        && p != "udp"
    {
        return Err(format!(
            "\"{s}\": \"{p}\" is not a protocol (tcp or udp); {ADVANCED_FORMS}"
        ));
    }
    if let Some(d) = direction
        && d != "in"
        && d != "out"
    {
        return Err(format!(
            "\"{s}\": \"{d}\" is not a direction (in or out); {ADVANCED_FORMS}"
        ));
    }
    let (pf, port) = kv[0]
        .split_once('=')
        .ok_or_else(|| format!("\"{s}\": {ADVANCED_FORMS}"))?;
    let (hf, host) = kv[1]
        .split_once('=')
        .ok_or_else(|| format!("\"{s}\": {ADVANCED_FORMS}"))?;
    let port_flow = parse_flow(pf)
        .ok_or_else(|| format!("\"{s}\": \"{pf}=\" must be s= or d=; {ADVANCED_FORMS}"))?;
    let host_flow = parse_flow(hf)
        .ok_or_else(|| format!("\"{s}\": \"{hf}=\" must be s= or d=; {ADVANCED_FORMS}"))?;
    let ports = parse_apf_port(port).map_err(|e| format!("\"{s}\": {e}"))?;
    let host_text = if host == "@V6@" {
        v6.clone().unwrap_or_default()
    } else if host.contains("@V6@") {
        return Err(format!("\"{s}\": {ADVANCED_FORMS}"));
    } else {
        host.to_string()
    };
    let h = parse_host(&host_text).map_err(|e| format!("in \"{s}\": {e}"))?;
    if h.is_v6() && v6.is_none() {
        return Err(format!(
            "\"{s}\": put the IPv6 address in brackets, e.g. d=22:s=[2001:db8::1]"
        ));
    }
    Ok(Entry::Advanced(Advanced {
        proto: proto.map(str::to_string),
        direction: direction.map(str::to_string),
        port_flow,
        ports,
        host_flow,
        host: h,
    }))
}

/// An entry as APF loads it from a file, for checks: like `parse_entry`, but a network with
/// host bits set counts as its network (iptables masks them), as APF would apply it.
pub fn loaded_entry(token: &str) -> Option<Entry> {
    if let Ok(e) = parse_entry(token, TrustFormat::Apf2) {
        return Some(e);
    }
    let (head, host) = match token.rfind('=') {
        Some(i) => token.split_at(i + 1),
        None => ("", token),
    };
    let (addr, len) = host.split_once('/')?;
    let ip = parse_ip(addr.trim_matches(['[', ']'])).ok()?;
    let len: u8 = len.parse().ok()?;
    let net = network_of(ip, len);
    let fixed = match (net, host.starts_with('[')) {
        (IpAddr::V6(n), true) => format!("{head}[{n}/{len}]"),
        (n, _) => format!("{head}{n}/{len}"),
    };
    parse_entry(&fixed, TrustFormat::Apf2).ok()
}

/// Check the free text of a comment.
pub fn check_comment(c: &str) -> Result<(), String> {
    if c.chars().any(|ch| ch.is_control()) {
        return Err("a comment must be one line of text (no control characters)".into());
    }
    if c.len() > 200 {
        return Err("a comment is limited to 200 characters".into());
    }
    Ok(())
}

/// Which trust file: it decides the 9.x blank line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Allow,
    Deny,
}

unsafe extern "C" {
    fn tzset();
}

/// The time written into the comment line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// `%D %H:%M:%S` in local time (`MM/DD/YY HH:MM:SS`).
    pub date: String,
    pub epoch: i64,
}

impl Stamp {
    /// Now, or `SOURCE_DATE_EPOCH` when set (reproducible plans and tests).
    pub fn now() -> Stamp {
        let epoch = std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs() as i64)
                    .unwrap_or(0)
            });
        Stamp::at(epoch)
    }

    /// The local time of `epoch` (TZ applies, as it does for `date`).
    pub fn at(epoch: i64) -> Stamp {
        // SAFETY: localtime_r writes only into the tm we pass; tzset reads TZ.
        let tm = unsafe {
            // musl marks its time_t alias deprecated (it widens in musl 1.2); the value fits.
            #[allow(deprecated)]
            let t: libc::time_t = epoch as libc::time_t;
            let mut tm: libc::tm = std::mem::zeroed();
            tzset();
            if libc::localtime_r(&t, &mut tm).is_null() {
                None
            } else {
                Some(tm)
            }
        };
        let date = match tm {
            Some(tm) => format!(
                "{:02}/{:02}/{:02} {:02}:{:02}:{:02}",
                tm.tm_mon + 1,
                tm.tm_mday,
                (tm.tm_year + 1900).rem_euclid(100),
                tm.tm_hour,
                tm.tm_min,
                tm.tm_sec
            ),
            None => "01/01/70 00:00:00".into(),
        };
        Stamp { date, epoch }
    }
}

/// The lines `apf -a` / `apf -d` append for `entry`.
pub fn added_lines(
    entry: &str,
    comment: Option<&str>,
    kind: Kind,
    fmt: TrustFormat,
    stamp: &Stamp,
) -> Vec<String> {
    let c = comment.map(str::trim).filter(|c| !c.is_empty());
    let mut out = Vec::new();
    match fmt {
        TrustFormat::Apf2 => out.push(match c {
            Some(c) => format!(
                "# added {entry} on {} addedtime={} with comment: {c}",
                stamp.date, stamp.epoch
            ),
            None => format!(
                "# added {entry} on {} addedtime={}",
                stamp.date, stamp.epoch
            ),
        }),
        TrustFormat::Apf17 => out.push(match c {
            Some(c) => format!("# added {entry} on {} with comment: {c}", stamp.date),
            None => format!("# added {entry} on {}", stamp.date),
        }),
        // CMT="$2 $3 $4 $5 $6 $7 $8 $9": the comment and seven separating spaces.
        TrustFormat::Apf9 => out.push(format!(
            "# added {entry} on {} with comment: {}       ",
            stamp.date,
            c.unwrap_or("")
        )),
    }
    out.push(entry.to_string());
    if fmt == TrustFormat::Apf9 && kind == Kind::Allow {
        out.push(String::new());
    }
    out
}

/// A trust file, edited line by line; untouched lines keep their bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustFile {
    pub text: Text,
    pub format: TrustFormat,
}

impl TrustFile {
    pub fn parse(bytes: &[u8], format: TrustFormat) -> TrustFile {
        TrustFile {
            text: Text::parse(bytes),
            format,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.text.to_bytes()
    }

    /// The entries APF loads from this file (it splits lines on white space).
    pub fn entries(&self) -> Vec<String> {
        self.text
            .lines
            .iter()
            .filter(|l| !self.format.is_comment(&l.text))
            .flat_map(|l| l.text.split_whitespace().map(str::to_string))
            .collect()
    }

    /// Is exactly this entry loaded from the file?
    pub fn contains(&self, entry: &str) -> bool {
        self.entries().iter().any(|e| e == entry)
    }

    /// Append `entry` the way the CLI does; false (no change) when it is already there.
    pub fn add(&mut self, entry: &str, comment: Option<&str>, kind: Kind, stamp: &Stamp) -> bool {
        if self.contains(entry) {
            return false;
        }
        for line in added_lines(entry, comment, kind, self.format, stamp) {
            let at = self.text.len();
            self.text.insert(at, line);
        }
        true
    }

    /// The entries with the comment of their `# added ENTRY on … with comment: CMT` line (or
    /// of a `# CMT` line right above a line holding only the entry), in file order; each entry
    /// once.
    pub fn listed(&self) -> Vec<(String, Option<String>)> {
        let mut out: Vec<(String, Option<String>)> = Vec::new();
        for (i, l) in self.text.lines.iter().enumerate() {
            if self.format.is_comment(&l.text) {
                continue;
            }
            for e in l.text.split_whitespace() {
                if out.iter().any(|(x, _)| x == e) {
                    continue;
                }
                let above = i
                    .checked_sub(1)
                    .map(|j| self.text.lines[j].text.as_str())
                    .filter(|a| {
                        a.starts_with('#')
                            && !a.starts_with("##")
                            && !a.starts_with("# added ")
                            && l.text.trim() == e
                    })
                    .map(|a| a.trim_start_matches('#').trim().to_string());
                let c = self.comment_of(e).or(above).filter(|c| !c.is_empty());
                out.push((e.to_string(), c));
            }
        }
        out
    }

    /// The comment APF wrote for `entry` (`# added ENTRY on DATE … with comment: CMT`).
    pub fn comment_of(&self, entry: &str) -> Option<String> {
        let prefix = format!("# added {entry} on ");
        self.text
            .lines
            .iter()
            .find(|l| l.text.starts_with(&prefix))
            .and_then(|l| {
                l.text
                    .split_once(" with comment: ")
                    .map(|(_, c)| c.trim().to_string())
            })
            .filter(|c| !c.is_empty())
    }

    /// Give `entry` (already in the file) the comment `comment`: its `# added …` line is
    /// edited (the date kept), or one is written above a line holding only the entry. False
    /// when the comment is already that one, or the entry shares its line with others.
    pub fn set_comment(&mut self, entry: &str, comment: &str, kind: Kind, stamp: &Stamp) -> bool {
        let comment = comment.trim();
        if comment.is_empty() || self.comment_of(entry).as_deref() == Some(comment) {
            return false;
        }
        let prefix = format!("# added {entry} on ");
        let tail = |c: &str| match self.format {
            TrustFormat::Apf9 => format!(" with comment: {c}       "),
            _ => format!(" with comment: {c}"),
        };
        if let Some(i) = self
            .text
            .lines
            .iter()
            .position(|l| l.text.starts_with(&prefix))
        {
            let old = self.text.lines[i].text.clone();
            let head = old
                .split_once(" with comment: ")
                .map_or(old.trim_end(), |(h, _)| h);
            self.text.lines[i].text = format!("{head}{}", tail(comment));
            return true;
        }
        let Some(at) = self
            .text
            .lines
            .iter()
            .position(|l| !self.format.is_comment(&l.text) && l.text.trim() == entry)
        else {
            return false;
        };
        let line = added_lines(entry, Some(comment), kind, self.format, stamp).remove(0);
        self.text.insert(at, line);
        true
    }

    /// Remove exactly `entry` and its `# added ENTRY on …` comment; true when something went.
    /// `198.51.100.7` never takes `198.51.100.77` with it.
    pub fn remove(&mut self, entry: &str) -> bool {
        let comment_prefix = format!("# added {entry} ");
        let n = self.text.len();
        let mut drop = vec![false; n];
        let mut changed = false;
        for i in 0..n {
            let line = self.text.lines[i].text.clone();
            if line.starts_with(&comment_prefix) {
                drop[i] = true;
                changed = true;
                continue;
            }
            if self.format.is_comment(&line) {
                continue;
            }
            let tokens: Vec<&str> = line.split_whitespace().collect();
            if !tokens.contains(&entry) {
                continue;
            }
            changed = true;
            if tokens.len() == 1 {
                drop[i] = true;
                // `apf -a` on 9.x follows an allow entry with a blank line: it goes too.
                if self.format == TrustFormat::Apf9
                    && i > 0
                    && self.text.lines[i - 1].text.starts_with(&comment_prefix)
                    && i + 1 < n
                    && self.text.lines[i + 1].text.trim().is_empty()
                {
                    drop[i + 1] = true;
                }
            } else {
                let kept: Vec<&str> = tokens.into_iter().filter(|t| *t != entry).collect();
                self.text.lines[i].text = kept.join(" ");
            }
        }
        for i in (0..n).rev() {
            if drop[i] {
                self.text.remove(i);
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp() -> Stamp {
        Stamp {
            date: "11/24/26 23:55:56".into(),
            epoch: 1795564556,
        }
    }

    #[test]
    fn comments_are_listed_and_edited_in_place() {
        let text = "##\n# header\n##\n# added 203.0.113.77 on 02/11/09 03:12:40 with comment: {bfd.sshd}       \n203.0.113.77\n# office VPN\n192.0.2.0/24\n198.51.100.9\n";
        let mut f = TrustFile::parse(text.as_bytes(), TrustFormat::Apf9);
        assert_eq!(
            f.listed(),
            vec![
                ("203.0.113.77".to_string(), Some("{bfd.sshd}".to_string())),
                ("192.0.2.0/24".to_string(), Some("office VPN".to_string())),
                ("198.51.100.9".to_string(), None),
            ]
        );
        assert!(!f.set_comment("203.0.113.77", "{bfd.sshd}", Kind::Deny, &stamp()));
        assert!(f.set_comment("203.0.113.77", "scanner", Kind::Deny, &stamp()));
        assert!(f.set_comment("198.51.100.9", "trunk", Kind::Deny, &stamp()));
        let out = String::from_utf8(f.to_bytes()).unwrap();
        assert!(
            out.contains("# added 203.0.113.77 on 02/11/09 03:12:40 with comment: scanner       \n203.0.113.77\n"),
            "{out}"
        );
        assert!(
            out.contains("# added 198.51.100.9 on 11/24/26 23:55:56 with comment: trunk       \n198.51.100.9\n"),
            "{out}"
        );
        // the other lines keep their bytes
        assert!(
            out.starts_with("##\n# header\n##\n") && out.contains("# office VPN\n192.0.2.0/24\n")
        );
        assert_eq!(f.comment_of("198.51.100.9").as_deref(), Some("trunk"));
    }

    #[test]
    fn versions() {
        assert_eq!(TrustFormat::from_version("9.7-2"), Some(TrustFormat::Apf9));
        assert_eq!(TrustFormat::from_version("9.6-4"), Some(TrustFormat::Apf9));
        assert_eq!(
            TrustFormat::from_version("0.9.6-3"),
            Some(TrustFormat::Apf9)
        );
        assert_eq!(
            TrustFormat::from_version("1.7.6-2"),
            Some(TrustFormat::Apf17)
        );
        assert_eq!(TrustFormat::from_version("2.0.2"), Some(TrustFormat::Apf2));
        assert_eq!(TrustFormat::from_version("x"), None);
    }

    #[test]
    fn hosts() {
        assert_eq!(
            parse_host("192.0.2.1"),
            Ok(Host::Ip("192.0.2.1".parse().unwrap()))
        );
        assert_eq!(
            parse_host("192.0.2.0/24"),
            Ok(Host::Net("192.0.2.0".parse().unwrap(), 24))
        );
        assert!(matches!(parse_host("2001:db8::/32"), Ok(Host::Net(_, 32))));
        assert!(matches!(parse_host("pbx2.example.com"), Ok(Host::Fqdn(_))));
        for (bad, says) in [
            ("1.2.3", "not a complete IPv4 address"),
            ("192.0.2.53/33", "/33 is not a prefix length"),
            ("0/0", "in full"),
            ("192.0.2.50 # office", "spaces"),
            ("  192.0.2.52", "spaces"),
            ("192.0.2.256", "\"256\" is not a number 0-255"),
            ("192.0.2.7/24", "host bits set: the network is 192.0.2.0/24"),
            ("pbx2", "not a fully qualified name"),
            ("-a.example.com", "start or end"),
            ("a_b.example.com", "only letters"),
            ("fe80::1%eth0", "zone"),
            ("010.0.0.1", "leading zero"),
        ] {
            let e = parse_host(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn advanced_entries() {
        let e = parse_entry("tcp:in:d=22:s=192.0.2.1", TrustFormat::Apf17).unwrap();
        match e {
            Entry::Advanced(a) => {
                assert_eq!(a.proto.as_deref(), Some("tcp"));
                assert_eq!(a.ports, (22, 22));
                assert_eq!(a.host_flow, Flow::Source);
            }
            _ => panic!(),
        }
        assert!(parse_entry("out:d=23:d=192.0.2.1", TrustFormat::Apf9).is_ok());
        assert!(parse_entry("d=3306:s=192.0.2.0/24", TrustFormat::Apf9).is_ok());
        assert!(parse_entry("d=10000_20000:s=192.0.2.1", TrustFormat::Apf9).is_ok());
        assert!(parse_entry("d=22:s=[2001:db8::1]", TrustFormat::Apf2).is_ok());
        for (bad, fmt, says) in [
            ("icmp:in:d=22:s=192.0.2.1", TrustFormat::Apf2, "protocol"),
            ("tcp:up:d=22:s=192.0.2.1", TrustFormat::Apf2, "direction"),
            ("x=22:s=192.0.2.1", TrustFormat::Apf2, "s= or d="),
            ("d=70000:s=192.0.2.1", TrustFormat::Apf2, "not a port"),
            ("d=20_10:s=192.0.2.1", TrustFormat::Apf2, "low port"),
            ("d=22:s=1.2.3", TrustFormat::Apf2, "complete IPv4"),
            ("d=22:s=[2001:db8::1]", TrustFormat::Apf17, "needs APF 2.x"),
            (
                "a:b:c:d=22:s=192.0.2.1",
                TrustFormat::Apf2,
                "not a trust entry",
            ),
        ] {
            let e = parse_entry(bad, fmt).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
        assert!(
            parse_entry("2001:db8::1", TrustFormat::Apf9)
                .unwrap_err()
                .contains("IPv6")
        );
    }

    #[test]
    fn loaded_entries_are_masked_like_iptables_does() {
        let admin: IpAddr = "203.0.113.10".parse().unwrap();
        let e = loaded_entry("203.0.113.7/24").unwrap();
        assert_eq!(e.host().covers(admin), Some(true));
        let e = loaded_entry("tcp:in:d=22:s=203.0.113.7/24").unwrap();
        assert_eq!(e.host().covers(admin), Some(true));
        assert!(loaded_entry("garbage").is_none());
    }

    #[test]
    fn containment() {
        let admin: IpAddr = "203.0.113.10".parse().unwrap();
        assert_eq!(
            parse_host("203.0.113.0/24").unwrap().covers(admin),
            Some(true)
        );
        assert_eq!(
            parse_host("203.0.113.0/29").unwrap().covers(admin),
            Some(false)
        );
        assert_eq!(parse_host("0.0.0.0/0").unwrap().covers(admin), Some(true));
        assert_eq!(
            parse_host("::ffff:203.0.113.10").unwrap().covers(admin),
            Some(true)
        );
        assert_eq!(parse_host("a.example.com").unwrap().covers(admin), None);
    }

    #[test]
    fn formats_per_version() {
        let s = stamp();
        assert_eq!(
            added_lines(
                "192.0.2.10",
                Some("office"),
                Kind::Allow,
                TrustFormat::Apf2,
                &s
            ),
            vec![
                "# added 192.0.2.10 on 11/24/26 23:55:56 addedtime=1795564556 with comment: office",
                "192.0.2.10"
            ]
        );
        assert_eq!(
            added_lines("192.0.2.10", None, Kind::Deny, TrustFormat::Apf2, &s),
            vec![
                "# added 192.0.2.10 on 11/24/26 23:55:56 addedtime=1795564556",
                "192.0.2.10"
            ]
        );
        assert_eq!(
            added_lines("192.0.2.10", None, Kind::Allow, TrustFormat::Apf17, &s),
            vec!["# added 192.0.2.10 on 11/24/26 23:55:56", "192.0.2.10"]
        );
        assert_eq!(
            added_lines("192.0.2.10", None, Kind::Allow, TrustFormat::Apf9, &s),
            vec![
                "# added 192.0.2.10 on 11/24/26 23:55:56 with comment:        ",
                "192.0.2.10",
                ""
            ]
        );
        assert_eq!(
            added_lines("192.0.2.10", Some("x"), Kind::Deny, TrustFormat::Apf9, &s),
            vec![
                "# added 192.0.2.10 on 11/24/26 23:55:56 with comment: x       ",
                "192.0.2.10"
            ]
        );
    }

    #[test]
    fn add_dedup_and_exact_removal() {
        for fmt in [TrustFormat::Apf9, TrustFormat::Apf17, TrustFormat::Apf2] {
            let header = "##\n# deny_hosts\n# 198.51.100.7 in a header comment\n##\n";
            let mut f = TrustFile::parse(header.as_bytes(), fmt);
            assert!(f.add("198.51.100.77", Some("neighbour"), Kind::Allow, &stamp()));
            assert!(f.add("198.51.100.7", Some("scanner"), Kind::Allow, &stamp()));
            assert!(!f.add("198.51.100.7", Some("again"), Kind::Allow, &stamp()));
            assert_eq!(f.entries(), vec!["198.51.100.77", "198.51.100.7"]);
            let with_both = f.to_bytes();
            assert!(f.remove("198.51.100.7"));
            assert!(!f.remove("198.51.100.7"));
            assert_eq!(f.entries(), vec!["198.51.100.77"]);
            let text = String::from_utf8(f.to_bytes()).unwrap();
            assert!(text.contains("# added 198.51.100.77 on"), "{fmt:?}: {text}");
            assert!(!text.contains("# added 198.51.100.7 on"), "{fmt:?}: {text}");
            assert!(text.starts_with(header), "{fmt:?}: header kept");
            // Removing what was added gives back the file as it was before.
            let mut g = TrustFile::parse(&with_both, fmt);
            g.remove("198.51.100.7");
            g.remove("198.51.100.77");
            assert_eq!(String::from_utf8(g.to_bytes()).unwrap(), header, "{fmt:?}");
        }
    }

    #[test]
    fn loading_rules_per_version() {
        let f = TrustFile::parse(b"192.0.2.50 # office\n192.0.2.51\n", TrustFormat::Apf9);
        assert_eq!(f.entries(), vec!["192.0.2.51"]);
        let f = TrustFile::parse(b"192.0.2.50 # office\n192.0.2.51\n", TrustFormat::Apf2);
        assert_eq!(f.entries(), vec!["192.0.2.50", "#", "office", "192.0.2.51"]);
    }

    #[test]
    fn timestamp_format() {
        // SAFETY-free check of the shape only (TZ differs between hosts).
        let s = Stamp::at(0);
        assert_eq!(s.date.len(), "01/01/70 00:00:00".len());
        assert_eq!(&s.date[2..3], "/");
    }
}
