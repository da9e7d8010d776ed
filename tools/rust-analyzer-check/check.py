#!/usr/bin/env python3
"""What rust-analyzer makes of ctxvar's annotated functions: a check run by hand.

    python3 tools/rust-analyzer-check/check.py            # from the repository root
    python3 tools/rust-analyzer-check/check.py --all      # print every case's result
    python3 tools/rust-analyzer-check/check.py --record   # accept the results as expected
    python3 tools/rust-analyzer-check/check.py --verbose  # and the server's log, progress

Needs `rust-analyzer` on PATH (`rustup component add rust-analyzer`), cargo, and
Python 3.8+ (standard library only). It takes about 20 s once the fixture's
dependencies are built (the first run builds them, offline, from cargo's cache).
It is not part of CI, whose machines may lack the rust-analyzer component: run it by
hand after changing how the macros span what they generate.

It starts rust-analyzer over stdio on the crate in `fixture/` (which depends on
ctxvar by path; rust-analyzer builds the proc macros into `fixture/target/`), opens
`fixture/src/lib.rs`, waits until indexing is done (`experimental/serverStatus`
says quiescent, no `$/progress` is running, and that lasts a second), then asks, at
the lines marked `// @name` in the fixture, at the first name of the variable there:

- `textDocument/hover` and `textDocument/definition` on reads of `ITEM_ID` (declared
  with `#[context_var]`) in plain code, in `format!`, `println!`, `tracing::info!`,
  `assert_eq!`, in a closure, an async block and a `ctxvar::spawn`ed block, fallible
  reads (`try_get`, `is_bound`), in `#[with_context]` and `#[uses_context]`
  functions, async and sync; a variable named by a path (`ids::TENANT`); a read
  outside annotated functions; the arguments of the attributes;
- `textDocument/references` from the declaration and from reads;
- `textDocument/rename` from the declaration, the attribute, reads inside and
  outside annotated functions; which names of the variable the edit misses, and
  whether a copy of the fixture with the edit applied passes `cargo check`.

Each result is compared with `expected.json` (recorded with rust-analyzer 1.95.0),
and checked against what the macros are meant to give whatever was recorded: every
rename renames every name of its variable and compiles; every read has the
declaration among its definitions and the variable's documentation in its hover;
the declaration's references include every read. Exit status: 0 if all holds, 1 if
a case differs from `expected.json` or breaks one of these, 2 if rust-analyzer could
not be started or did not finish indexing.
"""

import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "fixture")
LIB = os.path.join(FIXTURE, "src", "lib.rs")
CTXVAR = os.path.normpath(os.path.join(HERE, "..", "..", "ctxvar"))
NAME = "ITEM_ID"
NEW_NAME = "RENAMED_ID"
INDEX_TIMEOUT = 600  # seconds: a cold build of the fixture's dependencies


def uri_of(path):
    return "file://" + path


def path_of(uri):
    return uri[len("file://") :] if uri.startswith("file://") else uri


# ---------------------------------------------------------------------------------
# A minimal LSP client
# ---------------------------------------------------------------------------------


