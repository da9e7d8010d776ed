#!/usr/bin/env python3
"""Compile time of strict helpers, measured in a generated crate.

    python3 ctxvar/benches/compile_time/run.py           # prints the table
    python3 ctxvar/benches/compile_time/run.py --quick   # 20 helpers, one run each

Generates three crates under target/compile-time (not part of the workspace) with the
same program: 8 variables; 200 helpers, each reading one variable; 200 callers, each
binding all 8 and awaiting 10 helpers (2,000 awaits). They differ only in how:

- strict:      `#[uses_context(V, strict)]` helpers, `#[with_context(..)]` callers;
- not strict:  `#[uses_context(V)]` helpers, the same callers;
- tokio:       `tokio::task_local!` variables read with `with`, callers nesting eight
               `scope`s by hand.

Each is checked once to build its dependencies, then its own source is touched and
`cargo check` (no incremental state) times the crate alone, best of 3.
"""

import pathlib
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent.parent
OUT = ROOT / "target" / "compile-time"
VARS = 8


def generate(kind, helpers, callers, awaits_each):
    lines = ["#![allow(dead_code, clippy::all)]"]
    if kind == "tokio":
        lines.append("tokio::task_local! {")
        lines += [f"    static V{v}: u64;" for v in range(VARS)]
        lines.append("}")
    else:
        lines.append("use ctxvar::{context_var, uses_context, with_context};")
        for v in range(VARS):
            lines += ["#[context_var]", f"static V{v}: u64;"]
    for h in range(helpers):
        v = h % VARS
        if kind == "tokio":
            lines.append(f"async fn h{h}(x: u64) -> u64 {{ V{v}.with(|v| *v) + x }}")
        else:
            strict = ", strict" if kind == "strict" else ""
            lines.append(f"#[uses_context(V{v}{strict})]")
            lines.append(f"async fn h{h}(x: u64) -> u64 {{ V{v}.get() + x }}")
    for c in range(callers):
        body = ["let mut sum = 0;"]
        for k in range(awaits_each):
            body.append(f"sum += h{(c * awaits_each + k) % helpers}({k}).await;")
        body.append("sum")
        inner = " ".join(body)
        if kind == "tokio":
            future = f"async move {{ {inner} }}"
            for v in reversed(range(VARS)):
                future = f"V{v}.scope({v}, {future})"
            lines.append(f"async fn c{c}() -> u64 {{ {future}.await }}")
        else:
            binds = ", ".join(f"V{v} = {v}" for v in range(VARS))
            lines.append(f"#[with_context({binds})]")
            lines.append(f"async fn c{c}() -> u64 {{ {inner} }}")
    return "\n".join(lines) + "\n"


def crate(kind, helpers, callers, awaits_each):
    path = OUT / kind.replace(" ", "-")
    (path / "src").mkdir(parents=True, exist_ok=True)
    dependency = (
        'tokio = { version = "1", features = ["rt", "macros"] }'
        if kind == "tokio"
        else f'ctxvar = {{ path = "{ROOT / "ctxvar"}", default-features = false }}'
    )
    (path / "Cargo.toml").write_text(
        f'[package]\nname = "generated-{kind.replace(" ", "-")}"\nversion = "0.0.0"\n'
        f'edition = "2024"\npublish = false\n\n[dependencies]\n{dependency}\n\n[workspace]\n'
    )
    (path / "src" / "lib.rs").write_text(generate(kind, helpers, callers, awaits_each))
    return path


def check(path):
    env = {"CARGO_INCREMENTAL": "0", **__import__("os").environ}
    subprocess.run(["cargo", "check", "--quiet"], cwd=path, check=True, env=env)
    (path / "src" / "lib.rs").touch()
    start = time.perf_counter()
    subprocess.run(["cargo", "check", "--quiet"], cwd=path, check=True, env=env)
    return time.perf_counter() - start


def main():
    quick = "--quick" in sys.argv
    helpers, callers, awaits_each, runs = (20, 20, 10, 1) if quick else (200, 200, 10, 3)
    results = {}
    for kind in ["strict", "not strict", "tokio"]:
        path = crate(kind, helpers, callers, awaits_each)
        results[kind] = min(check(path) for _ in range(runs))
    print(f"{helpers} helpers, {callers * awaits_each} awaits; cold `cargo check` of the crate, best of {runs}:")
    print("| crate | seconds | ratio to not strict |")
    print("|---|---:|---:|")
    for kind, seconds in results.items():
        print(f"| {kind} | {seconds:.2f} | {seconds / results['not strict']:.2f}× |")


if __name__ == "__main__":
    main()
