#!/usr/bin/env python3
"""The public API of the library crates, listed in one place: api/<crate>.txt.

Read from the HTML that `cargo doc --no-deps --workspace --all-features` writes (stable
rustdoc; rustdoc's JSON output needs a nightly toolchain, which this project's machines do
not have). For every documented item: its path and declaration, the headers of its inherent
and trait impls and of their members (methods, associated items, variants, fields) — not
the auto-trait and blanket impls rustdoc adds to every type.

    python3 scripts/public-api.py           # rewrite api/*.txt from target/doc
    python3 scripts/public-api.py --check   # fail when target/doc differs from api/*.txt

`.ci/run` runs the check after `cargo doc`, so a change to the public surface shows up as a
diff of api/*.txt in review and has to be made on purpose. The listing follows rustdoc's
HTML: after a toolchain upgrade, regenerate it and check that the diff is only formatting.
"""

import difflib
import html
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "target" / "doc"
API = ROOT / "api"
CRATES = [
    "countersign",
    "countersign_core",
    "countersign_tower",
    "countersign_dedup",
    "countersign_inbox",
    "countersign_publish",
]
KINDS = ("struct", "enum", "trait", "fn", "constant", "static", "type", "macro", "union", "derive", "attr")

TAG = re.compile(r"<[^>]+>")
LINK = re.compile(r'href="([a-z_0-9/]+\.[A-Za-z_0-9]+\.html)"')
SPACE = re.compile(r"\s+")
DECL = re.compile(r'<pre class="rust item-decl">(.*?)</pre>', re.S)
HEADER = re.compile(r'<h([34]) class="code-header">(.*?)</h\1>', re.S)
REEXPORT = re.compile(r'<dt id="reexport\.[^"]*"><code>(.*?)</code>', re.S)
REEXPORT_OLD = re.compile(r'<div class="item-name" id="reexport\.[^"]*"><code>(.*?)</code>', re.S)
# Everything from here on is what rustdoc derives for every type.
GENERATED = re.compile(r'id="(synthetic-implementations|blanket-implementations)')
TRAIT_IMPLS = re.compile(r'id="trait-implementations"')


def text(fragment: str) -> str:
    """Tags dropped (an attribute line ends with a space), entities decoded, whitespace
    collapsed."""
    fragment = re.sub(r"</?div[^>]*>|<br[^>]*>", " ", fragment)
    return SPACE.sub(" ", html.unescape(TAG.sub("", fragment))).strip()


def item_path(crate: str, page: Path) -> tuple[str, str]:
    rel = page.relative_to(DOC / crate)
    kind, name = rel.name[: -len(".html")].split(".", 1)
    modules = "::".join(rel.parts[:-1])
    path = "::".join(p for p in (crate, modules, name) if p)
    return kind, path


def listing(crate: str) -> str:
    base = DOC / crate
    if not (base / "index.html").is_file():
        sys.exit(f"public-api: {base}/index.html is missing: run `cargo doc --no-deps --workspace --all-features` first")
    # The items of this documentation run: all.html links each once. (Pages left in
    # target/doc by an earlier run, of items since removed, are not listed there.)
    current = set(LINK.findall((base / "all.html").read_text(encoding="utf-8")))
    modules = {str(Path(link).parent) for link in current}
    out: list[str] = []
    for page in sorted(base.rglob("*.html")):
        rel = str(page.relative_to(base))
        name = page.name
        if name == "index.html":
            if str(page.parent.relative_to(base)) not in modules | {"."}:
                continue
            module = "::".join((crate, *page.relative_to(base).parts[:-1]))
            body = page.read_text(encoding="utf-8")
            exports = REEXPORT.findall(body) or REEXPORT_OLD.findall(body)
            if exports:
                out.append(f"mod {module}")
                out.extend(f"    {text(e)}" for e in exports)
            elif page.parent != base:
                out.append(f"mod {module}")
            continue
        if not name.startswith(tuple(k + "." for k in KINDS)) or rel not in current:
            continue
        body = page.read_text(encoding="utf-8")
        if 'http-equiv="refresh"' in body:
            continue  # rustdoc's redirect from a private module's path to the item's
        kind, path = item_path(crate, page)
        cut = GENERATED.search(body)
        if cut:
            body = body[: cut.start()]
        split = TRAIT_IMPLS.search(body)
        own, traits = (body[: split.start()], body[split.start() :]) if split else (body, "")
        out.append(f"{kind} {path}")
        decl = DECL.search(own)
        if decl:
            out.append(f"    {text(decl.group(1))}")
        for level, header in HEADER.findall(own):
            indent = "    " if level == "3" else "        "
            out.append(f"{indent}{text(header)}")
        # Trait impls: which traits, and their associated types and constants; the methods
        # are the trait's (and std's provided ones change with the toolchain).
        for level, header in HEADER.findall(traits):
            line = text(header)
            if level == "3":
                out.append(f"    {line}")
            elif line.startswith(("type ", "const ")):
                out.append(f"        {line}")
    return "\n".join(out) + "\n"


def main() -> int:
    check = "--check" in sys.argv[1:]
    API.mkdir(exist_ok=True)
    failed = False
    for crate in CRATES:
        new = listing(crate)
        target = API / f"{crate.replace('_', '-')}.txt"
        old = target.read_text(encoding="utf-8") if target.exists() else ""
        if new == old:
            continue
        if check:
            failed = True
            sys.stdout.writelines(
                difflib.unified_diff(
                    old.splitlines(keepends=True),
                    new.splitlines(keepends=True),
                    f"api/{target.name} (checked in)",
                    f"api/{target.name} (target/doc)",
                )
            )
        else:
            target.write_text(new, encoding="utf-8")
            print(f"public-api: wrote {target.relative_to(ROOT)}")
    if failed:
        print(
            "\npublic-api: the public API differs from api/*.txt (above). If the change is "
            "deliberate, run `python3 scripts/public-api.py` and commit api/ with a CHANGELOG "
            "note.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
