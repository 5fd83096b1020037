"""Python aplex 1.0.1 as a peer of `cargo xtask bench --peers python`.

Runs the bench's cases on aplex's ProcessAsyncPoolExecutor and ThreadAsyncPoolExecutor
(pool size 2, the same works and counts as the Rust cases) and prints each figure as
the bench binary does: `result name=NAME unit=UNIT ours=X limit=- peer=-`.

Usage: python aplex_peer.py [--smoke] [CASE ...]   (no case: every case)
"""

import statistics
import sys
import time

from aplex import ProcessAsyncPoolExecutor, ThreadAsyncPoolExecutor

POOL_SIZE = 2
MIB = 1 << 20
FULL = {"calls": 3000, "map_items": 200_000, "echoes": 60}
SMOKE = {"calls": 50, "map_items": 2_560, "echoes": 3}


async def echo(x):
    return x


async def echo_bytes(payload):
    return payload


def show(name, unit, value):
    print(f"result name={name} unit={unit} ours={value:.6f} limit=- peer=-", flush=True)


def latency(pool, kind, size):
    for x in range(200):
        assert pool.submit(echo, x).result() == x
    took = []
    for x in range(size["calls"]):
        started = time.perf_counter()
        assert pool.submit(echo, x).result() == x
        took.append((time.perf_counter() - started) * 1e6)
    took.sort()
    show(f"{kind}_latency_median", "us", statistics.median(took))
    show(f"{kind}_latency_p99", "us", took[min(len(took) - 1, int(len(took) * 0.99))])


def map_rate(pool, kind, size, chunksize):
    items = size["map_items"]
    list(pool.map(echo, range(1000), chunksize=chunksize))
    started = time.perf_counter()
    got = sum(1 for _ in pool.map(echo, range(items), chunksize=chunksize))
    took = time.perf_counter() - started
    assert got == items
    show(f"{kind}_map_cs{chunksize}", "works/s", items / took)


def bytes_echo(pool, size):
    payload = bytes(MIB)
    assert len(pool.submit(echo_bytes, payload).result()) == MIB
    started = time.perf_counter()
    for _ in range(size["echoes"]):
        assert len(pool.submit(echo_bytes, payload).result()) == MIB
    took = time.perf_counter() - started
    show("bytes_echo_1mib", "MiB/s", size["echoes"] / took)


CASES = {
    "thread_latency": ("thread", lambda pool, size: latency(pool, "thread", size)),
    "thread_map_cs1": ("thread", lambda pool, size: map_rate(pool, "thread", size, 1)),
    "thread_map_cs256": ("thread", lambda pool, size: map_rate(pool, "thread", size, 256)),
    "process_latency": ("process", lambda pool, size: latency(pool, "process", size)),
    "process_map_cs1": ("process", lambda pool, size: map_rate(pool, "process", size, 1)),
    "process_map_cs256": ("process", lambda pool, size: map_rate(pool, "process", size, 256)),
    "bytes_echo": ("process", bytes_echo),
}


def main(args):
    size = SMOKE if "--smoke" in args else FULL
    names = [arg for arg in args if not arg.startswith("--")] or list(CASES)
    for name in names:
        if name not in CASES:
            continue  # a case Python aplex has no counterpart for
        kind, run = CASES[name]
        executor = ProcessAsyncPoolExecutor if kind == "process" else ThreadAsyncPoolExecutor
        pool = executor(pool_size=POOL_SIZE)
        try:
            run(pool, size)
        finally:
            pool.shutdown()


if __name__ == "__main__":
    main(sys.argv[1:])
