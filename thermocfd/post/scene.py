"""``scene.html``: the fields of a run as one interactive vtk.js scene, self-contained.

One panel per field the run has (temperature, concentration, flow speed, flow against
thermophoretic drift), each with the vertical section through the feature, the floor of
the liquid, the concentration isosurface and the outline, stretched as the PNG pictures
are. The render window is serialised with trame-vtk's vtk.js serialisers and embedded in
trame-vtk's offline viewer page (the vtk.js bundle inline, no network): a cluster user
copies one file and rotates the fields in any browser with WebGL.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from ..case import PicturesSection
from ..errors import ThermocfdError
from . import render
from .render import MICRONS, Frame, View, flow_over_drift, floor_plane, stretched, vertical_section


def _panels(grid, style: PicturesSection) -> list[tuple[View, object]]:
    """(view, the grid it is drawn on) for each field present."""
    panels = []
    if "velocity" in grid.point_data:
        grid.point_data["flow_speed_um_s"] = np.linalg.norm(np.asarray(grid.point_data["velocity"]), axis=1) * MICRONS
    # the liquid of a chip (where the solute lives): flow, solute and drift are drawn there
    liquid = render._where_solute_lives(grid) if "concentration" in grid.point_data else grid
    if "temperature" in grid.point_data:
        panels.append((View("temperature", "temperature", "K", style.temperature_colormap), grid))
    if "concentration" in grid.point_data:
        panels.append((View("concentration", "concentration", "mol/m^3", style.concentration_colormap), liquid))
    if "velocity" in grid.point_data:
        panels.append((View("flow_speed_um_s", "flow speed", "um/s", "viridis"), liquid))
    if "flow_speed" in grid.point_data and "thermophoretic_speed" in grid.point_data:
        ratio = liquid.copy()
        ratio.point_data["log10_flow_over_drift"] = np.nan_to_num(flow_over_drift(ratio), nan=0.0)
        panels.append((View("log10_flow_over_drift", "log10 flow / thermophoretic drift", "-", "coolwarm"), ratio))
    return panels


def _frame_2d(grid) -> Frame:
    return Frame(np.asarray(grid.center, dtype=float), "the middle", None)


def write_scene(pv, grid, frame: Frame | None, path: Path, style: PicturesSection) -> None:
    """Write ``path`` (scene.html) for one run's grid (um, drift arrays added)."""
    try:
        from trame_vtk.modules.vtk.serializers import (SynchronizationContext, extract_array_hash,
                                                       initialize_serializers, reference_id, serialize)
        from trame_vtk.tools.vtksz2html import write_html
    except ImportError:
        raise ThermocfdError("scene.html needs trame-vtk (pip install thermocfd[viz]), or set "
                             "pictures.scene = false") from None
    planar = frame is None
    frame = frame or _frame_2d(grid)
    panels = _panels(grid, style)
    if not panels:
        return
    columns = min(2, len(panels))
    rows = (len(panels) + 1) // 2
    plotter = pv.Plotter(off_screen=True, shape=(rows, columns), window_size=(1200, 700 * rows))
    for index, (view, shown) in enumerate(panels):
        plotter.subplot(index // columns, index % columns)
        plotter.set_background("white")
        values = np.asarray(shown.point_data[view.array])
        if view.array == "log10_flow_over_drift":
            limit = render.ratio_limit(values)
            clim, log = (-limit, limit), False
        elif view.array == "concentration":
            low, high, log = render.concentration_range(shown)
            shown = shown.copy()
            shown.point_data[view.array] = np.clip(values, low, high)
            clim = (low, high)
        else:
            clim, log = (float(values.min()), float(values.max())), False
        options = dict(scalars=view.array, cmap=view.cmap, log_scale=log, clim=clim if clim[1] > clim[0] else None)
        bar = {"title": f"{view.title} ({view.unit})", "color": "black", "vertical": True, "n_labels": 4}
        local = frame if planar else frame.fitted(shown)
        parts = [shown] if planar else [vertical_section(shown, local), floor_plane(shown, local)]
        for number, part in enumerate(p for p in parts if p is not None):
            plotter.add_mesh(stretched(part, local.stretch), show_scalar_bar=number == 0,
                             scalar_bar_args=bar, **options)
        if view.array == "concentration" and not planar:
            level = render.isosurface_level(shown, log)
            if values.min() < level < values.max():
                surface = shown.contour([level], scalars=view.array)
                if surface.n_points:
                    plotter.add_mesh(stretched(surface, local.stretch), color="white", opacity=0.5)
        plotter.add_mesh(stretched(shown.outline(), local.stretch), color="black", line_width=2)
        if planar:
            plotter.view_xy()
        else:
            plotter.view_xz()
            plotter.camera.elevation = 28
            plotter.camera.azimuth = -32
        plotter.reset_camera()
    plotter.render()
    initialize_serializers()
    context = SynchronizationContext()
    window = plotter.render_window
    camera = plotter.renderer.GetActiveCamera()
    state = serialize(None, window, reference_id(window), context, 1)
    state["extra"] = {"vtkRefId": reference_id(window), "centerOfRotation": camera.GetFocalPoint(),
                      "camera": reference_id(camera)}
    hashes = {entry["hash"]: {**entry, "content": context.get_cached_data_array(entry["hash"], False)}
              for entry in extract_array_hash(state)}
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("index.json", json.dumps({"hashes": hashes, "scene": state}),
                        compress_type=zipfile.ZIP_DEFLATED)
    plotter.close()
    text = io.StringIO()
    write_html(archive.getvalue(), text)
    from ..output import write_atomic

    write_atomic(path, text.getvalue())
