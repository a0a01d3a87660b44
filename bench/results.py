"""Where a benchmark's table goes: printed, and written to the file given (`--write`), whole or as
its own section of a file that several benchmarks share."""

from pathlib import Path


def replace_section(path: Path, name: str, text: str) -> None:
    """Put `text` between `<!-- name -->` and `<!-- /name -->` in `path`, replacing what was
    there; appended when the file has no such section yet."""
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    old = path.read_text() if path.exists() else ""
    block = f"{start}\n{text.rstrip()}\n{end}\n"
    if start in old and end in old:
        before, rest = old.split(start, 1)
        new = before + block + rest.split(end, 1)[1].lstrip("\n")
    else:
        new = old + ("\n" if old and not old.endswith("\n\n") else "") + block
    path.write_text(new)


def publish(text: str, path: Path | None, section: str | None = None) -> None:
    """Print `text`; with a `path`, write it there (into `section` of it when given)."""
    print(text)
    if path and section:
        replace_section(path, section, text)
    elif path:
        path.write_text(text)
