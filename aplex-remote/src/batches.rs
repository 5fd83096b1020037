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
    let mut open: Vec<(Vec<T>, usize)> = Vec::new();
    for item in ready {
        let bytes = size(&item);
        if let Some(at) = open.iter().position(|(batch, _)| same(&batch[0], &item)) {
            let (batch, filled) = &mut open[at];
            if batch.len() < max_items(&batch[0]) && *filled + bytes <= MAX_BATCH_BYTES {
                batch.push(item);
                *filled += bytes;
                continue;
            }
            done.push(open.swap_remove(at).0);
        }
        open.push((vec![item], bytes));
    }
    done.extend(open.into_iter().map(|(batch, _)| batch));
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
}
