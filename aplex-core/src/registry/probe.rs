//! Finding the message of a value's own serialization error.
//!
//! A codec wraps the error a type's `Serialize` raises (`S::Error::custom(..)`) in text of
//! its own (postcard, which this crate used first, even replaced it with one fixed text).
//! When an encode fails, the value is serialized once more into `Probe`, a serializer
//! that writes nothing and keeps the message of the first custom error, so the user sees
//! exactly what their type said.

use std::fmt;

use serde::ser::{self, Serialize};

/// The message of the custom error `value`'s `Serialize` raises, if it raises one.
pub fn custom_message<T: Serialize + ?Sized>(value: &T) -> Option<String> {
    value.serialize(Probe).err().map(|Custom(message)| message)
}

/// A serializer that writes nothing; see the module docs.
struct Probe;

/// A custom error's message.
#[derive(Debug)]
struct Custom(String);

impl fmt::Display for Custom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Custom {}

impl ser::Error for Custom {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Custom(message.to_string())
    }
}

/// Implements the scalar methods of `Serializer` as doing nothing.
macro_rules! nothing {
    ($($method:ident($type:ty)),* $(,)?) => {
        $(fn $method(self, _: $type) -> Result<(), Custom> { Ok(()) })*
    };
}

impl ser::Serializer for Probe {
    type Ok = ();
    type Error = Custom;
    type SerializeSeq = Probe;
    type SerializeTuple = Probe;
    type SerializeTupleStruct = Probe;
    type SerializeTupleVariant = Probe;
    type SerializeMap = Probe;
    type SerializeStruct = Probe;
    type SerializeStructVariant = Probe;

    nothing!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_unit_struct(&'static str),
    );

    fn serialize_none(self) -> Result<(), Custom> {
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Custom> {
        value.serialize(Probe)
    }

    fn serialize_unit(self) -> Result<(), Custom> {
        Ok(())
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), Custom> {
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Custom> {
        value.serialize(Probe)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &T,
    ) -> Result<(), Custom> {
        value.serialize(Probe)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Probe, Custom> {
        Ok(Probe)
    }

    fn serialize_tuple(self, _: usize) -> Result<Probe, Custom> {
        Ok(Probe)
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Probe, Custom> {
        Ok(Probe)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Probe, Custom> {
        Ok(Probe)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Probe, Custom> {
        Ok(Probe)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Probe, Custom> {
        Ok(Probe)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Probe, Custom> {
        Ok(Probe)
    }
}

/// Implements a compound serializer trait by probing each element.
macro_rules! probe_elements {
    ($trait:ident, $method:ident $(, $key:ty)?) => {
        impl ser::$trait for Probe {
            type Ok = ();
            type Error = Custom;

            fn $method<T: Serialize + ?Sized>(&mut self, $(_: $key,)? value: &T) -> Result<(), Custom> {
                value.serialize(Probe)
            }

            fn end(self) -> Result<(), Custom> {
                Ok(())
            }
        }
    };
}

probe_elements!(SerializeSeq, serialize_element);
probe_elements!(SerializeTuple, serialize_element);
probe_elements!(SerializeTupleStruct, serialize_field);
probe_elements!(SerializeTupleVariant, serialize_field);
probe_elements!(SerializeStruct, serialize_field, &'static str);
probe_elements!(SerializeStructVariant, serialize_field, &'static str);

impl ser::SerializeMap for Probe {
    type Ok = ();
    type Error = Custom;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Custom> {
        key.serialize(Probe)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Custom> {
        value.serialize(Probe)
    }

    fn end(self) -> Result<(), Custom> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::custom_message;
    use serde::{Serialize, Serializer};

    struct Refuses;

    impl Serialize for Refuses {
        fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom(
                "cannot send a socket to another process",
            ))
        }
    }

    #[test]
    fn finds_the_message_deep_inside_a_value() {
        let nested = vec![(1u8, Some(vec![Refuses]))];
        assert_eq!(
            custom_message(&nested).as_deref(),
            Some("cannot send a socket to another process")
        );
        assert_eq!(custom_message(&vec![(1u8, "fine")]), None);
    }
}
