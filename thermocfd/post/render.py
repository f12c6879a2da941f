"""Off-screen PNG pictures of a run's fields with pyvista.

Every run renders the set that fits its fields. A 2D run: temperature and concentration
maps, drift-velocity arrows, and the drift/flow comparison that shows where convection
would bias a thermophoresis measurement. A 3D run looks where the physics happens: a
vertical x-z section through the feature (a resolved particle's centre, the laser axis,
else the hottest point: a heater), the floor of the liquid (where traps sit), seen
face-on and in one oblique view; thin chambers and channels are stretched to a stated
vertical (or lateral) exaggeration, and the thin axes carry few tick labels. Scalar ranges
and isosurface levels come from the field's volume-weighted distribution; colour bars
carry units.
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..case import Case, PicturesSection
from .fields import FieldSeries, add_drift_velocity, drift_table, find_clouds, find_series, is_planar

MICRONS = 1e6  # pictures are drawn in um
AXES = "xyz"
VERTICAL = 2  # presets build chambers and chips with their thickness along z
MIN_ASPECT = 0.3  # a thin direction is drawn at least this fraction of the longest one
MAX_LABELS = 5  # tick labels on the longest axis of a 3D view (fewer on shorter ones)
FLOOR_OFFSET = 0.02  # the floor plane sits this fraction of the liquid's thickness above it


@dataclass(frozen=True)
class View:
    array: str
    title: str
    unit: str
    cmap: str
    log: bool = False


DRIFT = View("drift_speed_um_s", "colloid drift speed", "um/s", "magma")


@dataclass
class Frame:
    """Where the pictures of a 3D run look, in um: the point the vertical section goes
    through (and what it is), the height of the liquid's floor, and the stretch of each
    axis on screen (1 on the longest)."""

    point: np.ndarray
    label: str
    floor: float | None
    stretch: np.ndarray = field(default_factory=lambda: np.ones(3))

    def fitted(self, mesh) -> "Frame":
        """The same frame with the stretch that fits ``mesh`` (a whole chip is not thin
        where its channel is)."""
        return replace(self, stretch=axis_stretch(_extents(mesh), _style.vertical_exaggeration))

    def note(self, axes=(0, 1, 2)) -> str:
        """'vertical x2' and the like for the given axes; empty for true proportions."""
        parts = [("vertical" if axis == VERTICAL else AXES[axis]) + f" x{self.stretch[axis]:g}"
                 for axis in axes if self.stretch[axis] != 1]
        return ", ".join(parts)


# The case's [pictures] section; set once by render_run (rendering runs in its own process).
_style = PicturesSection()


def _pyvista():
    os.environ.setdefault("PYVISTA_OFF_SCREEN", "true")
    import pyvista as pv
    import vtk

    vtk.vtkObject.GlobalWarningDisplayOff()  # "bad X server connection" before EGL fallback
    pv.OFF_SCREEN = True
    return pv


# --- proportions, ranges and levels (pure NumPy) ----------------------------------------------


def _extents(mesh) -> np.ndarray:
    return np.asarray(mesh.bounds).reshape(3, 2) @ np.array([-1.0, 1.0])


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is at least ``value`` (>= 1)."""
    if value <= 1.0:
        return 1.0
    decade = 10.0 ** math.floor(math.log10(value))
    return next(step * decade for step in (1.0, 2.0, 2.5, 5.0, 10.0) if step * decade >= value * (1 - 1e-12))


def axis_stretch(extents, fixed: float | None = None) -> np.ndarray:
    """Screen stretch of each axis: 1 on the longest, and on a direction thinner than
    MIN_ASPECT of it the nice factor that brings it to at least MIN_ASPECT (``fixed``:
    the case's pictures.vertical_exaggeration instead). Flat (zero-extent) axes stay 1."""
    extents = np.asarray(extents, dtype=float)
    longest = extents.max()
    stretch = np.ones(len(extents))
    for axis, extent in enumerate(extents):
        if extent <= 1e-9 * longest or extent >= MIN_ASPECT * longest:
            continue
        stretch[axis] = fixed if fixed is not None else nice_ceiling(MIN_ASPECT * longest / extent)
    return stretch


