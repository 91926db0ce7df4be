#!/usr/bin/env python3
"""Finds cycles among the modules of each crate under crates/*/src.

Usage:
    scripts/check-module-cycles.py [--root DIR] [CRATE ...]   check (all crates by default)
    scripts/check-module-cycles.py --self-test                 show that the check can fail

Exits 1 and prints every cycle (its modules, and one `file:line` per edge) when some
crate's modules depend on each other in a circle; exits 0 with a one-line summary
otherwise. Python 3 standard library only.

Why: a crate whose modules form a circle cannot be split or read one room at a time
(STYLE.md: "a room per responsibility"); each module should be understandable from the
modules below it.

The rule
--------
Modules. Each crate is read from its root (`src/lib.rs`, and `src/main.rs` as a crate of
its own when there is no lib.rs) by following `mod` declarations: `lib.rs`/`main.rs` is
the root, `a.rs` or `a/mod.rs` is `a`, `a/b.rs` is `a::b`; an inline `mod a { ... }` is
a module too. Not read: items under `#[cfg(test)]` (so `mod tests` blocks and the
`tests.rs` files they declare), any file named `tests.rs` or below a `tests/`
directory, comments, string and character literals.

Edges. Module M depends on module T (M -> T, T != M) when M's code names T through a
path:
  - `crate::a::b::Item` (in a `use` or in code) is an edge to the deepest module that
    exists along the path: `a::b` if that is a module, else `a`, else the root;
  - `super::`, `super::super::`, `self::` paths resolve the same way from M's position;
  - a path starting with the name of a child module M declares (`child::f()`,
    `use child::X`) is an edge M -> child;
  - `use` trees are expanded: `use crate::{a::X, b::{c::Y}}` is edges to `a` and `b::c`.
Parent and child:
  - `mod child;` / `mod child { ... }` is structure, never an edge;
  - a re-export (`pub use`, `pub(crate) use`, ...) is structure too: a facade that
    re-exports `child::X` does not depend on `child`. A path that reaches an item
    through a re-export is an edge to the module the item comes from
    (`use crate::LogError` where lib.rs has `pub use error::LogError` is an edge to
    `error`, not to the root; through a re-export of another crate's item it is no
    edge). A re-export whose name the module's own code also uses is an edge, as a
    private `use` is;
  - every other reference between a parent and its descendants counts like any other
    edge: a child's `use super::X` is child -> parent, a parent calling
    `child::f()` is parent -> child. So a parent that uses its child while the child
    uses the parent's own items is a cycle, as is any circle across siblings or
    subtrees.

Cycles are the strongly connected components of more than one module. For each, the
script prints the modules, one shortest circle through them, and every edge inside the
component with one example `file:line`.
"""

import argparse
import os
import re
import sys
import tempfile
from collections import defaultdict, deque

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
# What a re-export of another crate's item resolves to: no module of this crate.
EXTERNAL = "external"


# ---------------------------------------------------------------------------------------
# Lexing: comments, strings and character literals become spaces (newlines are kept, so
# offsets still map to the same lines).


def blank(text):
    return re.sub(r"[^\n]", " ", text)


