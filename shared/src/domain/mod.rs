//! The domain: pure functions and types, no AWS and no I/O.

/// An enum whose values have names, the same in the table, the API, logs and settings, written
/// once in strum's attributes; it gets `as_str`, `parse`, `ALL` and serde by name.
#[macro_export]
macro_rules! named_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($body:tt)* }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[derive(::strum::IntoStaticStr, ::strum::EnumString, ::strum::VariantArray)]
        $(#[$meta])*
        $vis enum $name { $($body)* }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = <$name as ::strum::VariantArray>::VARIANTS;
            /// Its name.
            pub fn as_str(self) -> &'static str { self.into() }
            /// The value with this name.
            pub fn parse(name: &str) -> Option<Self> { name.parse().ok() }
        }
        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let name = <String as ::serde::Deserialize>::deserialize(d)?;
                let unknown = || format!("unknown {} {name:?}", stringify!($name));
                Self::parse(&name).ok_or_else(|| ::serde::de::Error::custom(unknown()))
            }
        }
    };
}

pub mod access;
pub mod bulk;
pub mod business_days;
pub mod consent;
pub mod deadline;
pub mod event;
pub mod evidence;
pub mod inbound;
pub mod intent;
pub mod jwt;
pub mod keywords;
pub mod language;
pub mod msisdn;
pub mod origin;
pub mod program;
pub mod replies;
pub mod review;
pub mod revocation;
pub mod signature;
pub mod sms;
pub mod timestamp;