def label_counts(displayed_extents) -> list[int]:
    """Tick labels per axis of a 3D view: MAX_LABELS on the longest displayed axis, in
    proportion on shorter ones, two (the ends) on thin ones, so labels never overprint."""
    extents = np.asarray(displayed_extents, dtype=float)
    fractions = extents / extents.max()
    return [int(np.clip(1 + round((MAX_LABELS - 1) * f), 2, MAX_LABELS)) for f in fractions]


def weighted_quantile(values, weights, q):
    """Quantile(s) ``q`` of ``values`` where each value stands for its weight (cell volume)."""
    values, weights = np.asarray(values, dtype=float), np.asarray(weights, dtype=float)
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    cumulative /= cumulative[-1]
    return np.interp(q, cumulative - 0.5 * weights[order] / weights.sum(), values[order])


def volume_quantile(grid, array: str, q):
    """Volume- (area-, in 2D) weighted quantile of a point array over a grid's cells."""
    cells = grid.point_data_to_cell_data()
    sizes = grid.compute_cell_sizes(length=False, area=True, volume=True)
    measure = np.abs(np.asarray(sizes.cell_data["Area" if is_planar(grid) else "Volume"]))
    if not measure.any():
        measure = np.abs(np.asarray(sizes.cell_data["Area"]))
    return weighted_quantile(np.asarray(cells.cell_data[array]), measure, q)


def concentration_range(grid) -> tuple[float, float, bool]:
    """(low, high, log) of the concentration colours: low at the 1 % volume quantile (an
    undershoot of a few nodes must not stretch the scale), high at the maximum (the trap is
    the feature); a log scale where the span exceeds 20 and low is positive, unless the case
    sets pictures.concentration_scale/min/max."""
    values = np.asarray(grid.point_data["concentration"])
    low = float(volume_quantile(grid, "concentration", 0.01))
    high = float(values.max())
    if _style.concentration_min is not None:
        low = _style.concentration_min
    if _style.concentration_max is not None:
        high = _style.concentration_max
    log = low > 0 and high / low > 20
    log = {"log": low > 0, "linear": False}.get(_style.concentration_scale, log)
    return low, high, log


def isosurface_level(grid, log: bool) -> float:
    """The concentration isosurface: half-way (geometrically on a log scale) from the
    volume median to the maximum, so it wraps the accumulation, not the bulk."""
    median = float(volume_quantile(grid, "concentration", 0.5))
    top = float(np.max(grid.point_data["concentration"]))
    return math.sqrt(median * top) if log and median > 0 else 0.5 * (median + top)


def ratio_limit(ratio) -> float:
    """Symmetric colour limit of log10(flow/drift): the nice ceiling of the 2 %-98 %
    spread (at least 0.5 decades, at most 3), so a flow that wins everywhere still
    shows where it wins most."""
    finite = np.asarray(ratio)[np.isfinite(ratio)]
    if not finite.size:
        return 1.0
    spread = max(abs(np.quantile(finite, 0.02)), abs(np.quantile(finite, 0.98)))
    return float(min(3.0, max(0.5, math.ceil(2 * spread) / 2)))


# --- drawing ---------------------------------------------------------------------------------


def _plotter(pv, **options):
    plotter = pv.Plotter(off_screen=True, window_size=(_style.width, _style.height), **options)
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
    # tall enough that the title, the labels and the bar do not overprint
    return {"title": title, "color": "black", "vertical": False, "width": 0.5, "height": 0.07,
            "position_x": 0.25, "position_y": 0.02, "title_font_size": 14, "label_font_size": 12,
            "n_labels": 5, "fmt": f"%.{digits}g", "unconstrained_font_size": True}


def _tidy(bounds) -> np.ndarray:
    """Bounds with round-off zeros (-3e-15 um) made zero."""
    bounds = np.asarray(bounds, dtype=float).reshape(-1, 2)
    span = np.abs(bounds).max()
    return np.where(np.abs(bounds) < 1e-9 * span, 0.0, bounds)


def _titles_above_bars(plotter) -> None:
    """A colour bar's title as text above it (VTK's own title overprints the tick labels)."""
    for title, bar in plotter.scalar_bars.items():
        x, y = bar.GetPositionCoordinate().GetValue()[:2]
        top = y + bar.GetHeight()
        bar.SetTitle("")
        plotter.add_text(title, position=(int(x * _style.width), int(top * _style.height) + 2),
                         color="black", font_size=10)


