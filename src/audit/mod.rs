//! The read-only audit. (Stub: filled in by the audit work.)
