//! `[services]`: the services step's section of the answers file.

use serde::{Deserialize, Serialize};

/// `[services]`: services to disable (issue: services, secrets, audit).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServicesAnswers {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disable: Vec<String>,
    /// Services on the keep-list that `disable` may disable anyway (each must be in both).
    /// The SSH daemon cannot be overridden.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub override_keep_list: Vec<String>,
}

/// What the services step reads of the answers.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    pub services: Option<ServicesAnswers>,
}
