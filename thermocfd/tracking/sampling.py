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


# Error of trilinear interpolation on a cell of size h: |f - I_h f| <= (h^2 / 8) sum_a
# max |d^2 f / dx_a^2|; the central difference of T that gives the nodes' grad T adds
# (h^2 / 6) |d^3 T / dx_a^3| per component.
TRILINEAR_ERROR = 1.0 / 8.0
CENTRAL_DIFFERENCE_ERROR = 1.0 / 6.0
TOLERANCE_SAFETY = 0.8  # the spacing is chosen for this fraction of the asked-for error


def _second_differences(values: np.ndarray, spacing: np.ndarray, inside: np.ndarray | None) -> np.ndarray:
    """sum_a |d^2 f / dx_a^2| at the interior nodes (both neighbours inside) of each axis."""
    total = np.zeros(values.shape)
    for a in range(3):
        if values.shape[a] < 3:
            continue
        d2 = np.zeros(values.shape)
        centre = [slice(None)] * 3
        centre[a] = slice(1, -1)
        lo, hi = list(centre), list(centre)
        lo[a], hi[a] = slice(0, -2), slice(2, None)
        d2[tuple(centre)] = (values[tuple(hi)] - 2.0 * values[tuple(centre)] + values[tuple(lo)]) / spacing[a] ** 2
        if inside is not None:
            ok = np.zeros(values.shape, dtype=bool)
            ok[tuple(centre)] = inside[tuple(hi)] & inside[tuple(centre)] & inside[tuple(lo)]
            d2[~ok] = 0.0
        total += np.abs(d2)
    return total


def interpolation_error_estimate(fields: GridFields) -> dict[str, float]:
    """Estimated largest error of the sampled grad T and u between the nodes, relative to
    their largest magnitude: ``(h^2/8) sum_a |d^2 f/dx_a^2|`` from the grid's own second
    differences (plus the central difference's ``(h^2/6) |d^3 T|`` for grad T); h is the
    largest spacing. Keys ``grad_temperature`` and ``velocity`` (if sampled)."""
    h2 = float(np.max(fields.spacing)) ** 2
    inside = fields.inside
    estimates = {}
    grad = fields.grad_temperature
    scale = float(np.max(np.linalg.norm(grad, axis=-1)))
    if scale > 0:
        curvature = max(float(np.max(_second_differences(grad[..., a], fields.spacing, inside))) for a in range(3))
        estimates["grad_temperature"] = (TRILINEAR_ERROR + CENTRAL_DIFFERENCE_ERROR) * h2 * curvature / scale
    if fields.velocity is not None:
        scale = float(np.max(np.linalg.norm(fields.velocity, axis=-1)))
        if scale > 0:
            curvature = max(float(np.max(_second_differences(fields.velocity[..., a], fields.spacing, inside)))
                            for a in range(3))
            estimates["velocity"] = TRILINEAR_ERROR * h2 * curvature / scale
    return estimates


def grid_fields_from_dolfinx(temperature, diffusivity, soret=None, *, velocity=None,
                             grad_temperature=None, spacing: float | Sequence[float] | None = None,
                             nodes_per_cell: float = 2.0,
                             bounds: tuple[Sequence[float], Sequence[float]] | None = None,
                             max_nodes: int = 8_000_000, time: float = 0.0,
                             length_scale: float = 1.0, field_tolerance: float | None = None) -> GridFields:
    """Sample T (and u, optionally grad T) from dolfinx Functions at grid nodes.

    ``diffusivity`` and ``soret`` are physics laws (or numbers / callables of T, as in
    :meth:`GridFields.from_callables`); they are evaluated on the sampled T. Without
    ``grad_temperature`` (a vector Function), grad T is the finite-difference gradient of
    the sampled T, which is consistent with the trilinear T the tracker sees. For a 2D
    mesh the grid has two node layers at z = -h/2 and h/2 holding the same values.
    ``length_scale``: metres per mesh coordinate unit (thermocfd meshes are scaled);
    ``spacing`` and ``bounds`` are in mesh units, the returned grid is in SI.

    ``field_tolerance`` (instead of ``spacing``): the largest error of the sampled grad T
    and u between the nodes, relative to their largest magnitude. The fields are sampled
    at the default spacing, :func:`interpolation_error_estimate` gives the error there,
    and since it scales as h^2 the spacing is rescaled to meet the tolerance (with a margin,
    :data:`TOLERANCE_SAFETY`) and the fields sampled again; ``metadata`` records both.
    """
    if field_tolerance is not None:
        if spacing is not None:
            raise ValueError("give the grid spacing or a field tolerance, not both")
        if not 0 < field_tolerance < 1:
            raise ValueError(f"field_tolerance is a relative error in (0, 1), got {field_tolerance}")
        kwargs = dict(velocity=velocity, grad_temperature=grad_temperature, bounds=bounds, max_nodes=max_nodes,
                      time=time, length_scale=length_scale)
        probe = grid_fields_from_dolfinx(temperature, diffusivity, soret, nodes_per_cell=nodes_per_cell, **kwargs)
        estimate = max(interpolation_error_estimate(probe).values(), default=0.0)
        h_probe = float(np.max(probe.spacing)) / length_scale
        if estimate <= 0.0:  # linear fields: any grid samples them exactly
            return probe
        h = h_probe * min(np.sqrt(TOLERANCE_SAFETY * field_tolerance / estimate), 4.0)
        fields = grid_fields_from_dolfinx(temperature, diffusivity, soret, spacing=h, **kwargs)
        fields.metadata.update(field_tolerance=field_tolerance, probe_spacing=h_probe * length_scale,
                               probe_error_estimate=estimate,
                               error_estimate=max(interpolation_error_estimate(fields).values(), default=0.0))
        return fields
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

    # the last node exactly on the upper bound (not one rounding past it, outside the mesh)
    axes = [np.minimum(lower[a] + spacing_fit[a] * np.arange(shape[a]), upper[a]) for a in range(3)]
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


