"""Conjugate heat transfer, flow and solute confined to the liquid of a layered chip.

Exact references on small layered meshes (interfaces are mesh faces):
- glass | liquid | PDMS conduction: the 1D series-resistance solution (P2 is exact), with
  and without gravity on a stable stratification (no flow);
- Poiseuille flow in a liquid layer between two solids (P2 velocity is exact), zero in
  the solids;
- a thin-film heater on an interior facet set between glass and liquid, outer faces
  cooled: heater power = heat leaving through the outer faces (HeatProblem and the coupled
  buoyant solver, 2D and 3D);
- thermo-osmotic slip in the coupled solver: mean velocity chi dT/dx, on exterior walls
  and on glass-liquid interfaces;
- Soret transport restricted to the liquid: c ∝ exp(-S_T (T - T_ref)) there, mass kept,
  c = 0 in the solids;
- the same numbers under ``mpirun -n 2`` (this file run as a script).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import dolfinx.fem
import dolfinx.mesh
import numpy as np
import pytest
import ufl
from mpi4py import MPI

from mpirun import needs_mpirun, on_two_ranks
from thermocfd.fem import compat
from thermocfd.fem.convection import BuoyantFlowProblem
from thermocfd.fem.heat import ConvectiveCooling, FixedTemperature, HeaterPower, HeatFlux, HeatProblem
from thermocfd.fem.mesh import Domain, structured_domain
from thermocfd.fem.stokes import PrescribedVelocity, Pressure, ThermoOsmoticSlip
from thermocfd.fem.transport import SoretTransportProblem
from thermocfd.physics import ConstantDiffusivity, ConstantSoret, ConstantViscosity
from thermocfd.physics.fluid import FluidProperties

WATER = FluidProperties(density=998.0, viscosity=ConstantViscosity(1e-3), thermal_conductivity=0.6,
                        heat_capacity=4180.0, thermal_expansion=2.1e-4)
K_GLASS, K_PDMS = 1.1, 0.15  # W/(m K): borosilicate glass, PDMS (DESIGN.md)
ELL = 1e-4  # m per mesh unit


def layered_domain(extent, cells, layers, boundaries, length_scale=ELL, comm=MPI.COMM_WORLD) -> Domain:
    """A structured rectangle/box [0, extent] whose cells are tagged by layers (name, lo,
    hi) along the last axis, and facets (exterior or interior) by markers name -> f(x), or
    name -> a list of markers (the union: one marker per plane, since a marker selects the
    facets whose vertices all satisfy it)."""
    gdim = len(extent)
    upper = np.asarray(extent, dtype=float)
    if gdim == 2:
        mesh = dolfinx.mesh.create_rectangle(comm, [np.zeros(2), upper], list(cells), dolfinx.mesh.CellType.triangle)
    else:
        mesh = dolfinx.mesh.create_box(comm, [np.zeros(3), upper], list(cells), dolfinx.mesh.CellType.tetrahedron)
    tdim = mesh.topology.dim
    mesh.topology.create_connectivity(tdim - 1, tdim)
    index_map = mesh.topology.index_map(tdim)
    cells_local = np.arange(index_map.size_local + index_map.num_ghosts, dtype=np.int32)
    midpoints = dolfinx.mesh.compute_midpoints(mesh, tdim, cells_local)
    values = np.zeros(cells_local.size, dtype=np.int32)
    regions = {}
    for tag, (name, lo, hi) in enumerate(layers, start=1):
        values[(midpoints[:, gdim - 1] > lo) & (midpoints[:, gdim - 1] < hi)] = tag
        regions[name] = tag
    assert values.min() > 0, "every cell in a layer"
    cell_tags = dolfinx.mesh.meshtags(mesh, tdim, cells_local, values)
    indices, tags, names = [], [], {}
    for tag, (name, marker) in enumerate(boundaries.items(), start=1):
        markers = marker if isinstance(marker, (list, tuple)) else [marker]
        found = np.unique(np.concatenate([dolfinx.mesh.locate_entities(mesh, tdim - 1, m) for m in markers]))
        indices.append(found)
        tags.append(np.full(found.size, tag, dtype=np.int32))
        names[name] = tag
    indices, tags = np.concatenate(indices), np.concatenate(tags)
    assert np.unique(indices).size == indices.size, "facet groups overlap"
    order = np.argsort(indices)
    facet_tags = dolfinx.mesh.meshtags(mesh, tdim - 1, indices[order].astype(np.int32), tags[order])
    return Domain(mesh, cell_tags, facet_tags, regions, names, length_scale, {"builder": "test"})


def integrate(domain, form) -> float:
    return domain.comm.allreduce(dolfinx.fem.assemble_scalar(dolfinx.fem.form(form)), op=MPI.SUM)


# --- glass | liquid | PDMS ----------------------------------------------------------------
LAYERS = [("glass", 0.0, 0.5), ("liquid", 0.5, 1.0), ("pdms", 1.0, 1.5)]  # along y, mesh units
SLAB = {"bottom": lambda x: np.isclose(x[1], 0.0), "top": lambda x: np.isclose(x[1], 1.5),
        "sides": [lambda x: np.isclose(x[0], 0.0), lambda x: np.isclose(x[0], 1.0)]}


def series_solution(t_bottom, t_top):
    """Interface temperatures (glass-liquid, liquid-PDMS) and the heat flux upwards (W/m^2)."""
    resistances = np.array([0.5 / K_GLASS, 0.5 / WATER.thermal_conductivity, 0.5 / K_PDMS]) * ELL
    q = (t_bottom - t_top) / resistances.sum()
    t1 = t_bottom - q * resistances[0]
    return t1, t1 - q * resistances[1], q


def layered_flow(t_bottom, t_top, gravity):
    domain = layered_domain([1.0, 1.5], [4, 6], LAYERS, SLAB)
    flow = BuoyantFlowProblem(domain, WATER, gravity, [FixedTemperature("bottom", t_bottom),
                                                       FixedTemperature("top", t_top)],
                              reference_temperature=300.0, fluid_regions=["liquid"],
                              conductivity={"glass": K_GLASS, "pdms": K_PDMS})
    flow.initial_conduction_guess(300.0 + 0.0 * domain.physical_coordinates()[0])
    flow.solve()
    return domain, flow


@pytest.mark.parametrize("t_bottom, t_top, gravity", [(310.0, 290.0, [0.0, 0.0, 0.0]),
                                                      (290.0, 310.0, [0.0, -9.81, 0.0])],
                         ids=["no_gravity", "stable_stratification"])
def test_layered_conduction_matches_series_resistances(t_bottom, t_top, gravity):
    domain, flow = layered_flow(t_bottom, t_top, gravity)
    t1, t2, q = series_solution(t_bottom, t_top)
    T = flow.temperature()
    points = np.array([[0.3, 0.5, 0.0], [0.7, 1.0, 0.0], [0.5, 0.25, 0.0], [0.5, 0.75, 0.0]])
    computed = compat.evaluate(T, points)
    expected = [t1, t2, 0.5 * (t_bottom + t1), 0.5 * (t1 + t2)]
    print("interface temperatures", computed[:2], "expected", t1, t2)
    assert np.allclose(computed, expected, rtol=1e-6, atol=0.0)
    width = 1.0 * ELL
    heat_up = flow.boundary_heat_flow("top")  # leaving through the top
    print("heat flow", heat_up, -flow.boundary_heat_flow("bottom"), "expected", q * width)
    assert heat_up == pytest.approx(q * width, rel=1e-6)
    assert -flow.boundary_heat_flow("bottom") == pytest.approx(q * width, rel=1e-6)
    assert flow.boundary_heat_flow("sides") == 0.0  # insulated, no condition
    assert flow.wall_heat_flow("bottom") == pytest.approx(q * width, rel=1e-6)
    speed = np.abs(flow.solution.sub(0).collapse().x.array).max()  # scaled units (kappa / l)
    print("max |u| (scaled)", speed)
    assert speed < 1e-10  # no flow: zero gravity, or a stable stratification


def test_conjugate_input_errors_name_the_problem():
    from thermocfd.errors import ThermocfdError

    domain = layered_domain([1.0, 1.5], [4, 6], LAYERS, dict(SLAB, interface=lambda x: np.isclose(x[1], 0.5)))
    thermal = [FixedTemperature("bottom", 300.0)]
    with pytest.raises(ThermocfdError, match="pdms"):  # a solid without conductivity
        BuoyantFlowProblem(domain, WATER, [0.0, 0.0, 0.0], thermal, reference_temperature=300.0,
                           fluid_regions=["liquid"], conductivity={"glass": K_GLASS})
    with pytest.raises(ThermocfdError, match="inside the mesh"):
        BuoyantFlowProblem(domain, WATER, [0.0, 0.0, 0.0], thermal, reference_temperature=300.0,
                           fluid_regions=["liquid"], conductivity={"glass": K_GLASS, "pdms": K_PDMS},
                           flow_conditions=[PrescribedVelocity("interface", [1e-6, 0.0])])
    with pytest.raises(ThermocfdError, match="inside the mesh"):
        HeatProblem(domain, 1.0, thermal + [ConvectiveCooling("interface", 10.0, 300.0)])
    with pytest.raises(ThermocfdError, match="neither a boundary nor a region"):
        HeatProblem(domain, 1.0, thermal + [HeaterPower("nowhere", 1.0)])


# --- Poiseuille flow in the liquid layer between two solids ----------------------------
CHANNEL_LAYERS = [("bottom_wall", 0.0, 0.5), ("liquid", 0.5, 1.5), ("top_wall", 1.5, 2.0)]
CHANNEL_LENGTH = 6.0


def _in_liquid(x):
    """Vertices of the liquid layer 0.5 <= y <= 1.5 (interfaces included)."""
    return (x[1] > 0.5 - 1e-9) & (x[1] < 1.5 + 1e-9)


def _in_solid(x):
    """Vertices of the solid layers (interfaces included)."""
    return (x[1] < 0.5 + 1e-9) | (x[1] > 1.5 - 1e-9)


CHANNEL = {"inlet": lambda x: np.isclose(x[0], 0.0) & _in_liquid(x),
           "outlet": lambda x: np.isclose(x[0], CHANNEL_LENGTH) & _in_liquid(x),
           "solid_ends": [lambda x: np.isclose(x[0], 0.0) & _in_solid(x),
                          lambda x: np.isclose(x[0], CHANNEL_LENGTH) & _in_solid(x)],
           "outer": [lambda x: np.isclose(x[1], 0.0), lambda x: np.isclose(x[1], 2.0)]}
MEAN_SPEED = 1e-4  # m/s


def poiseuille(x):
    """Parabola in the liquid layer (physical coordinates, NumPy): mean MEAN_SPEED."""
    s = (x[1] / ELL - 0.5)
    return np.array([6.0 * MEAN_SPEED * s * (1.0 - s), 0.0 * s])


@pytest.mark.parametrize("outlet", ["prescribed", "pressure"])
def test_poiseuille_flow_is_confined_to_the_liquid(outlet):
    domain = layered_domain([CHANNEL_LENGTH, 2.0], [24, 8], CHANNEL_LAYERS, CHANNEL)
    out = PrescribedVelocity("outlet", poiseuille) if outlet == "prescribed" else Pressure("outlet", 0.0)
    flow = BuoyantFlowProblem(domain, WATER, [0.0, 0.0, 0.0], [FixedTemperature("inlet", 300.0)],
                              reference_temperature=300.0, fluid_regions=["liquid"],
                              conductivity={"bottom_wall": K_GLASS, "top_wall": K_GLASS},
                              flow_conditions=[PrescribedVelocity("inlet", poiseuille), out])
    assert flow.closed == (outlet == "prescribed")
    flow.initial_conduction_guess(300.0 + 0.0 * domain.physical_coordinates()[0])
    flow.solve()
    u = flow.velocity()
    # P2 nodes in the liquid, away from an outlet's end effect (a do-nothing outlet with
    # the symmetric stress is not traction-free for Poiseuille flow; it decays as
    # exp(-4.2 x / h) upstream)
    nodes = u.function_space.tabulate_dof_coordinates()
    values = u.x.array.reshape(-1, 2)
    x_max = CHANNEL_LENGTH if outlet == "prescribed" else CHANNEL_LENGTH - 4.5
    liquid = (nodes[:, 1] > 0.5 - 1e-9) & (nodes[:, 1] < 1.5 + 1e-9) & (nodes[:, 0] <= x_max + 1e-9)
    exact = poiseuille(nodes[liquid].T * ELL).T
    error = np.abs(values[liquid] - exact).max() if liquid.any() else 0.0
    error = domain.comm.allreduce(error, op=MPI.MAX)
    print(outlet, "max |u - u_Poiseuille| / u_mean", error / MEAN_SPEED)
    assert error < 1e-8 * MEAN_SPEED
    solid = (nodes[:, 1] < 0.5 - 1e-9) | (nodes[:, 1] > 1.5 + 1e-9)
    assert np.all(values[solid] == 0.0)  # exactly at rest in the solids
    # pressure gradient of Poiseuille flow: dp/dx = -12 mu U / h^2
    p = flow.solution.sub(1).collapse()
    pressures = compat.evaluate(p, np.array([[1.0, 1.0, 0.0], [2.0, 1.0, 0.0]])) * flow.pressure_scale
    gradient = (pressures[1] - pressures[0]) / ELL
    expected = -12.0 * 1e-3 * MEAN_SPEED / ELL**2
    print(outlet, "dp/dx", gradient, "expected", expected)
    assert gradient == pytest.approx(expected, rel=1e-6)


# --- thin-film heater between glass and liquid ---------------------------------------------
H_COOL, T_AIR, FLUX = 1e3, 293.0, 2e4  # W/(m^2 K), K, W/m^2


def heater_domain(dim: int):
    """Glass (lower half) and liquid (upper half); the heater is the interior facet patch
    of the glass-liquid interface with |x - 1| <= 1/4 (and |y - 1/2| <= 1/4 in 3D)."""
    if dim == 2:
        extent, cells = [2.0, 1.0], [16, 8]
    else:
        extent, cells = [2.0, 1.0, 1.0], [8, 8, 8]  # 3072 tetrahedra
    top = extent[-1]
    a = 0.5 * top
    layers = [("glass", 0.0, a), ("liquid", a, top)]
    z = dim - 1

    def heater(x):
        inside = np.isclose(x[z], a) & (np.abs(x[0] - 1.0) <= 0.25 + 1e-9)
        return inside & (np.abs(x[1] - 0.5) <= 0.25 + 1e-9) if dim == 3 else inside

    sides = [lambda x, axis=axis, value=value: np.isclose(x[axis], value)
             for axis in range(dim - 1) for value in (0.0, extent[axis])]
    boundaries = {"bottom": lambda x: np.isclose(x[z], 0.0), "top": lambda x: np.isclose(x[z], top),
                  "sides": sides, "heater": heater}
    domain = layered_domain(extent, cells, layers, boundaries)
    area = 0.5 * ELL if dim == 2 else 0.25 * ELL**2  # heater area (m^2; m in 2D)
    return domain, area


OUTER = ("bottom", "top", "sides")


def cooled(conditions=()):
    return [ConvectiveCooling(face, H_COOL, T_AIR) for face in OUTER] + list(conditions)


@pytest.mark.parametrize("dim", [2, 3])
def test_interior_facet_heater_power_balance_heat_problem(dim):
    domain, area = heater_domain(dim)
    power = FLUX * area
    for heater in (HeatFlux("heater", FLUX), HeaterPower("heater", power)):
        problem = HeatProblem(domain, {"glass": K_GLASS, "liquid": WATER.thermal_conductivity}, cooled([heater]),
                              degree=2 if dim == 2 else 1)
        T = problem.solve_steady()
        leaving = sum(problem.boundary_heat_flow(face) for face in OUTER)
        print(type(heater).__name__, dim, "D: heat leaving / heater power - 1 =", leaving / power - 1)
        assert leaving == pytest.approx(power, rel=1e-8)
        assert problem.boundary_heat_flow("heater") == pytest.approx(-power, rel=1e-12)
        assert problem.heat_source_power() == 0.0
        # the heater is hotter than anything else: the power went in there
        t_max = domain.comm.allreduce(T.x.array.max(), op=MPI.MAX)
        heater_point = np.array([[1.0, 0.5, 0.0]]) if dim == 2 else np.array([[1.0, 0.5, 0.5]])
        assert compat.evaluate(T, heater_point)[0] == pytest.approx(t_max, abs=1e-3 * (t_max - T_AIR))


def heater_flow(dim: int, temperature_degree: int = 2):
    domain, area = heater_domain(dim)
    gravity = [0.0, -9.81, 0.0] if dim == 2 else [0.0, 0.0, -9.81]
    flow = BuoyantFlowProblem(domain, WATER, gravity,
                              cooled([HeatFlux("heater", FLUX)]), reference_temperature=T_AIR,
                              fluid_regions=["liquid"], conductivity={"glass": K_GLASS},
                              temperature_degree=temperature_degree)
    flow.initial_conduction_guess(T_AIR + 0.0 * domain.physical_coordinates()[0])
    flow.solve()
    return domain, area, flow


@pytest.mark.parametrize("dim, degree", [(2, 2), (2, 1), (3, 2)], ids=["2d-P2", "2d-P1", "3d-P2"])
def test_interior_facet_heater_power_balance_buoyant_flow(dim, degree):
    domain, area, flow = heater_flow(dim, degree)
    power = FLUX * area
    leaving = sum(flow.boundary_heat_flow(face) for face in OUTER)
    speed = domain.comm.allreduce(np.abs(flow.velocity().x.array).max(), op=MPI.MAX)
    print(f"{dim}D P{degree}: heat leaving / heater power - 1 = {leaving / power - 1:.3e}, max |u| = {speed:.3e} m/s")
    assert speed > 1e-9  # the heater drives a buoyant flow in the liquid
    # P1 temperature: exactly conservative (Taylor-Hood's div u is weakly zero against P1);
    # P2: up to int (T - T0) div u, of the size of the discretisation error squared
    assert leaving == pytest.approx(power, rel=1e-8)
    assert flow.boundary_heat_flow("heater") == pytest.approx(-power, rel=1e-12)


RHO_CP_GLASS = 2230.0 * 750.0  # J/(m^3 K): borosilicate glass (Schott Borofloat 33 data sheet)


def test_volumetric_sources_power_balance():
    """Region heaters and per-region sources: their power leaves through the cooled faces."""
    domain, _ = heater_domain(2)
    heat = HeatProblem(domain, {"glass": K_GLASS, "liquid": WATER.thermal_conductivity},
                       cooled([HeaterPower("glass", 0.5)]), source={"glass": 0.0, "liquid": 1e6}, degree=2)
    heat.solve_steady()
    expected = 0.5 + 1e6 * (2.0 * 0.5 * ELL**2)  # W/m: the glass heater and the liquid's source
    assert heat.heat_source_power() == pytest.approx(expected, rel=1e-12)
    leaving = sum(heat.boundary_heat_flow(face) for face in OUTER)
    print("HeatProblem: leaving / sources - 1 =", leaving / expected - 1)
    assert leaving == pytest.approx(expected, rel=1e-8)
    flow = BuoyantFlowProblem(domain, WATER, [0.0, -9.81, 0.0], cooled([HeaterPower("glass", 0.5)]),
                              reference_temperature=T_AIR, fluid_regions=["liquid"], conductivity={"glass": K_GLASS},
                              heat_sources=[("liquid", 1e6), (None, 1e5)])
    flow.initial_conduction_guess(T_AIR + 0.0 * domain.physical_coordinates()[0])
    flow.solve()
    expected += 1e5 * (2.0 * 1.0 * ELL**2)
    assert flow.heat_source_power() == pytest.approx(expected, rel=1e-12)
    leaving = sum(flow.boundary_heat_flow(face) for face in OUTER)
    print("BuoyantFlowProblem: leaving / sources - 1 =", leaving / expected - 1)
    assert leaving == pytest.approx(expected, rel=1e-8)


def test_transient_conjugate_heating_matches_the_heat_solver():
    """Zero gravity, so no flow: the coupled solver's BDF2 steps with per-region heat
    capacities are the heat solver's, step by step."""
    domain, _ = heater_domain(2)
    capacities = {"glass": RHO_CP_GLASS, "liquid": WATER.density * WATER.heat_capacity}
    heat = HeatProblem(domain, {"glass": K_GLASS, "liquid": WATER.thermal_conductivity},
                       cooled([HeatFlux("heater", FLUX)]), heat_capacity=capacities, degree=2)
    heat.initialise(T_AIR)
    flow = BuoyantFlowProblem(domain, WATER, [0.0, 0.0, 0.0], cooled([HeatFlux("heater", FLUX)]),
                              reference_temperature=T_AIR, fluid_regions=["liquid"], conductivity={"glass": K_GLASS},
                              heat_capacity={"glass": RHO_CP_GLASS})
    flow.initial_conduction_guess(T_AIR + 0.0 * domain.physical_coordinates()[0])
    dt = 0.01  # s (the liquid's diffusion time over 100 um is 0.07 s)
    for _ in range(4):
        heat.advance(dt)
        flow.advance(dt)
    T_flow = dolfinx.fem.Function(heat.V)
    compat.interpolate(T_flow, flow.temperature())  # the same P2 space on the same mesh
    rise = domain.comm.allreduce(heat.temperature.x.array.max(), op=MPI.MAX) - T_AIR
    difference = domain.comm.allreduce(np.abs(T_flow.x.array - heat.temperature.x.array).max(), op=MPI.MAX)
    print("transient: temperature rise", rise, "K; max difference", difference / rise, "relative")
    assert rise > 0.01
    assert difference < 1e-9 * rise
    # heat leaving through the faces (the heater's power is still mostly being stored)
    leaving = [sum(problem.boundary_heat_flow(face) for face in OUTER) for problem in (heat, flow)]
    assert leaving[1] == pytest.approx(leaving[0], rel=1e-6)
    assert 0.0 < leaving[0] < FLUX * 0.5 * ELL


