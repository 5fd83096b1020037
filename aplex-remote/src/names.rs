//! The names one remote pool uses on the server, all derived from its pool name, so that
//! several pools share one server without ever seeing each other's works.
//!
//! - stream `APLEX_<pool>_TASKS` (work queue) on `aplex.<pool>.task.<digest>.<group>`:
//!   the registry digest keeps a node from taking works of another build, the group
//!   routes `load_balancing_meta` to a named group of nodes (`any` by default);
//! - durable pull consumer `nodes_<digest>_<group>` per digest and group;
//! - stream `APLEX_<pool>_RESULTS` on `aplex.<pool>.result.<submitter>`;
//! - core subject `aplex.<pool>.cancel` for cancelling running works;
//! - stream `APLEX_<pool>_NODES` on `aplex.<pool>.node.<node>`, where nodes announce
//!   themselves (the last message per node, dropped after a TTL).

use aplex_core::BuildError;

/// The group of nodes a work goes to when no meta names one.
pub const DEFAULT_GROUP: &str = "any";

/// Every server-side name of one pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PoolNames {
    pool: String,
}

impl PoolNames {
    /// The names of pool `pool`, which must be 1–64 ASCII letters, digits, `-` or `_`.
    pub(crate) fn new(pool: &str) -> Result<PoolNames, BuildError> {
        check_token("pool", pool)?;
        Ok(PoolNames {
            pool: pool.to_owned(),
        })
    }

    /// The pool's name.
    pub(crate) fn pool(&self) -> &str {
        &self.pool
    }

    /// The stream holding queued works.
    pub(crate) fn tasks_stream(&self) -> String {
        format!("APLEX_{}_TASKS", self.pool)
    }

    /// Every subject of the tasks stream.
    pub(crate) fn tasks_subjects(&self) -> String {
        format!("aplex.{}.task.>", self.pool)
    }

    /// Where works for nodes of build `digest` in `group` are published.
    pub(crate) fn task_subject(&self, digest: u64, group: &str) -> String {
        format!("aplex.{}.task.{digest:016x}.{group}", self.pool)
    }

    /// The durable consumer the nodes of build `digest` in `group` pull from.
    pub(crate) fn consumer(&self, digest: u64, group: &str) -> String {
        format!("nodes_{digest:016x}_{group}")
    }

    /// The stream holding results.
    pub(crate) fn results_stream(&self) -> String {
        format!("APLEX_{}_RESULTS", self.pool)
    }

    /// Every subject of the results stream.
    pub(crate) fn results_subjects(&self) -> String {
        format!("aplex.{}.result.>", self.pool)
    }

    /// Where results for submitter `submitter` are published.
    pub(crate) fn result_subject(&self, submitter: &str) -> String {
        format!("aplex.{}.result.{submitter}", self.pool)
    }

    /// The stream where the pool's nodes announce themselves (the last message of each).
    pub(crate) fn nodes_stream(&self) -> String {
        format!("APLEX_{}_NODES", self.pool)
    }

    /// Every subject of the nodes stream.
    pub(crate) fn node_subjects(&self) -> String {
        format!("aplex.{}.node.*", self.pool)
    }

    /// Where node `node` announces itself.
    pub(crate) fn node_subject(&self, node: &str) -> String {
        format!("aplex.{}.node.{node}", self.pool)
    }

    /// Where cancels of running works are broadcast to every node.
    pub(crate) fn cancel_subject(&self) -> String {
        format!("aplex.{}.cancel", self.pool)
    }
}

/// Checks that `value` (the setting `setting`) can be one token of a subject.
pub(crate) fn check_token(setting: &'static str, value: &str) -> Result<(), BuildError> {
    let fits = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if fits {
        Ok(())
    } else {
        Err(BuildError::invalid_setting(
            setting,
            format!("`{value}` must be 1 to 64 ASCII letters, digits, `-` or `_`"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_from_the_pool_name_and_bad_names_are_refused() {
        let names = PoolNames::new("crawl-1").unwrap();
        assert_eq!(names.tasks_stream(), "APLEX_crawl-1_TASKS");
        assert_eq!(
            names.task_subject(0xab, DEFAULT_GROUP),
            "aplex.crawl-1.task.00000000000000ab.any"
        );
        assert_eq!(names.result_subject("s1"), "aplex.crawl-1.result.s1");
        for bad in ["", "a.b", "a b", "*", ">", &"x".repeat(65)] {
            let error = PoolNames::new(bad).unwrap_err();
            assert_eq!(error.setting(), Some("pool"), "{bad:?}");
        }
    }
}
