#!/usr/bin/env python3
"""check-store-graph.py OBJDIR: the files of src/store/sqlite form a graph
without a circle (issue 11), both ways it could have one:

- includes: which header of the backend each file includes (a header's
  includes count as its own);
- calls: which object file defines each symbol another one uses (`nm`), so
  a helper library that also calls its callers back is caught even when no
  #include says so (sqlite.c was once both the root and every file's helper
  library).

And the seam holds: the domain files (accounts, agents, flow logs, resources, tags, cls)
see the backend only through sqlite_domain.h; the engines never include it.
Prints the two graphs' edges and "store graph: no circle" (exit 0), or the
circle or the rule broken (exit 1)."""
import os
import re
import subprocess
import sys

SRC = "src/store/sqlite"
DOMAIN = {"sqlite_account.c", "sqlite_agent.c", "sqlite_flowlog.c", "sqlite_resource.c",
          "sqlite_tags.c", "sqlite_cls.c"}


def includes(path):
    out = set()
    with open(path) as f:
        for line in f:
            m = re.match(r'\s*#\s*include\s+"store/sqlite/([a-z_]+\.h)"', line)
            if m:
                out.add(m.group(1))
    return out


def find_cycle(graph):
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if not state.get(m):
                c = visit(m)
                if c:
                    return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if not state.get(n):
            c = visit(n)
            if c:
                return c
    return None


def main():
    objdir = sys.argv[1] if len(sys.argv) > 1 else "build"
    bad = []
    files = sorted(f for f in os.listdir(SRC) if f.endswith((".c", ".h")))
    inc = {f: includes(os.path.join(SRC, f)) - {f} for f in files}
    # a .c and its own header are one unit: x.c -> x.h is not an edge back
    c = find_cycle(inc)
    if c:
        bad.append("include circle: " + " -> ".join(c))
    for f in files:
        if f in DOMAIN and inc[f] - {"sqlite_domain.h"}:
            bad.append(f"{f} includes {sorted(inc[f] - {'sqlite_domain.h'})}: a domain file sees the backend only through sqlite_domain.h")
        if f.endswith(".c") and f not in DOMAIN and f != "sqlite.c" and "sqlite_domain.h" in inc[f]:
            bad.append(f"{f} includes sqlite_domain.h: only sqlite.c and the domain files do")

    # calls, from the objects' symbol tables
    objs = {f[:-2]: os.path.join(objdir, SRC, f[:-2] + ".o") for f in files if f.endswith(".c")}
    missing = [o for o in objs.values() if not os.path.exists(o)]
    if missing:
        print(f"check-store-graph: build first (missing {missing[0]})", file=sys.stderr)
        return 2
    defined, used = {}, {}
    for name, o in objs.items():
        out = subprocess.run(["nm", o], capture_output=True, text=True, check=True).stdout
        used[name] = set()
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "U":
                used[name].add(parts[1])
            elif len(parts) == 3 and parts[1] in "TDBR":
                defined[parts[2]] = name
    calls = {n: {defined[s] for s in u if s in defined and defined[s] != n} for n, u in used.items()}
    c = find_cycle(calls)
    if c:
        bad.append("call circle: " + " -> ".join(c))
    for n in sorted(calls):
        print(f"calls    {n}: {' '.join(sorted(calls[n])) or '-'}")
    for f in files:
        print(f"includes {f}: {' '.join(sorted(inc[f])) or '-'}")
    for b in bad:
        print("check-store-graph: " + b, file=sys.stderr)
    if bad:
        return 1
    print("store graph: no circle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
