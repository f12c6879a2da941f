"""Solid chip materials: values in the DESIGN.md ranges, registry names, errors."""

import dataclasses

import pytest

from thermocfd.physics.materials import MATERIALS, SolidMaterial, material

# DESIGN.md "Materials for chips" (k in W/(m K)); the others: handbook orders of magnitude
K_RANGES = {
    "borosilicate": (1.1, 1.2),
    "fused_silica": (1.3, 1.45),
    "pdms": (0.15, 0.2),
    "silicon": (140.0, 160.0),
    "pmma": (0.17, 0.21),
    "gold": (250.0, 330.0),
    "soda_lime": (0.9, 1.1),
}
RHO_RANGES = {"borosilicate": (2200, 2250), "fused_silica": (2190, 2210), "pdms": (960, 1060),
              "silicon": (2320, 2335), "pmma": (1170, 1200), "gold": (19200, 19400),
              "soda_lime": (2400, 2550)}
CP_RANGES = {"borosilicate": (700, 900), "fused_silica": (700, 800), "pdms": (1100, 1500),
             "silicon": (690, 720), "pmma": (1300, 1500), "gold": (125, 132),
             "soda_lime": (700, 900)}


def test_registry_names():
    assert set(MATERIALS) == {"borosilicate", "fused_silica", "pdms", "silicon", "pmma", "gold", "soda_lime"}
    for name, m in MATERIALS.items():
        assert m.name == name and name == name.lower()
        assert material(name) is m


@pytest.mark.parametrize("name", sorted(K_RANGES))
def test_values_in_ranges_and_cited(name):
    m = material(name)
    lo, hi = K_RANGES[name]
    assert lo <= m.thermal_conductivity <= hi
    assert RHO_RANGES[name][0] <= m.density <= RHO_RANGES[name][1]
    assert CP_RANGES[name][0] <= m.heat_capacity <= CP_RANGES[name][1]
    assert m.volumetric_heat_capacity == pytest.approx(m.density * m.heat_capacity)
    assert m.thermal_diffusivity == pytest.approx(m.thermal_conductivity / (m.density * m.heat_capacity))
    assert len(m.source) > 40  # every value has its reference
    assert m.absorption_coefficient is None or m.absorption_coefficient >= 0


def test_lookup_is_forgiving_about_case_and_separators():
    assert material("PDMS") is MATERIALS["pdms"]
    assert material("Fused silica") is MATERIALS["fused_silica"]
    assert material("soda-lime") is MATERIALS["soda_lime"]


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(KeyError) as info:
        material("unobtainium")
    text = str(info.value)
    assert "unobtainium" in text
    for name in MATERIALS:
        assert name in text


def test_frozen_and_validated():
    m = material("glass" if "glass" in MATERIALS else "borosilicate")
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.thermal_conductivity = 2.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="thermal_conductivity"):
        SolidMaterial("bad", thermal_conductivity=-1.0, density=1.0, heat_capacity=1.0)
    with pytest.raises(ValueError, match="absorption"):
        SolidMaterial("bad", 1.0, 1.0, 1.0, absorption_coefficient=-5.0)
    custom = SolidMaterial("custom", 2.0, 1000.0, 500.0)
    assert custom.volumetric_heat_capacity == 5e5 and custom.absorption_coefficient is None
