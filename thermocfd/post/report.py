"""``report.html``: one self-contained page per run (and one per sweep).

A run's page: the case, the key numbers next to their references (analytic values where
summary.json has them), the artifact report with a plain-language verdict, the pictures
(embedded as base64), a link to the interactive ``scene.html``, links to the field files,
the software versions and the timings. A sweep's page: its table and plots, with links to
each point's own report. Everything comes from files on disk (summary.json,
pictures.json, the PNGs), so ``thermocfd report OUT`` rebuilds it at any time; no
pyvista is needed.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import math
from pathlib import Path

from ..errors import ThermocfdError
from ..output import write_atomic

REPORT = "report.html"
EMBED_LIMIT = 20e6  # bytes: larger animations are linked, not embedded

# (result, reference, what the reference is): shown side by side with their difference
REFERENCES = [
    ("c_ratio_cold_hot", "c_ratio_expected", "exp(∫S_T dT) between the walls"),
    ("apparent_soret_coefficient", "soret_coefficient_true", "the true S_T of the case"),
    ("relaxation_time", "relaxation_time_reference", "L²/(π² D)"),
    ("particle_velocity", "anderson_velocity", "Anderson's force-free phoretic velocity"),
    ("mean_flow_velocity", "slip_velocity_expected", "χ dT/dx (plug flow)"),
    ("separation_top_bottom_rel", "separation_fjo_rel", "Furry–Jones–Onsager"),
    ("particle_free_zone_thickness", "particle_free_zone_thickness_1d", "the 1D balance"),
]

STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 1250px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: left; }
td.value { font-family: monospace; text-align: right; }
.verdict { padding: 0.8em 1em; border-left: 6px solid #c33; background: #fbeaea; }
.verdict.ok { border-color: #3a3; background: #eaf7ea; }
.verdict.warn { border-color: #d90; background: #fdf5e0; }
.verdict.info { border-color: #58a; background: #eef3f8; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
pre { background: #f4f4f4; padding: 0.8em; overflow-x: auto; }
"""


def fmt(value) -> str:
    """A number as shown in the report (6 significant digits), lists element-wise."""
    if isinstance(value, list):
        return "[" + ", ".join(fmt(v) for v in value) + "]"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return html.escape(str(value))
    return f"{value:.6g}"


