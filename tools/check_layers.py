#!/usr/bin/env python3
"""Fails the build when a module includes a project header from a module it may not use.

Each module's meson.build calls this with the module's name, the modules it may include
(--allow, repeatable) and its sources. Project headers are included as "module/file.h";
system and library headers (<...>) are not checked.
"""
import argparse
import pathlib
import re
import sys

MODULES = {"core", "store", "proto", "engine", "cluster", "persist", "mgmt", "server", "drivers"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"/]+)/[^"]+"', re.MULTILINE)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--module", required=True)
    ap.add_argument("--allow", action="append", default=[])
    ap.add_argument("--output", required=True)
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    allowed = set(args.allow) | {args.module}
    bad = []
    for f in args.files:
        text = pathlib.Path(f).read_text(encoding="utf-8", errors="replace")
        for m in INCLUDE.finditer(text):
            target = m.group(1)
            if target in MODULES and target not in allowed:
                line = text.count("\n", 0, m.start()) + 1
                bad.append(f"{f}:{line}: module '{args.module}' may not include '{target}/' "
                           f"(allowed: {', '.join(sorted(allowed))})")
    if bad:
        print("\n".join(bad), file=sys.stderr)
        return 1
    pathlib.Path(args.output).write_text("ok\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
