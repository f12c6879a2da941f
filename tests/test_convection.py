"""Buoyant convection: de Vahl Davis' differentially heated square cavity (1983), steady
from the conduction state with no user-set continuation, and the convection pipeline."""

import numpy as np
import ufl
import pytest

from thermocfd.fem import compat
from thermocfd.fem.convection import BuoyantFlowProblem, FluidProperties
from thermocfd.fem.heat import FixedTemperature
from thermocfd.fem.mesh import structured_domain
from thermocfd.physics import ConstantViscosity

# de Vahl Davis (1983), Pr = 0.71, velocities in kappa/L:
# Ra: (u_max on x = 1/2, v_max on y = 1/2, mean Nusselt number)
DE_VAHL_DAVIS = {1e3: (3.649, 3.697, 1.118), 1e4: (16.178, 19.617, 2.243), 1e5: (34.73, 68.59, 4.519),
                 1e6: (64.63, 219.36, 8.800)}


def cavity(rayleigh: float, n: int = 32, linear_solver: str = "direct"):
    sides = {"hot": lambda x: np.isclose(x[0], 0.0), "cold": lambda x: np.isclose(x[0], 1.0),
             "adiabatic": lambda x: np.isclose(x[1], 0.0) | np.isclose(x[1], 1.0)}
    domain = structured_domain([1.0, 1.0], [n, n], sides)
    prandtl = 0.71
    # kappa = 1, nu = Pr, dT = 1, L = 1: g beta = Ra Pr
    fluid = FluidProperties(density=1.0, viscosity=ConstantViscosity(prandtl), thermal_conductivity=1.0,
                            heat_capacity=1.0, thermal_expansion=1.0)
    problem = BuoyantFlowProblem(domain, fluid, [0.0, -rayleigh * prandtl, 0.0],
                                 [FixedTemperature("hot", 1.0), FixedTemperature("cold", 0.0)],
                                 reference_temperature=0.5, inertia=True, linear_solver=linear_solver)
    problem.initial_conduction_guess(1.0 - domain.physical_coordinates()[0])
    problem.solve()
    return problem


def line_maximum(function, component, points):
    values = compat.evaluate(function, points)[:, component]
    i = int(np.argmax(values))
    return values[i]


@pytest.mark.parametrize("rayleigh, linear_solver", [(1e3, "direct"), (1e4, "direct"), (1e5, "direct"),
                                                     (1e6, "direct"), (1e3, "iterative"), (1e4, "iterative")])
def test_de_vahl_davis_cavity(rayleigh, linear_solver):
    """32 x 32 P2-P1-P2 on a uniform mesh: within 1 % of the benchmark up to Ra = 1e6
    (measured: 0.30 % on u_max there). Plain Newton from the conduction state fails from
    Ra = 1e6 on; the solver then continues in the buoyancy by itself."""
    problem = cavity(rayleigh, linear_solver=linear_solver)
    assert problem.rayleigh_number_per_kelvin_cubic_metre == pytest.approx(rayleigh)
    u = problem.velocity()
    s = np.linspace(0.0, 1.0, 2001)
    vertical = np.column_stack([np.full_like(s, 0.5), s, np.zeros_like(s)])
    horizontal = np.column_stack([s, np.full_like(s, 0.5), np.zeros_like(s)])
    u_max = line_maximum(u, 0, vertical)
    v_max = line_maximum(u, 1, horizontal)
    nusselt_hot = problem.wall_heat_flow("hot")
    nusselt_cold = -problem.wall_heat_flow("cold")
    u_ref, v_ref, nu_ref = DE_VAHL_DAVIS[rayleigh]
    assert u_max == pytest.approx(u_ref, rel=0.01)
    assert v_max == pytest.approx(v_ref, rel=0.01)
    assert nusselt_hot == pytest.approx(nu_ref, rel=0.01)
    assert nusselt_cold == pytest.approx(nusselt_hot, rel=1e-8)  # energy balance
    report = problem.report
    assert report.converged and report.reason.startswith("CONVERGED")
    if rayleigh >= 1e6:
        assert report.method == "continuation" and report.continuation[-1] == 1.0
    else:
        assert report.method == "newton" and report.iterations <= 20
    if linear_solver == "iterative":
        assert min(report.linear_iterations) > 1  # it did iterate (MUMPS takes one)


