//! A scoped thread pool: works and map items borrow from the caller's stack, as with
//! `std::thread::scope` or rayon's `scope` — no `'static`, no cloning each job's data.
//! The scope returns only once every work in it is over.
//!
//! Run it with `cargo run --example scoped`.

use aplex::{blocking, ThreadAsyncPoolExecutor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pool = ThreadAsyncPoolExecutor::builder().pool_size(2).build()?;
    let documents: Vec<String> = (1..=6)
        .map(|n| format!("document {n}: {}", "lorem ipsum ".repeat(n)))
        .collect();
    let needle = String::from("ipsum");

    let counts: Vec<usize> = pool.scope(|s| {
        // The work borrows `needle`, the items borrow `documents`.
        let count = |text: &String| text.matches(needle.as_str()).count();
        s.map(blocking(count), documents.iter())
            .map(Result::unwrap)
            .collect()
    });
    println!("occurrences of {needle:?} per document: {counts:?}");

    let longest = pool.scope(|s| {
        let lengths: Vec<_> = documents
            .iter()
            .map(|text| s.submit(|text: &String| async move { text.len() }, text))
            .collect();
        lengths
            .into_iter()
            .map(|future| future.result().unwrap())
            .max()
    });
    println!("the longest document has {} bytes", longest.unwrap_or(0));
    Ok(())
}
