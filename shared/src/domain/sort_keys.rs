//! The sort keys of the item families under a number's partition (`pk` = `N#<digits>`): the
//! table's layout, in one place for the store, which writes and reads them, and for the code that
//! recognises items by them (the evidence file, the stream handler). `docs/table-design.md`
//! describes each family.

/// The number's current state (one item).
pub const STATE: &str = "STATE";
/// `E#<event id>`: a history entry.
pub const HISTORY_PREFIX: &str = "E#";
/// `R#<inbound event id>`: the reply to an inbound message.
pub const REPLY_PREFIX: &str = "R#";
/// `V#<review id>`: a review item.
pub const REVIEW_PREFIX: &str = "V#";
/// The number's reply lock (one item): one reply to a number at a time, in order.
pub const REPLY_LOCK: &str = "REPLY_LOCK";
