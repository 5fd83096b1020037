//! Cutting what is ready into messages, for the pool's works and a node's results alike:
//! items that may share a message (works of one kind and group of nodes; results for one
//! submitter) go together, in order, at most `max_items` (of the message's first item)
//! and [`MAX_BATCH_BYTES`] to a message — an item bigger than that goes alone.

use crate::settings::MAX_BATCH_BYTES;

/// `ready` cut into messages: each item joins the open message whose first item it is
/// `same` as, while that one has room (`size` of each item in bytes).
pub(crate) fn cut<T>(
    ready: impl IntoIterator<Item = T>,
    same: impl Fn(&T, &T) -> bool,
    size: impl Fn(&T) -> usize,
    max_items: impl Fn(&T) -> usize,
) -> Vec<Vec<T>> {
    let mut done = Vec::new();
    // Each open message: its items, their bytes, and its most items (asked once, when it
    // opens: the pool's answer takes a lock).
    let mut open: Vec<(Vec<T>, usize, usize)> = Vec::new();
    for item in ready {
        let bytes = size(&item);
        if let Some(at) = open.iter().position(|(batch, ..)| same(&batch[0], &item)) {
            let (batch, filled, most) = &mut open[at];
            if batch.len() < *most && *filled + bytes <= MAX_BATCH_BYTES {
                batch.push(item);
                *filled += bytes;
                continue;
            }
            done.push(open.swap_remove(at).0);
        }
        let most = max_items(&item);
        open.push((vec![item], bytes, most));
    }
    done.extend(open.into_iter().map(|(batch, ..)| batch));
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_grouped_in_order_and_cut_at_either_limit() {
        let items = [('a', 1), ('b', 2), ('a', 3), ('a', 4), ('b', 5)];
        let mut cut_small = cut(items, |x, y| x.0 == y.0, |_| 1, |_| 2);
        cut_small.sort();
        assert_eq!(
            cut_small,
            [
                vec![('a', 1), ('a', 3)],
                vec![('a', 4)],
                vec![('b', 2), ('b', 5)]
            ]
        );
        let big = |item: &(char, u32)| if item.1 == 3 { MAX_BATCH_BYTES } else { 1 };
        let mut cut_big = cut(items, |x, y| x.0 == y.0, big, |_| 10);
        cut_big.sort();
        assert_eq!(
            cut_big,
            [
                vec![('a', 1)],
                vec![('a', 3)],
                vec![('a', 4)],
                vec![('b', 2), ('b', 5)]
            ]
        );
    }

    #[test]
    fn the_most_items_of_a_message_is_asked_once_per_message() {
        let asked = std::cell::Cell::new(0);
        let most = |_: &u32| {
            asked.set(asked.get() + 1);
            3
        };
        let batches = cut(0..10u32, |_, _| true, |_| 1, most);
        assert_eq!(
            batches,
            [vec![0, 1, 2], vec![3, 4, 5], vec![6, 7, 8], vec![9]]
        );
        assert_eq!(asked.get(), batches.len());
    }
}
