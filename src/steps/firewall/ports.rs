//! Ports: strict validation of the answers' port lists (APF itself takes `abc` and `70000`
//! silently), APF's list syntax (`22,80,10000_20000`), and the catalog of what a PBX needs.

use crate::host::{Proto, RtpRange};
use crate::steps::asterisk::ports::AsteriskPorts;
use crate::steps::firewall::answers::PortEntry;

/// A port or an inclusive range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortRange {
    pub lo: u16,
    pub hi: u16,
}

impl PortRange {
    pub fn one(p: u16) -> PortRange {
        PortRange { lo: p, hi: p }
    }

    pub fn contains(&self, p: u16) -> bool {
        (self.lo..=self.hi).contains(&p)
    }

    pub fn covers(&self, other: &PortRange) -> bool {
        self.lo <= other.lo && other.hi <= self.hi
    }

    pub fn overlaps(&self, other: &PortRange) -> bool {
        self.lo <= other.hi && other.lo <= self.hi
    }

    /// APF's spelling: `22` or `10000_20000`.
    pub fn apf(&self) -> String {
        if self.lo == self.hi {
            self.lo.to_string()
        } else {
            format!("{}_{}", self.lo, self.hi)
        }
    }
}

impl std::fmt::Display for PortRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

fn parse_port_text(t: &str) -> Option<u16> {
    if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    match t.parse::<u32>() {
        Ok(n) if (1..=65535).contains(&n) => Some(n as u16),
        _ => None,
    }
}

/// One entry of an answers list.
pub fn parse_entry(e: &PortEntry) -> Result<PortRange, String> {
    match e {
        PortEntry::Number(n) => {
            if (1..=65535).contains(n) {
                Ok(PortRange::one(*n as u16))
            } else {
                Err(format!("{n} is not a port: use 1-65535"))
            }
        }
        PortEntry::Text(s) => {
            let t = s.trim();
            if t.chars().all(|c| c.is_ascii_digit()) && !t.is_empty() {
                return parse_port_text(t)
                    .map(PortRange::one)
                    .ok_or_else(|| format!("\"{s}\" is not a port: use 1-65535"));
            }
            if t.contains('_') || t.contains(':') {
                return Err(format!(
                    "\"{s}\": write a range as \"low-high\", e.g. \"10000-20000\" (pbx-harden \
                     writes it in APF's own form)"
                ));
            }
            let Some((lo, hi)) = t.split_once('-') else {
                return Err(format!(
                    "\"{s}\" is not a port: write a number 1-65535 or a range like \"10000-20000\""
                ));
            };
            let (Some(lo), Some(hi)) = (parse_port_text(lo.trim()), parse_port_text(hi.trim()))
            else {
                return Err(format!(
                    "\"{s}\" is not a port range: both ends must be ports 1-65535, e.g. \"10000-20000\""
                ));
            };
            if lo > hi {
                return Err(format!("\"{s}\": the low port comes first (\"{hi}-{lo}\")"));
            }
            if lo == hi {
                return Err(format!("\"{s}\" is a single port: write {lo}"));
            }
            Ok(PortRange { lo, hi })
        }
    }
}

/// Validate a whole answers list: every entry, and no port listed twice (directly or inside
/// a range). Returns the ports in order, or every problem found.
pub fn parse_list(list: &[PortEntry]) -> Result<Vec<PortRange>, Vec<String>> {
    let (ranges, errors) = parse_list_partial(list);
    if errors.is_empty() {
        Ok(ranges)
    } else {
        Err(errors)
    }
}

/// The valid entries of a list and the problems of the others (so that every problem of a
/// list can be reported at once).
pub fn parse_list_partial(list: &[PortEntry]) -> (Vec<PortRange>, Vec<String>) {
    let mut out: Vec<PortRange> = Vec::new();
    let mut errors = Vec::new();
    for e in list {
        match parse_entry(e) {
            Ok(r) => {
                if let Some(prev) = out.iter().find(|p| p.overlaps(&r)) {
                    if *prev == r {
                        errors.push(format!("{r} is listed twice"));
                    } else {
                        errors.push(format!("{r} overlaps {prev}, listed before"));
                    }
                } else {
                    out.push(r);
                }
            }
            Err(m) => errors.push(m),
        }
    }
    (out, errors)
}

/// The elements of an APF port list (`tr ',' ' '` and word splitting, as APF does).
pub fn apf_tokens(value: &str) -> Vec<String> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// One element of an APF list as a range (`22`, `10000_20000`, `33434:33534`).
pub fn apf_token_range(t: &str) -> Option<PortRange> {
    match t.split_once(['_', ':']) {
        Some((lo, hi)) => {
            let (lo, hi) = (parse_port_text(lo)?, parse_port_text(hi)?);
            (lo <= hi).then_some(PortRange { lo, hi })
        }
        None => parse_port_text(t).map(PortRange::one),
    }
}

/// Does an APF list open `port`?
pub fn apf_list_opens(value: &str, port: u16) -> bool {
    apf_tokens(value)
        .iter()
        .filter_map(|t| apf_token_range(t))
        .any(|r| r.contains(port))
}

/// Elements of an APF list that APF would hand to iptables although they are not ports.
pub fn apf_bad_tokens(value: &str) -> Vec<String> {
    apf_tokens(value)
        .into_iter()
        .filter(|t| apf_token_range(t).is_none())
        .collect()
}