def _extent_text(bounds, names: str = "xy") -> str:
    (a0, a1), (b0, b1) = _tidy(bounds)
    return f"{names[0]}: {a0:.4g} to {a1:.4g} um,  {names[1]}: {b0:.4g} to {b1:.4g} um"


def _finish(plotter, planar: bool, path: Path, title: str = "", extent: str | None = None) -> None:
    """Title, axes (the extent in words for a face-on picture), camera, screenshot."""
    if title:
        plotter.add_text(title, position="upper_left", color="black", font_size=11)
    _titles_above_bars(plotter)
    if planar:
        # axis labels shrink to nothing under the tight 2D camera: state the extent instead
        if extent is None:
            xmin, xmax, ymin, ymax, _, _ = (round(v, 3) + 0.0 for v in plotter.bounds)
            extent = _extent_text(((xmin, xmax), (ymin, ymax)))
        plotter.add_text(extent, position=(4, int(0.93 * _style.height) - 30), color="black", font_size=9)
        plotter.view_xy()
        # fill the window, leaving room for the title above and the colour bar underneath
        plotter.camera.tight(padding=0.3, adjust_render_window=False)
        plotter.camera.zoom(0.9)
    else:
        plotter.view_isometric()
        plotter.camera.zoom(1.1)
    plotter.screenshot(str(path))
    plotter.close()


def add_bounded_axes(plotter, true_bounds, stretch):
    """Cube axes labelled in true um on stretched geometry, with label_counts() labels per
    axis; returns the axes actor."""
    true_bounds = _tidy(true_bounds)
    shown = true_bounds * np.asarray(stretch)[:, None]
    counts = label_counts(shown[:, 1] - shown[:, 0])
    titles = [f"{a} (um)" + (f" x{s:g}" if s != 1 else "") for a, s in zip(AXES, stretch)]
    return plotter.show_bounds(bounds=shown.ravel().tolist(), axes_ranges=true_bounds.ravel().tolist(),
                               n_xlabels=counts[0], n_ylabels=counts[1], n_zlabels=counts[2],
                               xtitle=titles[0], ytitle=titles[1], ztitle=titles[2], color="black",
                               font_size=10, location="outer", grid=False, fmt="%.4g")


def _finish_oblique(plotter, grid, frame: Frame, path: Path, title: str) -> None:
    """Front view from below the section's normal (-y), raised and turned: the x-z
    section face-on-ish and the floor in front of it."""
    plotter.add_text(title, position="upper_left", color="black", font_size=11)
    _titles_above_bars(plotter)
    add_bounded_axes(plotter, grid.bounds, frame.stretch)
    plotter.view_xz()
    plotter.camera.elevation = 28
    plotter.camera.azimuth = -32
    plotter.reset_camera()
    plotter.camera.zoom(0.9)  # room for the title and the colour bar
    plotter.screenshot(str(path))
    plotter.close()


def stretched(mesh, stretch):
    """A copy of ``mesh`` with every axis scaled by ``stretch``, 3-component point
    vectors too (arrows follow the drawn geometry)."""
    copy = mesh.copy()
    stretch = np.asarray(stretch, dtype=float)
    copy.points = np.asarray(mesh.points) * stretch
    for name in list(copy.point_data.keys()):
        array = np.asarray(copy.point_data[name])
        if array.ndim == 2 and array.shape[1] == 3:
            copy.point_data[name] = array * stretch
    return copy


def face_on(section, axes: tuple[int, int], stretch):
    """A planar section (x-z or x-y) laid into the x-y plane, stretched, vectors
    projected: drawn with the 2D pictures' camera."""
    flat = section.copy()
    points = np.asarray(section.points)
    scale = np.asarray(stretch, dtype=float)[list(axes)]
    flat.points = np.column_stack([points[:, axes[0]] * scale[0], points[:, axes[1]] * scale[1],
                                   np.zeros(len(points))])
    for name in list(flat.point_data.keys()):
        array = np.asarray(flat.point_data[name])
        if array.ndim == 2 and array.shape[1] == 3:
            flat.point_data[name] = np.column_stack([array[:, axes[0]] * scale[0], array[:, axes[1]] * scale[1],
                                                     np.zeros(len(array))])
    return flat


def vertical_section(grid, frame: Frame):
    """The x-z section through the frame's point (through the centre if it misses)."""
    section = grid.slice(normal="y", origin=frame.point)
    return section if section.n_points else grid.slice(normal="y", origin=grid.center)