def strip_comments_and_literals(src):
    out = []
    i = 0
    n = len(src)
    while i < n:
        c = src[i]
        nxt = src[i + 1] if i + 1 < n else ""
        if c == "/" and nxt == "/":
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(blank(src[i:j]))
            i = j
        elif c == "/" and nxt == "*":
            depth = 0
            j = i
            while j < n:
                if src.startswith("/*", j):
                    depth += 1
                    j += 2
                elif src.startswith("*/", j):
                    depth -= 1
                    j += 2
                    if depth == 0:
                        break
                else:
                    j += 1
            out.append(blank(src[i:j]))
            i = j
        elif c in "rb" and not (i > 0 and re.match(r"[A-Za-z0-9_]", src[i - 1])):
            # Raw strings r"..", r#".."#, br".."; byte strings b".."; byte chars b'x'.
            m = re.match(r'(br|r)(#*)"', src[i:])
            if m:
                end = '"' + m.group(2)
                j = src.find(end, i + len(m.group(0)))
                j = n if j < 0 else j + len(end)
                out.append(blank(src[i:j]))
                i = j
            elif c == "b" and nxt in "\"'":
                j = skip_quoted(src, i + 1)
                out.append(blank(src[i:j]))
                i = j
            else:
                out.append(c)
                i += 1
        elif c == '"':
            j = skip_quoted(src, i)
            out.append(blank(src[i:j]))
            i = j
        elif c == "'":
            # A character literal ('x', '\n', '\u{..}') or a lifetime / label ('a).
            if nxt == "\\" or (i + 2 < n and src[i + 2] == "'"):
                j = skip_quoted(src, i)
                out.append(blank(src[i:j]))
                i = j
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def skip_quoted(src, i):
    """The index after the literal opened by the quote at `i`."""
    quote = src[i]
    j = i + 1
    while j < len(src):
        if src[j] == "\\":
            j += 2
        elif src[j] == quote:
            return j + 1
        else:
            j += 1
    return len(src)


def matching(code, open_at):
    """The index of the bracket closing the one at `open_at`."""
    pairs = {"{": "}", "(": ")", "[": "]"}
    stack = []
    for j in range(open_at, len(code)):
        c = code[j]
        if c in pairs:
            stack.append(pairs[c])
        elif c in ")]}":
            if stack and stack[-1] == c:
                stack.pop()
            if not stack:
                return j
    return len(code) - 1


def item_end(code, start):
    """The index after the item starting at `start`: its `;` or its closing brace."""
    depth = 0
    j = start
    while j < len(code):
        c = code[j]
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif depth == 0 and c == ";":
            return j + 1
        elif depth == 0 and c == "{":
            return matching(code, j) + 1
        j += 1
    return len(code)


CFG_TEST = re.compile(r"#\s*\[\s*cfg\s*\(\s*test\s*\)\s*\]")
ATTRIBUTE = re.compile(r"\s*#\s*!?\s*\[")


def strip_test_items(code):
    """Blanks every item under `#[cfg(test)]` (attributes that follow it included)."""
    while True:
        m = CFG_TEST.search(code)
        if not m:
            return code
        j = m.end()
        while True:
            a = ATTRIBUTE.match(code, j)
            if not a:
                break
            j = matching(code, a.end() - 1) + 1
        end = item_end(code, j)
        code = code[: m.start()] + blank(code[m.start() : end]) + code[end:]


def statement_end(code, start):
    """The index after the `;` ending the statement at `start` (outside braces)."""
    depth = 0
    for j in range(start, len(code)):
        c = code[j]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == ";" and depth == 0:
            return j + 1
    return len(code)


def line_of(code, offset):
    return code.count("\n", 0, offset) + 1


# ---------------------------------------------------------------------------------------
# Reading a crate.


class Module:
    def __init__(self, path, file, code, span):
        self.path = path  # tuple of names; () is the crate root
        self.file = file  # the file holding it
        self.code = code  # the whole file's stripped code
        self.span = span  # (start, end) of its body in `code`
        self.children = set()
        self.uses = []  # (UseItem)
        self.paths = []  # (kind, supers, segments, offset) found in code
        self.code_idents = set()  # identifiers its code uses outside `use`


class UseItem:
    def __init__(self, kind, supers, segments, alias, glob, public, offset):
        self.kind = kind  # "crate", "super", "self" or "bare"
        self.supers = supers  # how many `super::` (kind "super")
        self.segments = segments  # path after the prefix, the final item included
        self.alias = alias  # the name it binds (None for a glob)
        self.glob = glob
        self.public = public
        self.offset = offset


