//! `[firewall]` and `[apf]`: the firewall step's sections of the answers file. The step
//! hands `[bfd]` and `[fail2ban]` on to the brute-force step.

use serde::{Deserialize, Serialize};

pub use crate::steps::bruteforce::answers::{BfdAnswers, Fail2banAnswers};

/// A port or a `low-high` range, as the answers file writes it: `5060` or `"10000-20000"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum PortEntry {
    Number(i64),
    Text(String),
}

/// A host for the trust files: `{ host = "203.0.113.10", comment = "office" }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HostEntry {
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// `[firewall]`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FirewallAnswers {
    /// "auto" (default: the manager in charge) | "apf" | "nftables" | "firewalld" | "freepbx" |
    /// "fail2ban" | "none".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_ports: Option<Vec<PortEntry>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp_ports: Option<Vec<PortEntry>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted: Vec<HostEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked: Vec<HostEntry>,
    /// Open TFTP (69/udp) for phone provisioning; it is never opened otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tftp: Option<bool>,
    /// Trust the admin's own address (SSH_CONNECTION): allow_hosts.rules, BFD's ignore.hosts,
    /// fail2ban's ignoreip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_admin: Option<bool>,
    /// Entries to take out of allow_hosts.rules / deny_hosts.rules (exactly; `apf -u`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
}

/// `[apf]`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApfAnswers {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untrusted_iface: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_ifaces: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_trim: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress_filtering: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dshield: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos: Option<bool>,
    /// The seed's change to internals/functions.apf so that TOS marks UDP too (APF < 9.7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos_udp_patch: Option<bool>,
    /// Spamhaus DROP list (DLIST_SPAMHAUS; USE_DROP before 9.6-5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spamhaus: Option<bool>,
    /// Outbound ports allowed when egress filtering is on (EG_TCP_CPORTS / EG_UDP_CPORTS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress_tcp_ports: Option<Vec<PortEntry>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress_udp_ports: Option<Vec<PortEntry>>,
}

/// What the firewall step (and the brute-force step it calls) reads of the answers.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    pub firewall: Option<FirewallAnswers>,
    pub apf: Option<ApfAnswers>,
    pub bfd: Option<BfdAnswers>,
    pub fail2ban: Option<Fail2banAnswers>,
}
