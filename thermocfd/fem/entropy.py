"""Local entropy production of heat conduction and solute diffusion (SI).

``sigma = k_0 |grad T|^2 / T^2 + R |J|^2 / (D c)`` (W/(K m^3)), the Onsager quadratic
form with the solute force eliminated (:mod:`thermocfd.physics.onsager`); k is the
uniform mixture's Fourier conductivity (the one :class:`~thermocfd.fem.heat.HeatProblem`
takes), ``k_0 = k - R D S_T^2 c T^2`` the conductivity at zero solute flux. Both parts are
squares, so sigma >= 0 wherever c > 0 and k_0 >= 0, and the solute part vanishes exactly
where J does (a relaxed Soret cell); where c <= 0 (solid regions) it is taken as zero.

T and c live on the domain's scaled mesh; gradients are converted to metres here.
Integrals are W/K (W/(K m) per metre of depth in 2D). The pointwise field is an
*interpolant* (point values of sigma at the nodes of a DG space) rather than an L2
projection, whose undershoots could dip below zero where sigma has a steep edge.
"""

from __future__ import annotations

import dolfinx.fem
import ufl
from mpi4py import MPI

from ..physics import DiffusivityLaw, SoretLaw
from ..physics.onsager import GAS_CONSTANT, entropy_production_parts, solute_flux
from . import compat
from .heat import Coefficient, coefficient_field
from .mesh import Domain
from .quadrature import compile_form


class EntropyProduction:
    """sigma of a temperature and a concentration field, its parts and their integrals.

    ``flux``: the solute's diffusive flux J in mol/(m^2 s) as a UFL vector (the flux
    relative to the fluid: advection produces no entropy); None computes
    ``J = -D grad c - D S_T c grad T`` from the fields. ``cycle``: the entropy production
    density (UFL, W/(K m^3)) of the solute's internal-state cycle, counted in its part
    (:meth:`thermocfd.fem.internal_states.InternalStateTransportProblem.entropy_production`).
    """

    def __init__(self, domain: Domain, temperature, concentration, conductivity: Coefficient,
                 diffusivity: DiffusivityLaw, soret: SoretLaw, flux=None, *, cycle=None,
                 gas_constant: float = GAS_CONSTANT, quadrature_degree: int = 6):
        self.domain = domain
        ell = domain.length_scale
        grad_T = ufl.grad(temperature) / ell
        grad_c = ufl.grad(concentration) / ell
        D = diffusivity.diffusivity(temperature)
        S_T = soret.soret_coefficient(temperature)
        if flux is None:
            flux = ufl.as_vector(solute_flux(grad_c, grad_T, concentration, D, S_T))
        self.flux = flux
        self.thermal, self.solute = entropy_production_parts(
            temperature, concentration, grad_T, flux, coefficient_field(domain, conductivity), D, S_T,
            gas_constant)
        if cycle is not None:
            self.solute = self.solute + cycle
        # no solute, no entropy from it: the solid regions of a chip (c = 0 there: 0/0) and
        # a P2 undershoot below zero
        self.solute = ufl.conditional(ufl.gt(concentration, 0.0), self.solute, 0.0)
        self.density = self.thermal + self.solute
        self._parts = {"total": self.density, "thermal": self.thermal, "solute": self.solute}
        self._dx = domain.dx(metadata={"quadrature_degree": quadrature_degree})
        self._forms: dict[str, object] = {}  # compiled integrals, per part

    def rate(self, part: str = "total") -> float:
        """``int sigma dV`` of "total", "thermal" or "solute": W/K (W/(K m) in 2D)."""
        if part not in self._forms:
            self._forms[part] = compile_form(self._parts[part] * self._dx)
        local = dolfinx.fem.assemble_scalar(self._forms[part])
        return self.domain.comm.allreduce(local, op=MPI.SUM) * self.domain.length_scale ** self.domain.dim

    def field(self, degree: int = 2, part: str = "total") -> dolfinx.fem.Function:
        """sigma (W/(K m^3)) interpolated into discontinuous P``degree``: its values are
        point values of the expression inside each cell."""
        V = compat.function_space(self.domain.mesh, "DG", degree)
        name = "entropy_production" if part == "total" else f"entropy_production_{part}"
        sigma = dolfinx.fem.Function(V, name=name)
        compat.interpolate(sigma, self._parts[part])
        return sigma


def entropy_production(domain: Domain, temperature, concentration, conductivity: Coefficient,
                       diffusivity: DiffusivityLaw, soret: SoretLaw, flux=None, *, cycle=None,
                       gas_constant: float = GAS_CONSTANT, quadrature_degree: int = 6) -> EntropyProduction:
    """sigma of heat and a solute on ``domain``: ``.density`` (UFL, W/(K m^3)),
    ``.rate()`` (W/K), ``.field()`` (a Function); see :class:`EntropyProduction`."""
    return EntropyProduction(domain, temperature, concentration, conductivity, diffusivity, soret, flux,
                             cycle=cycle, gas_constant=gas_constant, quadrature_degree=quadrature_degree)
