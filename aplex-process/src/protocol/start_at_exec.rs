//! A new worker process's start settings, handed over in its environment at exec, so it
//! builds its runtime while the parent is still busy with its handshake.
//!
//! The settings also come in the first frame (`Start`), as they always did; a child that
//! found them in its environment goes on at once and ignores that frame, one that did not
//! (or could not read them) waits for it. A pool of two measured its first result
//! ~0.2 ms sooner this way: the parent's side of the handshake (an accept thread, then
//! the spawning thread) took 0.2–1.1 ms, which the child spent waiting for `Start`.

use crate::protocol::wire::StartSettings;

/// The environment variable that carries the settings (postcard, in hex).
pub(crate) const START_MARKER: &str = "APLEX_PROCESS_START";

/// `settings` as the variable's value.
pub(crate) fn encode(settings: &StartSettings) -> Option<String> {
    let bytes = postcard::to_allocvec(settings).ok()?;
    Some(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// The settings in a variable's value; `None` if it holds none.
pub(crate) fn decode(text: &str) -> Option<StartSettings> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let bytes = (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    postcard::from_bytes(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::{decode, encode};
    use crate::protocol::runtime_config::{RuntimeConfig, RuntimeFlavor};
    use crate::protocol::wire::StartSettings;

    #[test]
    fn settings_cross_the_environment_whole() {
        let settings = StartSettings {
            runtime: RuntimeConfig {
                flavor: RuntimeFlavor::MultiThread { worker_threads: 3 },
                max_blocking_threads: Some(9),
                thread_stack_size: None,
                event_interval: Some(31),
            },
            blocking_limit: 2,
            state: Some(17),
            worker: 5,
            forward_events: Some(3),
            shared_threshold: 1 << 20,
        };
        let text = encode(&settings).unwrap();
        assert!(text.bytes().all(|byte| byte.is_ascii_hexdigit()));
        let back = decode(&text).unwrap();
        assert_eq!(format!("{back:?}"), format!("{settings:?}"));
    }

    #[test]
    fn a_value_that_holds_no_settings_gives_none() {
        for text in ["", "0", "zz", "ff", "é1"] {
            assert!(decode(text).is_none(), "{text:?}");
        }
    }
}
