//! `[bfd]` and `[fail2ban]`: the brute-force step's sections of the answers file.

use serde::{Deserialize, Serialize};

/// `[bfd]`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BfdAnswers {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trig: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_alerts: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_hosts: Option<Vec<String>>,
}

/// `[fail2ban]`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fail2banAnswers {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxretry: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bantime: Option<String>,
}
