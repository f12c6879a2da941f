"""The Soret cell end to end (Python API == CLI) against the analytic references."""

import json
import math

import pytest

import thermocfd

CASE = "cases/soret_cell.toml"


def run(repo_root, tmp_path, *overrides):
    case = thermocfd.load_case(repo_root / CASE, list(overrides) + ["output.pictures=false"])
    return thermocfd.run_case(case, tmp_path)


@pytest.mark.parametrize("soret_dT, tolerance", [(0.5, 2e-3), (10.0, 1e-2)])
def test_steady_ratio_and_mass(repo_root, tmp_path, soret_dT, tolerance):
    results = run(repo_root, tmp_path, f"solute.soret_coefficient={soret_dT / 10.0}")
    assert results["c_ratio_cold_hot"] == pytest.approx(math.exp(soret_dT), rel=tolerance)
    assert results["mass_change_rel"] < 1e-10
    assert results["soret_coefficient_fit"] == pytest.approx(soret_dT / 10.0, rel=1e-3)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["c_ratio_cold_hot"] == results["c_ratio_cold_hot"]
    assert summary["inputs"]["solute"]["soret_coefficient"] == {"law": "constant", "value": soret_dT / 10.0}
    assert (tmp_path / "fields" / "soret_cell.pvd").exists()


def test_piazza_soret_and_stokes_einstein_profile(repo_root, tmp_path):
    """S_T(T) changes sign inside the cell; D(T) from water's viscosity."""
    results = run(repo_root, tmp_path,
                  'solute.soret_coefficient={law="piazza", s_inf="0.2 1/K", t_star="298 K", t0="8 K"}',
                  'solute.diffusivity={law="stokes_einstein", radius="20 nm"}', "mesh.degree=2")
    assert results["profile_max_rel_error"] < 5e-3
    assert results["c_ratio_cold_hot"] == pytest.approx(results["c_ratio_expected"], rel=1e-3)
    assert results["mass_change_rel"] < 1e-10


@pytest.mark.parametrize("soret_dT", [0.5, 4.0])
def test_transient_relaxation_time(repo_root, tmp_path, soret_dT):
    results = run(repo_root, tmp_path, "time.transient=true", f"solute.soret_coefficient={soret_dT / 10.0}",
                  "output.fields=false")
    L, D = 1e-4, 1e-11
    expected = 1.0 / (D * (math.pi**2 / L**2 + (soret_dT / L) ** 2 / 4))
    assert results["relaxation_time"] == pytest.approx(expected, rel=0.02)
    assert results["relaxation_time_reference"] == pytest.approx(expected, rel=1e-12)
    assert results["mass_change_rel"] < 1e-10


def test_three_dimensional_box(repo_root, tmp_path):
    results = run(repo_root, tmp_path, "geometry.dimension=3", "mesh.resolution=0.4",
                  "solute.soret_coefficient=0.2")
    assert results["c_ratio_cold_hot"] == pytest.approx(math.exp(2.0), rel=1e-6)
    assert results["mass_change_rel"] < 1e-10


def test_imported_gmsh_mesh(repo_root, tmp_path):
    results = run(repo_root, tmp_path, 'mesh.file="../meshes/two_wall_cell_2d.msh"', 'mesh.unit="1 um"')
    assert results["c_ratio_cold_hot"] == pytest.approx(math.exp(0.5), rel=1e-6)
    assert results["num_cells"] > 100