def floor_plane(grid, frame: Frame):
    """The horizontal section just above the liquid's floor (None: no floor here)."""
    if frame.floor is None:
        return None
    bottom, top = grid.bounds[4], grid.bounds[5]
    height = max(frame.floor, bottom + FLOOR_OFFSET * (top - bottom))
    plane = grid.slice(normal="z", origin=(grid.center[0], grid.center[1], height))
    return plane if plane.n_points else None


def _section_words(grid, frame: Frame, axes: tuple[int, int]) -> str:
    bounds = np.asarray(grid.bounds).reshape(3, 2)
    words = _extent_text((bounds[axes[0]], bounds[axes[1]]), AXES[axes[0]] + AXES[axes[1]])
    note = frame.note(axes)
    return words + (f"  ({note})" if note else "")


def _scalar_picture(pv, grid, view: View, path: Path, arrows: str | None = None, title: str = "",
                    extent: str | None = None, whole=None) -> None:
    """A planar field (a 2D run, or a 3D section laid flat) with its colour bar and arrows;
    the concentration's colours from the distribution over ``whole`` (default: ``grid``)."""
    values = np.asarray(grid.point_data[view.array])
    clim, log = None, view.log
    if view.array == "concentration":
        low, high, log = concentration_range(whole if whole is not None else grid)
        clim = (low, high) if high > low else None
        if clim is not None:
            grid = grid.copy()
            grid.point_data[view.array] = np.clip(values, low, high)  # undershoots: the lowest colour
    else:
        positive = values[values > 0]
        log = log or bool(positive.size == values.size and values.size and positive.max() / positive.min() > 20)
    plotter = _plotter(pv)
    plotter.add_mesh(grid, scalars=view.array, cmap=view.cmap, log_scale=bool(log), clim=clim,
                     scalar_bar_args=_bar(view, bool(log), values), show_scalar_bar=True)
    plotter.add_mesh(grid.outline(), color="black", line_width=2)
    if arrows is not None and arrows in grid.point_data:
        _add_arrows(plotter, grid, arrows)
    _finish(plotter, True, path, title, extent)


def _oblique_picture(pv, grid, view: View, frame: Frame, path: Path, title: str) -> None:
    """A 3D field in one oblique view: the vertical section, the front half of the floor,
    for the concentration the isosurface around the top 1 % of the volume."""
    values = np.asarray(grid.point_data[view.array])
    clim, log, level = (float(values.min()), float(values.max())), False, None
    if view.array == "concentration":
        low, high, log = concentration_range(grid)
        clim = (low, high)
        level = isosurface_level(grid, log)
        grid = grid.copy()
        grid.point_data[view.array] = np.clip(values, low, high)
    plotter = _plotter(pv)
    kwargs = dict(scalars=view.array, cmap=view.cmap, log_scale=bool(log),
                  clim=clim if clim[1] > clim[0] else None, scalar_bar_args=_bar(view, bool(log), values))
    plotter.add_mesh(stretched(vertical_section(grid, frame), frame.stretch), **kwargs)
    floor = floor_plane(grid, frame)
    if floor is not None:
        front = floor.clip(normal="y", origin=frame.point, invert=True)  # y below the section
        if front.n_points:
            plotter.add_mesh(stretched(front, frame.stretch), show_scalar_bar=False, **{
                k: v for k, v in kwargs.items() if k != "scalar_bar_args"})
    words = ""
    if level is not None and values.min() < level < values.max():
        surface = grid.contour([level], scalars=view.array)
        if surface.n_points:
            plotter.add_mesh(stretched(surface, frame.stretch), color="white", opacity=0.45,
                             show_scalar_bar=False)
            words = f"; white: c = {level:.3g} {view.unit} (half-way from the median to the maximum)"
    plotter.add_mesh(stretched(grid.outline(), frame.stretch), color="black", line_width=2)
    where = f"section through {frame.label}" + (" and the floor" if floor is not None else "")
    note = f" ({frame.note()})" if frame.note() else ""
    _finish_oblique(plotter, grid, frame, path, f"{title}\n{where}{words}{note}")


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