# --- thermo-osmotic slip in the coupled solver -----------------------------------------------
CHI, T_HOT, T_COLD = 3e-10, 300.2, 300.0  # m^2/(s K), K


def test_thermo_osmotic_slip_on_channel_walls():
    """Slipping walls, hot and cold open ends (p = 0): plug flow u = chi dT/dx towards hot."""
    L = 4.0  # mesh units (length_scale 1e-6 m): 4 um x 1 um
    sides = {"hot": lambda x: np.isclose(x[0], 0.0), "cold": lambda x: np.isclose(x[0], L),
             "walls": lambda x: np.isclose(x[1], 0.0) | np.isclose(x[1], 1.0)}
    domain = structured_domain([L, 1.0], [16, 4], sides, length_scale=1e-6)
    flow = BuoyantFlowProblem(domain, WATER, [0.0, 0.0, 0.0],
                              [FixedTemperature("hot", T_HOT), FixedTemperature("cold", T_COLD)],
                              reference_temperature=T_COLD,
                              flow_conditions=[ThermoOsmoticSlip("walls", CHI), Pressure("hot", 0.0),
                                               Pressure("cold", 0.0)])
    assert not flow.closed
    x = domain.physical_coordinates()
    flow.initial_conduction_guess(T_HOT + (T_COLD - T_HOT) * x[0] / (L * 1e-6))
    report = flow.solve()
    u = flow.velocity()
    mean = integrate(domain, u[0] * ufl.dx) / (L * 1.0)
    expected = CHI * (T_COLD - T_HOT) / (L * 1e-6)
    print("thermo-osmotic mean velocity", mean, "expected", expected, "relative error", mean / expected - 1,
          "slip iterations", report.slip_iterations)
    assert mean == pytest.approx(expected, rel=1e-6)
    assert 1 <= report.slip_iterations <= 5


