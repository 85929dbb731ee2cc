//! How optional fields of writes are read: a field left out keeps its value,
//! and `null` says either "none" (where a field may be empty) or nothing
//! at all, which is refused rather than taken as "left out".

use serde::de::Error;
use serde::{Deserialize, Deserializer};

/// A field that may be left out but is never `null`.
pub(crate) fn not_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    match Option::<T>::deserialize(deserializer)? {
        Some(value) => Ok(Some(value)),
        None => Err(D::Error::custom(
            "must not be null: leave the field out to keep it as it is",
        )),
    }
}

/// Tells a field given as `null` (`Some(None)`) from one left out (`None`).
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
