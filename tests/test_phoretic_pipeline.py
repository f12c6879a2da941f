"""The phoretic_particle and thermoosmotic_flow cases end to end."""

import numpy as np
import pytest

import thermocfd


def run(repo_root, tmp_path, name, *overrides):
    case = thermocfd.load_case(repo_root / "cases" / name, list(overrides) + ["output.pictures=false"])
    return thermocfd.run_case(case, tmp_path)


def test_thermoosmotic_channel_plug_flow(repo_root, tmp_path):
    results = run(repo_root, tmp_path, "thermoosmotic_channel.toml")
    expected = 3e-10 * (295.0 - 305.0) / 20e-6  # chi dT/dx: towards the hot end (-x)
    assert results["slip_velocity_expected"] == pytest.approx(expected)
    assert results["mean_flow_velocity"] == pytest.approx(expected, rel=1e-6)


def test_sphere_near_wall_case(repo_root, tmp_path):
    results = run(repo_root, tmp_path, "sphere_near_wall.toml")
    U = np.asarray(results["particle_velocity"])
    assert U[2] < 0 and abs(U[0]) < 1e-3 * abs(U[2]) and abs(U[1]) < 1e-3 * abs(U[2])  # to cold (-z)
    # the wall slows it down against the unbounded Anderson velocity
    assert abs(U[2]) < abs(results["anderson_velocity"][2])
    assert results["drag_perpendicular_ratio"] == pytest.approx(results["brenner_perpendicular"], rel=0.015)
    assert results["drag_parallel_ratio"] == pytest.approx(results["faxen_parallel"], rel=0.015)
    R = np.asarray(results["resistance_matrix"])
    assert R.shape == (6, 6) and np.allclose(R, R.T, atol=1e-3 * np.abs(R).max())
    assert results["thermophoretic_mobility"] == pytest.approx(-U[2] / 1e4)


def test_solver_rtol_reaches_the_stokes_solves(repo_root, tmp_path):
    """A loose GMRES tolerance moves the velocity by about itself; the default (1e-8) is
    far below the discretisation error."""
    coarse = ("mesh.resolution=0.5", "solver.linear_solver='iterative'")
    tight = run(repo_root, tmp_path / "tight", "phoretic_sphere.toml", *coarse)
    loose = run(repo_root, tmp_path / "loose", "phoretic_sphere.toml", *coarse, "solver.rtol=1e-3")
    U, U_loose = np.asarray(tight["particle_velocity"]), np.asarray(loose["particle_velocity"])
    change = np.linalg.norm(U_loose - U) / np.linalg.norm(U)
    assert 1e-6 < change < 0.05
    assert tight["velocity_rel_difference_anderson"] < 0.05


def test_linear_solver_choice_reaches_the_heat_solve(repo_root, tmp_path, monkeypatch):
    """solver.linear_solver picks the conjugate heat solve's solver too, not only Stokes'."""
    from thermocfd.pipelines import phoretic

    chosen, heat_problem = [], phoretic.HeatProblem

    def recording(*args, **kwargs):
        chosen.append(kwargs["linear_solver"])
        return heat_problem(*args, **kwargs)

    monkeypatch.setattr(phoretic, "HeatProblem", recording)
    for solver in ("direct", "iterative", "auto"):
        run(repo_root, tmp_path / solver, "phoretic_sphere.toml", "mesh.resolution=0.5",
            f"solver.linear_solver='{solver}'")
    assert chosen == ["direct", "iterative", "direct"]  # auto: direct on this small mesh
