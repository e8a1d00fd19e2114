//! `[extensions]` and `[asterisk]`: the Asterisk step's sections of the answers file.

use serde::{Deserialize, Serialize};

/// `[extensions]`: SIP/IAX secrets.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionsAnswers {
    #[serde(default, skip_serializing_if = "crate::steps::is_false")]
    pub rotate_weak: bool,
}

/// `[asterisk]`: Asterisk's own doors (beyond the seed): the manager interface and guest calls.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AsteriskAnswers {
    /// Bind the manager interface (AMI) to 127.0.0.1 and replace weak AMI secrets where the
    /// admin owns manager.conf (on FreePBX: say what to change in FreePBX).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ami_localhost: Option<bool>,
    /// false: chan_sip `allowguest=no` and `alwaysauthreject=yes`, and no PJSIP `anonymous`
    /// endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_guests: Option<bool>,
}

/// What the Asterisk step reads of the answers.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    pub extensions: Option<ExtensionsAnswers>,
    pub asterisk: Option<AsteriskAnswers>,
}