def interface_slip_flow():
    """A liquid layer between two glass layers whose interfaces (interior facets) slip;
    hot and cold ends on every layer, the liquid's ends open."""
    L = 4.0
    sides = {"hot_liquid": lambda x: np.isclose(x[0], 0.0) & _in_liquid(x),
             "cold_liquid": lambda x: np.isclose(x[0], L) & _in_liquid(x),
             "hot_glass": lambda x: np.isclose(x[0], 0.0) & _in_solid(x),
             "cold_glass": lambda x: np.isclose(x[0], L) & _in_solid(x),
             "interfaces": [lambda x: np.isclose(x[1], 0.5), lambda x: np.isclose(x[1], 1.5)],
             "outer": [lambda x: np.isclose(x[1], 0.0), lambda x: np.isclose(x[1], 2.0)]}
    layers = [("lower_glass", 0.0, 0.5), ("liquid", 0.5, 1.5), ("upper_glass", 1.5, 2.0)]
    domain = layered_domain([L, 2.0], [16, 8], layers, sides, length_scale=1e-6)
    thermal = [FixedTemperature(name, T_HOT) for name in ("hot_liquid", "hot_glass")]
    thermal += [FixedTemperature(name, T_COLD) for name in ("cold_liquid", "cold_glass")]
    flow = BuoyantFlowProblem(domain, WATER, [0.0, 0.0, 0.0], thermal, reference_temperature=T_COLD,
                              fluid_regions=["liquid"], conductivity={"lower_glass": K_GLASS, "upper_glass": K_GLASS},
                              flow_conditions=[ThermoOsmoticSlip("interfaces", CHI), Pressure("hot_liquid", 0.0),
                                               Pressure("cold_liquid", 0.0)])
    x = domain.physical_coordinates()
    flow.initial_conduction_guess(T_HOT + (T_COLD - T_HOT) * x[0] / (L * 1e-6))
    flow.solve()
    mean = integrate(domain, flow.velocity()[0] * domain.dx("liquid")) / (L * 1.0)
    return domain, flow, mean, CHI * (T_COLD - T_HOT) / (L * 1e-6)