MOD_DECL = re.compile(r"(?<![A-Za-z0-9_])(?:pub\s*(?:\([^)]*\))?\s*)?mod\s+(" + IDENT + r")\s*([;{])")
USE_STMT = re.compile(r"(?<![A-Za-z0-9_])(pub\s*(?:\([^)]*\))?\s*)?use\s+")
CODE_PATH = re.compile(
    r"(?<![A-Za-z0-9_$:])(crate|super|self|" + IDENT + r")((?:\s*::\s*super)*)((?:\s*::\s*" + IDENT + r")+)"
)


def module_file(dir_of_children, name):
    for candidate in (os.path.join(dir_of_children, name + ".rs"), os.path.join(dir_of_children, name, "mod.rs")):
        if os.path.isfile(candidate):
            return candidate
    return None


def ignored_file(path, src_dir):
    rel = os.path.relpath(path, src_dir).split(os.sep)
    return rel[-1] == "tests.rs" or "tests" in rel[:-1]


def read_crate(src_dir, root_file):
    """All modules reachable from `root_file` by `mod` declarations, by path."""
    modules = {}

    def read_file(path, file, children_dir):
        with open(file, encoding="utf-8") as f:
            code = strip_test_items(strip_comments_and_literals(f.read()))
        read_body(path, file, code, (0, len(code)), children_dir)

    def read_body(path, file, code, span, children_dir):
        module = Module(path, file, code, span)
        modules[path] = module
        start, end = span
        # Inline modules inside this body, outermost only; their text is not ours.
        own = list(code[start:end])
        j = start
        while True:
            m = MOD_DECL.search(code, j, end)
            if not m:
                break
            name = m.group(1)
            module.children.add(name)
            child = path + (name,)
            if m.group(2) == "{":
                close = matching(code, m.end() - 1)
                read_body(child, file, code, (m.end(), close), os.path.join(children_dir, name))
                for k in range(m.start(), close + 1):
                    own[k - start] = " " if code[k] != "\n" else "\n"
                j = close + 1
            else:
                for k in range(m.start(), m.end()):
                    own[k - start] = " "
                child_file = module_file(children_dir, name)
                if child_file and not ignored_file(child_file, src_dir):
                    base = os.path.basename(child_file)
                    grandchildren = os.path.dirname(child_file) if base == "mod.rs" else os.path.join(children_dir, name)
                    read_file(child, child_file, grandchildren)
                j = m.end()
        body = "".join(own)
        read_uses_and_paths(module, body, start)

    read_file((), root_file, os.path.dirname(root_file))
    return modules


def read_uses_and_paths(module, body, base):
    """Fills `module.uses`, `module.paths`, `module.code_idents` from its own text."""
    text = body
    j = 0
    while True:
        m = USE_STMT.search(text, j)
        if not m:
            break
        end = statement_end(text, m.end())
        tree = re.sub(r"\s+", "", re.sub(r"\s+as\s+", "@", text[m.end() : end].rstrip(";")))
        for segments, alias, glob in expand_use_tree(tree):
            kind, supers, rest = split_prefix(segments)
            module.uses.append(UseItem(kind, supers, rest, alias, glob, bool(m.group(1)), base + m.start()))
        text = text[: m.start()] + blank(text[m.start() : end]) + text[end:]
        j = end
    for m in CODE_PATH.finditer(text):
        segments = [m.group(1)] + ["super"] * m.group(2).count("super") + re.findall(IDENT, m.group(3))
        kind, supers, rest = split_prefix(segments)
        module.paths.append((kind, supers, rest, base + m.start()))
    module.code_idents = set(re.findall(IDENT, text))


def split_prefix(segments):
    """("crate" | "super" | "self" | "bare", how many supers, the rest)."""
    if segments and segments[0] == "crate":
        return "crate", 0, segments[1:]
    if segments and segments[0] == "super":
        k = 0
        while k < len(segments) and segments[k] == "super":
            k += 1
        return "super", k, segments[k:]
    if segments and segments[0] == "self":
        return "self", 0, segments[1:]
    return "bare", 0, segments