def flow_over_drift(grid) -> np.ndarray:
    """log10(|u| / |D_T grad T|) at the nodes; NaN where both are below 1 % of their
    maxima (there the ratio is discretisation noise)."""
    flow = np.asarray(grid.point_data["flow_speed"])
    thermophoretic = np.asarray(grid.point_data["thermophoretic_speed"])
    ratio = np.log10(np.maximum(flow, 1e-300) / np.maximum(thermophoretic, 1e-300))
    negligible = (flow < 0.01 * flow.max()) & (thermophoretic < 0.01 * thermophoretic.max())
    ratio[negligible] = np.nan
    return np.clip(ratio, -3.0, 3.0)


def _drift_picture(pv, grid, path: Path, title: str = "", extent: str | None = None) -> None:
    """Where does the flow outrun thermophoresis? With a flow: log10(|u| / |D_T grad T|)
    on a diverging map (red: the flow wins, the measurement is biased; blue:
    thermophoresis wins) with the equality line; without: the drift speed. ``grid`` is
    planar (a 2D run or a 3D section laid flat)."""
    plotter = _plotter(pv)
    if "flow_speed" in grid.point_data:
        ratio = flow_over_drift(grid)
        grid.point_data["log10_flow_over_drift"] = ratio
        limit = ratio_limit(ratio)
        view = View("log10_flow_over_drift", "log10(flow speed / thermophoretic drift)", "-", "coolwarm")
        plotter.add_mesh(grid, scalars=view.array, cmap=view.cmap, clim=(-limit, limit), nan_color="white",
                         scalar_bar_args={**_bar(view, False), "title": view.title + "; white: both < 1 % of max"})
        border = grid.contour([0.0], scalars=view.array)
        if border.n_points:
            plotter.add_mesh(border, color="black", line_width=2)
    else:
        top = float(np.max(grid.point_data[DRIFT.array]))
        # speeds from zero: a uniform drift must not show its round-off as structure
        plotter.add_mesh(grid, scalars=DRIFT.array, cmap=DRIFT.cmap, clim=(0.0, top if top > 0 else 1.0),
                         scalar_bar_args=_bar(DRIFT, False))
    plotter.add_mesh(grid.outline(), color="black", line_width=2)
    _add_arrows(plotter, grid, "drift_velocity", color="black")
    _finish(plotter, True, path, title, extent)


def _flow_picture(pv, grid, path: Path, title: str = "", extent: str | None = None) -> None:
    """|u| with direction arrows on a planar grid: the slip flow around a phoretic
    particle (its x-z section), a thermo-osmotic channel flow."""
    u = np.asarray(grid.point_data["velocity"])
    grid.point_data["flow_speed_um_s"] = np.linalg.norm(u, axis=1) * MICRONS
    plotter = _plotter(pv)
    view = View("flow_speed_um_s", "flow speed", "um/s", "viridis")
    top = float(np.max(grid.point_data[view.array]))
    # speeds from zero: a plug flow must not show its round-off as structure
    plotter.add_mesh(grid, scalars=view.array, cmap=view.cmap, clim=(0.0, top if top > 0 else 1.0),
                     scalar_bar_args=_bar(view, False))
    plotter.add_mesh(grid.outline(), color="black", line_width=2)
    _add_arrows(plotter, grid, "velocity", color="white")
    _finish(plotter, True, path, title, extent)


# --- a run's picture set -----------------------------------------------------------------------


def feature_point(grid, case: Case) -> tuple[np.ndarray, str]:
    """The point (um) a 3D run's sections go through and what it is: a resolved
    particle's centre, the laser axis, else the hottest node (a heater)."""
    centre = np.asarray(grid.center, dtype=float)
    if case.particle is not None:
        position = case.particle.position or (0.0, 0.0, case.particle.wall_distance or 0.0)
        return np.asarray(position, dtype=float) * MICRONS, "the particle centre"
    laser = getattr(case, "laser", None)
    if laser is not None:
        x, y = (np.asarray(laser.position[:2], dtype=float) * MICRONS)
        return np.array([x, y, centre[2]]), f"the laser axis (y = {y:.4g} um)"
    if "temperature" in grid.point_data:
        # the middle of the hottest nodes: one point under a heater, the centre of a hot wall
        T = np.asarray(grid.point_data["temperature"])
        hottest = np.asarray(grid.points)[T >= T.max() - 1e-3 * (T.max() - T.min())].mean(axis=0)
        return hottest.astype(float), f"the hottest point (y = {hottest[1]:.4g} um)"
    return centre, "the middle"


