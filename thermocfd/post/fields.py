"""Stored fields read back with pyvista, and the velocities derived from them.

Runs write their fields as VTK (thermocfd.fem.io: a .pvd of .vtu/.pvtu files, SI
coordinates, array names with units such as ``temperature [K]``) and their particle
clouds as a .pvd of .vtp files (thermocfd.tracking.outputs). Everything here works from
those files and the run's resolved inputs, so ``thermocfd post`` can redo it without
re-solving. Arrays come back under their bare names (``temperature``); the units are in
:attr:`FieldSeries.units`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..case import Case

_UNIT_SUFFIX = re.compile(r"^(?P<name>.+?) \[(?P<unit>[^\]]*)\]$")


@dataclass
class FieldSeries:
    """One .pvd file: its time values and a reader for each step."""

    path: Path
    times: list[float]
    units: dict[str, str] = field(default_factory=dict)  # bare array name -> unit, filled by read()

    def read(self, index: int = -1):
        """The grid (or particle cloud) at time step ``index`` as one dataset: MPI pieces
        merged (their shared vertices once), arrays under their bare names."""
        import pyvista as pv

        reader = pv.get_reader(str(self.path))
        reader.set_active_time_value(self.times[index])
        data = reader.read()
        while isinstance(data, pv.MultiBlock):
            blocks = [b for b in data if b is not None and b.n_points > 0]
            data = blocks[0] if len(blocks) == 1 else pv.MultiBlock(blocks).combine(merge_points=True)
        if isinstance(data, pv.UnstructuredGrid) and self.pieces(index) > 1:
            data = data.clean(tolerance=0.0, produce_merge_map=False)
        _drop_vtk_bookkeeping(data)
        self.units.update(strip_units(data))
        return data

    def pieces(self, index: int = -1) -> int:
        """How many pieces (MPI ranks) step ``index`` was written in."""
        step = self.path.parent / _step_files(self.path)[index]
        if step.suffix != ".pvtu":
            return 1
        return len(ElementTree.parse(step).getroot().findall("./PUnstructuredGrid/Piece"))


def strip_units(data) -> dict[str, str]:
    """Rename ``"name [unit]"`` point and cell arrays to ``name``; returns {name: unit}."""
    units = {}
    for arrays in (data.point_data, data.cell_data):
        for key in list(arrays.keys()):
            match = _UNIT_SUFFIX.match(key)
            if match:
                arrays[match["name"]] = arrays.pop(key)
                units[match["name"]] = match["unit"]
    return units


def _drop_vtk_bookkeeping(data) -> None:
    """Arrays of VTK's own that fields written by older versions (dolfinx's writer) carry."""
    for name in ("vtkOriginalPointIds", "vtkOriginalCellIds", "vtkGhostType"):
        for arrays in (data.point_data, data.cell_data):
            if name in arrays:
                arrays.remove(name)


def _step_files(pvd: Path) -> list[str]:
    root = ElementTree.parse(pvd).getroot()
    return [entry.get("file") for entry in root.iter("DataSet")]


def find_series(out_dir: Path) -> dict[str, FieldSeries]:
    """The field (mesh) series under ``out_dir/fields`` by stem; particle clouds apart."""
    return {stem: series for stem, series in _all_series(out_dir).items()
            if not _step_files(series.path)[0].endswith(".vtp")}


def find_clouds(out_dir: Path) -> dict[str, FieldSeries]:
    """The particle-cloud series (.pvd of .vtp) under ``out_dir/fields`` by stem."""
    return {stem: series for stem, series in _all_series(out_dir).items()
            if _step_files(series.path)[0].endswith(".vtp")}


def _all_series(out_dir: Path) -> dict[str, FieldSeries]:
    series = {}
    for path in sorted((Path(out_dir) / "fields").glob("*.pvd")):
        times = [float(entry.get("timestep", 0.0)) for entry in ElementTree.parse(path).getroot().iter("DataSet")]
        if times:
            series[path.stem] = FieldSeries(path, times)
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