def test_steady_solver_without_continuation_says_what_to_do():
    from thermocfd.errors import SolverError

    with pytest.raises(SolverError, match="continuation"):
        sides = {"hot": lambda x: np.isclose(x[0], 0.0), "cold": lambda x: np.isclose(x[0], 1.0)}
        domain = structured_domain([1.0, 1.0], [16, 16], sides)
        fluid = FluidProperties(density=1.0, viscosity=ConstantViscosity(0.71), thermal_conductivity=1.0,
                                heat_capacity=1.0, thermal_expansion=1.0)
        problem = BuoyantFlowProblem(domain, fluid, [0.0, -1e6 * 0.71, 0.0],
                                     [FixedTemperature("hot", 1.0), FixedTemperature("cold", 0.0)],
                                     reference_temperature=0.5, inertia=True)
        problem.initial_conduction_guess(1.0 - domain.physical_coordinates()[0])
        problem.solve(continuation=False)


def test_steady_solver_tells_an_unsteady_flow_from_one_that_needs_continuation():
    """Ra = 1e9 in the cavity is unsteady (the steady branch loses stability near 1.8e8):
    continuation stalls, pseudo-time stepping does not settle, and the message says so."""
    from thermocfd.errors import SolverError

    with pytest.raises(SolverError, match="unsteady.*transient"):
        cavity(1e9, n=8)


def run_case(repo_root, tmp_path, name, *overrides):
    import thermocfd

    case = thermocfd.load_case(repo_root / "cases" / name, list(overrides) + ["output.pictures=false",
                                                                               "output.fields=false"])
    return thermocfd.run_case(case, tmp_path)


def test_side_heated_soret_cell_apparent_soret_error_grows_with_height(repo_root, tmp_path):
    errors = []
    for height in (25, 50, 100):
        results = run_case(repo_root, tmp_path / str(height), "soret_cell_gravity.toml", f'geometry.height="{height} um"',
                           'geometry.length="100 um"', "mesh.resolution=0.5")
        errors.append(results["apparent_soret_rel_error"])
        assert results["mass_change_rel"] < 1e-10
    assert errors[0] < 0.01 < errors[1] < errors[2]  # thin chambers are safe, thick ones are not
    assert errors[2] > 0.3
    no_gravity = run_case(repo_root, tmp_path / "g0", "soret_cell_gravity.toml", 'geometry.height="100 um"',
                          'geometry.length="100 um"', "mesh.resolution=0.5", "gravity=[0, 0, 0]")
    assert no_gravity["apparent_soret_rel_error"] < 0.005
    assert no_gravity["max_flow_speed"] < 1e-18


def test_thermogravitational_column_furry_jones_onsager(repo_root, tmp_path):
    results = run_case(repo_root, tmp_path, "thermogravitational_column.toml")
    # the regime of validity of the FJO limit, shown by the test parameters themselves:
    assert results["fjo_remixing_parameter"] > 100  # convective remixing >> diffusion across the gap
    assert results["rayleigh_number"] < 10  # conduction profile across the gap
    assert results["column_aspect_ratio"] >= 20  # end effects confined to the ends
    assert results["separation_fjo_rel"] < 0.1  # small separation: the linearised theory
    assert results["separation_top_bottom_rel"] == pytest.approx(results["separation_fjo_rel"], rel=0.05)


def test_laser_trap_accumulates_and_conserves_mass(repo_root, tmp_path):
    results = run_case(repo_root, tmp_path, "laser_trap.toml")
    assert results["mass_change_rel"] < 1e-8
    assert 2.0 < results["temperature_rise_max"] < 30.0
    assert results["accumulation_factor"] > 2.0  # trapped at the floor below the spot
    assert results["depletion_factor"] < 0.5  # thermophoresis empties the hot spot
    assert results["flow_to_drift_ratio"] > 0.1  # both mechanisms matter in a trap


def test_brownian_particles_fill_the_laser_trap_like_the_eulerian_solution(repo_root, tmp_path):
    """Tracking option of a convection case: particles in the computed flow and
    temperature gather where the Eulerian steady state has c > 2 c0."""
    results = run_case(repo_root, tmp_path, "laser_trap.toml", "tracking.enabled=true", "tracking.particles=10000")
    eulerian, particles = results["trap_fraction_eulerian"], results["trap_fraction_particles"]
    assert results["particle_counts"]["in_domain"] == 10000
    assert particles > 3 * results["trap_volume_fraction"]  # accumulation, not a uniform cloud
    # reflected Euler-Maruyama is weakly O(sqrt(dt)) next to walls and the trap hugs the
    # floor: at the default time step the particles see ~10 % less of it (measured:
    # 0.0344 at dt = 0.65 s, 0.0354 at dt = 0.15 s, against 0.0382)
    assert particles == pytest.approx(eulerian, rel=0.2)


