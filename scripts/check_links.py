#!/usr/bin/env python3
"""Check that README.md and docs/**/*.md point at things that exist.

- every relative Markdown link `[text](target)` resolves to a file or directory, and its
  `#anchor` (if any) to a heading of the target file (GitHub's heading slugs);
- every repository path written in backticks (`shared/src/...`, `scripts/...`) exists.

Prints one line per broken reference and exits 1 if there is any. Usage: scripts/check_links.py
"""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`\s]+)`")
FENCE = re.compile(r"^(```|~~~)")
# Top-level directories whose paths a doc may name; a path under them must exist.
TRACKED = ("admin/", "bench/", "docs/", "events/", "functions/", "fuzz/", "scripts/", "shared/",
           "testdata/", "testkit/")


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|\[|\]\([^)]*\)", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path):
    seen, found, fenced = {}, set(), False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if FENCE.match(line):
                fenced = not fenced
            elif not fenced and line.startswith("#"):
                base = slug(line.lstrip("#"))
                n = seen.get(base, 0)
                seen[base] = n + 1
                found.add(base if n == 0 else f"{base}-{n}")
    return found


def prose_lines(path):
    fenced = False
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if FENCE.match(line):
                fenced = not fenced
            elif not fenced:
                yield number, line


def check(path):
    problems = []
    rel = os.path.relpath(path, ROOT)
    for number, line in prose_lines(path):
        for target in LINK.findall(line):
            if re.match(r"^[a-z]+:", target):
                continue  # http:, https:, mailto:
            file_part, _, anchor = target.partition("#")
            dest = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
            if not os.path.exists(dest):
                problems.append(f"{rel}:{number}: link to a missing file: {target}")
            elif anchor and os.path.isfile(dest) and dest.endswith(".md") and anchor not in anchors(dest):
                problems.append(f"{rel}:{number}: link to a missing heading: {target}")
        for token in CODE.findall(line):
            token = token.rstrip(".,:;")
            if token.startswith(TRACKED) and not re.search(r"[<>*{}$]|(^|/)target(/|$)", token):
                if not os.path.exists(os.path.join(ROOT, token.split("::")[0])):
                    problems.append(f"{rel}:{number}: path that does not exist: {token}")
    return problems


def main():
    files = [os.path.join(ROOT, "README.md")] + sorted(
        glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True))
    problems = [p for f in files for p in check(f)]
    for p in problems:
        print(p)
    print(f"{len(files)} files, {len(problems)} broken references", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