def test_thermo_osmotic_slip_on_glass_liquid_interfaces():
    """Mean velocity chi dT/dx in the liquid, none in the glass (T is linear in x in every
    layer, whatever their conductivities)."""
    domain, flow, mean, expected = interface_slip_flow()
    u = flow.velocity()
    print("interface slip: mean velocity", mean, "expected", expected, "relative error", mean / expected - 1)
    assert mean == pytest.approx(expected, rel=1e-6)
    nodes = u.function_space.tabulate_dof_coordinates()
    glass = (nodes[:, 1] < 0.5 - 1e-9) | (nodes[:, 1] > 1.5 + 1e-9)
    assert np.all(u.x.array.reshape(-1, 2)[glass] == 0.0)


# --- Soret transport restricted to the liquid ---------------------------------------------------
SORET, D_SOLUTE, T_REF = 0.05, 1e-11, 300.0  # 1/K, m^2/s, K


def restricted_soret(total_mass=2e-9):
    domain = layered_domain([1.0, 1.5], [4, 12], LAYERS, SLAB)
    x = domain.physical_coordinates()
    T = T_REF + 40.0 * x[1] / ELL  # linear, K: S_T dT = 1 across the liquid
    problem = SoretTransportProblem(domain, T, ConstantDiffusivity(D_SOLUTE), ConstantSoret(SORET),
                                    reference_temperature=T_REF, regions=["liquid"], degree=2)
    assert problem.closed
    c = problem.solve_steady(total_mass=total_mass)
    return domain, problem, c


