"""Stored fields read back with pyvista, and the velocities derived from them.

Runs write their fields as VTK (.pvd + .vtu/.pvtu, SI coordinates, one file per time
step). Everything here works from those files and the run's resolved inputs, so
``thermocfd post`` can redo it without re-solving.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..case import Case


@dataclass
class FieldSeries:
    """One .pvd file: its time values and a reader for each step."""

    path: Path
    times: list[float]

    def read(self, index: int = -1):
        """The grid at time step ``index`` as one UnstructuredGrid (MPI pieces merged)."""
        import pyvista as pv

        reader = pv.get_reader(str(self.path))
        reader.set_active_time_value(self.times[index])
        data = reader.read()
        while isinstance(data, pv.MultiBlock):
            blocks = [b for b in data if b is not None and b.n_points > 0]
            data = blocks[0] if len(blocks) == 1 else pv.MultiBlock(blocks).combine(merge_points=True)
        return _drop_vtk_bookkeeping(data)


def _drop_vtk_bookkeeping(grid):
    for name in ("vtkOriginalPointIds", "vtkOriginalCellIds", "vtkGhostType"):
        for data in (grid.point_data, grid.cell_data):
            if name in data:
                data.remove(name)
    return grid


def find_series(out_dir: Path) -> dict[str, FieldSeries]:
    """All .pvd files under ``out_dir/fields`` by stem."""
    import pyvista as pv

    series = {}
    for path in sorted((Path(out_dir) / "fields").glob("*.pvd")):
        reader = pv.get_reader(str(path))
        series[path.stem] = FieldSeries(path, list(reader.time_values))
    return series


def is_planar(grid) -> bool:
    xmin, xmax, ymin, ymax, zmin, zmax = grid.bounds
    return (zmax - zmin) <= 1e-9 * max(xmax - xmin, ymax - ymin)


def add_drift_velocity(grid, case: Case) -> None:
    """Colloid drift ``v = u - D_T(T) grad T`` (+ sedimentation where the case has it).

    Adds point arrays ``thermophoretic_velocity``, ``drift_velocity`` and their
    magnitudes (m/s). D_T = S_T(T) D(T) comes from the case's own laws.
    """
    if "temperature" not in grid.point_data or case.solute is None:
        return
    u = np.asarray(grid.point_data["velocity"]) if "velocity" in grid.point_data else None
    if "drift_velocity" in grid.point_data:  # written by the run from the FEM fields
        drift = np.asarray(grid.point_data["drift_velocity"])
        thermophoretic = drift.copy()
        if u is not None:
            thermophoretic[:, : u.shape[1]] -= u
    else:  # older runs: differentiate the stored temperature
        with_gradient = grid.compute_derivative(scalars="temperature", gradient="temperature_gradient")
        grad_T = np.asarray(with_gradient.point_data["temperature_gradient"])
        T = np.asarray(grid.point_data["temperature"])
        solute = case.solute
        D_T = solute.soret_law.soret_coefficient(T) * solute.diffusivity_law.diffusivity(T)
        thermophoretic = -D_T[:, None] * grad_T
        drift = thermophoretic.copy()
        if u is not None:
            drift[:, : u.shape[1]] += u
    grid.point_data["thermophoretic_velocity"] = thermophoretic
    grid.point_data["thermophoretic_speed"] = np.linalg.norm(thermophoretic, axis=1)
    grid.point_data["drift_velocity"] = drift
    grid.point_data["drift_speed"] = np.linalg.norm(drift, axis=1)
    if "velocity" in grid.point_data:
        grid.point_data["flow_speed"] = np.linalg.norm(np.asarray(grid.point_data["velocity"]), axis=1)


def drift_table(grid) -> list[dict[str, object]]:
    """Thermophoretic drift next to the flow speed: volume-weighted statistics and
    where the flow dominates (the region where a measurement is biased by convection)."""
    if "thermophoretic_speed" not in grid.point_data:
        return []
    sized = grid.compute_cell_sizes(length=False, area=True, volume=True)
    measure = np.asarray(sized.cell_data["Volume" if not is_planar(grid) else "Area"])
    cells = grid.point_data_to_cell_data()
    rows = []
    total = measure.sum()
    for name, label in (("thermophoretic_speed", "thermophoretic drift |D_T grad T|"),
                        ("flow_speed", "flow speed |u|")):
        if name not in cells.cell_data:
            continue
        speed = np.asarray(cells.cell_data[name])
        rows.append({"quantity": label, "max_m_per_s": float(speed.max()),
                     "mean_m_per_s": float((speed * measure).sum() / total)})
    if "flow_speed" in cells.cell_data:
        ratio = np.asarray(cells.cell_data["flow_speed"]) / np.maximum(
            np.asarray(cells.cell_data["thermophoretic_speed"]), 1e-300)
        dominated = float(measure[ratio > 1.0].sum() / total)
        rows.append({"quantity": "volume fraction where flow > drift", "max_m_per_s": None,
                     "mean_m_per_s": None, "fraction": dominated})
    return rows
