#!/usr/bin/env python3
"""Checks the workspace's declared rust-version against what it really needs.

Only one toolchain can be installed here, so the declared minimum cannot be built
directly; instead this fails when any crate a user of the published crates builds (their
normal and build dependencies, on this platform) declares a rust-version above ours (our
floor would then be a lie), and when the installed rustc is below ours.
"""
import json
import subprocess
import sys


def version(text):
    return tuple(int(part) for part in text.split(".")[:3]) + (0,) * (3 - len(text.split(".")))


host = next(
    line.split()[1]
    for line in subprocess.run(["rustc", "-vV"], check=True, capture_output=True, text=True).stdout.splitlines()
    if line.startswith("host:")
)
metadata = json.loads(
    subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked", "--filter-platform", host],
        check=True, capture_output=True, text=True,
    ).stdout
)
members = set(metadata["workspace_members"])
ours = {p["rust_version"] for p in metadata["packages"] if p["id"] in members}
if len(ours) != 1 or None in ours:
    sys.exit(f"every workspace crate must declare the same rust-version, found {ours}")
ours = ours.pop()
# What a user builds: the normal dependencies of the published crates, on this platform.
packages = {p["id"]: p for p in metadata["packages"]}
nodes = {node["id"]: node for node in metadata["resolve"]["nodes"]}
published = [pid for pid in members if packages[pid].get("publish") != []]
resolved, todo = set(), list(published)
while todo:
    pid = todo.pop()
    if pid in resolved:
        continue
    resolved.add(pid)
    for dep in nodes[pid]["deps"]:
        if any(kind["kind"] in (None, "build") for kind in dep["dep_kinds"]):
            todo.append(dep["pkg"])
too_new = [
    f'{p["name"]} {p["version"]} needs {p["rust_version"]}'
    for p in metadata["packages"]
    if p["id"] in resolved and p.get("rust_version") and version(p["rust_version"]) > version(ours)
]
if too_new:
    sys.exit(f"rust-version {ours} is below what dependencies need:\n  " + "\n  ".join(too_new))
rustc = subprocess.run(["rustc", "--version"], check=True, capture_output=True, text=True).stdout.split()[1]
if version(rustc) < version(ours):
    sys.exit(f"rustc {rustc} is older than the declared rust-version {ours}")
print(f"rust-version {ours}: no dependency needs more; rustc {rustc} satisfies it")
