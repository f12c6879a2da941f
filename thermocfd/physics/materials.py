"""Solid materials of microfluidic chips: room-temperature thermal properties.

Each :class:`SolidMaterial` carries the thermal conductivity ``k`` (W/(m K)), density
``rho`` (kg/m^3), specific heat capacity ``c_p`` (J/(kg K)) near 20-25 °C, and, where a
defensible number exists, the absorption coefficient at 1480 nm (1/m, the wavelength of
the IR lasers used for optothermal traps; water there absorbs about 2400 1/m). The
``source`` string of every entry names where each value comes from; all values are
the nominal ones of those references, rounded as they give them. Amorphous and polymer
values depend on the product, cure and measurement method by 5-20 %: a case that needs
better should give the measured numbers of its own material.

Absorption at 1480 nm is ``None`` (unknown / not modelled) for all entries except where
stated: the glasses and polymers here are weakly absorbing at 1480 nm (an order of
magnitude or more below water) but their exact value depends on the OH / iron / C-H
content of the particular product; intrinsic silicon is below its band gap (free-carrier
absorption depends on the doping); a gold film reflects most of the light, which a
volumetric Beer-Lambert coefficient does not describe.

The liquid (water) is not here: its temperature-dependent laws are in
:mod:`thermocfd.physics.water`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SolidMaterial:
    """A solid with constant thermal properties (SI units)."""

    name: str
    thermal_conductivity: float  # W/(m K)
    density: float  # kg/m^3
    heat_capacity: float  # specific, J/(kg K)
    absorption_coefficient: float | None = None  # 1/m at 1480 nm; None = unknown
    source: str = ""

    def __post_init__(self):
        for key in ("thermal_conductivity", "density", "heat_capacity"):
            value = getattr(self, key)
            if not (isinstance(value, (int, float)) and value > 0):
                raise ValueError(f"material {self.name!r}: {key} must be a positive number, got {value!r}")
        a = self.absorption_coefficient
        if a is not None and not (isinstance(a, (int, float)) and a >= 0):
            raise ValueError(f"material {self.name!r}: absorption_coefficient must be >= 0 or None, got {a!r}")

    @property
    def volumetric_heat_capacity(self) -> float:
        """``rho c_p`` in J/(m^3 K)."""
        return self.density * self.heat_capacity

    @property
    def thermal_diffusivity(self) -> float:
        """``k / (rho c_p)`` in m^2/s."""
        return self.thermal_conductivity / self.volumetric_heat_capacity


MATERIALS: dict[str, SolidMaterial] = {
    m.name: m
    for m in (
        SolidMaterial(
            "borosilicate", thermal_conductivity=1.2, density=2230.0, heat_capacity=830.0,
            source=("Schott BOROFLOAT 33 data sheet (borosilicate glass 3.3, ISO 3585): "
                    "k = 1.2 W/(m K) (90 °C), rho = 2.23 g/cm^3 (25 °C), "
                    "c_p = 0.83 kJ/(kg K) (20-100 °C). Corning Pyrex 7740 lists "
                    "k = 1.1 W/(m K) at room temperature.")),
        SolidMaterial(
            "fused_silica", thermal_conductivity=1.38, density=2201.0, heat_capacity=770.0,
            source=("Corning HPFS 7980 fused silica product information: k = 1.38 W/(m K), "
                    "rho = 2.201 g/cm^3, c_p = 770 J/(kg K) (25 °C); consistent with the CRC "
                    "Handbook of Chemistry and Physics, 'Thermal conductivity of glasses' "
                    "(vitreous silica 1.30 W/(m K) at 0 °C, 1.40 at 50 °C).")),
        SolidMaterial(
            "pdms", thermal_conductivity=0.15, density=1030.0, heat_capacity=1460.0,
            source=("PDMS (Dow Sylgard 184, 10:1): k = 0.15 W/(m K) and c_p = 1.46 kJ/(kg K) "
                    "from J. E. Mark (ed.), Polymer Data Handbook, Oxford Univ. Press 1999, "
                    "'Poly(dimethylsiloxane)' (A. C. M. Kuo); rho = 1.03 g/cm^3 (cured "
                    "specific gravity, Dow Sylgard 184 technical data sheet). Reported k of "
                    "cured Sylgard 184 spans about 0.15-0.27 W/(m K) with cure and method.")),
        SolidMaterial(
            "silicon", thermal_conductivity=148.0, density=2329.0, heat_capacity=705.0,
            source=("Crystalline Si, 300 K: k = 148 W/(m K) (CRC Handbook of Chemistry and "
                    "Physics, 'Thermal conductivity of the elements' (Ho, Powell & Liley); "
                    "Glassbrenner & Slack, Phys. Rev. 134, A1058 (1964) measure about "
                    "1.5 W/(cm K) near 300 K for pure Si); rho = 2.329 g/cm^3 and "
                    "c_p = 0.705 J/(g K) at 25 °C (CRC Handbook, properties of the "
                    "elements). Doped wafers conduct a few % less.")),
        SolidMaterial(
            "pmma", thermal_conductivity=0.19, density=1190.0, heat_capacity=1420.0,
            source=("PMMA: k = 0.19 W/(m K) (J. E. Mark (ed.), Physical Properties of Polymers "
                    "Handbook, 2nd ed., Springer 2007, thermal-conductivity table; Polymer "
                    "Data Handbook 1999 gives 0.17-0.25), rho = 1.19 g/cm^3 (Polymer Data "
                    "Handbook, 'Poly(methyl methacrylate)', 1.17-1.20), c_p = 1.42 kJ/(kg K) "
                    "at 25 °C (mid-range of the 1.38-1.47 kJ/(kg K) quoted there and in the "
                    "ATHAS heat-capacity data bank, Gaur, Lau & Wunderlich, J. Phys. Chem. "
                    "Ref. Data 11, 1065 (1982)).")),
        SolidMaterial(
            "gold", thermal_conductivity=317.0, density=19300.0, heat_capacity=129.0,
            source=("Bulk Au at 300 K: k = 317 W/(m K) (CRC Handbook, 'Thermal conductivity "
                    "of the elements'), rho = 19.3 g/cm^3, c_p = 0.129 J/(g K) (CRC Handbook, "
                    "properties of the elements). Sputtered / evaporated films of 50-200 nm "
                    "conduct noticeably less than bulk (grain-boundary and surface "
                    "scattering); for a thin-film heater the film is normally a boundary "
                    "source, not a meshed region.")),
        SolidMaterial(
            "soda_lime", thermal_conductivity=1.0, density=2500.0, heat_capacity=720.0,
            source=("Soda-lime-silica float glass, EN 572-1 (Glass in building - basic "
                    "soda-lime silicate glass products): k = 1.0 W/(m K), rho = 2500 kg/m^3, "
                    "c = 720 J/(kg K). Ordinary microscope slides are soda-lime glass.")),
    )
}


def material(name: str) -> SolidMaterial:
    """The registered material of that (case-insensitive) name; KeyError lists the names."""
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return MATERIALS[key]
    except KeyError:
        raise KeyError(f"unknown solid material {name!r}; known: {', '.join(sorted(MATERIALS))}") from None


__all__ = ["SolidMaterial", "MATERIALS", "material"]
