"""Every case kind on two MPI ranks gives its serial results (issue 15, item 4).

One process runs all the cases of :data:`RUNS` one after the other (``thermocfd run``
in-process, so FEniCSx is imported once), first serially, then under ``mpirun -n 2``;
the tests then compare, per case, **every** number in the two summary.json files (all
numeric leaves, nested ones included: vectors, per-boundary tables), that each run wrote
its outputs once (one summary.json, one .pvd/.pvtu per field and one .vtu piece per rank
holding that rank's cells, nothing else different from the serial run), and that rank 0
alone printed (the two runs print the same number of lines).

Already on two ranks elsewhere (not repeated here): the transient soret_cell
(test_cli.py), the 3D chip (test_chip_case.py), the 3D laser chamber steady and
transient (test_coupled_transient.py), the phoretic sphere's velocity through the API
(tests/stokes/test_phoretic_sphere.py), the tracker's sampling (tests/tracking).

Agreement: a direct (MUMPS) solve differs between partitions by round-off only, so
1e-8 relative holds with margin; an iterative solve stops at a relative residual
``rtol``, so two partitions (different preconditioners: block Jacobi/ASM pieces, AMG
coarsening) agree to about rtol x condition; Newton (convection) stops at
``solver.nonlinear_rtol`` (default 1e-9) but its last step is quadratic, so the
converged fields agree far better than that. Each entry of :data:`RUNS` states its
solver and tolerance. The particle tracker draws its random numbers from (seed, particle
id, step), so its particles are the same whichever rank moves them.

Run ``python tests/test_mpi_kinds.py OUT [NAME ...]`` (serially or under mpirun) to run
the cases (all, or those named) into OUT/<name>/.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from mpirun import MPI_ENV, needs_mpirun, on_two_ranks  # noqa: E402

pytestmark = [pytest.mark.mpi, needs_mpirun]


@dataclass(frozen=True)
class Run:
    """One case: a shipped case file made tiny with --set overrides, and the relative
    agreement its solvers allow (``why``)."""

    case: str
    overrides: tuple[str, ...]
    rel: float
    why: str
    pictures: bool = False  # rendered by rank 0 alone: on for one case (a few seconds)
    scales: dict = field(default_factory=dict)  # key prefix -> the magnitude (of the serial summary) it is
                                                # measured against, for results that vanish up to round-off


def rotation_scale(summary: dict) -> float:
    """|U|/a: a free sphere in a uniform gradient does not rotate; its angular velocity is
    discretisation error, measured against the rate its translation sets."""
    return math.hypot(*summary["particle_velocity"]) / summary["inputs"]["particle"]["radius"]


RUNS: dict[str, Run] = {
    "soret_cell_steady": Run(
        "soret_cell.toml", ("mesh.resolution=0.5",), 1e-8,
        "2D: heat and Slotboom transport solved with MUMPS (linear_solver auto -> direct)", pictures=True),
    "soret_cell_3d_iterative": Run(
        "soret_cell.toml", ("geometry.dimension=3", "mesh.resolution=0.4", 'solver.linear_solver="iterative"'), 1e-8,
        "CG (heat) and GMRES (transport) + AMG at solver.rtol = 1e-12 (the default): measured ~2e-10"),
    "soret_cell_dufour": Run(
        "soret_cell.toml", ("mesh.resolution=0.5", "solute.dufour=true"), 1e-8,
        "heat and solute coupled both ways (Dufour, Picard to 1e-10 max |T|): MUMPS",
        # the Dufour change of T (~1e-10 T) is the difference of two temperature fields: it
        # agrees to their round-off, so 1e-8 of 1e-5 T = 1e-13 T (measured 2e-16 T)
        scales={"dufour_temperature_change_max": lambda s: 1e-5 * s["inputs"]["temperature"]["hot"]}),
    "soret_cell_internal_states": Run(
        "internal_states.toml", ("mesh.resolution=0.5",), 1e-8,
        "two internal states coupled by switching rates: MUMPS",
        # the total flux vanishes in the steady state (the states' fluxes do not)
        scales={"total_flux_l2": lambda s: max(s["state_flux_l2"])}),
    "soret_cell_internal_states_transient": Run(
        "internal_states.toml", ("mesh.resolution=0.4", "time.transient=true", "time.steps=8"), 1e-8,
        "backward-difference steps, each a MUMPS solve"),
    "tracking": Run(
        "tracking_soret_cell.toml", ("mesh.resolution=0.5", "tracking.particles=4000", "tracking.duration=20",
                                     'tracking.backend="cpu"', "tracking.trajectories=20"), 1e-8,
        "fields from MUMPS solves, sampled on every rank; particles keyed by (seed, id, step)"),
    "convection_steady": Run(
        "laser_trap.toml", ("mesh.resolution=0.4",), 1e-8,
        "Newton (nonlinear_rtol 1e-9, quadratic last step) with MUMPS; transport by MUMPS"),
    "convection_transient": Run(
        "laser_switching.toml", ("mesh.resolution=0.6", "time.end=0.3", "time.steps=6", "time.first_step=0.05",
                                 "probe.focus.radius=3e-5", 'time.outputs=["0.1 s"]',
                                 'laser.schedule=[[0, "off"], ["0.1 s", "on"]]'), 1e-8,
        "BDF2 steps, each a Newton solve (MUMPS); probes sampled across ranks"),
    "convection_tracking": Run(
        "laser_trap.toml", ("mesh.resolution=0.4", "tracking.enabled=true", "tracking.particles=2000",
                            "tracking.duration=2", 'tracking.backend="cpu"'), 1e-8,
        "the steady flow as above, then particles tracked in the fields gathered from both ranks"),
    "convection_chip_2d": Run(
        "heater_chip_3d.toml", ("geometry.dimension=2", "mesh.resolution=0.3", "geometry.channel_length=600e-6",
                                "geometry.heaters=[[200e-6, 400e-6]]", "geometry.glass_thickness=300e-6",
                                "geometry.pdms_thickness=300e-6",
                                'boundary.heater_1.thermal={type="heater_power", power="0.1 W/m"}'), 1e-8,
        "conjugate heat (glass, PDMS), inflow, Newton with MUMPS"),
    # phoretic_particle: the heat solve is CG + AMG at rtol 1e-12 of |T| ~ 300 K, while the slip
    # follows the surface gradient, T varying by only G a ~ 0.01 K over the sphere: the slip,
    # hence U, agree to ~1e-12 T / (G a) ~ 3e-8 (measured 2e-8), whatever the Stokes solver
    "phoretic_particle": Run(
        "phoretic_sphere.toml", ("mesh.resolution=0.5",), 5e-7,
        "heat by CG + AMG (rtol 1e-12 of T: 3e-8 of the slip); the mobility solves by the iterative "
        "Stokes solver at its fixed rtol 1e-8 (forces to ~1e-8); dolfinx 0.9's AMG: 2.2e-7 seen on an entry "
        "that is zero by symmetry",
        scales={"particle_angular_velocity": rotation_scale}),
    "phoretic_particle_near_wall": Run(
        "sphere_near_wall.toml", ("mesh.resolution=0.5", 'solver.linear_solver="direct"'), 1e-7,
        "the mobility solves (Blake far field, wall) by MUMPS: the resistance matrix agrees to 1e-14; "
        "the slip as for phoretic_particle (heat by CG + AMG)",
        scales={"particle_angular_velocity": rotation_scale}),
    "thermoosmotic_flow": Run(
        "thermoosmotic_channel.toml", ("mesh.resolution=0.5",), 1e-8,
        "2D Stokes with slip walls: MUMPS"),
    "aerosol": Run(
        "wafer_particle_free_zone.toml", ("mesh.resolution=0.4", "tracking.particles=500",
                                           'tracking.backend="cpu"'), 1e-8,
        "heat by MUMPS; aerosol particles split over ranks by id, random numbers keyed by id"),
    "mst": Run(
        "mst_binding.toml", ("mesh.resolution=0.4", "binding.capillaries=4", "time.steps=8", 'mst.laser_on="1 s"',
                             'mst.on_duration="2 s"', 'mst.off_duration="1 s"', 'mst.hot_window=["1 s", "2 s"]',
                             'mst.t_jump_window=["0 s", "0.5 s"]', "gravity=[0.0, 0.0, 0.0]"), 1e-8,
        "heat and the four capillaries' transport by MUMPS; the camera noise seeded alike on every rank"),
}

# summary.json entries that are not results: how long, on what, how many ranks; "inputs"
# are compared for equality, not as numbers
NOT_RESULTS = {"wall_time_s", "timings_s", "versions", "mpi_size", "units", "pictures", "case", "inputs"}
# speeds of the code, and solver histories: iteration counts and the residuals of the last
# Newton steps depend on the partition wherever a preconditioner does (reported, not compared)
NOT_COMPARED = re.compile(r"wall_time|_per_s$|iterations|residuals")
# relative errors, changes and balances: dimensionless, zero up to round-off for exact
# conservation; equal results make them agree to ``rel`` in absolute terms
ERROR_MEASURE = re.compile(r"rel_error|_rel$|_rel_|mass_change|balance|deviation|error_estimate")
MATRIX_ENTRY = re.compile(r"(.+)\.(\d+)\.(\d+)")
VECTOR_COMPONENT = re.compile(r"(.+)\.(\d+)")
# a rank's piece of a parallel VTK file: NAME_p<rank>_<step>.vtu (dolfinx) or NAME_<step>_p<rank>.vtu
PIECE = re.compile(r"_p\d+(?=(?:_\d+)?\.vtu$)")


def run_all(out: Path, names: list[str] | None = None) -> None:
    """Run the cases of :data:`RUNS` (all, or those named) into ``out/<name>`` (serially,
    or on each rank)."""
    from thermocfd.cli import main

    for name in names or RUNS:
        spec = RUNS[name]
        args = ["run", str(ROOT / "cases" / spec.case), "--out", str(out / name)]
        for override in (*spec.overrides, f"output.pictures={str(spec.pictures).lower()}"):
            args += ["--set", override]
        status = main(args)
        if status:
            raise SystemExit(f"{name}: exit {status}")


def numbers(summary: dict, prefix: str = "") -> dict[str, object]:
    """Every leaf of a summary (dotted keys, list items by index), results only."""
    out = {}
    items = summary.items() if isinstance(summary, dict) else enumerate(summary)
    for key, value in items:
        if not prefix and key in NOT_RESULTS:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, (dict, list)):
            out.update(numbers(value, name + "."))
        else:  # numbers; flags, names and missing values are compared for equality
            out[name] = value
    return out


def agreement_scale(key: str, serial: dict[str, float], summary: dict, spec: Run) -> float:
    """The magnitude a result's difference is measured against: the run's own scale for
    results that vanish up to round-off; for a matrix entry R_ij, sqrt(|R_ii R_jj|) (the
    bound of a symmetric positive definite matrix: entries zero by symmetry are zero to
    the round-off of the diagonal); for a vector component, the largest component; else
    the result itself."""
    summary_key = key.split(".")[0]
    if summary_key in spec.scales:
        return spec.scales[summary_key](summary)
    matrix = MATRIX_ENTRY.fullmatch(key)
    if matrix:
        name, i, j = matrix.groups()
        diagonal = [serial.get(f"{name}.{k}.{k}") for k in (i, j)]
        if None not in diagonal:
            return math.sqrt(abs(diagonal[0] * diagonal[1]))
    vector = VECTOR_COMPONENT.fullmatch(key)
    if vector:
        return max((abs(v) for k, v in serial.items() if (m := VECTOR_COMPONENT.fullmatch(k)) and m[1] == vector[1]
                    and isinstance(v, (int, float))), default=abs(serial.get(key, 0.0)))
    return abs(serial[key])


def launch(out: Path, ranks: int) -> subprocess.CompletedProcess:
    command = [sys.executable, str(Path(__file__).resolve()), str(out)]
    if ranks == 2:
        result = on_two_ranks(command, cwd=ROOT, timeout=900)
    else:
        result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=900,
                                env={**os.environ, **MPI_ENV})
    assert result.returncode == 0, result.stderr[-4000:]
    return result


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("kinds")
    return {ranks: (base / f"n{ranks}", launch(base / f"n{ranks}", ranks).stdout) for ranks in (1, 2)}


def datasets(directory: Path) -> dict[str, list[Path]]:
    """The files of a run's output folder by what they hold: a parallel VTK file (.pvtu
    and its per-rank .vtu pieces) counts as one field file, named as its serial .vtu."""
    out: dict[str, list[Path]] = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            name = PIECE.sub("", str(path.relative_to(directory))).replace(".pvtu", ".vtu")
            out.setdefault(name, []).append(path)
    return out


def vtu_cells(path: Path) -> int:
    return sum(int(n) for n in re.findall(r'NumberOfCells="(\d+)"', path.read_text(errors="replace")))


@pytest.mark.parametrize("name", sorted(RUNS))
def test_two_ranks_give_every_serial_result(runs, name):
    serial_dir, parallel_dir = runs[1][0] / name, runs[2][0] / name
    s = json.loads((serial_dir / "summary.json").read_text())
    p = json.loads((parallel_dir / "summary.json").read_text())
    assert s["status"] == p["status"] == "ok"
    assert s["mpi_size"] == 1 and p["mpi_size"] == 2
    assert p["inputs"] == s["inputs"]
    a, b = numbers(s), numbers(p)
    assert set(a) == set(b), sorted(set(a) ^ set(b))
    spec, compared = RUNS[name], 0
    for key, value in a.items():
        if NOT_COMPARED.search(key):
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            assert b[key] == value, (key, value, b[key])
            continue
        scale = agreement_scale(key, a, s, spec)
        floor = spec.rel if ERROR_MEASURE.search(key) else 0.0
        assert abs(b[key] - value) <= spec.rel * scale + floor, (
            key, value, b[key], f"difference {abs(b[key] - value) / max(scale, 1e-300):.2e} of {scale:.3g}")
        compared += 1
    assert compared >= 5, f"only {compared} numbers compared"


@pytest.mark.parametrize("name", sorted(RUNS))
def test_two_ranks_write_each_output_once(runs, name):
    """The same outputs as the serial run, each once: a field file is either written whole
    (by rank 0) or as a .pvtu with one .vtu piece per rank, the pieces holding the serial
    file's cells between them."""
    serial, parallel = datasets(runs[1][0] / name), datasets(runs[2][0] / name)
    assert set(parallel) == set(serial)
    assert "summary.json" in parallel and not [f for f in parallel if f.endswith(".tmp")]
    for dataset, files in parallel.items():
        pieces = [f for f in files if PIECE.search(f.name)]
        if pieces:
            assert len(pieces) == 2 and len(files) == 3 and files[0].suffix == ".pvtu", (dataset, files)
            split = [vtu_cells(piece) for piece in pieces]
            assert min(split) > 0 and sum(split) == sum(map(vtu_cells, serial[dataset])), (dataset, split)
        else:
            assert len(files) == 1, (dataset, files)


def test_rank_zero_alone_prints(runs):
    serial, parallel = runs[1][1], runs[2][1]
    assert serial.count("done in") == parallel.count("done in") == len(RUNS)
    assert len(parallel.splitlines()) == len(serial.splitlines())


if __name__ == "__main__":  # python tests/test_mpi_kinds.py OUT [NAME ...]  (or under mpirun -n 2)
    run_all(Path(sys.argv[1]), sys.argv[2:])