pub fn apf_list(ranges: &[PortRange]) -> String {
    ranges
        .iter()
        .map(PortRange::apf)
        .collect::<Vec<_>>()
        .join(",")
}

pub fn human_list(ranges: &[PortRange]) -> String {
    ranges
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// How the catalog treats a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// Open to everyone by default.
    Open,
    /// Opened only when asked for (`firewall.tftp = true`, or listed).
    WhenAsked,
    /// Only through trusted hosts (`firewall.trusted`), as the seed does for IAX.
    TrustedOnly,
    /// Never opened; listing it is refused.
    Refused,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    pub service: String,
    pub proto: Proto,
    pub ports: PortRange,
    pub exposure: Exposure,
    pub note: String,
}

/// What a PBX needs open, from its own configuration.
pub fn catalog(ast: &AsteriskPorts, rtp: RtpRange, ssh_port: u16) -> Vec<CatalogEntry> {
    let mut c = Vec::new();
    let mut add = |service: &str, proto, ports, exposure, note: String| {
        c.push(CatalogEntry {
            service: service.to_string(),
            proto,
            ports,
            exposure,
            note,
        })
    };
    add(
        "SSH",
        Proto::Tcp,
        PortRange::one(ssh_port),
        Exposure::Open,
        "always open; the port sshd will listen on".into(),
    );
    for p in &ast.sip_udp {
        add(
            "SIP",
            Proto::Udp,
            PortRange::one(*p),
            Exposure::Open,
            "phones and trunks".into(),
        );
    }
    let mut tcp = ast.sip_tcp.clone();
    if tcp.is_empty() {
        tcp = ast.sip_udp.clone();
    }
    for p in tcp {
        add(
            "SIP",
            Proto::Tcp,
            PortRange::one(p),
            Exposure::Open,
            "SIP over TCP".into(),
        );
    }
    for p in &ast.sip_tls {
        add(
            "SIP-TLS",
            Proto::Tcp,
            PortRange::one(*p),
            Exposure::Open,
            "TLS is configured".into(),
        );
    }
    add(
        "RTP",
        Proto::Udp,
        PortRange {
            lo: rtp.start,
            hi: rtp.end,
        },
        Exposure::Open,
        if rtp.from_config {
            "the audio of calls (rtp.conf rtpstart-rtpend)".into()
        } else {
            "the audio of calls (Asterisk's default; no rtp.conf)".into()
        },
    );
    add(
        "HTTP",
        Proto::Tcp,
        PortRange::one(80),
        Exposure::Open,
        "the web GUI".into(),
    );
    add(
        "HTTPS",
        Proto::Tcp,
        PortRange::one(443),
        Exposure::Open,
        "the web GUI".into(),
    );
    add(
        "TFTP",
        Proto::Udp,
        PortRange::one(69),
        Exposure::WhenAsked,
        "phone provisioning only (firewall.tftp = true)".into(),
    );
    add(
        "IAX2",
        Proto::Udp,
        PortRange::one(ast.iax.unwrap_or(4569)),
        Exposure::TrustedOnly,
        "only from trusted peers (firewall.trusted), as the seed does with apf -a".into(),
    );
    add(
        "AMI",
        Proto::Tcp,
        PortRange::one(ast.ami.map(|(p, _)| p).unwrap_or(5038)),
        Exposure::Refused,
        "the Asterisk Manager Interface can run commands and place calls: never open it; \
         use ssh -L 5038:127.0.0.1:5038"
            .into(),
    );
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: i64) -> PortEntry {
        PortEntry::Number(v)
    }

    fn t(v: &str) -> PortEntry {
        PortEntry::Text(v.into())
    }

    #[test]
    fn strict_answers() {
        assert_eq!(
            parse_list(&[n(80), t("10000-20000"), t("5060")]).unwrap(),
            vec![
                PortRange::one(80),
                PortRange {
                    lo: 10000,
                    hi: 20000
                },
                PortRange::one(5060)
            ]
        );
        for (bad, says) in [
            (vec![n(0)], "0 is not a port"),
            (vec![n(70000)], "70000 is not a port"),
            (vec![t("abc")], "\"abc\" is not a port"),
            (vec![t("70000")], "\"70000\" is not a port"),
            (vec![t("20000-10000")], "the low port comes first"),
            (vec![t("5060-5060")], "single port"),
            (vec![t("10000_20000")], "low-high"),
            (vec![t("1-70000")], "both ends"),
            (vec![n(80), n(80)], "80 is listed twice"),
            (
                vec![t("10000-20000"), n(15000)],
                "15000 overlaps 10000-20000",
            ),
        ] {
            let e = parse_list(&bad).unwrap_err().join("; ");
            assert!(e.contains(says), "{bad:?}: {e}");
        }
    }

    #[test]
    fn apf_lists() {
        assert_eq!(
            apf_tokens("21,22 25,,80\t6000_7000"),
            vec!["21", "22", "25", "80", "6000_7000"]
        );
        assert!(apf_list_opens("22,6000_7000", 6500));
        assert!(!apf_list_opens("22,abc,70000", 2222));
        assert_eq!(apf_bad_tokens("22,abc,70000,1_2"), vec!["abc", "70000"]);
        assert_eq!(
            apf_list(&[
                PortRange::one(22022),
                PortRange {
                    lo: 10000,
                    hi: 20000
                }
            ]),
            "22022,10000_20000"
        );
    }
}