def test_soret_transport_restricted_to_the_liquid():
    mass = 2e-9
    domain, problem, c = restricted_soret(mass)
    nodes = problem.V.tabulate_dof_coordinates()
    T_nodes = T_REF + 40.0 * nodes[:, 1]
    liquid = (nodes[:, 1] > 0.5 - 1e-9) & (nodes[:, 1] < 1.0 + 1e-9)
    ratio = c.x.array[liquid] / np.exp(-SORET * (T_nodes[liquid] - T_REF))
    spread = np.ptp(ratio) / ratio.mean()
    print("c exp(S_T (T - T_ref)) spread in the liquid", spread, "mass error", problem.total_mass() / mass - 1)
    assert spread < 1e-10
    assert problem.total_mass() == pytest.approx(mass, rel=1e-12)
    assert np.all(c.x.array[~liquid] == 0.0)
    # the mass is the liquid's: the integral of c over the liquid layer, nothing elsewhere
    assert integrate(domain, c * domain.dx("liquid")) * ELL**2 == pytest.approx(mass, rel=1e-6)
    # transient from uniform: mass kept every step, solids stay empty
    problem.initialise(1.0, total_mass=mass)
    assert np.all(problem.concentration.x.array[~liquid] == 0.0)
    for _ in range(5):
        problem.advance(0.05 * problem.time_scale)
        assert abs(problem.total_mass() / mass - 1) < 1e-12
    assert np.all(problem.concentration.x.array[~liquid] == 0.0)


