"""Injected solver faults: each ends the run with exit status 3 (RunFailed), one line
saying what to change, and summary.json with "status": "failed" and what was computed.

Faults: NaN in the tracker's sampled fields, a drift that overflows inside the particle
kernel, an ill-posed (pure-Neumann) steady heat problem, a Krylov solve that runs out of
iterations, the mesh generator failing, a property law that overflows at runtime. The
SNES divergence of the convection solver has its own test with that solver.
"""

import json
import subprocess
import sys

import gmsh
import numpy as np
import pytest
import ufl

import thermocfd
from casefiles import SMALL_TRACKING_CASE
from thermocfd.pipelines import RunFailed

SORET = """
[case]
kind = "soret_cell"
[geometry]
dimension = 2
length = "100 um"
[mesh]
resolution = 0.5
[temperature]
hot = "310 K"
cold = "300 K"
[solute]
diffusivity = "1e-11 m^2/s"
soret_coefficient = "0.05 1/K"
[output]
pictures = false
fields = false
"""


def _load(tmp_path, text, overrides=()):
    path = tmp_path / "case.toml"
    path.write_text(text)
    return thermocfd.load_case(path, list(overrides))


def _failed(tmp_path, case, *needles):
    """Run in process: RunFailed with a one-line message holding the needles; the
    summary says failed, with the error, the timings and the inputs."""
    out = tmp_path / "out"
    with pytest.raises(RunFailed) as caught:
        thermocfd.run_case(case, out)
    message = str(caught.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["error"] in message
    assert summary["inputs"]["case"]["kind"] == case.kind and summary["timings_s"]
    return summary


def _sampled_with(monkeypatch, poison):
    """Let the tracking pipeline's sampled fields pass through ``poison`` first."""
    import thermocfd.pipelines.tracking as tracking

    sample = tracking.grid_fields_from_dolfinx

    def poisoned(*args, **kwargs):
        fields = sample(*args, **kwargs)
        poison(fields)
        return fields

    monkeypatch.setattr(tracking, "grid_fields_from_dolfinx", poisoned)


def test_nan_in_the_tracker_fields(tmp_path, monkeypatch):
    """One NaN temperature node: refused before tracking, the Eulerian result kept."""
    _sampled_with(monkeypatch, lambda fields: fields.temperature.__setitem__((1, 1, 0), np.nan))
    summary = _failed(tmp_path, _load(tmp_path, SMALL_TRACKING_CASE), "NaN or inf at 1 of", "check the laws")
    assert summary["partial"]["c_ratio_eulerian"] > 1
    assert "sampling" in summary["timings_s"]


def test_particle_kernel_overflow(tmp_path, monkeypatch):
    """Finite fields whose drift overflows to inf in the kernel: the NaN guard stops the
    particles and the run fails with advice instead of reporting frozen particles."""
    _sampled_with(monkeypatch, lambda fields: fields.thermal_diffusivity.fill(1e308))
    with np.errstate(over="ignore"):
        case = _load(tmp_path, SMALL_TRACKING_CASE, ["tracking.time_step=0.01"])
        summary = _failed(tmp_path, case, "non-finite position", "tracking.time_step")
    assert "tracking" in summary["timings_s"] and summary["partial"]["c_ratio_eulerian"] > 1


def test_tracker_drift_overflow_on_the_grid(tmp_path, monkeypatch):
    """The same fields without a given time step: the suggested step would be zero."""
    _sampled_with(monkeypatch, lambda fields: fields.thermal_diffusivity.fill(1e308))
    with np.errstate(over="ignore"):
        _failed(tmp_path, _load(tmp_path, SMALL_TRACKING_CASE), "drift -D_T grad T (+ u) overflows")


def test_pure_neumann_heat_problem(tmp_path):
    """Every boundary insulated or heated: refused before solving (MUMPS would return an
    arbitrary temperature level), through the command line."""
    case = tmp_path / "insulated.toml"
    case.write_text(SORET + '[boundary.hot]\nthermal = { type = "heat_flux", value = "100 W/m^2" }\n'
                    '[boundary.cold]\nthermal = { type = "insulated" }\n')
    result = subprocess.run([sys.executable, "-m", "thermocfd", "run", str(case), "--out", str(tmp_path / "out"),
                             "--quiet"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 3, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "nothing fixes the temperature level: give one boundary a temperature or convective condition" \
        in lines[0].replace(" (every boundary is insulated or has a heat flux, so a steady state is unique only up "
                            "to a constant, and exists only if the heat in balances the heat out)", "")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["status"] == "failed" and "mesh" in summary["timings_s"]


def test_krylov_solver_runs_out_of_iterations(tmp_path, monkeypatch):
    """The iterative linear solver limited to one iteration: DIVERGED_MAX_IT, with advice."""
    import thermocfd.fem.heat as heat

    options = heat.iterative_options
    monkeypatch.setattr(heat, "iterative_options", lambda *a, **k: {**options(*a, **k), "ksp_max_it": 1})
    case = _load(tmp_path, SORET, ["solver.linear_solver=iterative"])
    summary = _failed(tmp_path, case, "DIVERGED_MAX_IT", "solver.linear_solver = 'direct'")
    assert "mesh" in summary["timings_s"]


def test_mesh_generator_error(tmp_path, monkeypatch):
    """gmsh raising (as it does for geometry it cannot mesh): a clear message, exit 3."""
    def generate(dim):
        raise Exception("Invalid boundary mesh (overlapping facets) on surface 1")

    monkeypatch.setattr(gmsh.model.mesh, "generate", generate)
    summary = _failed(tmp_path, _load(tmp_path, SORET), "the mesh generator failed", "overlapping facets",
                      "mesh.resolution")
    assert "mesh" in summary["timings_s"]


def test_property_law_overflows_at_runtime(tmp_path, monkeypatch):
    """D(T) = D0 exp(100 (305 K - T)), finite at the reference (hot) wall, overflows in
    the scaled transport operator near the cold wall: MUMPS cannot factorise it and the
    run fails after the heat solve."""
    from thermocfd.physics.diffusivity import ConstantDiffusivity

    def overflowing(self, T):
        exp = np.exp if isinstance(T, (float, np.ndarray)) else ufl.exp
        return self.value * exp(100.0 * (305.0 - T))

    case = _load(tmp_path, SORET)
    with np.errstate(over="ignore"):
        monkeypatch.setattr(ConstantDiffusivity, "diffusivity", overflowing)
        summary = _failed(tmp_path, case, "could not be factorised", "a coefficient is not finite")
    assert "heat" in summary["timings_s"]


CAVITY = """
gravity = [0.0, -9.81, 0.0]
[case]
kind = "convection"
[geometry]
dimension = 2
length = "10 mm"
height = "10 mm"
[mesh]
resolution = 0.5
[temperature]
hot = "330 K"
cold = "290 K"
[solute]
diffusivity = "1e-9 m^2/s"
soret_coefficient = "0.01 1/K"
[flow]
inertia = true
newton_max_iterations = 8
[solver]
continuation = false
[output]
pictures = false
fields = false
"""


def test_newton_diverges_without_continuation(tmp_path):
    """A water cavity at Ra ~ 1e7 with continuation switched off: SNES stops with its
    reason in words, the advice names continuation and transient runs; the mesh was made."""
    summary = _failed(tmp_path, _load(tmp_path, CAVITY), "did not converge", "solver.continuation = true",
                      "time.transient = true")
    assert "mesh" in summary["timings_s"]


def test_failed_factorisation_inside_newton_is_not_sent_to_continuation(tmp_path, monkeypatch):
    """A direct solve whose factorisation fails (PETSc's own LU on the saddle point meets
    a zero pivot on the pressure block, as MUMPS runs out of workspace on a large 3D
    chip): the message names the linear solver and what to change, no continuation."""
    import thermocfd.fem.convection as convection

    def unpivoted_lu(kind, dim, rtol):
        return {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "petsc",
                "pc_factor_mat_ordering_type": "natural"}

    monkeypatch.setattr(convection, "coupled_solver_options", unpivoted_lu)
    summary = _failed(tmp_path, _load(tmp_path, CAVITY, ["solver.continuation=true"]),
                      "the linear solver inside Newton failed", "DIVERGED_PC", "solver.linear_solver = 'iterative'")
    assert "mesh" in summary["timings_s"]
