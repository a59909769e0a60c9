//! Results as idempotency records hold them, where that differs from the result's own shape.
//!
//! A keyed call's result is recorded as JSON and replayed later, possibly by a newer release, so
//! the recorded shape is fixed: results carry `loyalty-core` values (`Money`), while records
//! keep the shape written since the first release (an amount as a decimal string with its
//! currency code beside it, once per record). Points and balances need no stored form: they
//! serialize as decimal strings and by field name, as the records have them.
//!
//! Every stored form is tested against a record as written before results carried `Money`:
//! it must read into the result and write back byte for byte.

mod earn;
mod holds;
mod redeem;
mod reverse;
mod rewards;

pub(crate) use earn::StoredEarn;
pub(crate) use holds::StoredHold;
pub(crate) use redeem::StoredRedeem;
pub(crate) use reverse::StoredReverse;
pub(crate) use rewards::{StoredReward, StoredRewardRedemption};

#[cfg(test)]
pub(crate) mod samples {
    /// Reads `recorded` as a `T` and writes it back: the JSON a newer release records.
    pub(crate) fn written_back<T>(recorded: &str) -> String
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
    {
        let read: T = serde_json::from_str(recorded).unwrap();
        serde_json::to_string(&read).unwrap()
    }
}
