//! Looking works up in the core's registry: by name, and checking the kind they were
//! submitted as (here, where `#[aplex::work]` can be used on a test work).

use aplex_core::registry::{lookup, type_name_of};
use aplex_core::{Error, WorkKind};

#[crate::work]
async fn registered_async(x: u8) -> u8 {
    x
}

#[test]
fn a_lookup_of_the_other_kind_is_a_wrong_kind_error_saying_how_to_submit() {
    let name = type_name_of(&registered_async);
    assert!(lookup(name, WorkKind::Async).is_ok());
    let error = lookup(name, WorkKind::Blocking).unwrap_err();
    assert_eq!(
        error,
        Error::WrongKind {
            name: name.to_owned(),
            registered: WorkKind::Async,
        }
    );
    assert!(
        error
            .to_string()
            .contains("pool.submit(registered_async, args)"),
        "{error}"
    );
    let unknown = lookup("no::such::work", WorkKind::Async).unwrap_err();
    assert!(matches!(unknown, Error::UnknownWork { .. }));
}
