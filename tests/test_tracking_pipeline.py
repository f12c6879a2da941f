"""The `tracking` case end to end: Brownian colloids in the FEM temperature field of a
Soret cell against the Eulerian steady state of the transport solver."""

import json

import pytest

import thermocfd


def test_tracking_soret_cell_matches_eulerian(repo_root, tmp_path):
    case = thermocfd.load_case(repo_root / "cases" / "tracking_soret_cell.toml",
                               ["tracking.particles=20000", "tracking.bins=10", "tracking.trajectories=20",
                                "output.pictures=false"])
    results = thermocfd.run_case(case, tmp_path)
    assert results["particle_counts"]["in_domain"] == 20000  # reflecting walls lose nothing
    assert results["particle_counts"]["invalid"] == 0
    assert results["histogram_max_deviation_stderr"] < 4.0
    ratio, stderr = results["c_ratio_cold_hot"], results["c_ratio_cold_hot_stderr"]
    assert abs(ratio - results["c_ratio_eulerian"]) < 4 * stderr
    assert results["c_ratio_eulerian"] == pytest.approx(results["c_ratio_expected"], rel=1e-9)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["tracking_backend"] in ("cpu", "gpu")
    assert (tmp_path / "fields" / "trajectories.vtp").exists()
    assert (tmp_path / "fields" / "particles.pvd").exists()