def frame_of(grid, liquid, case: Case) -> Frame:
    """The frame of a 3D run (grid and liquid in um)."""
    point, label = feature_point(grid, case)
    floor = None
    if "concentration" in liquid.point_data:
        bottom, top = liquid.bounds[4], liquid.bounds[5]
        floor = bottom + FLOOR_OFFSET * (top - bottom)
    return Frame(point, label, floor).fitted(liquid)


def render_run(out_dir: str | Path, case: Case) -> dict[str, float]:
    """Render every picture (and scene.html) the run's stored fields allow; returns
    {file name: seconds}."""
    global _style
    _style = case.pictures
    pv = _pyvista()
    out_dir = Path(out_dir)
    timings: dict[str, float] = {}
    scene_grids = {}
    for stem, series in find_series(out_dir).items():
        grid = prepared(series.read(-1), case)
        frame = _render_series(pv, grid, out_dir, stem, timings, series.times[-1], case)
        scene_grids[stem] = (grid, frame)
        if case.output.animation and len(series.times) > 1:
            start = time.perf_counter()
            written = animate(pv, series, out_dir / f"{stem}_concentration", case, frame)
            elapsed = (time.perf_counter() - start) / len(written)
            timings.update({path.name: elapsed for path in written})
    trajectories = out_dir / "fields" / "trajectories.vtp"
    if trajectories.exists():
        start = time.perf_counter()
        _trajectory_picture(pv, trajectories, find_series(out_dir), out_dir / "trajectories.png")
        timings["trajectories.png"] = time.perf_counter() - start
    particles = find_clouds(out_dir).get("particles")  # the particle series (fields/particles.pvd)
    if particles is not None:
        start = time.perf_counter()
        _particle_picture(pv, particles, find_series(out_dir), out_dir / "particles.png")
        timings["particles.png"] = time.perf_counter() - start
    if _style.scene and scene_grids:
        from .scene import write_scene

        start = time.perf_counter()
        stem = next(iter(scene_grids))
        write_scene(pv, *scene_grids[stem], out_dir / "scene.html", _style)
        timings["scene.html"] = time.perf_counter() - start
    return timings


def prepared(grid, case: Case):
    """A stored grid with the derived drift arrays, in um."""
    add_drift_velocity(grid, case)  # SI, before the points are drawn in um
    if "drift_speed" in grid.point_data:
        grid.point_data["drift_speed_um_s"] = np.asarray(grid.point_data["drift_speed"]) * MICRONS
    grid.points *= MICRONS
    return grid


def _draw_domain(plotter, series: dict, faded_concentration: bool) -> bool:
    """Outline (and faded concentration) of the run's first field file under particle
    pictures; returns whether the domain is planar."""
    for field_series in series.values():
        grid = field_series.read(-1)
        grid.points *= MICRONS
        planar = is_planar(grid)
        if faded_concentration and "concentration" in grid.point_data:
            shown = grid if planar else grid.slice_orthogonal(*grid.center).combine()
            plotter.add_mesh(shown, scalars="concentration", cmap="Greys", opacity=0.35, show_scalar_bar=False)
        plotter.add_mesh(grid.outline(), color="black", line_width=2)
        return planar
    return True


def _particle_picture(pv, path: FieldSeries, series: dict, png: Path) -> None:
    """The final particle cloud coloured by net speed; particles that left the active
    state (adsorbed, escaped, stopped) in red."""
    cloud = path.read(-1)  # the series' last frame
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
    if not planar:
        plotter.show_bounds(color="black", font_size=10, location="outer", grid=False, fmt="%.4g",
                            n_xlabels=3, n_ylabels=3, n_zlabels=3)
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
    if not planar:
        plotter.show_bounds(color="black", font_size=10, location="outer", grid=False, fmt="%.4g",
                            n_xlabels=3, n_ylabels=3, n_zlabels=3)
    _finish(plotter, planar, png, f"{shown} of {paths.n_cells} recorded particle paths "
                                  "(dots: final positions; all paths in fields/trajectories.vtp)")