def expand_use_tree(tree):
    """`a::{b,c::{d@e,*}}` -> [(segments, alias, glob)]; whitespace removed, `as` is `@`."""
    if tree.startswith("::"):
        return []  # an extern crate path
    results = []

    def walk(prefix, t):
        t = t.strip(",")
        if not t:
            return
        if t.startswith("{"):
            close = matching(t, 0)
            for part in split_top(t[1:close]):
                walk(prefix, part)
            return
        brace = t.find("{")
        if brace >= 0 and t[:brace].endswith("::"):
            head = [s for s in t[: brace - 2].split("::") if s]
            walk(prefix + head, t[brace:])
            return
        alias = None
        if "@" in t:  # `name as alias`
            t, alias = t.split("@", 1)
        parts = [s for s in t.split("::") if s]
        if parts and parts[-1] == "*":
            results.append((prefix + parts[:-1], None, True))
            return
        if parts and parts[-1] == "self":
            parts = parts[:-1]
            name = alias or ((prefix + parts)[-1] if prefix + parts else None)
            results.append((prefix + parts, name, False))
            return
        full = prefix + parts
        results.append((full, alias or (full[-1] if full else None), False))

    walk([], tree)
    return results


def split_top(t):
    parts, depth, cur = [], 0, []
    for c in t:
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        if c == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    parts.append("".join(cur))
    return [p for p in parts if p]


# ---------------------------------------------------------------------------------------
# Resolving paths to modules.


class Crate:
    def __init__(self, name, modules):
        self.name = name
        self.modules = modules
        self._reexport_memo = {}

    def base(self, scope, kind, supers):
        if kind == "crate":
            return ()
        if kind == "super":
            return scope[: max(0, len(scope) - supers)] if supers <= len(scope) else None
        return scope  # "self", and "bare" (checked by the caller)

    def resolve(self, scope, kind, supers, segments, depth=0):
        """The module a path names (following re-exports), or None if not this crate's."""
        if kind == "bare":
            if not segments or segments[0] not in self.modules[scope].children:
                return None
        cur = self.base(scope, kind, supers)
        if cur is None or cur not in self.modules:
            return None
        rest = list(segments)
        while rest and cur + (rest[0],) in self.modules:
            cur = cur + (rest[0],)
            rest.pop(0)
        if rest and depth < 16:
            target = self.reexport(cur, rest[0], depth)
            if target is EXTERNAL:
                return None
            if target is not None:
                return self.resolve(target, "self", 0, rest[1:], depth + 1)
        return cur

    def reexport(self, module, name, depth):
        """Where `module`'s re-export of `name` comes from: a module, EXTERNAL (another
        crate's item), or None if `module` re-exports no `name`."""
        key = (module, name)
        if key in self._reexport_memo:
            return self._reexport_memo[key]
        self._reexport_memo[key] = None  # a re-export circle resolves to nothing
        found = None
        for use in self.modules[module].uses:
            if use.public and not use.glob and use.alias == name:
                found = self.resolve(module, use.kind, use.supers, use.segments, depth + 1)
                if found is None:
                    found = EXTERNAL
                break
        self._reexport_memo[key] = found
        return found

    def edges(self):
        """{(from, to): (file, line)} with the first example of each edge."""
        found = {}

        def add(source, target, offset):
            if target is None or target == source:
                return
            if (source, target) not in found:
                module = self.modules[source]
                found[(source, target)] = (module.file, line_of(module.code, offset))

        for path, module in sorted(self.modules.items()):
            for use in module.uses:
                if use.public and (use.glob or use.alias not in module.code_idents):
                    continue  # a facade's re-export: structure, not use
                add(path, self.resolve(path, use.kind, use.supers, use.segments), use.offset)
            for kind, supers, segments, offset in module.paths:
                add(path, self.resolve(path, kind, supers, segments), offset)
        return found


def crate_roots(root):
    """(display name, src dir, root file) for every crate under root/crates."""
    crates_dir = os.path.join(root, "crates")
    found = []
    for name in sorted(os.listdir(crates_dir)):
        src = os.path.join(crates_dir, name, "src")
        lib = os.path.join(src, "lib.rs")
        main = os.path.join(src, "main.rs")
        if os.path.isfile(lib):
            found.append((name, src, lib))
        elif os.path.isfile(main):
            found.append((name, src, main))
    return found


