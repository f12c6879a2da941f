"""Kind 'aerosol': the particle-free zone above a heated wafer, tracker against the 1D balance."""

import pytest

import thermocfd
from thermocfd.errors import CaseError

CASE = "cases/wafer_particle_free_zone.toml"
SMALL = ["mesh.resolution=0.5", "tracking.particles=2000", "tracking.time_step=3e-4", "output.pictures=false",
         "output.fields=false"]


@pytest.mark.parametrize("diameter, integrator", [("1 um", "inertial"), ("0.5 um", "overdamped")])
def test_particle_free_zone_matches_the_1d_balance(tmp_path, diameter, integrator):
    """The lower edge (1st percentile) and the median of the particle layer within 5 % and 1 %
    of the height where gas velocity + settling balance thermophoresis on the stagnation
    line; the FEM temperature within 0.01 K of the exact T(z) (ΔT = 50 K)."""
    case = thermocfd.load_case(CASE, overrides=SMALL + [f"aerosol.diameter='{diameter}'"])
    results = thermocfd.run_case(case, tmp_path)
    assert results["tracking_integrator"] == integrator
    assert results["temperature_max_error_1d"] < 0.01
    delta = results["particle_free_zone_thickness_1d"]
    assert 0.1e-3 < delta < 1e-3
    assert results["particle_free_zone_thickness"] == pytest.approx(delta, rel=0.05)
    assert results["particle_layer_height"] == pytest.approx(delta, rel=0.01)
    assert results["particle_counts"]["in_domain"] >= 100
    assert results["particle_counts"]["adsorbed"] == 0  # none reaches the wafer: it is protected
    assert results["thermophoretic_velocity_wafer"] > 0  # away from the hot wafer
    assert results["status"] == "ok"


def test_a_cold_wafer_is_not_protected(tmp_path):
    """Barely heated: settling and the gas beat thermophoresis, no zone: exit status 3 (run failed)."""
    case = thermocfd.load_case(CASE, overrides=SMALL + ["temperature.hot='293.16 K'"])
    with pytest.raises(thermocfd.pipelines.RunFailed, match="no particle-free zone"):
        thermocfd.run_case(case, tmp_path)


def test_bad_input_names_the_key():
    with pytest.raises(CaseError, match="aerosol"):
        thermocfd.load_case(CASE, overrides=["aerosol.release_height='20 mm'"])
    with pytest.raises(CaseError, match="tracking.scheme"):
        thermocfd.load_case(CASE, overrides=["tracking.scheme='heun'"])