def _render_series(pv, grid, out_dir: Path, stem: str, timings: dict, time_value: float,
                   case: Case) -> Frame | None:
    """The pictures of one field file; returns the 3D frame (None in 2D)."""
    def timed(name: str, draw) -> None:
        start = time.perf_counter()
        draw(out_dir / name)
        timings[name] = time.perf_counter() - start

    label = f"{stem}, t = {time_value:.4g} s" if time_value else stem
    temperature = View("temperature", "temperature", "K", _style.temperature_colormap)
    liquid = _where_solute_lives(grid) if "concentration" in grid.point_data else grid
    planar = is_planar(grid)
    frame = None if planar else frame_of(grid, liquid, case)
    if planar:
        stretch = axis_stretch(_extents(grid), _style.vertical_exaggeration) if _style.vertical_exaggeration \
            else np.ones(3)
        note = ", ".join(f"{AXES[a]} x{s:g}" for a, s in enumerate(stretch) if s != 1)
        bounds = np.asarray(grid.bounds).reshape(3, 2)
        words = _extent_text((bounds[0], bounds[1])) + (f"  ({note})" if note else "")

        def flat(mesh):
            return face_on(mesh, (0, 1), stretch)
    if "temperature" in grid.point_data:
        if planar:
            timed(f"{stem}_temperature.png", lambda p: _scalar_picture(
                pv, flat(grid), temperature, p, title=f"{label}: temperature", extent=words))
        else:
            whole = frame.fitted(grid)
            timed(f"{stem}_temperature.png", lambda p: _oblique_picture(
                pv, grid, temperature, whole, p, f"{label}: temperature"))
            timed(f"{stem}_temperature_section.png", lambda p: _scalar_picture(
                pv, face_on(vertical_section(grid, whole), (0, 2), whole.stretch), temperature, p,
                title=f"{label}: temperature on the section through {frame.label}",
                extent=_section_words(grid, whole, (0, 2))))
    if "concentration" in grid.point_data:
        view = _concentration_view()
        if planar:
            timed(f"{stem}_concentration.png", lambda p: _scalar_picture(
                pv, flat(liquid), view, p, arrows="drift_velocity",
                title=f"{label}: concentration, arrows: colloid drift", extent=words))
        else:
            timed(f"{stem}_concentration.png", lambda p: _oblique_picture(
                pv, liquid, view, frame, p, f"{label}: concentration"))
            timed(f"{stem}_concentration_section.png", lambda p: _scalar_picture(
                pv, face_on(vertical_section(liquid, frame), (0, 2), frame.stretch), view, p,
                arrows="drift_velocity", whole=liquid,
                title=f"{label}: concentration on the section through {frame.label}, arrows: colloid drift",
                extent=_section_words(liquid, frame, (0, 2))))
            floor = floor_plane(liquid, frame)
            if floor is not None:
                timed(f"{stem}_concentration_floor.png", lambda p: _scalar_picture(
                    pv, face_on(floor, (0, 1), frame.stretch), view, p, arrows="drift_velocity", whole=liquid,
                    title=f"{label}: concentration on the floor (z = {floor.bounds[4]:.3g} um, seen from above), "
                          "arrows: colloid drift", extent=_section_words(liquid, frame, (0, 1))))
    if "velocity" in grid.point_data and "concentration" not in grid.point_data:
        whole = None if planar else frame.fitted(grid)
        shown = flat(grid) if planar else face_on(vertical_section(grid, whole), (0, 2), whole.stretch)
        where = "" if planar else f" on the section through {frame.label}"
        timed(f"{stem}_flow.png", lambda p: _flow_picture(
            pv, shown, p, title=f"{label}: flow speed and direction{where}",
            extent=words if planar else _section_words(grid, whole, (0, 2))))
    if "drift_speed" in grid.point_data:
        if planar:
            shown, extent = flat(liquid), words
        else:
            shown, extent = face_on(vertical_section(liquid, frame), (0, 2), frame.stretch), \
                _section_words(liquid, frame, (0, 2))
        rows = drift_table(liquid)
        biased = next((row["fraction"] for row in rows if row.get("fraction") is not None), None)
        where = "" if planar else f"\nsection through {frame.label}"
        what = ("flow against thermophoresis (line: equal)" + (
            f", flow > drift in {100 * biased:.3g} % of the liquid's volume" if biased is not None else "")
            if "flow_speed" in grid.point_data else "colloid drift speed |u - D_T grad T|")
        timed(f"{stem}_drift.png", lambda p: _drift_picture(
            pv, shown, p, title=f"{label}: {what}; arrows: colloid drift{where}", extent=extent))
        _write_drift_table(out_dir / f"{stem}_drift_table.csv", rows)
    return frame