# ---------------------------------------------------------------------------------------
# Cycles.


def strongly_connected(nodes, successors):
    """Tarjan's algorithm, iterative."""
    index, low, on_stack, stack, result = {}, {}, set(), [], []
    counter = 0
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(sorted(successors.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, it = work[-1]
            advanced = False
            for succ in it:
                if succ not in index:
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(successors.get(succ, ())))))
                    advanced = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(sorted(component))
    return result


def shortest_circle(start, members, successors):
    """A shortest path start -> ... -> start inside `members`."""
    previous = {}
    queue = deque([start])
    seen = {start}
    while queue:
        node = queue.popleft()
        for succ in sorted(successors.get(node, ())):
            if succ not in members:
                continue
            if succ == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return list(reversed(path)) + [start]
            if succ not in seen:
                seen.add(succ)
                previous[succ] = node
                queue.append(succ)
    return [start]


def name_of(path):
    return "::".join(path) if path else "crate"


def check(root, only=(), out=sys.stdout):
    """Prints the verdict for the crates under `root`; returns the exit code."""
    total_cycles = 0
    total_modules = 0
    total_edges = 0
    crates = crate_roots(root)
    if only:
        unknown = sorted(set(only) - {c[0] for c in crates})
        if unknown:
            print(f"no such crate under {root}/crates: {', '.join(unknown)}", file=out)
            return 2
        crates = [c for c in crates if c[0] in only]
    for name, src, root_file in crates:
        crate = Crate(name, read_crate(src, root_file))
        edges = crate.edges()
        successors = defaultdict(set)
        for source, target in edges:
            successors[source].add(target)
        components = [c for c in strongly_connected(sorted(crate.modules), successors) if len(c) > 1]
        total_modules += len(crate.modules)
        total_edges += len(edges)
        if not components:
            continue
        total_cycles += len(components)
        print(f"crates/{name}: {len(components)} module cycle(s)", file=out)
        for component in components:
            members = set(component)
            print(f"  cycle of {len(component)} modules: {', '.join(name_of(m) for m in component)}", file=out)
            circle = shortest_circle(component[0], members, successors)
            print(f"    e.g. {' -> '.join(name_of(m) for m in circle)}", file=out)
            for (source, target), (file, line) in sorted(edges.items()):
                if source in members and target in members:
                    rel = os.path.relpath(file, root)
                    print(f"    {name_of(source)} -> {name_of(target)}  ({rel}:{line})", file=out)
    if total_cycles:
        print(f"{total_cycles} module cycle(s) in {len(crates)} crate(s)", file=out)
        return 1
    print(
        f"no module cycles: {len(crates)} crate(s), {total_modules} modules, {total_edges} edges",
        file=out,
    )
    return 0


# ---------------------------------------------------------------------------------------
# Self-test: a fake workspace with one cyclic and one acyclic crate.

