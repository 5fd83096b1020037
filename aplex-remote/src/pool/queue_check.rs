//! A pool's queue settings against those the server holds. The first pool or node to make
//! a pool's queue sets its `ack_wait`, `max_deliveries` and expiry; a pool built later
//! with other values had them ignored without a word. Now a setting the user chose that
//! the server does not hold refuses the build, naming it and the value in force; one left
//! at its default takes the server's.

use std::time::Duration;

use aplex_core::BuildError;

use crate::broker::QueueSettings;

/// Which of the queue's settings the user chose (the others are defaults).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ChosenQueueSettings {
    pub(crate) ack_wait: bool,
    pub(crate) max_deliveries: bool,
    pub(crate) queued_expiry: bool,
}

/// The settings pool `pool` runs with, given those it asked for (`chosen` says which
/// the user chose) and those the server holds; an error naming the first chosen setting
/// the server does not hold. A queued expiry shorter than the server's is kept (each
/// work carries its own); a longer one is refused (the server drops works sooner).
pub(crate) fn settle(
    pool: &str,
    asked: &QueueSettings,
    chosen: ChosenQueueSettings,
    held: &QueueSettings,
) -> Result<QueueSettings, BuildError> {
    let refuse = |setting: &'static str, value: String, held: String| {
        BuildError::invalid_setting(
            setting,
            format!(
                "pool `{pool}` is on the server already with {setting} {held}, set by the pool \
                 or node that made its queue first, and this pool asks for {value}: build it \
                 with the server's value, or delete the pool's streams (APLEX_{pool}_*) from \
                 the server once no one uses them to start afresh"
            ),
        )
    };
    if chosen.ack_wait && asked.ack_wait != held.ack_wait {
        return Err(refuse(
            "ack_wait",
            format!("{:?}", asked.ack_wait),
            format!("{:?}", held.ack_wait),
        ));
    }
    if chosen.max_deliveries && asked.max_deliveries != held.max_deliveries {
        return Err(refuse(
            "max_deliveries",
            asked.max_deliveries.to_string(),
            held.max_deliveries.to_string(),
        ));
    }
    if chosen.queued_expiry && !held.max_age.is_zero() && asked.max_age > held.max_age {
        return Err(refuse(
            "queued_expiry",
            format!("{:?}", asked.max_age),
            format!("{:?}", held.max_age),
        ));
    }
    let max_age = match (chosen.queued_expiry, held.max_age) {
        (true, _) | (false, Duration::ZERO) => asked.max_age,
        (false, held) => held,
    };
    Ok(QueueSettings {
        ack_wait: held.ack_wait,
        max_deliveries: held.max_deliveries,
        max_age,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(ack_wait_ms: u64, max_deliveries: u32, expiry_s: u64) -> QueueSettings {
        QueueSettings {
            ack_wait: Duration::from_millis(ack_wait_ms),
            max_deliveries,
            max_age: Duration::from_secs(expiry_s),
        }
    }

    #[test]
    fn a_chosen_setting_the_server_does_not_hold_is_refused_by_name() {
        let held = settings(15_000, 3, 3600);
        let chosen = |ack_wait, max_deliveries, queued_expiry| ChosenQueueSettings {
            ack_wait,
            max_deliveries,
            queued_expiry,
        };
        for (asked, chose, setting) in [
            (
                settings(1_000, 3, 3600),
                chosen(true, false, false),
                "ack_wait",
            ),
            (
                settings(15_000, 5, 3600),
                chosen(false, true, false),
                "max_deliveries",
            ),
            (
                settings(15_000, 3, 7200),
                chosen(false, false, true),
                "queued_expiry",
            ),
        ] {
            let refused = settle("p", &asked, chose, &held).unwrap_err();
            assert_eq!(refused.setting(), Some(setting), "{refused}");
            assert!(refused.to_string().contains("pool `p`"), "{refused}");
        }
    }

    #[test]
    fn defaults_take_the_servers_settings_and_a_shorter_expiry_is_kept() {
        let held = settings(1_000, 5, 600);
        let settled = settle(
            "p",
            &settings(15_000, 3, 3600),
            ChosenQueueSettings::default(),
            &held,
        )
        .unwrap();
        assert_eq!(
            (settled.ack_wait, settled.max_deliveries, settled.max_age),
            (held.ack_wait, 5, held.max_age)
        );
        let chose_expiry = ChosenQueueSettings {
            queued_expiry: true,
            ..ChosenQueueSettings::default()
        };
        let settled = settle("p", &settings(1_000, 5, 60), chose_expiry, &held).unwrap();
        assert_eq!(settled.max_age, Duration::from_secs(60));
    }
}
