"""Estimates from particle ensembles: histograms, concentration, MSD, drift, trajectories."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from .kernels_cpu import ACTIVE
from .state import ParticleState, to_numpy


class Estimate(NamedTuple):
    """A sample estimate and its standard error (same shape)."""

    value: np.ndarray | float
    stderr: np.ndarray | float


def _active_points(state: ParticleState, include_adsorbed: bool = False,
                   internal_state: int | None = None) -> np.ndarray:
    status = to_numpy(state.status)
    keep = status == ACTIVE
    if include_adsorbed:
        keep |= status == 1
    if internal_state is not None:
        if state.internal_state is None:
            raise ValueError("these particles carry no internal state")
        keep &= to_numpy(state.internal_state) == internal_state
    return to_numpy(state.positions)[:, keep].T


def histogram(state: ParticleState, lower: Sequence[float], upper: Sequence[float],
              bins: Sequence[int], include_adsorbed: bool = False) -> np.ndarray:
    """Counts of in-domain particles in ``bins[0] x bins[1] x bins[2]`` equal boxes."""
    points = _active_points(state, include_adsorbed)
    counts, _ = np.histogramdd(points, bins=[int(b) for b in bins],
                               range=[(float(lo), float(hi)) for lo, hi in zip(lower, upper)])
    return counts


def concentration_profile(state: ParticleState, axis: int, lower: float, upper: float,
                          bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """1D concentration along ``axis`` normalised to mean 1: (centres, c, standard error).

    The standard error is the multinomial one, ``sqrt(n_i (1 - n_i/N)) / (N/bins)``.
    """
    points = _active_points(state)[:, axis]
    counts, edges = np.histogram(points, bins=int(bins), range=(float(lower), float(upper)))
    total = max(int(counts.sum()), 1)
    expected_per_bin = total / bins
    c = counts / expected_per_bin
    stderr = np.sqrt(counts * (1.0 - counts / total)) / expected_per_bin
    return 0.5 * (edges[1:] + edges[:-1]), c, stderr


def concentration_on_grid(state: ParticleState, origin: Sequence[float], spacing: Sequence[float],
                          shape: Sequence[int], total_amount: float | None = None,
                          internal_state: int | None = None) -> np.ndarray:
    """Cloud-in-cell (trilinear) estimate of the number density at grid nodes (1/m^3).

    Each particle carries ``total_amount / N`` (default 1 per particle); node control
    volumes are halved on the boundary, so the estimate integrates to the total.
    ``internal_state``: count only the particles in that state (the density c_i).
    """
    origin = np.asarray(origin, dtype=np.float64)
    spacing = np.asarray(spacing, dtype=np.float64)
    shape = tuple(int(n) for n in shape)
    points = _active_points(state, internal_state=internal_state)
    weight = 1.0 if total_amount is None else total_amount / max(state.n, 1)
    g = (points - origin) / spacing
    index = np.clip(np.floor(g).astype(np.int64), 0, np.array(shape) - 2)
    frac = np.clip(g - index, 0.0, 1.0)
    density = np.zeros(shape)
    for corner in range(8):
        offset = np.array([(corner >> a) & 1 for a in range(3)])
        w = np.prod(np.where(offset == 1, frac, 1.0 - frac), axis=1) * weight
        idx = index + offset
        np.add.at(density, (idx[:, 0], idx[:, 1], idx[:, 2]), w)
    volume = np.full(shape, float(np.prod(spacing)))
    for a in range(3):
        edge = [slice(None)] * 3
        for end in (0, -1):
            edge[a] = end
            volume[tuple(edge)] *= 0.5
    return density / volume


def wall_concentration_ratio(state: ParticleState, axis: int, lower: float, upper: float,
                             bins: int = 20, fit_bins: int = 5) -> Estimate:
    """``c(upper wall) / c(lower wall)`` along ``axis`` from the histogram.

    ln c is fitted with a quadratic through the ``fit_bins`` bins next to each wall
    (weighted by counts) and evaluated on the wall; the error is propagated from the
    counts. In a two-wall Soret cell with the cold wall at ``upper`` this is
    ``c_ratio_cold_hot``.
    """
    centres, c, err = concentration_profile(state, axis, lower, upper, bins)

    def wall_value(sel, x_wall):
        x, y, e = centres[sel], c[sel], err[sel]
        good = y > 0
        x, y, e = x[good], y[good], e[good]
        sigma = e / y  # error of ln c
        coeff, cov = np.polyfit(x - x_wall, np.log(y), deg=min(2, len(x) - 1), w=1.0 / sigma,
                                cov="unscaled")
        return coeff[-1], np.sqrt(cov[-1, -1])

    lo, lo_err = wall_value(slice(0, fit_bins), lower)
    hi, hi_err = wall_value(slice(bins - fit_bins, bins), upper)
    ratio = float(np.exp(hi - lo))
    return Estimate(ratio, ratio * float(np.hypot(lo_err, hi_err)))


def soret_coefficient_from_profile(temperatures: np.ndarray, density: np.ndarray, stderr: np.ndarray) -> Estimate:
    """S_T as minus the slope of ln c against T over all histogram bins (weighted least
    squares with the counts' errors), the tracker's counterpart of the Eulerian fit; it
    uses every bin, so it is far less noisy than the wall extrapolation of c_ratio."""
    good = density > 0
    T, y, sigma = temperatures[good], np.log(density[good]), stderr[good] / density[good]
    design = np.column_stack([np.ones_like(T), T])
    weights = 1.0 / sigma**2
    normal = design.T @ (weights[:, None] * design)
    coefficients = np.linalg.solve(normal, design.T @ (weights * y))
    covariance = np.linalg.inv(normal)
    return Estimate(float(-coefficients[1]), float(np.sqrt(covariance[1, 1])))


def internal_state_fractions(state: ParticleState, n_states: int) -> Estimate:
    """Fraction of the in-domain particles in each internal state, with binomial standard
    errors ``sqrt(f (1 - f) / N)``."""
    counts = state.state_counts(n_states)
    total = max(int(counts.sum()), 1)
    fractions = counts / total
    return Estimate(fractions, np.sqrt(fractions * (1.0 - fractions) / total))


def _displacements(initial: np.ndarray | ParticleState, final: ParticleState) -> np.ndarray:
    x0 = to_numpy(initial.positions) if isinstance(initial, ParticleState) else np.asarray(initial)
    if x0.shape[0] != 3:
        x0 = x0.T
    keep = to_numpy(final.status) == ACTIVE
    return (to_numpy(final.positions) - x0)[:, keep].astype(np.float64)


def msd_diffusivity(initial: np.ndarray | ParticleState, final: ParticleState, elapsed: float,
                    axes: Sequence[int] = (0, 1, 2), subtract_drift: bool = False) -> Estimate:
    """``D = <|dX|^2> / (2 d t)`` over the in-domain particles, with its standard error.

    ``initial`` is the earlier state or its (3, N) positions (same particle order).
    ``subtract_drift`` removes the mean displacement first (variance-based estimate).
    """
    dx = _displacements(initial, final)[list(axes)]
    if subtract_drift:
        dx = dx - dx.mean(axis=1, keepdims=True)
    per_particle = np.sum(dx * dx, axis=0) / (2.0 * len(axes) * elapsed)
    n = per_particle.size
    return Estimate(float(per_particle.mean()), float(per_particle.std(ddof=1) / np.sqrt(n)))


def mean_drift_velocity(initial: np.ndarray | ParticleState, final: ParticleState,
                        elapsed: float) -> Estimate:
    """Mean velocity ``<dX> / t`` (vector) of the in-domain particles, with standard errors."""
    dx = _displacements(initial, final)
    n = dx.shape[1]
    return Estimate(dx.mean(axis=1) / elapsed, dx.std(axis=1, ddof=1) / np.sqrt(n) / elapsed)


@dataclass
class TrajectoryRecorder:
    """Positions of a subsample of particles every ``every`` steps (host copies).

    The subsample is the particles whose array index is a multiple of ``stride``, at most
    ``max_particles`` of them, fixed at the first frame.
    """

    every: int = 10
    max_particles: int = 1000
    frames: list = field(default_factory=list)
    times: list = field(default_factory=list)
    _selection: np.ndarray | None = None
    statuses: list = field(default_factory=list)  # per frame, as ParticleState.status
    internal_states: list = field(default_factory=list)  # per frame; empty without states

    def record(self, state: ParticleState) -> None:
        if self._selection is None:
            stride = max(1, state.n // max(self.max_particles, 1))
            self._selection = np.arange(0, state.n, stride)[: self.max_particles]
        positions = to_numpy(state.positions)[:, self._selection]
        self.frames.append(np.asarray(positions, dtype=np.float64).T.copy())
        self.times.append(float(state.time))
        self.ids = to_numpy(state.ids)[self._selection]
        self.statuses.append(to_numpy(state.status)[self._selection].copy())
        if state.internal_state is not None:
            self.internal_states.append(to_numpy(state.internal_state)[self._selection].copy())

    def cloud_frames(self) -> list["CloudFrame"]:
        """The recorded frames as particle clouds (:func:`write_particle_series`)."""
        states = self.internal_states if len(self.internal_states) == len(self.frames) else [None] * len(self.frames)
        return [CloudFrame(t, x, self.ids, status, internal)
                for t, x, status, internal in zip(self.times, self.frames, self.statuses, states)]

    def write_vtp(self, path: str | Path, max_paths: int | None = None) -> Path | None:
        """Polylines (one per particle, point data ``time`` and ``id``) as VTP, of the first
        ``max_paths`` recorded particles (default: all).

        Returns the path, or None with a printed message when pyvista is missing.
        """
        try:
            import pyvista
        except ImportError:
            print("thermocfd.tracking: pyvista is not installed; trajectories not written "
                  f"to {path} (pip install pyvista)")
            return None
        if not self.frames:
            raise ValueError("no trajectory frames recorded")
        frames = np.stack(self.frames)[:, :max_paths]  # (n_frames, m, 3)
        n_frames, m, _ = frames.shape
        points = frames.transpose(1, 0, 2).reshape(-1, 3)  # particle-major
        lines = np.hstack([np.r_[n_frames, np.arange(p * n_frames, (p + 1) * n_frames)]
                           for p in range(m)]).astype(np.int64)
        poly = pyvista.PolyData(points, lines=lines)
        poly.point_data["time"] = np.tile(np.asarray(self.times), m)
        poly.point_data["id"] = np.repeat(np.asarray(self.ids[:m], dtype=np.int64), n_frames)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        poly.save(str(path))
        return path


def summary_quantities(initial: np.ndarray | ParticleState, final: ParticleState, elapsed: float,
                       cell_axis: int | None = None, cell_lower: float | None = None,
                       cell_upper: float | None = None, bins: int = 20,
                       n_states: int | None = None) -> dict:
    """Canonical summary.json entries of a tracking run (SI).

    ``msd_diffusivity`` (drift-corrected variance estimate), ``mean_drift_velocity``, the
    particle counts and, for a two-wall cell along ``cell_axis`` with the cold wall at
    ``cell_upper``, ``c_ratio_cold_hot`` from the histogram. Standard errors ride along
    as ``*_stderr``. With ``n_states`` (particles with internal states):
    ``internal_state_counts`` and ``internal_state_fractions`` of the in-domain particles.
    """
    d, d_se = msd_diffusivity(initial, final, elapsed, subtract_drift=True)
    v, v_se = mean_drift_velocity(initial, final, elapsed)
    out = {"msd_diffusivity": d, "msd_diffusivity_stderr": d_se,
           "mean_drift_velocity": [float(c) for c in v],
           "mean_drift_velocity_stderr": [float(c) for c in v_se],
           "particle_counts": final.counts()}
    if cell_axis is not None:
        ratio, ratio_se = wall_concentration_ratio(final, cell_axis, cell_lower, cell_upper, bins)
        out["c_ratio_cold_hot"] = ratio
        out["c_ratio_cold_hot_stderr"] = ratio_se
    if n_states is not None:
        fractions, fractions_se = internal_state_fractions(final, n_states)
        out["internal_state_counts"] = [int(c) for c in final.state_counts(n_states)]
        out["internal_state_fractions"] = [float(f) for f in fractions]
        out["internal_state_fractions_stderr"] = [float(e) for e in fractions_se]
    return out


class CloudFrame(NamedTuple):
    """Particles at one time: positions (m, 3) in m, ids, status (0 active, 1 adsorbed,
    2 escaped, 3 invalid) and internal state index (None: the particles have none)."""

    time: float
    positions: np.ndarray
    ids: np.ndarray
    status: np.ndarray
    internal_state: np.ndarray | None = None


def state_frame(state: ParticleState, max_particles: int = 20_000) -> CloudFrame:
    """A :class:`CloudFrame` of at most ``max_particles`` evenly picked particles of ``state``."""
    count = state.n
    pick = np.linspace(0, count - 1, min(count, max_particles)).astype(np.int64) if count else np.arange(0)
    internal = None if state.internal_state is None else to_numpy(state.internal_state)[pick]
    return CloudFrame(float(state.time), to_numpy(state.positions).T[pick], to_numpy(state.ids)[pick],
                      to_numpy(state.status)[pick], internal)


def write_particle_series(frames: Sequence[CloudFrame], path: str | Path) -> Path:
    """Particle clouds as a ParaView time series: ``path`` (.pvd) and one .vtp per frame in
    ``path.parent / path.stem /``, the same particles (by id) in every frame.

    Point data: ``velocity [m/s]`` (displacement since the previous frame over the time
    between them; zero in the first), ``mean_speed [m/s]`` (net displacement since the
    first frame over the elapsed time), ``status``, ``id`` and, for particles with
    internal states, ``internal_state``. Call on one rank.
    """
    import shutil

    from vtkmodules.util.numpy_support import numpy_to_vtk
    from vtkmodules.vtkCommonCore import vtkPoints
    from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
    from vtkmodules.vtkIOXML import vtkXMLPolyDataWriter

    from ..fem.io import write_pvd

    if not frames:
        raise ValueError("no particle frames to write")
    path = Path(path)
    steps_dir = path.parent / path.stem
    shutil.rmtree(steps_dir, ignore_errors=True)
    steps_dir.mkdir(parents=True)
    first = frames[0]
    entries = []
    for index, frame in enumerate(frames):
        x = np.ascontiguousarray(frame.positions, dtype=np.float64)
        previous = frames[index - 1] if index else frame
        interval = frame.time - previous.time
        velocity = (x - previous.positions) / interval if interval > 0 else np.zeros_like(x)
        elapsed = frame.time - first.time
        mean_speed = np.linalg.norm(x - first.positions, axis=1) / elapsed if elapsed > 0 else np.zeros(len(x))
        cloud = vtkPolyData()
        points = vtkPoints()
        points.SetData(numpy_to_vtk(x, deep=True))
        cloud.SetPoints(points)
        vertices = vtkCellArray()  # one vertex cell per particle: ParaView draws points
        vertices.SetData(1, numpy_to_vtk(np.arange(len(x), dtype=np.int64), deep=True,
                                         array_type=12))  # VTK_ID_TYPE
        cloud.SetVerts(vertices)
        arrays = {"velocity [m/s]": velocity, "mean_speed [m/s]": mean_speed,
                  "status": np.asarray(frame.status, dtype=np.int32), "id": np.asarray(frame.ids, dtype=np.int64)}
        if frame.internal_state is not None:
            arrays["internal_state"] = np.asarray(frame.internal_state, dtype=np.int32)
        for name, values in arrays.items():
            array = numpy_to_vtk(np.ascontiguousarray(values), deep=True)
            array.SetName(name)
            cloud.GetPointData().AddArray(array)
        file = f"{path.stem}_{index:06d}.vtp"
        writer = vtkXMLPolyDataWriter()
        writer.SetFileName(str(steps_dir / file))
        writer.SetInputData(cloud)
        writer.SetDataModeToAppended()
        writer.EncodeAppendedDataOff()
        if not writer.Write():
            raise OSError(f"could not write {steps_dir / file}")
        entries.append((frame.time, f"{path.stem}/{file}"))
    write_pvd(path, entries)
    return path