def test_transient_convection_settles_on_the_steady_state(repo_root, tmp_path):
    """Flow, heat and solute advanced together for 5 solute relaxation times end where the
    steady solver does (40 steps: the heat transient is over within the first)."""
    steady = run_case(repo_root, tmp_path / "steady", "laser_trap.toml")
    transient = run_case(repo_root, tmp_path / "transient", "laser_trap.toml", "time.transient=true",
                         "time.steps=40")
    assert transient["flow_speed_change_last_10pct_rel"] < 1e-8
    assert transient["mass_change_max_rel"] < 1e-10
    for key in ("max_flow_speed", "temperature_rise_max", "accumulation_factor", "depletion_factor"):
        assert transient[key] == pytest.approx(steady[key], rel=1e-6), key


def test_heated_stripe_channel_moves_beads_and_balances_fluxes(repo_root, tmp_path):
    import dolfinx.fem
    import ufl
    from mpi4py import MPI

    results = run_case(repo_root, tmp_path, "heated_stripe_channel.toml")
    assert 3.0 < results["temperature_rise_max"] < 15.0
    assert results["c_min_rel"] < 0.5 < 2.0 < results["c_max_rel"]  # depleted off, piled up at the heater
    domain, c, u = results.domain, results.fields["concentration"], results.fields["velocity"]
    n = ufl.FacetNormal(domain.mesh)

    def flux(boundary):
        form = dolfinx.fem.form(c * ufl.dot(u, n) * domain.ds(boundary))
        return domain.comm.allreduce(dolfinx.fem.assemble_scalar(form), op=MPI.SUM)

    assert -flux("outlet") / flux("inlet") == pytest.approx(1.0, rel=0.01)  # what comes in goes out


def test_a_symmetry_plane_gives_the_mirrored_half_of_the_full_plume():
    """A plume over a heat source on the axis of a closed box: the half box with a
    symmetry plane (u.n = 0, no shear; insulated, which is T's mirror condition) equals the
    full box on that half (meshes with the mirror symmetry) to the solver tolerance."""
    from thermocfd.fem.convection import Symmetry

    fluid = FluidProperties(density=1.0, viscosity=ConstantViscosity(1.0), thermal_conductivity=1.0,
                            heat_capacity=1.0, thermal_expansion=1.0)

    def plume(x_min, sides, conditions):
        domain = structured_domain([1.0 - x_min, 1.0], [16 if x_min < 0 else 8, 8], sides, crossed=True)
        x = domain.physical_coordinates()  # the box [x_min, 1] x [0, 1] as [0, 1 - x_min] x [0, 1]
        source = 50.0 * ufl.exp(-20.0 * ((x[0] + x_min) ** 2 + (x[1] - 0.3) ** 2))
        problem = BuoyantFlowProblem(domain, fluid, [0.0, -2e3, 0.0], [FixedTemperature("top", 0.0)],
                                     reference_temperature=0.0, heat_sources=[(None, source)],
                                     flow_conditions=conditions)
        problem.initial_conduction_guess(0.0 * x[0])
        problem.solve()
        return problem.velocity(), problem.temperature()

    top = lambda x: np.isclose(x[1], 1.0)
    full_u, full_T = plume(-1.0, {"top": top}, [])
    half_u, half_T = plume(0.0, {"top": top, "axis": lambda x: np.isclose(x[0], 0.0)}, [Symmetry("axis")])
    points = np.array([[0.25, 0.3, 0.0], [0.5, 0.6, 0.0], [0.8, 0.2, 0.0], [0.0, 0.5, 0.0]])
    shifted = points + np.array([1.0, 0.0, 0.0])
    u_half, u_full = compat.evaluate(half_u, points), compat.evaluate(full_u, shifted)
    scale = np.abs(u_full).max()
    assert scale > 1e-2  # a real plume
    assert np.abs(u_half - u_full).max() < 1e-8 * scale
    assert abs(u_half[3, 0]) < 1e-12 * scale  # no flow through the plane
    assert np.allclose(compat.evaluate(half_T, points), compat.evaluate(full_T, shifted), rtol=1e-9, atol=0)