# --- MPI: the same numbers on two ranks ------------------------------------------------------------
def mpi_numbers() -> dict:
    """Numbers from the restricted problems (run serially and under mpirun -n 2)."""
    _, area, flow = heater_flow(2)
    T = flow.temperature()
    probes = np.array([[1.0, 0.5, 0.0], [0.3, 0.8, 0.0], [1.7, 0.2, 0.0]])
    u = flow.velocity()
    speed = np.sqrt(integrate(flow.domain, ufl.inner(u, u) * ufl.dx))
    _, soret, c = restricted_soret()
    _, slip_flow, slip_mean, _ = interface_slip_flow()
    return {"leaving": [flow.boundary_heat_flow(face) for face in OUTER], "slip_mean_velocity": slip_mean,
            "temperatures": compat.evaluate(T, probes).tolist(),
            "velocity": compat.evaluate(u, probes).tolist(), "speed_l2": speed,
            "concentration": compat.evaluate(c, np.array([[0.5, 0.6, 0.0], [0.5, 0.9, 0.0]])).tolist(),
            "mass": soret.total_mass()}


@pytest.mark.mpi
@needs_mpirun
@pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="launches its own mpirun")
def test_two_ranks_give_the_same_numbers(tmp_path):
    out = tmp_path / "n2.json"
    run = on_two_ranks([sys.executable, Path(__file__).resolve(), out])
    assert run.returncode == 0, run.stderr[-3000:]
    parallel = json.loads(out.read_text())
    serial = mpi_numbers()
    for key, value in serial.items():
        a, b = np.asarray(value, dtype=float), np.asarray(parallel[key], dtype=float)
        print(key, "max relative difference", np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-300)))
        assert np.allclose(b, a, rtol=1e-8, atol=1e-8 * np.abs(a).max()), key


if __name__ == "__main__":  # mpirun -n 2 python tests/test_conjugate_flow.py OUT.json
    numbers = mpi_numbers()
    if MPI.COMM_WORLD.rank == 0:
        Path(sys.argv[1]).write_text(json.dumps(numbers))
