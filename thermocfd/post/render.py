"""Off-screen PNG pictures of a run's fields with pyvista.

Every run renders the set that fits its fields: temperature and concentration maps
(mid-plane slices in 3D, with the outline), drift-velocity arrows, a concentration
isosurface in 3D, and the drift/flow comparison that shows where convection would bias a
thermophoresis measurement. Scalar ranges come from the data, colour bars carry units.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..case import Case, PicturesSection
from .fields import FieldSeries, add_drift_velocity, drift_table, find_series, is_planar

MICRONS = 1e6  # pictures are drawn in um


@dataclass(frozen=True)
class View:
    array: str
    title: str
    unit: str
    cmap: str
    log: bool = False


DRIFT = View("drift_speed", "colloid drift speed", "um/s", "magma")

# The case's [pictures] section and the point the 3D slices go through (um); set once by
# render_run (rendering runs in its own process).
_style = PicturesSection()
_focus: tuple[float, float, float] | None = None


def _pyvista():
    os.environ.setdefault("PYVISTA_OFF_SCREEN", "true")
    import pyvista as pv
    import vtk

    vtk.vtkObject.GlobalWarningDisplayOff()  # "bad X server connection" before EGL fallback
    pv.OFF_SCREEN = True
    return pv


def _plotter(pv):
    plotter = pv.Plotter(off_screen=True, window_size=(_style.width, _style.height))
    plotter.set_background("white")
    return plotter


def _bar(view: View, log: bool, values=None) -> dict:
    title = f"{view.title} ({view.unit})" + (", log scale" if log else "")
    digits = 3
    if values is not None and len(values):
        # enough digits to tell the ends apart (e.g. 300 K +- 0.05 K)
        low, high = float(np.min(values)), float(np.max(values))
        spread = high - low
        if spread > 0:
            digits = int(min(10, max(3, np.ceil(np.log10(max(abs(low), abs(high)) / spread)) + 2)))
    return {"title": title, "color": "black", "vertical": False, "width": 0.5, "position_x": 0.25,
            "position_y": 0.03, "title_font_size": 16, "label_font_size": 14, "fmt": f"%.{digits}g"}


def _finish(plotter, planar: bool, path: Path, title: str = "") -> None:
    if title:
        plotter.add_text(title, position="upper_left", color="black", font_size=12)
    if planar:
        # axis labels shrink to nothing under the tight 2D camera: state the extent instead
        xmin, xmax, ymin, ymax, _, _ = (round(v, 3) + 0.0 for v in plotter.bounds)
        plotter.add_text(f"x: {xmin:g} to {xmax:g} um,  y: {ymin:g} to {ymax:g} um",
                         position="lower_left", color="black", font_size=9)
        plotter.view_xy()
        # fill the window, leaving room for the axes and the colour bar underneath
        plotter.camera.tight(padding=0.3, adjust_render_window=False)
    else:
        plotter.show_bounds(xtitle="x (um)", ytitle="y (um)", ztitle="z (um)", color="black",
                            font_size=10, location="outer", grid=False)
        plotter.view_isometric()
        plotter.camera.zoom(1.1)
    plotter.screenshot(str(path))
    plotter.close()


def _scalar_picture(pv, grid, view: View, path: Path, arrows: str | None = None, title: str = "") -> None:
    values = np.asarray(grid.point_data[view.array])
    positive = values[values > 0]
    log = view.log or (positive.size == values.size and values.size and positive.max() / positive.min() > 20)
    clim = None
    if view.array == "concentration":
        log = {"log": True, "linear": False}.get(_style.concentration_scale, log)
        low = _style.concentration_min if _style.concentration_min is not None else values.min()
        high = _style.concentration_max if _style.concentration_max is not None else values.max()
        clim = (low, high) if high > low else None
    planar = is_planar(grid)
    plotter = _plotter(pv)
    shown = _section(grid, planar)
    plotter.add_mesh(shown, scalars=view.array, cmap=view.cmap, log_scale=bool(log), clim=clim,
                     scalar_bar_args=_bar(view, bool(log), values), show_scalar_bar=True)
    plotter.add_mesh(grid.outline(), color="black", line_width=2)
    if not planar and view.array == "concentration":
        # between the typical and the largest value: shows where the solute gathers
        level = float(np.sqrt(max(np.median(values), 1e-300) * values.max()))
        surface = grid.contour([level], scalars=view.array)
        if surface.n_points:
            plotter.add_mesh(surface, color="white", opacity=0.35, show_scalar_bar=False)
    if arrows is not None and arrows in grid.point_data:
        _add_arrows(plotter, grid, arrows)
    _finish(plotter, planar, path, title)


def _concentration_view() -> View:
    return View("concentration", "concentration", "mol/m^3", _style.concentration_colormap)


def _section(grid, planar: bool):
    """What a picture shows of a field: all of a 2D one, slices of a 3D one through the
    point of interest (a resolved particle's centre, else the middle)."""
    if planar:
        return grid
    x, y, z = _focus if _focus is not None else grid.center
    return grid.slice_orthogonal(x=x, y=y, z=z).combine()


def _add_arrows(plotter, grid, vectors: str, color: str = "white") -> None:
    """Arrows of equal length on a regular lattice (direction only; colour shows speed)."""
    pv = _pyvista()
    count = _style.arrows
    if count == 0:
        return
    speed = np.linalg.norm(np.asarray(grid.point_data[vectors]), axis=1)
    if speed.max() <= 0:
        return
    xmin, xmax, ymin, ymax, zmin, zmax = grid.bounds
    extent = np.array([xmax - xmin, ymax - ymin, zmax - zmin])
    active = extent > 1e-9 * extent.max()
    spacing = (np.prod(extent[active]) / count) ** (1.0 / active.sum())
    dims = [max(2, int(e / spacing)) if a else 1 for e, a in zip(extent, active)]
    # cell-centred lattice: arrows stay off the walls, where they would cover the outline
    axes = [lo + (np.arange(n) + 0.5) * (hi - lo) / n if a else np.array([lo])
            for lo, hi, n, a in zip((xmin, ymin, zmin), (xmax, ymax, zmax), dims, active)]
    lattice = pv.PolyData(np.stack([c.ravel() for c in np.meshgrid(*axes, indexing="ij")], axis=1))
    probe = lattice.sample(grid)
    keep = np.asarray(probe.point_data["vtkValidPointMask"], dtype=bool)
    vectors_at = np.asarray(probe.point_data[vectors])[keep]
    if not keep.any():
        return
    arrows = pv.PolyData(np.asarray(probe.points)[keep])
    norms = np.linalg.norm(vectors_at, axis=1)
    arrows.point_data["direction"] = vectors_at / np.where(norms > 0, norms, 1.0)[:, None]
    glyphs = arrows.glyph(orient="direction", scale=False, factor=0.6 * spacing)
    plotter.add_mesh(glyphs, color=color, show_scalar_bar=False)


def _drift_picture(pv, grid, path: Path, title: str = "") -> None:
    """Where does the flow outrun thermophoresis? With a flow: log10(|u| / |D_T grad T|)
    on a diverging map (red: the flow wins, the measurement is biased; blue:
    thermophoresis wins) with the equality line; without: the drift speed."""
    planar = is_planar(grid)
    base = _section(grid, planar)
    plotter = _plotter(pv)
    if "flow_speed" in grid.point_data:
        flow = np.asarray(grid.point_data["flow_speed"])
        thermophoretic = np.asarray(grid.point_data["thermophoretic_speed"])
        ratio = np.clip(np.log10(np.maximum(flow, 1e-300) / np.maximum(thermophoretic, 1e-300)), -3.0, 3.0)
        # where both are below 1 % of their maxima the ratio is discretisation noise
        negligible = (flow < 0.01 * flow.max()) & (thermophoretic < 0.01 * thermophoretic.max())
        ratio[negligible] = np.nan
        grid.point_data["log10_flow_over_drift"] = ratio
        base = _section(grid, planar)
        view = View("log10_flow_over_drift", "log10(flow speed / thermophoretic drift)", "-", "coolwarm")
        plotter.add_mesh(base, scalars=view.array, cmap=view.cmap, clim=(-2.0, 2.0), nan_color="white",
                         scalar_bar_args={**_bar(view, False), "title": view.title + "; white: both < 1 % of max"})
        border = base.contour([0.0], scalars=view.array)
        if border.n_points:
            plotter.add_mesh(border, color="black", line_width=2)
    else:
        top = float(np.max(grid.point_data["drift_speed_um_s"]))
        # speeds from zero: a uniform drift must not show its round-off as structure
        plotter.add_mesh(base, scalars="drift_speed_um_s", cmap=DRIFT.cmap, clim=(0.0, top if top > 0 else 1.0),
                         scalar_bar_args=_bar(DRIFT, False))
    plotter.add_mesh(grid.outline(), color="black", line_width=2)
    _add_arrows(plotter, grid, "drift_velocity", color="black")
    _finish(plotter, planar, path, title)


def _flow_picture(pv, grid, path: Path, title: str = "") -> None:
    """|u| on the mid-planes (all of a 2D domain) with direction arrows: the slip flow
    around a phoretic particle, a thermo-osmotic channel flow."""
    planar = is_planar(grid)
    u = np.asarray(grid.point_data["velocity"])
    grid.point_data["flow_speed_um_s"] = np.linalg.norm(u, axis=1) * MICRONS
    origin = _focus if _focus is not None else grid.center
    shown = grid if planar else grid.slice(normal="y", origin=origin)  # through the particle centre
    plotter = _plotter(pv)
    view = View("flow_speed_um_s", "flow speed", "um/s", "viridis")
    top = float(np.max(grid.point_data[view.array]))
    # speeds from zero: a plug flow must not show its round-off as structure
    plotter.add_mesh(shown, scalars=view.array, cmap=view.cmap, clim=(0.0, top if top > 0 else 1.0),
                     scalar_bar_args=_bar(view, False))
    plotter.add_mesh(grid.outline(), color="black", line_width=2)
    _add_arrows(plotter, shown if not planar else grid, "velocity", color="white")
    if not planar:
        plotter.view_xz()
        plotter.camera.tight(padding=0.2, adjust_render_window=False, view="xz")
        plotter.add_text(title, position="upper_left", color="black", font_size=12)
        plotter.screenshot(str(path))
        plotter.close()
        return
    _finish(plotter, planar, path, title)


def render_run(out_dir: str | Path, case: Case) -> dict[str, float]:
    """Render every picture the run's stored fields allow; returns {png name: seconds}."""
    global _style, _focus
    _style = case.pictures
    if case.particle is not None:
        _focus = (0.0, 0.0, (case.particle.wall_distance or 0.0) * MICRONS)
    pv = _pyvista()
    out_dir = Path(out_dir)
    timings: dict[str, float] = {}
    for stem, series in find_series(out_dir).items():
        grid = series.read(-1)
        add_drift_velocity(grid, case)  # SI, before the points are drawn in um
        if "drift_speed" in grid.point_data:
            grid.point_data["drift_speed_um_s"] = np.asarray(grid.point_data["drift_speed"]) * MICRONS
        grid.points *= MICRONS
        _render_series(pv, grid, out_dir, stem, timings, series.times[-1])
        if case.output.animation and len(series.times) > 1:
            start = time.perf_counter()
            animate(pv, series, out_dir / f"{stem}_concentration.gif")
            timings[f"{stem}_concentration.gif"] = time.perf_counter() - start
    trajectories = out_dir / "fields" / "trajectories.vtp"
    if trajectories.exists():
        start = time.perf_counter()
        _trajectory_picture(pv, trajectories, find_series(out_dir), out_dir / "trajectories.png")
        timings["trajectories.png"] = time.perf_counter() - start
    particles = out_dir / "fields" / "particles.vtp"
    if particles.exists():
        start = time.perf_counter()
        _particle_picture(pv, particles, find_series(out_dir), out_dir / "particles.png")
        timings["particles.png"] = time.perf_counter() - start
    return timings


def _draw_domain(plotter, series: dict, faded_concentration: bool) -> bool:
    """Outline (and faded concentration) of the run's first field file under particle
    pictures; returns whether the domain is planar."""
    for field_series in series.values():
        grid = field_series.read(-1)
        grid.points *= MICRONS
        planar = is_planar(grid)
        if faded_concentration and "concentration" in grid.point_data:
            plotter.add_mesh(_section(grid, planar), scalars="concentration",
                             cmap="Greys", opacity=0.35, show_scalar_bar=False)
        plotter.add_mesh(grid.outline(), color="black", line_width=2)
        return planar
    return True


def _particle_picture(pv, path: Path, series: dict, png: Path) -> None:
    """The final particle cloud coloured by net speed; particles that left the active
    state (adsorbed, escaped, stopped) in red."""
    cloud = pv.read(str(path))
    cloud.points *= MICRONS
    cloud.point_data["mean_speed_um_s"] = np.asarray(cloud.point_data["mean_speed"]) * MICRONS
    plotter = _plotter(pv)
    planar = _draw_domain(plotter, series, faded_concentration=False)
    status = np.asarray(cloud.point_data["status"])
    active = cloud.extract_points(np.nonzero(status == 0)[0], adjacent_cells=False)
    view = View("mean_speed_um_s", "net speed over the run", "um/s", "viridis")
    if active.n_points:
        plotter.add_mesh(active, scalars=view.array, cmap=view.cmap, point_size=3,
                         render_points_as_spheres=True, scalar_bar_args=_bar(view, False))
    inactive = int(np.count_nonzero(status != 0))
    if inactive:
        plotter.add_mesh(cloud.extract_points(np.nonzero(status != 0)[0], adjacent_cells=False), color="red",
                         point_size=5, render_points_as_spheres=True)
    _finish(plotter, planar, png, f"{cloud.n_points} particles at the end of the run"
                                  + (f"; red: {inactive} adsorbed, escaped or stopped" if inactive else ""))


def _trajectory_picture(pv, path: Path, series: dict, png: Path) -> None:
    """Particle paths coloured by time over the (faded) concentration field."""
    paths = pv.read(str(path))
    paths.points *= MICRONS
    plotter = _plotter(pv)
    planar = _draw_domain(plotter, series, faded_concentration=True)
    shown = min(paths.n_cells, 25)  # more paths than this is spaghetti
    subset = paths.extract_cells(np.arange(shown))
    plotter.add_mesh(subset, scalars="time", cmap="plasma", line_width=2,
                     scalar_bar_args=_bar(View("time", "time", "s", "plasma"), False))
    ends = np.array([paths.points[paths.get_cell(i).point_ids[-1]] for i in range(shown)])
    if shown:
        plotter.add_mesh(pv.PolyData(ends), color="black", point_size=9, render_points_as_spheres=True)
    _finish(plotter, planar, png, f"{shown} of {paths.n_cells} recorded particle paths "
                                  "(dots: final positions; all paths in fields/trajectories.vtp)")


def _render_series(pv, grid, out_dir: Path, stem: str, timings: dict, time_value: float) -> None:
    def timed(name: str, draw) -> None:
        start = time.perf_counter()
        draw(out_dir / name)
        timings[name] = time.perf_counter() - start

    label = f"{stem}, t = {time_value:.4g} s" if time_value else stem
    if "temperature" in grid.point_data:
        timed(f"{stem}_temperature.png",
              lambda p: _scalar_picture(pv, grid, View("temperature", "temperature", "K", _style.temperature_colormap),
                                        p, title=f"{label}: temperature"))
    if "concentration" in grid.point_data:
        liquid = _where_solute_lives(grid)
        timed(f"{stem}_concentration.png",
              lambda p: _scalar_picture(pv, liquid, _concentration_view(), p, arrows="drift_velocity",
                                        title=f"{label}: concentration, arrows: colloid drift"))
    if "velocity" in grid.point_data and "concentration" not in grid.point_data:
        timed(f"{stem}_flow.png", lambda p: _flow_picture(pv, grid, p, title=f"{label}: flow speed and direction"))
    if "drift_speed" in grid.point_data:
        timed(f"{stem}_drift.png", lambda p: _drift_picture(
            pv, grid, p, title=f"{label}: " + ("flow against thermophoresis (line: equal); arrows: colloid drift"
                                                if "flow_speed" in grid.point_data
                                                else "colloid drift speed |u - D_T grad T|")))
        _write_drift_table(out_dir / f"{stem}_drift_table.csv", drift_table(grid))


def _where_solute_lives(grid):
    """The liquid of a chip: the cells without a node where c is exactly zero (the solids'
    nodes hold no solute; interface nodes belong to the liquid); the whole grid for a
    liquid-only domain."""
    values = np.asarray(grid.point_data["concentration"])
    if not np.any(values == 0.0):
        return grid
    cells = grid.cells_dict if hasattr(grid, "cells_dict") else {}
    keep = []
    offset = 0
    for _, connectivity in cells.items():
        inside = np.all(values[connectivity] != 0.0, axis=1)
        keep.append(offset + np.nonzero(inside)[0])
        offset += len(connectivity)
    if not keep:
        return grid
    return grid.extract_cells(np.concatenate(keep))


def _write_drift_table(path: Path, rows: list[dict]) -> None:
    from ..output import write_atomic

    lines = ["quantity,max_m_per_s,mean_m_per_s,fraction"]
    for row in rows:
        lines.append(",".join(str(row.get(k, "")) if row.get(k) is not None else ""
                              for k in ("quantity", "max_m_per_s", "mean_m_per_s", "fraction")))
    write_atomic(path, "\n".join(lines) + "\n")


def animate(pv, series: FieldSeries, path: Path, array: str = "concentration") -> None:
    """GIF of a transient run (needs imageio: pip install thermocfd[viz])."""
    grids = [series.read(i) for i in range(len(series.times))]
    values = np.concatenate([np.asarray(g.point_data[array]) for g in grids])
    plotter = _plotter(pv)
    plotter.open_gif(str(path), fps=8)
    first = grids[0].copy()
    first.points *= MICRONS
    planar = is_planar(first)
    view = _concentration_view()
    plotter.add_mesh(first, scalars=array, cmap=view.cmap, clim=(values.min(), values.max()),
                     scalar_bar_args=_bar(view, False))
    if planar:
        plotter.view_xy()
    for grid, t in zip(grids, series.times):
        first.point_data[array] = np.asarray(grid.point_data[array])
        plotter.add_text(f"t = {t:.3g} s", name="time", color="black", font_size=12)
        plotter.write_frame()
    plotter.close()