def _concentration_view() -> View:
    return View("concentration", "concentration", "mol/m^3", _style.concentration_colormap)


def _where_solute_lives(grid):
    """The liquid of a chip: the regions (the ``region`` cell array) in which most cells
    hold solute at every node (the solids' nodes hold none; interface nodes belong to the
    liquid), or without region tags those cells themselves; the whole grid for a
    liquid-only domain."""
    values = np.asarray(grid.point_data["concentration"])
    if not np.any(values == 0.0):
        return grid
    inside = np.zeros(grid.n_cells, dtype=bool)
    offset = 0
    for _, connectivity in (grid.cells_dict if hasattr(grid, "cells_dict") else {}).items():
        inside[offset:offset + len(connectivity)] = np.all(values[connectivity] != 0.0, axis=1)
        offset += len(connectivity)
    if "region" in grid.cell_data:
        # a coarse solid cell may touch the liquid with all its nodes: decide per region
        region = np.asarray(grid.cell_data["region"])
        liquid = [tag for tag in np.unique(region) if inside[region == tag].mean() > 0.5]
        inside = np.isin(region, liquid)
    if not inside.any():
        return grid
    return grid.extract_cells(np.nonzero(inside)[0])


def _write_drift_table(path: Path, rows: list[dict]) -> None:
    from ..output import write_atomic

    lines = ["quantity,max_m_per_s,mean_m_per_s,fraction"]
    for row in rows:
        lines.append(",".join(str(row.get(k, "")) if row.get(k) is not None else ""
                              for k in ("quantity", "max_m_per_s", "mean_m_per_s", "fraction")))
    write_atomic(path, "\n".join(lines) + "\n")


def animate(pv, series: FieldSeries, stem_path: Path, case: Case, frame: Frame | None,
            array: str = "concentration", fps: int = 8) -> list[Path]:
    """GIF and MP4 of a transient run's concentration (a 3D run: on the vertical section)
    with a time label; returns the files written (the MP4 needs imageio-ffmpeg:
    pip install thermocfd[viz])."""
    import imageio.v2 as imageio

    shown = []
    for index in range(len(series.times)):
        grid = series.read(index)
        grid.points *= MICRONS
        if frame is not None:
            grid = face_on(vertical_section(_where_solute_lives(grid), frame), (0, 2), frame.stretch)
        shown.append(grid)
    values = np.concatenate([np.asarray(g.point_data[array]) for g in shown])
    plotter = _plotter(pv)
    first = shown[0].copy()
    view = _concentration_view()
    plotter.add_mesh(first, scalars=array, cmap=view.cmap, clim=(values.min(), values.max()),
                     scalar_bar_args=_bar(view, False))
    plotter.add_mesh(first.outline(), color="black", line_width=2)
    _titles_above_bars(plotter)
    where = "" if frame is None else f" on the section through {frame.label}" + (
        f" ({frame.note((0, 2))})" if frame.note((0, 2)) else "")
    plotter.view_xy()
    plotter.camera.tight(padding=0.3, adjust_render_window=False)
    images = []
    for grid, t in zip(shown, series.times):
        first.point_data[array] = np.asarray(grid.point_data[array])
        plotter.add_text(f"{series.path.stem}: concentration{where}, t = {t:.3g} s", name="time", color="black",
                         font_size=12, position="upper_left")
        images.append(plotter.screenshot(return_img=True))
    plotter.close()
    gif = stem_path.with_suffix(".gif")
    imageio.mimsave(gif, images, duration=1000 / fps, loop=0)
    written = [gif]
    if importlib.util.find_spec("imageio_ffmpeg") is None:  # the MP4 writer's encoder
        print(f"thermocfd: {stem_path.name}.mp4 not written: it needs imageio-ffmpeg "
              "(pip install thermocfd[viz])", file=sys.stderr)
        return written
    mp4 = stem_path.with_suffix(".mp4")
    with imageio.get_writer(mp4, fps=fps, codec="libx264", macro_block_size=2, quality=7) as writer:
        for image in images:
            writer.append_data(image[: image.shape[0] // 2 * 2, : image.shape[1] // 2 * 2])
    written.append(mp4)
    return written
