"""Sample dolfinx Functions onto a :class:`.fields.GridFields` (the only dolfinx user here).

Every rank evaluates the grid nodes that lie in its cells (``compat.evaluate`` gathers
them), so all ranks end up holding the whole grid and can each track their own batch of
particle ids. The spacing defaults to the mesh's median cell size divided by
``nodes_per_cell``; nodes outside the mesh get ``inside = False`` and the value of the
nearest inside node, so that interpolation and finite differences stay finite next to
walls.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

from .fields import GridFields, finite_difference_gradient, node_diffusivity


def mesh_bounds(mesh) -> tuple[np.ndarray, np.ndarray]:
    """Global (lower, upper) corners of a dolfinx mesh's geometry (3 components)."""
    from ..fem.mesh import mesh_bounds as bounds

    return bounds(mesh)


def local_cell_sizes(mesh) -> np.ndarray:
    """Longest-edge size of each owned cell."""
    from ..fem import compat

    return np.asarray(compat.cell_diameters(mesh))


def grid_spacing_for_mesh(mesh, nodes_per_cell: float = 2.0) -> float:
    """Median cell size (smallest over ranks) over ``nodes_per_cell``."""
    from mpi4py import MPI

    h = local_cell_sizes(mesh)
    local = float(np.median(h)) if h.size else np.inf
    return mesh.comm.allreduce(local, op=MPI.MIN) / nodes_per_cell


def _nearest_fill(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Values at invalid nodes replaced by the average of valid face neighbours, layer by
    layer outwards (NumPy only; a few sweeps for a wall-resolving grid)."""
    values = np.where(valid, values, 0.0)
    valid = valid.copy()
    while not valid.all():
        total = np.zeros_like(values)
        count = np.zeros(values.shape)
        for axis in range(values.ndim):
            for shift in (1, -1):
                v = np.roll(valid, shift, axis=axis)
                f = np.roll(values, shift, axis=axis)
                edge = [slice(None)] * values.ndim
                edge[axis] = 0 if shift == 1 else -1  # np.roll wraps around: drop that
                v[tuple(edge)] = False
                total += np.where(v, f, 0.0)
                count += v
        grow = ~valid & (count > 0)
        if not grow.any():
            raise ValueError("cannot fill grid nodes outside the mesh: no inside node")
        values[grow] = total[grow] / count[grow]
        valid |= grow
    return values


def grid_fields_from_dolfinx(temperature, diffusivity, soret=None, *, velocity=None,
                             grad_temperature=None, spacing: float | Sequence[float] | None = None,
                             nodes_per_cell: float = 2.0,
                             bounds: tuple[Sequence[float], Sequence[float]] | None = None,
                             max_nodes: int = 8_000_000, time: float = 0.0,
                             length_scale: float = 1.0) -> GridFields:
    """Sample T (and u, optionally grad T) from dolfinx Functions at grid nodes.

    ``diffusivity`` and ``soret`` are physics laws (or numbers / callables of T, as in
    :meth:`GridFields.from_callables`); they are evaluated on the sampled T. Without
    ``grad_temperature`` (a vector Function), grad T is the finite-difference gradient of
    the sampled T, which is consistent with the trilinear T the tracker sees. For a 2D
    mesh the grid has two node layers at z = -h/2 and h/2 holding the same values.
    ``length_scale``: metres per mesh coordinate unit (thermocfd meshes are scaled);
    ``spacing`` and ``bounds`` are in mesh units, the returned grid is in SI.
    """
    from ..fem import compat

    mesh = temperature.function_space.mesh
    gdim = mesh.geometry.dim
    lower, upper = mesh_bounds(mesh) if bounds is None else \
        (np.asarray(bounds[0], dtype=np.float64), np.asarray(bounds[1], dtype=np.float64))
    if spacing is None:
        spacing = grid_spacing_for_mesh(mesh, nodes_per_cell)
    h = np.broadcast_to(np.asarray(spacing, dtype=np.float64), (3,)).copy()
    if gdim == 2:
        lower[2], upper[2] = -0.5 * h[2], 0.5 * h[2]
    extent = upper - lower
    shape = np.maximum(np.ceil(extent / h - 1e-9).astype(int) + 1, 2)
    if np.prod(shape) > max_nodes:
        scale = (np.prod(shape) / max_nodes) ** (1.0 / gdim)
        warnings.warn(f"tracking grid of {np.prod(shape)} nodes exceeds {max_nodes}; "
                      f"coarsening the spacing by {scale:.2f}", RuntimeWarning, stacklevel=2)
        h[:gdim] *= scale
        shape = np.maximum(np.ceil(extent / h - 1e-9).astype(int) + 1, 2)
    shape = tuple(int(n) for n in shape)
    if gdim == 2:
        shape = (shape[0], shape[1], 2)
    spacing_fit = extent / (np.array(shape) - 1)  # fit the grid exactly to the bounds

    axes = [lower[a] + spacing_fit[a] * np.arange(shape[a]) for a in range(3)]
    x, y, z = np.meshgrid(*axes, indexing="ij")
    points = np.column_stack([x.ravel(), y.ravel(), z.ravel()])
    if gdim == 2:
        points[:, 2] = 0.0
    tree = compat.bounding_box_tree(mesh)

    T = compat.evaluate(temperature, points, tree).reshape(shape)
    inside = np.isfinite(T)
    if not inside.any():
        raise ValueError("no tracking grid node lies inside the mesh")
    T = _nearest_fill(T, inside)

    def sample_vector(function):
        values = compat.evaluate(function, points, tree).reshape(shape + (-1,))
        out = np.zeros(shape + (3,))
        out[..., :values.shape[-1]] = values
        out[~inside] = 0.0
        return out

    u = sample_vector(velocity) if velocity is not None else None
    spacing_fit = spacing_fit * length_scale  # from here on: SI
    lower = lower * length_scale
    if grad_temperature is not None:
        grad_T = sample_vector(grad_temperature) / length_scale
        for a in range(3):
            grad_T[..., a] = _nearest_fill(grad_T[..., a], inside)
    else:
        grad_T = finite_difference_gradient(T, spacing_fit)
        if gdim == 2:
            grad_T[..., 2] = 0.0
    D = node_diffusivity(diffusivity, T)
    if soret is None:
        D_T = np.zeros(shape)
    elif hasattr(soret, "soret_coefficient"):
        D_T = np.asarray(soret.soret_coefficient(T), dtype=np.float64) * D
    else:
        D_T = np.broadcast_to(np.asarray(soret(T) if callable(soret) else soret, dtype=np.float64),
                              shape) * D
    return GridFields(origin=lower, spacing=spacing_fit, temperature=T, grad_temperature=grad_T,
                      diffusivity=D, thermal_diffusivity=D_T, velocity=u,
                      grad_diffusivity=finite_difference_gradient(D, spacing_fit),
                      inside=None if inside.all() else inside, time=time,
                      metadata={"source": "dolfinx", "nodes_inside": int(inside.sum())})
