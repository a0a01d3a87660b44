"""report.html: one self-contained page per run (images embedded, no network)."""

import base64
import html
from pathlib import Path

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: 0.2em; } .status { font-weight: bold; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 0.85em; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
"""


def table(header: list[str], rows: list[list]) -> str:
    """An HTML table of `rows` under `header`, every cell escaped."""
    head = "".join(f"<th>{html.escape(str(cell))}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(cell))}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(value) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def image(path: Path) -> str:
    """A PNG embedded in the page (base64), so report.html needs no other file."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<figure><img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}"></figure>'


def facts(document: dict, trainable: int) -> list[list]:
    """What a reader of the page asks first: where the run is, when, on how many rows."""
    rows = document.get("rows") or {}
    found: list[list] = [["run directory", document.get("run_dir")],
             ["started", document.get("started")], ["finished", document.get("finished")],
             ["rows", ", ".join(f"{split} {count}" for split, count in rows.items())],
             ["trainable parameters", f"{trainable:,}"]]
    if "positive_class" in document:
        found.append(["positive class", repr(document["positive_class"])])
    return found


def page(document: dict, config_yaml: str, summary: str, per_class: list[dict] | None, images: list[Path],
         trainable: int) -> str:
    """`summary`: Keras' model summary; `trainable`: the weights training moves (the summary's
    total also counts the optimizer's variables)."""
    metrics = document["metrics"]
    names = list(dict.fromkeys(name for split in metrics.values() for name in split))
    parts = [
        f"<h1>{html.escape(document['name'])}</h1>",
        f"<p class='status'>{html.escape(document['status'])}: {document['scenario']}, "
        f"{document['epochs_run']} epochs, {document['duration_s']:.1f} s, engine {document['engine']}</p>",
        table(["run", ""], facts(document, trainable)),
        "<h2>Final metrics</h2>",
        table(["split", *names], [[split, *[values.get(n) for n in names]] for split, values in metrics.items()]),
    ]
    if per_class:
        parts += [f"<h2>Per class ({html.escape(per_class[0]['split'])} split)</h2>",
                  table(["class", "precision", "recall", "F1", "support"],
                        [[r["class"], r["precision"], r["recall"], r["f1"], r["support"]] for r in per_class])]
    parts += ["<h2>Plots</h2>", *[image(path) for path in images],
              "<h2>Model</h2>", f"<pre>{html.escape(summary)}</pre>",
              "<h2>Config</h2>", f"<pre>{html.escape(config_yaml)}</pre>"]
    title = html.escape(f"mlpctl: {document['name']}")
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")