def _number(value) -> bool:
    if isinstance(value, list):
        return bool(value) and all(_number(v) for v in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _value_cell(key: str, value) -> str:
    return (f'<td class="value" data-key="{html.escape(key)}" data-value="{html.escape(json.dumps(value))}">'
            f"{fmt(value)}</td>")


def _norm(value) -> float:
    return math.sqrt(sum(v * v for v in value)) if isinstance(value, list) else abs(value)


def reference_rows(summary: dict) -> list[str]:
    """Table rows: result, reference, relative difference, what the reference is."""
    rows = []
    for key, reference, what in REFERENCES:
        value, expected = summary.get(key), summary.get(reference)
        if not (_number(value) and _number(expected)):
            continue
        if isinstance(value, list):
            difference = _norm([a - b for a, b in zip(value, expected)]) / max(_norm(expected), 1e-300)
        else:
            difference = abs(value - expected) / max(abs(expected), 1e-300)
        unit = summary.get("units", {}).get(key, "")
        rows.append(f"<tr><td>{key}</td>{_value_cell(key, value)}{_value_cell(reference, expected)}"
                    f"<td class='value'>{difference:.3g}</td><td>{html.escape(unit)}</td>"
                    f"<td>{html.escape(what)}</td></tr>")
    return rows


def verdict(summary: dict, drift_rows: list[dict]) -> tuple[str, str]:
    """(css class, plain-language verdict) of the artifact report; ('', '') when the run
    has none."""
    sentences, level = [], "info"
    error = summary.get("apparent_soret_rel_error")
    if _number(error) and math.isfinite(error):
        flow, drift = summary.get("max_flow_speed", 0.0), summary.get("thermophoretic_drift_speed", 0.0)
        measured, true = summary.get("apparent_soret_coefficient"), summary.get("soret_coefficient_true")
        if error < 0.01:
            level = "ok"
            sentences.append(f"Convection is negligible: a Soret coefficient measured in this cell would be "
                             f"{measured:.4g} 1/K against the true {true:.4g} 1/K ({100 * error:.2g} % off).")
        else:
            level = "warn" if error < 0.1 else "bad"
            sentences.append(f"Convection {'biases' if error < 0.1 else 'dominates'} the measurement: the flow "
                             f"(up to {flow * 1e6:.3g} µm/s) is {flow / max(drift, 1e-300):.3g} times the "
                             f"thermophoretic drift ({drift * 1e6:.3g} µm/s), and a Soret coefficient measured "
                             f"here would be {measured:.4g} 1/K instead of {true:.4g} 1/K "
                             f"({100 * error:.3g} % off). A thinner chamber, gentler heating or no gravity "
                             "along the gradient reduces it.")
    fraction = next((row["fraction"] for row in drift_rows if row.get("fraction") not in (None, "")), None)
    if fraction is not None:
        sentences.append(f"The flow outruns the thermophoretic drift in {100 * float(fraction):.3g} % of the "
                         "liquid's volume.")
    accumulation = summary.get("accumulation_factor")
    if _number(accumulation):
        sentences.append(f"The solute gathers up to {accumulation:.3g} times its initial concentration "
                         f"(lowest: {summary.get('depletion_factor', float('nan')):.3g} times); see the floor "
                         "and section pictures.")
    gravitational, thermophoretic = summary.get("gravitational_length"), summary.get("thermophoretic_length")
    if _number(gravitational) and _number(thermophoretic):
        settles = gravitational < thermophoretic
        if settles:
            level = "bad" if level == "bad" else "warn"
        sentences.append(f"Sedimentation {'matters' if settles else 'is negligible'}: the gravitational length "
                         f"({gravitational * 1e6:.3g} µm) is {'shorter' if settles else 'longer'} than the "
                         f"thermophoretic length ({thermophoretic * 1e6:.3g} µm).")
    return (level, " ".join(sentences)) if sentences else ("", "")


def _read_drift_rows(out_dir: Path) -> list[dict]:
    rows = []
    for path in sorted(out_dir.glob("*_drift_table.csv")):
        with path.open() as handle:
            rows += list(csv.DictReader(handle))
    return rows


def _embedded(path: Path) -> str:
    kind = {".png": "image/png", ".gif": "image/gif"}[path.suffix]
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<figure><img alt="{path.name}" src="data:{kind};base64,{data}"><figcaption>{path.name}' \
           "</figcaption></figure>"


def _table(rows: list[str], header: list[str]) -> str:
    return "<table><tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr>" + "".join(rows) + "</table>"


def _page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")


def run_report(out_dir: str | Path, render_timings: dict[str, float] | None = None) -> Path:
    """Write ``OUT/report.html`` from a run's stored results; returns its path."""
    out_dir = Path(out_dir)
    try:
        summary = json.loads((out_dir / "summary.json").read_text())
    except (OSError, ValueError):
        raise ThermocfdError(f"{out_dir}: no readable summary.json (not a thermocfd run directory?)") from None
    if render_timings is None and (out_dir / "pictures.json").is_file():
        render_timings = json.loads((out_dir / "pictures.json").read_text())
    render_timings = render_timings or {}
    case = summary.get("case", {})
    name = case.get("name") or out_dir.name
    units = summary.get("units", {})
    body = [f"<h1>{html.escape(name)}: {html.escape(str(case.get('kind', '')))}</h1>",
            f"<p>{html.escape(str(summary.get('inputs', {}).get('case', {}).get('description') or ''))}</p>",
            f"<p>case file: <code>{html.escape(str(case.get('file')))}</code>; status: "
            f"<b id='status'>{html.escape(str(summary.get('status')))}</b>; MPI ranks: {summary.get('mpi_size')}</p>"]
    if summary.get("error"):
        body.append(f"<p class='verdict'>{html.escape(str(summary['error']))}</p>")
    level, words = verdict(summary, _read_drift_rows(out_dir))
    if words:
        body += ["<h2>Artifact report</h2>", f"<p class='verdict {level}' id='verdict'>{html.escape(words)}</p>"]
    references = reference_rows(summary)
    if references:
        body += ["<h2>Against references</h2>",
                 _table(references, ["result", "value", "reference", "relative difference", "unit", "reference is"])]
    skip = {"wall_time_s", "mpi_size"}
    results = [f"<tr><td>{html.escape(key)}</td>{_value_cell(key, value)}<td>{html.escape(units.get(key, ''))}"
               "</td></tr>" for key, value in summary.items() if _number(value) and key not in skip]
    body += ["<h2>Results</h2>", _table(results, ["result", "value (SI)", "unit"])]
    drift = _read_drift_rows(out_dir)
    if drift:
        body += ["<h2>Drift against flow</h2>", _table(
            [f"<tr><td>{html.escape(r['quantity'])}</td><td class='value'>{r['max_m_per_s']}</td>"
             f"<td class='value'>{r['mean_m_per_s']}</td><td class='value'>{r['fraction']}</td></tr>" for r in drift],
            ["quantity", "max (m/s)", "volume mean (m/s)", "fraction"])]
    body.append("<h2>Pictures</h2>")
    if (out_dir / "scene.html").is_file():
        body.append("<p><a id='scene' href='scene.html'>scene.html</a>: the fields in 3D, interactive "
                    "(rotate: drag; zoom: wheel), one file that works offline.</p>")
    for path in sorted(out_dir.glob("*.png")) + sorted(out_dir.glob("*.gif")):
        body.append(_embedded(path) if path.stat().st_size < EMBED_LIMIT else
                    f"<p><a href='{path.name}'>{path.name}</a></p>")
    for path in sorted(out_dir.glob("*.mp4")):
        body.append(f"<p>animation: <a href='{path.name}'>{path.name}</a></p>")
    fields = sorted((out_dir / "fields").glob("*")) if (out_dir / "fields").is_dir() else []
    listed = [p for p in fields if p.suffix in (".pvd", ".vtp", ".xdmf", ".bp", ".py")] or fields
    if listed:
        body += ["<h2>Field files (ParaView)</h2><ul>"] + [
            f"<li><a href='fields/{p.name}'>fields/{p.name}</a></li>" for p in listed] + ["</ul>"]
    for extra in ("open_in_paraview.py", "probes.csv", "profile.csv", "mesh.msh", "summary.json"):
        if (out_dir / extra).is_file():
            body.append(f"<p><a href='{extra}'>{extra}</a></p>")
    timings = [f"<tr><td>{html.escape(k)}</td><td class='value'>{v:.3g}</td></tr>"
               for k, v in {**summary.get("timings_s", {}), "wall_time_s": summary.get("wall_time_s", 0.0),
                            **{f"render {k}": v for k, v in render_timings.items()}}.items() if _number(v)]
    body += ["<h2>Timings (s)</h2>", _table(timings, ["stage", "seconds"])]
    versions = [f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
                for k, v in summary.get("versions", {}).items()]
    body += ["<h2>Software</h2>", _table(versions, ["package", "version"])]
    body += ["<h2>Case (resolved inputs, SI)</h2>",
             f"<pre>{html.escape(json.dumps(summary.get('inputs', {}), indent=2))}</pre>"]
    path = out_dir / REPORT
    write_atomic(path, _page(f"thermocfd: {name}", body))
    return path


def sweep_report(out_dir: str | Path, columns: list[str], rows: list[dict]) -> Path:
    """Write ``SWEEP/report.html``: the table (links to each point's report), the plots."""
    out_dir = Path(out_dir)
    header = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    lines = []
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column)
            if column == "point" and (out_dir / str(value) / REPORT).is_file():
                cells.append(f"<td><a href='{value}/{REPORT}'>{html.escape(str(value))}</a></td>")
            elif _number(value):
                cells.append(_value_cell(f"{row['point']}.{column}", value))
            else:
                cells.append(f"<td>{'' if value is None else html.escape(str(value))}</td>")
        lines.append("<tr>" + "".join(cells) + "</tr>")
    body = [f"<h1>sweep: {html.escape(out_dir.name)}</h1>",
            f"<div style='overflow-x: auto'><table id='sweep'><tr>{header}</tr>{''.join(lines)}</table></div>",
            "<h2>Plots</h2>"]
    body += [_embedded(path) for path in sorted((out_dir / "plots").glob("*.png"))]
    path = out_dir / REPORT
    write_atomic(path, _page(f"thermocfd sweep: {out_dir.name}", body))
    return path


def rebuild(out_dir: str | Path) -> Path:
    """``thermocfd report OUT``: a run's report, or a sweep's (OUT holds points.json)."""
    out_dir = Path(out_dir)
    from ..sweep import MANIFEST

    if (out_dir / MANIFEST).is_file():
        from ..sweep import Sweep, collect_rows

        sweep = Sweep.from_manifest(out_dir)
        columns, rows = collect_rows(sweep, report=lambda _message: None)
        return sweep_report(out_dir, columns, rows)
    return run_report(out_dir)
