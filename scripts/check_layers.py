#!/usr/bin/python3
"""Fails when a source file includes a header from a layer above its own.

The layers are declared once, in docs/architecture.md, in the fenced block marked `layers`:
one line per level, lowest first; folders on one line are peers and may not include each
other. A public header named in the block (homeostat/error.hpp) sits at its line's level; any
other public header (include/homeostat/) belongs to the api layer. A file in src/<folder>/ may include headers of its own folder and of lower levels only.
Public headers (include/homeostat/) may include only the C++ standard library and each other.

  /usr/bin/python3 scripts/check_layers.py            # checks the repository it lives in
  /usr/bin/python3 scripts/check_layers.py --root DIR # checks another tree (the test plants one)
"""

import argparse
import pathlib
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.MULTILINE)


def read_levels(architecture):
    text = architecture.read_text()
    match = re.search(r"```layers\n(.*?)```", text, re.DOTALL)
    if not match:
        sys.exit(f"{architecture}: no ```layers block declaring the layers")
    levels = {}
    for level, line in enumerate(l for l in match.group(1).splitlines() if l.strip()):
        for folder in line.split():
            if folder in levels:
                sys.exit(f"{architecture}: layer '{folder}' declared twice")
            levels[folder] = level
    return levels


def check(root):
    levels = read_levels(root / "docs" / "architecture.md")
    problems = []
    src = root / "src"
    for path in sorted(src.rglob("*.[ch]pp")):
        folder = path.relative_to(src).parts[0]
        if folder not in levels:
            problems.append(f"{path.relative_to(root)}: folder '{folder}' is not in any layer")
            continue
        for kind, target in INCLUDE.findall(path.read_text()):
            if kind != '"':
                continue
            target_folder = target.split("/")[0]
            if target_folder == folder or "/" not in target:
                continue
            if target in levels:  # a public vocabulary header (homeostat/error.hpp)
                target_level = levels[target]
            elif target_folder == "homeostat":  # the public API: the api layer's own headers
                if folder == "api":
                    continue
                target_folder = "api"
                target_level = levels.get("api", len(levels))
            elif target_folder not in levels:
                problems.append(f"{path.relative_to(root)}: includes '{target}' from no layer")
                continue
            else:
                target_level = levels[target_folder]
            if target_level >= levels[folder]:
                relation = "a peer" if target_level == levels[folder] else "a higher layer"
                problems.append(f"{path.relative_to(root)}: includes '{target}' from "
                                f"{relation} ({target_folder} is above or beside {folder})")
    public = root / "include" / "homeostat"
    for path in sorted(public.rglob("*.hpp")) if public.exists() else []:
        for kind, target in INCLUDE.findall(path.read_text()):
            if kind == '"' or target.startswith("homeostat/"):
                if not target.startswith("homeostat/"):
                    problems.append(f"{path.relative_to(root)}: public header includes "
                                    f"'{target}' (only <homeostat/...> and the standard library)")
            elif "." in target or "/" in target:
                problems.append(f"{path.relative_to(root)}: public header includes <{target}>, "
                                "which is not the standard library")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=pathlib.Path,
                        default=pathlib.Path(__file__).resolve().parent.parent)
    problems = check(parser.parse_args().root)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} include(s) against the layering of docs/architecture.md")
        return 1
    print("layers: every include points down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
