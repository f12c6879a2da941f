"""``thermocfd view OUT``: an interactive pyvista window on a finished run."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ThermocfdError


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def view(out_dir: str | Path, field: str = "concentration") -> None:
    """Open the last time step of the run's fields; needs a display."""
    if not has_display():
        raise ThermocfdError("no display (DISPLAY is not set): open OUTDIR/scene.html (interactive 3D) or "
                             "OUTDIR/report.html in a browser, 'thermocfd post OUTDIR' redraws them and the PNG "
                             "pictures, or open OUTDIR/fields/*.pvd in ParaView")
    import pyvista as pv

    from . import case_of_run
    from .fields import add_drift_velocity, find_series

    case, _ = case_of_run(out_dir)
    series = find_series(Path(out_dir))
    if not series:
        raise ThermocfdError(f"{out_dir}: no field files (was the run made with output.fields = false?)")
    grid = next(iter(series.values())).read(-1)
    add_drift_velocity(grid, case)
    if field not in grid.point_data:
        raise ThermocfdError(f"no field {field!r}; available: {', '.join(grid.point_data.keys())}")
    plotter = pv.Plotter()
    plotter.add_mesh(grid, scalars=field, show_edges=False)
    plotter.add_mesh(grid.outline(), color="black")
    plotter.show()
