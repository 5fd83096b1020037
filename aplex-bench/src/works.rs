//! The works the cases run, registered for the process pool.

use std::time::Duration;

/// The trivial async work.
#[aplex::work]
pub(crate) async fn echo(x: u64) -> u64 {
    x
}

/// Sleeps `ms` milliseconds.
#[aplex::work]
pub(crate) async fn sleep_ms(ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    ms
}

/// Burns CPU for `rounds` rounds of arithmetic (a fixed amount of work, whatever else
/// runs on the machine); returns a checksum.
#[aplex::work]
pub(crate) fn burn(rounds: u64) -> u64 {
    let mut checksum: u64 = 0;
    for i in 0..rounds {
        checksum = std::hint::black_box(checksum.wrapping_mul(6364136223846793005).wrapping_add(i));
    }
    checksum
}

/// The rounds of [`burn`] that take about `seconds` on this machine.
pub(crate) fn calibrate_burn(seconds: f64) -> u64 {
    let probe = 10_000_000;
    let took = crate::measure::seconds(|| {
        std::hint::black_box(burn(probe));
    });
    ((probe as f64) * seconds / took.max(1e-9)) as u64
}

/// Returns its bytes.
#[aplex::work]
pub(crate) fn echo_bytes(data: serde_bytes::ByteBuf) -> serde_bytes::ByteBuf {
    data
}
