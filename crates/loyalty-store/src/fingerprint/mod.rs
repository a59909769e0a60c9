//! Canonical request fingerprints: what "the same request" means for an idempotency key.
//!
//! A fingerprint is SHA-256 over an explicit byte encoding of the request's fields, written by
//! the request type itself ([`Fingerprint`]). It never uses `Debug` text or a serializer whose
//! output follows struct layout, so it is stable across releases: the same request made
//! through any credential of the tenant, before or after an upgrade, has the same fingerprint.
//!
//! ## Encoding (version 1)
//! - Header: the domain `loyalty/idempotency-fingerprint` (length-prefixed), the version byte
//!   `1`, then the operation name as field 0.
//! - Every field: its tag (`u16`, big-endian), a kind byte, the value's length (`u64`,
//!   big-endian) and the value's bytes. Tags are fixed per request type and never reused.
//! - Values: text as UTF-8 (`s`); decimals normalized, so `1.50` and `1.5` are equal and `-0`
//!   is `0` (`d`); integers as `i64` big-endian (`i`); booleans as one byte (`b`); instants as
//!   seconds since the epoch (`i64`) and nanoseconds (`u32`) (`t`); a nested record as its own
//!   field sequence (`g`); a list as its count (`u64`) followed by one nested record per item,
//!   in order (`l`); an explicitly cleared value (`n`, no bytes).
//! - An absent optional field (`None`) writes nothing, so it differs from an empty one
//!   (`Some("")` writes its tag with length 0), and a later release can add an optional field
//!   without changing the fingerprint of requests that leave it out.
//!
//! Never part of a fingerprint: the idempotency key itself and the actor (the API key that
//! calls), so a retry through another credential of the same tenant is the same request.
//! Changing what an existing tag encodes changes fingerprints: add a new tag instead, or bump
//! the version knowing that keys recorded before will no longer replay.

mod rules;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

/// The domain that starts every encoding, so these digests never collide with other hashes.
const DOMAIN: &[u8] = b"loyalty/idempotency-fingerprint";
/// The encoding's version.
const VERSION: u8 = 1;

const TEXT: u8 = b's';
const DECIMAL: u8 = b'd';
const INTEGER: u8 = b'i';
const BOOLEAN: u8 = b'b';
const INSTANT: u8 = b't';
const RECORD: u8 = b'g';
const LIST: u8 = b'l';
const CLEARED: u8 = b'n';

/// A request compared by its fields under an idempotency key.
pub trait Fingerprint {
    /// Writes every field that makes the request what it is, each under its own tag (never
    /// tag 0, which holds the operation), leaving out the actor and the idempotency key.
    fn write_fields(&self, out: &mut Canonical);
}

impl<T: Fingerprint + ?Sized> Fingerprint for &T {
    fn write_fields(&self, out: &mut Canonical) {
        (**self).write_fields(out);
    }
}

/// The canonical encoding being written (see the module docs).
#[derive(Debug, Default)]
pub struct Canonical {
    bytes: Vec<u8>,
}

impl Canonical {
    fn field(&mut self, tag: u16, kind: u8, value: &[u8]) {
        self.bytes.extend_from_slice(&tag.to_be_bytes());
        self.bytes.push(kind);
        self.bytes
            .extend_from_slice(&(value.len() as u64).to_be_bytes());
        self.bytes.extend_from_slice(value);
    }

    /// A text field, exactly as given.
    pub fn text(&mut self, tag: u16, value: &str) {
        self.field(tag, TEXT, value.as_bytes());
    }

    /// An optional text field: `None` writes nothing.
    pub fn opt_text(&mut self, tag: u16, value: Option<&str>) {
        if let Some(value) = value {
            self.text(tag, value);
        }
    }

    /// A decimal field, normalized (`1.50` is `1.5`, `-0` is `0`).
    pub fn decimal(&mut self, tag: u16, value: Decimal) {
        self.field(tag, DECIMAL, value.normalize().to_string().as_bytes());
    }

    /// An optional decimal field: `None` writes nothing.
    pub fn opt_decimal(&mut self, tag: u16, value: Option<Decimal>) {
        if let Some(value) = value {
            self.decimal(tag, value);
        }
    }