class Server:
    def __init__(self, root, verbose=False):
        self.verbose = verbose
        self.proc = subprocess.Popen(
            ["rust-analyzer"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL if not verbose else None,
            cwd=root,
        )
        self.messages = queue.Queue()
        self.next_id = 0
        self.progress = set()  # `$/progress` tokens begun and not ended
        self.quiescent = False
        self.health = "ok"
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        stream = self.proc.stdout
        while True:
            headers = {}
            while True:
                line = stream.readline()
                if not line:
                    self.messages.put(None)
                    return
                line = line.decode("ascii").strip()
                if not line:
                    break
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
            body = stream.read(int(headers["content-length"]))
            self.messages.put(json.loads(body))

    def _send(self, message):
        message["jsonrpc"] = "2.0"
        body = json.dumps(message).encode("utf-8")
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def notify(self, method, params):
        self._send({"method": method, "params": params})

    def request(self, method, params, timeout=120):
        self.next_id += 1
        request_id = self.next_id
        self._send({"id": request_id, "method": method, "params": params})
        deadline = time.time() + timeout
        while True:
            message = self._next(deadline)
            if message is None:
                raise RuntimeError(f"no answer to {method} within {timeout} s")
            if message.get("id") == request_id and "method" not in message:
                if "error" in message:
                    return {"error": message["error"]}
                return message.get("result")

    def _next(self, deadline):
        """The next message, after handling it; None at the deadline or at exit."""
        try:
            message = self.messages.get(timeout=max(0.0, deadline - time.time()))
        except queue.Empty:
            return None
        if message is None:
            raise RuntimeError("rust-analyzer exited")
        method = message.get("method")
        if method is not None and "id" in message:
            # A request from the server: configuration, progress tokens, registrations.
            result = None
            if method == "workspace/configuration":
                result = [SETTINGS for _ in message["params"]["items"]]
            self._send({"id": message["id"], "result": result})
        elif method == "$/progress":
            kind = message["params"]["value"].get("kind")
            token = message["params"]["token"]
            if kind == "begin":
                self.progress.add(token)
            elif kind == "end":
                self.progress.discard(token)
            if self.verbose:
                value = message["params"]["value"]
                print(f"  progress {token}: {kind} {value.get('title', '')}"
                      f" {value.get('message', '')}", file=sys.stderr)
        elif method == "experimental/serverStatus":
            self.quiescent = message["params"]["quiescent"]
            self.health = message["params"]["health"]
            if self.verbose or self.health != "ok":
                print(f"  status: {message['params']}", file=sys.stderr)
        return message

    def wait_until_indexed(self, timeout=INDEX_TIMEOUT):
        """Until the server says it is quiescent with no progress running, and stays so
        for a second. (rust-analyzer 1.95 reports quiescent once, after loading the
        workspace, building the proc macros and scanning the roots; the second is a
        margin.) An error status (the workspace did not load) is reported as such."""
        deadline = time.time() + timeout
        quiet_since = None
        while time.time() < deadline:
            message = self._next(min(deadline, time.time() + 0.25))
            if self.health == "error":
                raise RuntimeError("rust-analyzer reports an error; run with --verbose")
            idle = self.quiescent and not self.progress
            if message is not None and message.get("method") in (
                "$/progress",
                "experimental/serverStatus",
            ):
                quiet_since = time.time() if idle else None
            elif idle and quiet_since is None:
                quiet_since = time.time()
            if idle and quiet_since is not None and time.time() - quiet_since > 1.0:
                return
        raise RuntimeError("rust-analyzer did not finish indexing")

    def shutdown(self):
        try:
            self.request("shutdown", None, timeout=10)
            self.notify("exit", None)
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()


SETTINGS = {
    "cargo": {"targetDir": True, "buildScripts": {"enable": True}},
    "procMacro": {"enable": True},
    "checkOnSave": False,
    "cachePriming": {"enable": False},
}


# ---------------------------------------------------------------------------------
# Positions in the fixture
# ---------------------------------------------------------------------------------

with open(LIB, encoding="utf-8") as file:
    SOURCE = file.read()
LINES = SOURCE.split("\n")
MARKERS = {}
for number, text in enumerate(LINES):
    found = re.search(r"// @(\w+)\s*$", text)
    if found:
        MARKERS[found.group(1)] = number


def code_of(line):
    """The line without its `//` comment (the fixture has no `//` in strings)."""
    return line.split("//", 1)[0]


def name_at(marker):
    """The variable a marked line is about: `TENANT` on `@tenant_..` lines."""
    return "TENANT" if marker.startswith("tenant") else NAME


def position(marker):
    """The LSP position of the first name of the variable on the marked line
    (inside the name, one character in)."""
    line = MARKERS[marker]
    found = re.search(r"\b%s\b" % name_at(marker), code_of(LINES[line]))
    return {"line": line, "character": found.start() + 1}


def all_occurrences(name):
    """Every `name` token in the fixture's code (not in comments), as (line, col)."""
    found = []
    for number, text in enumerate(LINES):
        for match in re.finditer(r"\b%s\b" % name, code_of(text)):
            found.append((number, match.start()))
    return found


def where(line, character=None):
    """`@marker` for a marked line, `line N` otherwise; `:col` if given."""
    names = [name for name, at in MARKERS.items() if at == line]
    place = "@" + names[0] if names else f"line {line + 1}"
    return place if character is None else f"{place}:{character}"


def describe_location(location):
    uri = location.get("uri") or location.get("targetUri")
    range_ = location.get("range") or location.get("targetSelectionRange")
    if path_of(uri) != LIB:
        # Only the file: its lines move with every edit of ctxvar.
        return os.path.relpath(path_of(uri), os.path.dirname(CTXVAR))
    start = range_["start"]
    text = LINES[start["line"]][start["character"] : range_["end"]["character"]]
    return f"{where(start['line'], start['character'])} `{text}`"


# ---------------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------------

READS = [
    "with_async_plain",
    "with_async_format",
    "with_async_println",
    "with_async_tracing",
    "with_async_assert_eq",
    "with_async_closure",
    "with_async_block",
    "with_sync_plain",
    "with_sync_format",
    "uses_async_plain",
    "uses_async_format",
    "uses_async_tracing",
    "uses_async_closure",
    "uses_async_block",
    "uses_sync_plain",
    "uses_sync_println",
    "with_async_is_bound",
    "with_async_try_get",
    "with_async_spawn",
    "tenant_format",
]

RENAMES = [
    "declaration",
    "with_attribute",
    "with_async_plain",
    "with_async_format",
    "with_async_try_get",
    "with_async_spawn",
    "uses_sync_plain",
    "outside",
    "tenant_declaration",
    "tenant_format",
]

# What each case returned when the macros last changed (`--record` rewrites it).
EXPECTED_FILE = os.path.join(HERE, "expected.json")


def invariants(results):
    """What the macros make sure of, checked whatever `expected.json` says: every
    rename edits every name of its variable and the renamed crate compiles; every
    read in an annotated function has the declaration among its definitions and
    its documentation in its hover; the declaration's references include every read."""
    broken = []
    for case, got in results.items():
        kind, marker = case.split(" ", 1)
        declaration = "@tenant_declaration:" if marker.startswith("tenant") else "@declaration:"
        if kind == "rename":
            edits = re.match(r"edits (\d+)/(\d+); compiles$", got)
            if not edits or edits.group(1) != edits.group(2):
                broken.append(f"{case}: not every name renamed, or does not compile")
        if marker in READS and kind == "definition" and declaration not in got:
            broken.append(f"{case}: the declaration is not a definition")
        if marker in READS and kind == "hover" and "(docs: of type" not in got:
            broken.append(f"{case}: no documentation of the variable")
    reads = [m for m in READS if not m.startswith("tenant")]
    for marker in reads:
        if f"@{marker}:" not in results["references declaration"]:
            broken.append(f"references declaration: misses @{marker}")
    return broken


def hover_summary(result):
    """The hover's code lines (signatures, `let` types; not the crate paths above
    them) joined by ` + `, and `docs: ..` with the variable's type if it shows the
    documentation that `#[context_var]` writes."""
    if not result:
        return "null"
    contents = result["contents"]
    text = contents["value"] if isinstance(contents, dict) else str(contents)
    shown = []
    for block in re.findall(r"```rust\n(.*?)```", text, re.S):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if len(lines) == 1 and re.fullmatch(r"[\w:]+", lines[0]):
            continue  # the module path above an item
        shown.append(" ".join(lines) if len(lines) < 3 else lines[0] + " ...")
    summary = " + ".join(shown) if shown else text.strip()
    typed = re.search(r"\*Context variable\* of type `([^`]*)`", text)
    if typed:
        summary += f" (docs: of type `{typed.group(1)}`)"
    return summary


def locations_summary(result):
    if not result:
        return "none"
    if isinstance(result, dict):
        result = [result]
    return "; ".join(sorted({describe_location(location) for location in result}))


def edits_of(result):
    """{path: [TextEdit]} of a WorkspaceEdit."""
    edits = {}
    for change in result.get("documentChanges") or []:
        if "textDocument" in change:
            edits.setdefault(path_of(change["textDocument"]["uri"]), []).extend(
                change["edits"]
            )
    for uri, changes in (result.get("changes") or {}).items():
        edits.setdefault(path_of(uri), []).extend(changes)
    return edits


def rename_summary(result, name):
    """How many of the names `name` in the fixture's code the rename edits, which
    it misses, and any other file it edits."""
    if result is None:
        return "null", None
    if "error" in result:
        return "error: " + result["error"]["message"], None
    edits = edits_of(result)
    others = sorted(os.path.relpath(p, HERE) for p in edits if p != LIB)
    edited = set()
    for edit in edits.get(LIB, []):
        start = edit["range"]["start"]
        edited.add((start["line"], start["character"]))
    occurrences = all_occurrences(name)
    missed = [where(*o) for o in occurrences if o not in edited]
    summary = f"edits {len(edited & set(occurrences))}/{len(occurrences)}"
    if missed:
        summary += "; misses " + ", ".join(missed)
    if others:
        summary += "; also edits " + ", ".join(others)
    return summary, edits.get(LIB, [])


def apply_edits(text, edits):
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)

    def offset(pos):
        return offsets[pos["line"]] + pos["character"]

    for edit in sorted(edits, key=lambda e: offset(e["range"]["start"]), reverse=True):
        start, end = offset(edit["range"]["start"]), offset(edit["range"]["end"])
        text = text[:start] + edit["newText"] + text[end:]
    return text