SELF_TEST_FILES = {
    # a -> b -> b::inner -> c -> a, across siblings and a subtree: through a `use` tree
    # with `self`, a bare child path, a path through the root's re-export, `super::`.
    "crates/cyclic/src/lib.rs": "pub mod a;\npub mod b;\npub mod c;\npub use c::Thing;\n",
    "crates/cyclic/src/a.rs": "use crate::{b::{self, inner::Deep as D}};\npub fn f() -> D { b::g() }\n",
    "crates/cyclic/src/b/mod.rs": "pub mod inner;\npub fn g() -> inner::Deep { inner::Deep }\n",
    "crates/cyclic/src/b/inner.rs": "pub struct Deep;\nimpl Deep {\n    fn t(&self) -> crate::Thing { crate::Thing }\n}\n",
    "crates/cyclic/src/c.rs": "pub struct Thing;\nfn h() {\n    super::a::f();\n}\n",
    # Acyclic (a -> b only), though b's text names a everywhere a checker must not look:
    # comments, strings, a char literal, test items and a tests.rs; and the root is a
    # facade re-exporting both children (and another crate's module, which b uses)
    # while they use its constant.
    "crates/acyclic/src/lib.rs": (
        "//! Uses crate::b::x in prose only.\n"
        "pub mod a;\npub mod b;\n"
        "pub use a::Alpha;\npub use b::{Beta as B, Gamma};\npub use other_crate::settings as config;\n"
        "pub const LIMIT: u32 = 3;\n"
        "#[cfg(test)]\n#[allow(unused)]\nmod tests {\n    use crate::b::Beta;\n}\n"
    ),
    "crates/acyclic/src/a.rs": "use crate::Gamma;\nuse super::LIMIT;\npub struct Alpha;\nfn g() -> Gamma { Gamma }\n",
    "crates/acyclic/src/b.rs": (
        "mod helper;\n#[cfg(test)]\nmod tests;\n"
        "pub struct Beta;\npub struct Gamma;\n"
        "fn f() -> u32 { helper::h() }\n"
        "fn settings() -> crate::config::Settings { todo!() }\n"
        "// crate::a::Alpha\n"
        "/* a block /* nested */ comment: crate::a::Alpha */\n"
        "fn s<'a>(x: &'a str) -> (&'a str, char, &'static str) {\n"
        "    (\"super::a::Alpha \\\" crate::a::Alpha\", '\"', r#\"crate::a::Alpha\"#)\n"
        "}\n"
        "#[cfg(test)]\nfn only_in_tests() -> crate::a::Alpha { crate::a::Alpha }\n"
    ),
    "crates/acyclic/src/b/helper.rs": "pub(super) fn h() -> u32 {\n    super::super::LIMIT\n}\n",
    "crates/acyclic/src/b/tests.rs": "use crate::a::Alpha;\n",
}

SELF_TEST_EDGES = {
    "cyclic": {
        (("a",), ("b",)),
        (("a",), ("b", "inner")),
        (("b",), ("b", "inner")),
        (("b", "inner"), ("c",)),
        (("c",), ("a",)),
    },
    "acyclic": {
        (("a",), ("b",)),
        (("a",), ()),
        (("b",), ("b", "helper")),
        (("b", "helper"), ()),
    },
}


class Capture:
    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s


def self_test():
    failures = []
    with tempfile.TemporaryDirectory() as root:
        for rel, text in SELF_TEST_FILES.items():
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        for name, src, root_file in crate_roots(root):
            edges = set(Crate(name, read_crate(src, root_file)).edges())
            if edges != SELF_TEST_EDGES[name]:
                failures.append(f"{name}: edges {sorted(edges)}, expected {sorted(SELF_TEST_EDGES[name])}")
        cyclic = Capture()
        if check(root, ["cyclic"], cyclic) != 1:
            failures.append("the cyclic crate passed")
        for expected in ("cycle of 4 modules: a, b, b::inner, c", "c -> a  (crates/cyclic/src/c.rs:3)"):
            if expected not in cyclic.text:
                failures.append(f"the cyclic crate's report lacks {expected!r}:\n{cyclic.text}")
        acyclic = Capture()
        if check(root, ["acyclic"], acyclic) != 0:
            failures.append(f"the acyclic crate failed:\n{acyclic.text}")
        if check(root, (), Capture()) != 1:
            failures.append("the whole fake workspace passed")
    if failures:
        for failure in failures:
            print(f"self-test FAILED: {failure}")
        return 1
    print("self-test passed: the cyclic crate fails with its cycle, the acyclic one passes")
    return 0


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser.add_argument("--self-test", action="store_true", help="check the checker on a fake workspace")
    parser.add_argument("crates", nargs="*", help="crate directory names under crates/ (default: all)")
    args = parser.parse_args(argv)
    if args.self_test:
        return self_test()
    return check(args.root, args.crates)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