    /// An integer field.
    pub fn integer(&mut self, tag: u16, value: i64) {
        self.field(tag, INTEGER, &value.to_be_bytes());
    }

    /// An optional integer field: `None` writes nothing.
    pub fn opt_integer(&mut self, tag: u16, value: Option<i64>) {
        if let Some(value) = value {
            self.integer(tag, value);
        }
    }

    /// A boolean field.
    pub fn boolean(&mut self, tag: u16, value: bool) {
        self.field(tag, BOOLEAN, &[u8::from(value)]);
    }

    /// An instant, to the nanosecond.
    pub fn instant(&mut self, tag: u16, value: DateTime<Utc>) {
        let mut bytes = [0; 12];
        bytes[..8].copy_from_slice(&value.timestamp().to_be_bytes());
        bytes[8..].copy_from_slice(&value.timestamp_subsec_nanos().to_be_bytes());
        self.field(tag, INSTANT, &bytes);
    }

    /// An optional instant: `None` writes nothing.
    pub fn opt_instant(&mut self, tag: u16, value: Option<DateTime<Utc>>) {
        if let Some(value) = value {
            self.instant(tag, value);
        }
    }

    /// A value the request explicitly clears (an update's `Some(None)`), distinct from leaving
    /// the field out and from setting it to empty.
    pub fn cleared(&mut self, tag: u16) {
        self.field(tag, CLEARED, &[]);
    }

    /// A nested record, written by `write`.
    pub fn record(&mut self, tag: u16, write: impl FnOnce(&mut Canonical)) {
        let mut inner = Canonical::default();
        write(&mut inner);
        self.field(tag, RECORD, &inner.bytes);
    }

    /// A list, in the given order: its count, then each item as a nested record.
    pub fn list<T>(
        &mut self,
        tag: u16,
        items: impl ExactSizeIterator<Item = T>,
        mut write: impl FnMut(&mut Canonical, T),
    ) {
        let mut inner = Canonical::default();
        inner
            .bytes
            .extend_from_slice(&(items.len() as u64).to_be_bytes());
        for item in items {
            inner.record(0, |record| write(record, item));
        }
        self.field(tag, LIST, &inner.bytes);
    }

    /// A list of records that fingerprint themselves.
    pub fn records<'a, T: Fingerprint + 'a>(
        &mut self,
        tag: u16,
        items: impl ExactSizeIterator<Item = &'a T>,
    ) {
        self.list(tag, items, |out, item| item.write_fields(out));
    }

    /// A list of text values, in order.
    pub fn texts<'a>(&mut self, tag: u16, items: impl ExactSizeIterator<Item = &'a str>) {
        self.list(tag, items, |out, item| out.text(1, item));
    }
}

/// The fingerprint of `request` for `operation`: lower-case hex of SHA-256 over the canonical
/// encoding (see the module docs).
pub fn fingerprint(operation: &str, request: &(impl Fingerprint + ?Sized)) -> String {
    let mut out = Canonical::default();
    out.bytes
        .extend_from_slice(&(DOMAIN.len() as u64).to_be_bytes());
    out.bytes.extend_from_slice(DOMAIN);
    out.bytes.push(VERSION);
    out.text(0, operation);
    request.write_fields(&mut out);
    hex(&Sha256::digest(&out.bytes))
}

/// Lower-case hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| {
            [
                DIGITS[usize::from(b >> 4)] as char,
                DIGITS[usize::from(b & 15)] as char,
            ]
        })
        .collect()
}

/// A request that is a few arguments rather than a type of its own (`program_id` and
/// `enabled`, a coupon code ...), written by a closure with the same tags discipline.
pub(crate) struct Fields<F>(F);

/// The request whose fields `write` writes.
pub(crate) fn fields<F: Fn(&mut Canonical)>(write: F) -> Fields<F> {
    Fields(write)
}

impl<F: Fn(&mut Canonical)> Fingerprint for Fields<F> {
    fn write_fields(&self, out: &mut Canonical) {
        (self.0)(out);
    }
}
