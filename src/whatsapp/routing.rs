//! The ids that tell which accounts a webhook body is for, read before its
//! signature is checked.
//!
//! Until the signature matches, the body may come from anyone. Parsing it
//! into a `serde_json::Value` costs many times its size: a 4 MiB array of
//! zeros raised the server's peak RSS by about 150 MB. This pass keeps only
//! the phone number ids of `messages` changes and the WABA ids of other
//! changes, and skips everything else without storing it.

use std::collections::BTreeSet;
use std::fmt;

use serde::Deserializer;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The accounts a body names.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Routing {
    /// `metadata.phone_number_id` of each `messages` change.
    pub phone_number_ids: BTreeSet<String>,
    /// `entry[].id` of each entry with a change of another field.
    pub waba_ids: BTreeSet<String>,
}

impl Routing {
    /// Reads the ids from a whole body. Fails on invalid JSON.
    pub fn read(body: &[u8]) -> serde_json::Result<Routing> {
        let mut routing = Routing::default();
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        Body(&mut routing).deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(routing)
    }
}

/// The top-level object: only `entry` is read.
struct Body<'a>(&'a mut Routing);

/// The `entry` array.
struct Entries<'a>(&'a mut Routing);

/// One entry: its `id` and its changes.
struct Entry<'a>(&'a mut Routing);

/// The `changes` array of one entry, which adds phone number ids to the
/// routing and returns whether any change has another field.
struct Changes<'a>(&'a mut Routing);

/// One change: its `field` and the phone number id of its `value`.
struct Change;

/// One member of an object, read with `seed`; every other member is
/// skipped. A value that is not an object gives `None`, as indexing a
/// `serde_json::Value` does. `value.metadata.phone_number_id` is a
/// `Member` in a `Member`.
#[derive(Clone, Copy)]
struct Member<S> {
    name: &'static str,
    seed: S,
}

/// The phone number id in a change's `value`.
const PHONE_NUMBER_ID: Member<Member<Scalar>> = Member {
    name: "metadata",
    seed: Member {
        name: "phone_number_id",
        seed: Scalar,
    },
};

/// A string or a number as text; anything else is skipped and gives `None`.
#[derive(Clone, Copy)]
struct Scalar;

/// Implements `DeserializeSeed` for a seed that is its own visitor and
/// reads one JSON value through `deserialize_any`.
macro_rules! seed_by_any {
    ($seed:ty, $value:ty) => {
        impl<'de> DeserializeSeed<'de> for $seed {
            type Value = $value;

            fn deserialize<D: Deserializer<'de>>(
                self,
                deserializer: D,
            ) -> Result<$value, D::Error> {
                deserializer.deserialize_any(self)
            }
        }
    };
}

seed_by_any!(Body<'_>, ());
seed_by_any!(Entries<'_>, ());
seed_by_any!(Entry<'_>, ());
seed_by_any!(Changes<'_>, bool);
seed_by_any!(Change, (Option<String>, Option<String>));
seed_by_any!(Scalar, Option<String>);

/// Makes a visitor take any JSON scalar (string, number, boolean or null),
/// skip it and return `$none`.
macro_rules! skip_scalars {
    ($none:expr) => {
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok($none)
        }

        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($none)
        }

        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($none)
        }

        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($none)
        }

        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($none)
        }

        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($none)
        }
    };
}

/// Skips every entry of `map` but the keys `read` handles: `read` returns
/// `false` for a key it does not want, whose value is then skipped.
fn each_key<'de, A: MapAccess<'de>>(
    mut map: A,
    mut read: impl FnMut(&str, &mut A) -> Result<bool, A::Error>,
) -> Result<(), A::Error> {
    while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
        if !read(&key, &mut map)? {
            map.next_value::<IgnoredAny>()?;
        }
    }
    Ok(())
}

impl<'de> Visitor<'de> for Body<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a webhook body object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let routing = self.0;
        each_key(map, |key, map| match key {
            "entry" => map.next_value_seed(Entries(routing)).map(|()| true),
            _ => Ok(false),
        })
    }
}

impl<'de> Visitor<'de> for Entries<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of entries")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Entry(self.0))?.is_some() {}
        Ok(())
    }

    // Anything but an array names no account.
    skip_scalars!(());

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        IgnoredAny.visit_map(map).map(|_| ())
    }
}

impl<'de> Visitor<'de> for Entry<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an entry object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let routing = self.0;
        let mut id = None;
        let mut other_field = false;
        each_key(map, |key, map| match key {
            "id" => {
                id = map.next_value_seed(Scalar)?;
                Ok(true)
            }
            "changes" => {
                other_field |= map.next_value_seed(Changes(&mut *routing))?;
                Ok(true)
            }
            _ => Ok(false),
        })?;
        if other_field && let Some(id) = id {
            routing.waba_ids.insert(id);
        }
        Ok(())
    }
}

impl<'de> Visitor<'de> for Changes<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of changes")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let mut other_field = false;
        while let Some((field, phone_number_id)) = seq.next_element_seed(Change)? {
            if field.as_deref() == Some("messages") {
                self.0.phone_number_ids.extend(phone_number_id);
            } else {
                other_field = true;
            }
        }
        Ok(other_field)
    }
}

impl<'de> Visitor<'de> for Change {
    type Value = (Option<String>, Option<String>);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a change object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let (mut field, mut phone_number_id) = (None, None);
        each_key(map, |key, map| match key {
            "field" => {
                field = map.next_value_seed(Scalar)?;
                Ok(true)
            }
            "value" => {
                phone_number_id = map.next_value_seed(PHONE_NUMBER_ID)?;
                Ok(true)
            }
            _ => Ok(false),
        })?;
        Ok((field, phone_number_id))
    }
}

impl<'de, S> DeserializeSeed<'de> for Member<S>
where
    S: DeserializeSeed<'de, Value = Option<String>> + Copy,
{
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, S> Visitor<'de> for Member<S>
where
    S: DeserializeSeed<'de, Value = Option<String>> + Copy,
{
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an object with a member {:?}", self.name)
    }

    skip_scalars!(None);

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Option<String>, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| None)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<String>, A::Error> {
        let mut found = None;
        each_key(map, |key, map| {
            if key != self.name {
                return Ok(false);
            }
            found = map.next_value_seed(self.seed)?;
            Ok(true)
        })?;
        Ok(found)
    }
}

impl<'de> Visitor<'de> for Scalar {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or a number")
    }

    /// NUL becomes U+FFFD, as the full parse of the body does.
    fn visit_str<E>(self, value: &str) -> Result<Option<String>, E> {
        Ok(Some(value.replace('\0', "\u{fffd}")))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Option<String>, E> {
        Ok(Some(value.to_string()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Option<String>, E> {
        Ok(Some(value.to_string()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Option<String>, E> {
        Ok(serde_json::Number::from_f64(value).map(|number| number.to_string()))
    }

    fn visit_bool<E>(self, value: bool) -> Result<Option<String>, E> {
        Ok(Some(value.to_string()))
    }

    fn visit_unit<E>(self) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Option<String>, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| None)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<String>, A::Error> {
        IgnoredAny.visit_map(map).map(|_| None)
    }
}