def compiles(edits):
    """Whether a copy of the fixture with `edits` applied passes `cargo check`."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = os.path.join(scratch, "fixture")
        shutil.copytree(FIXTURE, copy, ignore=shutil.ignore_patterns("target"))
        manifest = os.path.join(copy, "Cargo.toml")
        with open(manifest, encoding="utf-8") as file:
            text = file.read()
        text = text.replace('path = "../../../ctxvar"', f'path = "{CTXVAR}"')
        with open(manifest, "w", encoding="utf-8") as file:
            file.write(text)
        with open(os.path.join(copy, "src", "lib.rs"), "w", encoding="utf-8") as file:
            file.write(apply_edits(SOURCE, edits))
        env = dict(os.environ)
        env.setdefault("CARGO_TARGET_DIR", os.path.join(FIXTURE, "target"))
        done = subprocess.run(
            ["cargo", "check", "--quiet", "--offline"],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
        )
        return done.returncode == 0, done.stderr


def run_cases(server, verbose):
    uri = uri_of(LIB)
    doc = {"uri": uri}
    results = {}

    def at(marker):
        return {"textDocument": doc, "position": position(marker)}

    for marker in READS:
        results[f"hover {marker}"] = hover_summary(
            server.request("textDocument/hover", at(marker))
        )
    for marker in ["declaration", "outside"]:
        results[f"hover {marker}"] = hover_summary(
            server.request("textDocument/hover", at(marker))
        )
    for marker in READS + ["with_attribute", "uses_attribute", "tenant_attribute", "outside"]:
        results[f"definition {marker}"] = locations_summary(
            server.request("textDocument/definition", at(marker))
        )
    for marker in ["declaration", "with_async_plain", "with_async_format",
                   "tenant_declaration"]:
        params = at(marker)
        params["context"] = {"includeDeclaration": True}
        results[f"references {marker}"] = locations_summary(
            server.request("textDocument/references", params)
        )
    for marker in RENAMES:
        params = at(marker)
        params["newName"] = NEW_NAME
        result = server.request("textDocument/rename", params)
        summary, edits = rename_summary(result, name_at(marker))
        if edits:
            ok, errors = compiles(edits)
            summary += "; compiles" if ok else "; does not compile"
            if verbose and not ok:
                print(errors, file=sys.stderr)
        results[f"rename {marker}"] = summary
    return results


def main():
    verbose = "--verbose" in sys.argv
    if shutil.which("rust-analyzer") is None:
        print("rust-analyzer is not on PATH (rustup component add rust-analyzer)")
        return 2
    server = Server(FIXTURE, verbose)
    try:
        initialized = server.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": uri_of(FIXTURE),
                "workspaceFolders": [{"uri": uri_of(FIXTURE), "name": "fixture"}],
                "initializationOptions": SETTINGS,
                "capabilities": {
                    "experimental": {"serverStatusNotification": True},
                    "window": {"workDoneProgress": True},
                    "workspace": {"configuration": True,
                                  "workspaceEdit": {"documentChanges": True}},
                    "textDocument": {
                        "hover": {"contentFormat": ["markdown", "plaintext"]},
                        "rename": {"prepareSupport": True},
                        "definition": {"linkSupport": False},
                    },
                },
            },
        )
        info = initialized.get("serverInfo", {})
        server.version = f"{info.get('name', 'rust-analyzer')} {info.get('version', '')}"
        server.notify("initialized", {})
        server.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri_of(LIB), "languageId": "rust", "version": 1,
                              "text": SOURCE}},
        )
        started = time.time()
        server.wait_until_indexed()
        print(f"{server.version}: indexed in {time.time() - started:.0f} s")
        results = run_cases(server, verbose)
    except RuntimeError as error:
        print(f"error: {error}")
        server.shutdown()
        return 2
    server.shutdown()

    if "--record" in sys.argv:
        with open(EXPECTED_FILE, "w", encoding="utf-8") as file:
            json.dump(results, file, indent=4)
            file.write("\n")
        print(f"recorded {len(results)} cases in {os.path.relpath(EXPECTED_FILE)}")
    expected_results = {}
    if os.path.exists(EXPECTED_FILE):
        with open(EXPECTED_FILE, encoding="utf-8") as file:
            expected_results = json.load(file)
    failed = 0
    for case, got in results.items():
        expected = expected_results.get(case)
        status = "ok" if expected == got else ("NEW" if expected is None else "DIFFERS")
        if status != "ok":
            failed += 1
        if status != "ok" or "--all" in sys.argv:
            print(f"{status:7} {case}: {got}")
        if status == "DIFFERS":
            print(f"{'':7} expected: {expected}")
    print(f"{len(results) - failed}/{len(results)} cases as in {os.path.basename(EXPECTED_FILE)}")
    broken = invariants(results)
    for problem in broken:
        print(f"BROKEN  {problem}")
    return 1 if failed or broken else 0


if __name__ == "__main__":
    sys.exit(main())