def fem_gradient(function):
    """grad of a scalar Lagrange Function as a discontinuous vector Function of one degree
    lower (exact: the reference the sampled grad T is measured against)."""
    import dolfinx.fem
    import ufl

    from ..fem import compat

    mesh = function.function_space.mesh
    degree = max(compat.element_degree(function.function_space) - 1, 0)
    W = compat.function_space(mesh, "DG", degree, shape=(mesh.geometry.dim,))
    gradient = dolfinx.fem.Function(W)
    compat.interpolate(gradient, ufl.grad(function))
    return gradient


def sampling_errors(fields: GridFields, temperature, velocity=None, points: np.ndarray | None = None,
                    n_points: int = 20_000, seed: int = 0, length_scale: float = 1.0) -> dict[str, dict[str, float]]:
    """Error of the tracker's trilinear sampling against dolfinx point evaluation of the
    FEM fields at random points inside the mesh (or ``points``, mesh units), relative to
    each field's largest magnitude on the points: ``{"temperature" | "grad_temperature" |
    "velocity": {"max": ..., "rms": ...}}``. grad T is compared with the exact gradient of
    the FEM temperature (:func:`fem_gradient`)."""
    from ..fem import compat
    from .fields import trilinear

    mesh = temperature.function_space.mesh
    gdim = mesh.geometry.dim
    if points is None:
        lower, upper = mesh_bounds(mesh)
        rng = np.random.default_rng(seed)
        points = lower + (upper - lower) * rng.random((n_points, 3))
        if gdim == 2:
            points[:, 2] = 0.0
    tree = compat.bounding_box_tree(mesh)
    references = {"temperature": compat.evaluate(temperature, points, tree).reshape(len(points), -1),
                  "grad_temperature": compat.evaluate(fem_gradient(temperature), points, tree).reshape(len(points), -1)
                  / length_scale}
    sampled = {"temperature": fields.temperature[..., None], "grad_temperature": fields.grad_temperature[..., :gdim]}
    if velocity is not None:
        references["velocity"] = compat.evaluate(velocity, points, tree).reshape(len(points), -1)
        sampled["velocity"] = fields.velocity[..., :gdim]
    si = np.array(points, dtype=np.float64) * length_scale
    if gdim == 2:
        si[:, 2] = 0.5 * (fields.lower[2] + fields.upper[2])
    found = np.all(np.isfinite(references["temperature"]), axis=1)
    out = {}
    for name, reference in references.items():
        values = sampled[name]
        grid = np.column_stack([trilinear(values[..., c], fields.origin, fields.spacing, si[found])
                                for c in range(values.shape[-1])])
        error = np.linalg.norm(grid - reference[found], axis=1)
        scale = float(np.max(np.linalg.norm(reference[found], axis=1)))
        if name == "temperature":  # relative to the temperature variation, not to T itself
            scale = float(np.ptp(reference[found]))
        scale = scale if scale > 0 else 1.0
        out[name] = {"max": float(np.max(error)) / scale, "rms": float(np.sqrt(np.mean(error ** 2))) / scale,
                     "points": int(found.sum())}
    return out
