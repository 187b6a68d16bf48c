"""The repository holds its own evidence: every citation of the method description points
at a heading of ``docs/method.md``, the paper's numbers it quotes are the vendored ones,
and nothing in the repository reads or cites a path outside it (a clone with nothing
beside it has everything its code, tests, benchmarks and docs refer to)."""

import ast
import csv
import os
import re
import subprocess
from collections import defaultdict

import pytest

ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
METHOD = os.path.join(ROOT, "docs", "method.md")
SKIP_DIRS = {".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis", "out",
             "build", "dist", "node_modules"}
TEXT = (".py", ".md", ".json", ".yaml", ".yml", ".sh", ".txt", ".toml", ".cfg", ".ini",
        ".conll", ".tsv", ".csv", "Makefile", "Dockerfile", "run")
SECTION = r"§\s?(\d+(?:\.\d+)?)(?:\s?[-–]\s?(\d+(?:\.\d+)?))?"
PITFALL = r"(?<![\w/.-])P(\d{1,2})(?![\w.-]|\.\d)"
NEAR = 6  # a bare §n or Pn may follow its "docs/method.md" within this many lines


def repo_files() -> list[str]:
    """The repository's text files (git's list when there is one, else a walk)."""
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
        names = [n for n in out.splitlines() if n]
    except (OSError, subprocess.CalledProcessError):
        names = [os.path.relpath(os.path.join(d, f), ROOT)
                 for d, dirs, files in os.walk(ROOT)
                 if not dirs.__setitem__(slice(None), [x for x in dirs if x not in SKIP_DIRS])
                 for f in files]
    return sorted(n for n in names if n.endswith(TEXT) and os.path.isfile(os.path.join(ROOT, n))
                  and not n.startswith("data/") or n.endswith("README.md"))


def read(name: str) -> str:
    with open(os.path.join(ROOT, name), encoding="utf-8", errors="replace") as f:
        return f.read()


def headings() -> set[str]:
    """``§5``, ``§6.1``, ``P9``: the numbered headings of docs/method.md."""
    found = re.findall(r"^#{2,4} (§\d+(?:\.\d+)?|P\d+)\s", read("docs/method.md"), re.M)
    return set(found)


def _expand(first: str, last) -> list[str]:
    if not last:
        return [f"§{first}"]
    major, _, lo = first.partition(".")
    hi = last.partition(".")[2] if "." in last else last
    return [f"§{major}.{n}" for n in range(int(lo), int(hi) + 1)]


def citations():
    """(file, line number, cited id) of every citation, and lines that cite method.md
    without saying where it is."""
    cited, unplaced = [], []
    for name in repo_files():
        if name == "docs/method.md" or name.startswith("tests/test_docs"):
            continue
        last_anchor = -NEAR - 1
        for i, line in enumerate(read(name).splitlines()):
            if "docs/method.md" in line:
                last_anchor = i
            if re.search(r"(?<!docs/)method\.md", line):
                unplaced.append(f"{name}:{i + 1}: {line.strip()}")
            ids = [s for a, b in re.findall(SECTION, line) for s in _expand(a, b)]
            ids += [f"P{n}" for n in re.findall(PITFALL, line)]
            for cid in ids:
                if i - last_anchor > NEAR:
                    unplaced.append(f"{name}:{i + 1}: {cid} without docs/method.md nearby")
                cited.append((name, i + 1, cid))
    return cited, unplaced


def test_every_citation_names_a_heading_of_docs_method_md():
    cited, unplaced = citations()
    assert len(cited) > 40  # the code cites it throughout
    assert unplaced == []
    missing = [f"{n}:{i}: {c}" for n, i, c in cited if c not in headings()]
    assert missing == []


def test_docs_method_md_refers_only_to_its_own_headings():
    text = read("docs/method.md")
    ids = {s for a, b in re.findall(SECTION, text) for s in _expand(a, b)}
    ids |= {f"P{n}" for n in re.findall(PITFALL, text)}
    assert ids and ids <= headings(), sorted(ids - headings())
    for n in range(1, 21):  # the numbering has no holes
        assert f"P{n}" in headings()


