//! Awaiting results: a `WorkFuture` is woken by a waker, so it can be `.await`ed on any
//! runtime — no `awaitable=True`, `future_loop` or `set_future_loop` as in Python aplex —
//! and a map becomes an async `Stream`.
//!
//! Run it with `cargo run --example awaiting`.

use aplex::{Error, ProcessAsyncPoolExecutor};
use futures::StreamExt;

#[aplex::work]
async fn greet(name: String) -> String {
    format!("hello, {name}, from process {}", std::process::id())
}

async fn run(pool: &ProcessAsyncPoolExecutor) -> Result<(), Error> {
    // Await one future.
    println!("{}", pool.submit(greet, "tokio".to_owned()).await?);

    // Await many at once.
    let names = ["ada", "alan", "grace"].map(str::to_owned);
    let greetings =
        futures::future::try_join_all(names.map(|name| pool.submit(greet, name))).await?;
    println!("{greetings:#?}");

    // A map as a Stream, in input order.
    let mut stream = pool
        .map(greet, (1..=3).map(|i| format!("stream item {i}")))
        .into_stream();
    while let Some(greeting) = stream.next().await {
        println!("{}", greeting?);
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pool = ProcessAsyncPoolExecutor::builder().pool_size(2).build()?;

    // On a tokio runtime...
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(&pool))?;

    // ...or on futures' own executor: the same futures, no runtime to name.
    futures::executor::block_on(run(&pool))?;

    // From plain blocking code, `result()` waits instead.
    println!(
        "{}",
        pool.submit(greet, "blocking code".to_owned()).result()?
    );
    Ok(())
}