def test_the_papers_headline_numbers_are_the_vendored_results():
    """§12's table is the mean F1 of the vendored per-language results."""
    means = {}
    for column, name in enumerate(("masakhaner2", "xtreme39", "europarl")):
        by_method = defaultdict(list)
        path = os.path.join(ROOT, "xlner", "data", "paper_results", f"{name}.csv")
        with open(path, encoding="utf-8") as f:
            for row in csv.DictReader(f):
                by_method[row["method"]].append(float(row["overall_f1"]))
        for method, f1 in by_method.items():
            means[(method, column)] = f"{100 * sum(f1) / len(f1):.1f}"
    section = read("docs/method.md").split("## §12", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)`[^|]*\|(.*)\|\s*$", section, re.M)
    assert len(rows) == 13
    for method, cells in rows:
        for column, cell in enumerate(c.strip().strip("*") for c in cells.split("|")):
            assert cell == means.get((method, column), "–"), (method, column, cell)


# ------------------------------------------------------------------ no path outside
ABSOLUTE = re.compile(r"(?<![\w$}.:-])/(?:work|tmp|home|root|Users|mnt|scratch)(?:/|\b)")
# The sibling folder a development machine keeps beside the checkout; spelt in pieces so
# that this file, scanned like every other, never names the path itself.
NEIGHBOUR = "sha" + "red"
SIBLING = re.compile(rf"\.\.[/\\]+{NEIGHBOUR}\b|[\"']\.\.[\"']\s*,\s*[\"']{NEIGHBOUR}[\"']")


def _path_of(node, env: dict, file: str):
    """The absolute path an expression stands for when it is built from ``__file__``
    (``os.path`` calls, ``pathlib.Path``, names assigned such a path); else None."""
    if isinstance(node, ast.Name):
        return file if node.id == "__file__" else env.get(node.id)
    if isinstance(node, ast.Attribute) and node.attr == "parent":
        inner = _path_of(node.value, env, file)
        return os.path.dirname(inner) if inner else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        left = _path_of(node.left, env, file)
        right = node.right.value if isinstance(node.right, ast.Constant) else None
        return os.path.join(left, right) if left and isinstance(right, str) else None
    if not isinstance(node, ast.Call) or not node.args:
        return None
    func = ast.unparse(node.func)
    first = _path_of(node.args[0], env, file)
    if first is None:
        return None
    if func.endswith(("abspath", "realpath", "normpath")) or func in ("Path", "pathlib.Path"):
        return first
    if func.endswith("dirname"):
        return os.path.dirname(first)
    if func.endswith("path.join"):
        rest = [a.value for a in node.args[1:] if isinstance(a, ast.Constant)]
        return os.path.join(first, *[r for r in rest if isinstance(r, str)])
    return None


def escaping_paths(name: str, source: str | None = None) -> list[str]:
    """Paths built from ``__file__`` (os.path or pathlib) that resolve outside the repo."""
    file = os.path.join(ROOT, name)
    env, out = {}, []
    for node in ast.walk(ast.parse(read(name) if source is None else source)):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                node.targets[0], ast.Name):
            value = _path_of(node.value, env, file)
            if value:
                env[node.targets[0].id] = value
        if isinstance(node, (ast.Call, ast.BinOp)):
            path = _path_of(node, env, file)
            real = os.path.normpath(path) if path else ROOT
            if not (real + os.sep).startswith(ROOT + os.sep) and real != ROOT:
                out.append(f"{name}:{node.lineno}: {ast.unparse(node)} -> {real}")
    return out


def test_nothing_in_the_repository_reads_or_cites_a_path_outside_it():
    found = []
    for name in repo_files():
        text = read(name)
        for i, line in enumerate(text.splitlines()):
            if ABSOLUTE.search(line) or SIBLING.search(line):
                if name == "Dockerfile" or name.startswith("docker/"):
                    continue  # paths inside the image, not on this machine
                found.append(f"{name}:{i + 1}: {line.strip()}")
        for link in re.findall(r"\]\(([^)#\s]+)", text) if name.endswith(".md") else ():
            if "://" not in link:
                real = os.path.normpath(os.path.join(ROOT, os.path.dirname(name), link))
                if not (real + os.sep).startswith(ROOT + os.sep):
                    found.append(f"{name}: link {link} leaves the repository")
        if name.endswith(".py"):
            found += escaping_paths(name)
    assert found == []


@pytest.mark.parametrize("source,bad", [
    (f'DATA = os.path.join(os.path.dirname(__file__), "..", "..", "{NEIGHBOUR}", "data")', True),
    ('ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))\n'
     'X = os.path.join(ROOT, "..", "elsewhere")', True),
    (f'X = Path(__file__).parent.parent / ".." / "{NEIGHBOUR}"', True),
    ('ROOT = os.path.join(os.path.dirname(__file__), "..")\n'
     'X = os.path.join(ROOT, "xlner", "data")', False),
])
def test_the_path_check_catches_escapes_built_from_file(source, bad):
    assert bool(escaping_paths("tests/probe.py", source)) == bad
    line = f'p = "../{NEIGHBOUR}/data/bible-dev"' if bad else 'p = "gs://bucket/tmp/x"'
    assert bool(SIBLING.search(line) or ABSOLUTE.search(line)) == bad


# ------------------------------------------------------------------ the front page and docs/
# Docs a branch may link before they land; empty on main, where every link must resolve.
EXPECTED_DOCS: set = set()
README_MAX_LINES = 250


def markdown_files() -> list[str]:
    return ["README.md"] + sorted(os.path.join("docs", n) for n in os.listdir(
        os.path.join(ROOT, "docs")) if n.endswith(".md"))


def anchors(name: str) -> set[str]:
    """GitHub's anchors of a Markdown file's headings."""
    out = set()
    for title in re.findall(r"^#{1,6} (.+?)\s*$", read(name), re.M):
        slug = re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
        out.add(slug)
    return out


def broken_links(name: str, text: str | None = None, exists=os.path.exists) -> list[str]:
    text = read(name) if text is None else text
    bad = []
    for link in re.findall(r"\]\(([^)\s]+)\)", text):
        if "://" in link or link.startswith("mailto:"):
            continue
        path, _, anchor = link.partition("#")
        target = os.path.normpath(os.path.join(os.path.dirname(name), path)) if path else name
        if not exists(os.path.join(ROOT, target)):
            if target not in EXPECTED_DOCS:
                bad.append(f"{name}: {link} (no such file)")
        elif anchor and target.endswith(".md") and anchor not in anchors(target):
            bad.append(f"{name}: {link} (no such heading)")
    return bad


def test_the_readme_is_a_front_page():
    text = read("README.md")
    assert len(text.splitlines()) <= README_MAX_LINES
    for heading in ("## Set up", "## One row in, one row out", "## Running on your own data",
                    "## On Dataflow", "## On Flink", "## On a schedule", "## Measured here",
                    "## Documentation"):
        assert f"\n{heading}\n" in text, heading
    for doc in ("docs/USAGE.md", "docs/OPERATIONS.md", "docs/QUALITY.md", "docs/OPTIONS.md",
                "docs/PROMISES.md", "docs/RUNNERS.md", "docs/method.md", "docs/LAYOUT.md",
                "docs/PERFORMANCE.md", "docs/LANGUAGES.md", "docs/TRAINING.md",
                "docs/REPORT.md", *EXPECTED_DOCS):
        assert f"]({doc})" in text, doc


def test_every_link_in_the_readme_and_docs_resolves():
    bad = [b for name in markdown_files() for b in broken_links(name)]
    assert bad == []


@pytest.mark.parametrize("text,broken", [
    ("[x](docs/NOPE.md)", True), ("[x](docs/USAGE.md#no-such-heading)", True),
    ("[x](docs/USAGE.md#output)", False), ("[x](docs/NO_SUCH_FILE.md)", True),
    ("[x](https://example.org/a)", False), ("[x](LICENSE)", False)])
def test_the_link_check_catches_missing_files_and_headings(text, broken):
    assert bool(broken_links("README.md", text)) == broken


def test_every_number_the_readme_measures_is_in_its_evidence():
    """Each row of the README's "Measured here" table names its evidence: a file whose text
    holds every number of the row's result, or a benchmark module that prints it."""
    table = read("README.md").split("<!-- measured -->", 1)[1].split("\n\n", 1)[0]
    rows = [r for r in table.splitlines() if r.startswith("|")][2:]
    assert len(rows) >= 3
    for row in rows:
        _, what, result, evidence, _ = row.split("|")
        files = [os.path.normpath(link) for link in re.findall(r"\]\(([^)#\s]+)", evidence)]
        assert files and all(os.path.exists(os.path.join(ROOT, f)) for f in files), row
        benches = re.findall(r"python -m (benchmarks\.\w+)", evidence)
        for b in benches:
            assert os.path.exists(os.path.join(ROOT, *b.split(".")) + ".py"), b
        for number in re.findall(r"\d+\.\d+", result):
            assert benches or any(number in read(f) for f in files), (number, row)


def test_docs_layout_names_every_package_and_only_what_exists():
    text = read("docs/LAYOUT.md")
    tree = text.split("```", 2)[1]
    named = {line.split()[0].rstrip("/") for line in tree.splitlines()
             if line and not line.startswith(" ")}
    assert all(os.path.isdir(os.path.join(ROOT, n)) for n in named), named
    packages = {os.path.relpath(d, ROOT) for d, _, files in os.walk(os.path.join(ROOT, "xlner"))
                if "__init__.py" in files or d.endswith(os.path.join("xlner", "data"))}
    packages = {p for p in packages if "__pycache__" not in p}
    assert packages <= named, sorted(packages - named)
    tracked = {n.split("/")[0] for n in repo_files() if "/" in n}
    assert {t for t in tracked if not t.startswith(".")} <= named, tracked - named
