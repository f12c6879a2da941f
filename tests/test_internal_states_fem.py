"""FEM for internal-state thermophoresis against the fast-switching limit and the
finite-rate 1D reference: ratio, fitted S_T and its sign, convergence in the rate and in
the mesh, the steady cycle of currents, mass to round-off with stiff switching, two ranks."""

import json
import math
import sys
from pathlib import Path

import dolfinx.mesh
import numpy as np
import pytest
import ufl
from mpi4py import MPI
from scipy.integrate import trapezoid

import mms
from mpirun import needs_mpirun, on_two_ranks
from thermocfd.fem.internal_states import InternalStateTransportProblem
from thermocfd.fem.mesh import Domain, structured_domain
from thermocfd.physics import BOLTZMANN, ConstantDiffusivity
from thermocfd.physics.internal_states import (damkohler_number, fast_switching_ratio, solve_cell_reference,
                                               two_state_model)
from thermocfd.pipelines.soret_cell import fit_soret_coefficient, wall_average

KT = BOLTZMANN * 300.0
L = 1e-4
T_HOT, T_COLD = 320.0, 280.0
WALLS = {"hot": lambda x: np.isclose(x[0], 0.0), "cold": lambda x: np.isclose(x[0], 1.0),
         "walls": lambda x: np.full(x.shape[1], True)}


def model_of(rate_prefactor, diffusivity_ratio=10.0, energy_difference=10.0):
    """Two states half populated at 300 K; Da = 0.0165 x rate_prefactor for L = 100 um."""
    return two_state_model(energy_difference * KT, [ConstantDiffusivity(1e-11),
                                                    ConstantDiffusivity(diffusivity_ratio * 1e-11)],
                           degeneracy_ratio=math.exp(energy_difference), rate_prefactor=rate_prefactor)


def interval_cell(cells: int, comm=MPI.COMM_WORLD) -> Domain:
    """[0, L] as a dolfinx interval mesh with boundaries hot (x = 0) and cold (x = L)."""
    mesh = dolfinx.mesh.create_interval(comm, cells, [0.0, 1.0])
    tdim = mesh.topology.dim
    mesh.topology.create_connectivity(tdim - 1, tdim)
    facets, values = [], []
    for tag, name in ((1, "hot"), (2, "cold")):
        found = dolfinx.mesh.locate_entities_boundary(mesh, 0, WALLS[name])
        facets.append(found)
        values.append(np.full(found.size, tag, dtype=np.int32))
    order = np.argsort(np.concatenate(facets))
    facet_tags = dolfinx.mesh.meshtags(mesh, 0, np.concatenate(facets)[order].astype(np.int32),
                                       np.concatenate(values)[order])
    num_cells = mesh.topology.index_map(tdim).size_local + mesh.topology.index_map(tdim).num_ghosts
    cell_tags = dolfinx.mesh.meshtags(mesh, tdim, np.arange(num_cells, dtype=np.int32),
                                      np.ones(num_cells, dtype=np.int32))
    return Domain(mesh, cell_tags, facet_tags, {"fluid": 1}, {"hot": 1, "cold": 2}, L)


def strip_cell(cells: int, comm=MPI.COMM_WORLD) -> Domain:
    return structured_domain([1.0, 0.25], [cells, max(2, cells // 4)], WALLS, comm=comm, length_scale=L)


def steady_cell(domain, model, T_hot=T_HOT, T_cold=T_COLD, **options):
    x = domain.physical_coordinates()
    T = T_hot + (T_cold - T_hot) * x[0] / L
    problem = InternalStateTransportProblem(domain, T, model, reference_temperature=0.5 * (T_hot + T_cold),
                                            **options)
    volume = L * (0.25 * L if domain.dim == 2 else 1.0)
    problem.solve_steady(total_mass=volume)
    rho = problem.total_density
    ratio = wall_average(domain, rho, "cold") / wall_average(domain, rho, "hot")
    return problem, ratio, T


@pytest.mark.parametrize("diffusivity_ratio", [10.0, 0.2], ids=["D2>D1", "D2<D1"])
def test_fast_switching_2d_ratio_soret_fit_and_its_sign(diffusivity_ratio):
    model = model_of(1e12, diffusivity_ratio)  # Da = 1.7e10
    domain = strip_cell(16)
    problem, ratio, _ = steady_cell(domain, model)
    expected = float(model.mean_diffusivity(T_HOT) / model.mean_diffusivity(T_COLD))
    assert ratio == pytest.approx(expected, rel=1e-2)
    assert (ratio - 1.0) * (diffusivity_ratio - 1.0) > 0.0  # D2 > D1 (E2 > E1): thermophobic
    assert min(c.x.array.min() for c in problem.concentrations) > 0.0  # M-matrix at Da = 1e10
    # small dT: S_T = Cov(D, E)/(k_B T^2 <D>), positive or negative with Cov
    small, _, T = steady_cell(domain, model, 301.0, 299.0)
    fit = fit_soret_coefficient(domain, small.total_density, T)
    p1 = 0.5  # exactly half populated at 300 K
    cov = p1 * (1 - p1) * (diffusivity_ratio - 1.0) * 1e-11 * 10.0 * KT
    soret = cov / (BOLTZMANN * 300.0**2 * 0.5 * (1.0 + diffusivity_ratio) * 1e-11)
    assert soret == pytest.approx(float(model.soret_coefficient(300.0)), rel=1e-12)
    assert fit == pytest.approx(soret, rel=1e-2)
    assert np.sign(fit) == np.sign(diffusivity_ratio - 1.0)


def test_converges_to_the_fast_limit_as_the_rates_grow_and_matches_the_reference():
    fast = fast_switching_ratio(model_of(1.0), T_HOT, T_COLD)
    domain = interval_cell(400)
    rows = []
    for rate_prefactor in (1e3, 1e4, 1e5):
        model = model_of(rate_prefactor)
        _, ratio, _ = steady_cell(domain, model)
        reference = solve_cell_reference(model, L, T_HOT, T_COLD).c_ratio_cold_hot
        rows.append((damkohler_number(model, L, 300.0), ratio / fast - 1.0, reference / fast - 1.0))
    print("\n   Da    FEM dev     reference dev")
    for row in rows:
        print(f"{row[0]:8.3g} {row[1]:+.4e} {row[2]:+.4e}")
    fem_dev = np.array([row[1] for row in rows])
    assert np.all(np.diff(np.abs(fem_dev)) < 0.0)
    assert fem_dev[0] < -0.1  # 15 % below the fast limit at Da = 16.5 ...
    for _, fem, reference in rows:  # ... where FEM and reference agree within 1 %
        assert abs((1 + fem) / (1 + reference) - 1.0) < 1e-2 * abs(reference)


def test_mesh_convergence_against_the_reference_observed_rate():
    model = model_of(1e4)  # Da = 165: layers of 0.06 L, c_ratio 5 % below the fast limit
    reference = solve_cell_reference(model, L, T_HOT, T_COLD)
    ns = [40, 80, 160, 320]
    ratio_errors, entropy_errors = [], []
    for n in ns:
        problem, ratio, _ = steady_cell(interval_cell(n), model)
        ratio_errors.append(abs(ratio / reference.c_ratio_cold_hot - 1.0))
        entropy = problem.flux_norms()["entropy_production_cycle"]
        entropy_errors.append(abs(entropy / reference.entropy_production_total - 1.0))
    ratio_rates = mms.observed_rates([1.0 / n for n in ns], ratio_errors)
    entropy_rates = mms.observed_rates([1.0 / n for n in ns], entropy_errors)
    print("\nratio errors", ratio_errors, "rates", ratio_rates)
    print("entropy errors", entropy_errors, "rates", entropy_rates)
    assert min(ratio_rates) > 1.9 and min(entropy_rates) > 1.9
    assert ratio_errors[-1] < 1e-4 and entropy_errors[-1] < 1e-3


def test_p2_converges_faster():
    model = model_of(1e4)
    reference = solve_cell_reference(model, L, T_HOT, T_COLD)
    ns = [10, 20, 40]
    errors = [abs(steady_cell(interval_cell(n), model, degree=2)[1] / reference.c_ratio_cold_hot - 1.0) for n in ns]
    rates = mms.observed_rates([1.0 / n for n in ns], errors)
    print("\nP2 ratio errors", errors, "rates", rates)
    assert min(rates) > 2.9 and errors[-1] < 1e-5


def test_steady_cycle_state_fluxes_without_total_flux_and_its_entropy_production():
    model = model_of(1e4)
    reference = solve_cell_reference(model, L, T_HOT, T_COLD)
    problem, _, _ = steady_cell(interval_cell(160), model)
    norms = problem.flux_norms()
    state = np.array(norms["state_flux_l2"])
    assert np.all(state > 0.0)
    assert norms["total_flux_l2"] < 1e-10 * state.max()
    # the reference's net switching flux, integrated: what the FEM transition flux carries
    r = np.abs(reference.transition_fluxes[(0, 1)])
    assert norms["transition_flux_l1"][0] == pytest.approx(trapezoid(r, reference.x), rel=2e-3)
    assert norms["entropy_production_cycle"] > 0.0
    assert norms["entropy_production_cycle"] == pytest.approx(reference.entropy_production_total, rel=1e-3)
    fields = problem.flux_fields()
    assert set(fields) == {"flux_state1", "flux_state2", "total_flux", "transition_flux_0_1",
                           "entropy_production_cycle"}
    assert fields["entropy_production_cycle"].x.array.min() >= 0.0
    assert np.abs(fields["total_flux"].x.array).max() < 1e-9 * np.abs(fields["flux_state1"].x.array).max()


@pytest.mark.parametrize("flow", [False, True], ids=["still", "swirl"])
@pytest.mark.parametrize("rate_prefactor", [1e4, 1e8], ids=["Da165", "Da1.7e6"])
def test_mass_conserved_to_round_off_in_stiff_transients(flow, rate_prefactor):
    """Start at the global populations of the mean temperature: local equilibrium is then
    broken everywhere and relaxes while the density drifts (BDF1, BDF2). The round-off
    floor of the solve grows with k dt (8e4 per step at Da = 1.7e6)."""
    model = model_of(rate_prefactor)
    domain = structured_domain([1.0, 1.0], [12, 12], WALLS, length_scale=L)
    x = domain.physical_coordinates()
    T = T_HOT + (T_COLD - T_HOT) * x[0] / L
    velocity = 2e-7 * ufl.as_vector(mms.velocity(x / L)) if flow else None  # cell Peclet 0.1
    problem = InternalStateTransportProblem(domain, T, model, velocity=velocity, reference_temperature=300.0)
    p = model.populations(300.0)
    problem.initialise([p[0], p[1]])
    mass0 = problem.total_mass()
    changes = []
    for step in range(12):
        problem.advance(0.05 * problem.time_scale, order=1 if step < 2 else 2)
        changes.append(abs(problem.total_mass() / mass0 - 1.0))
        assert min(c.x.array.min() for c in problem.concentrations) > 0.0
    print("\nmax relative mass change", max(changes))
    assert max(changes) < (1e-12 if rate_prefactor < 1e6 else 1e-11)
    assert problem.total_mass() == pytest.approx(L * L, rel=1e-12)


def test_transient_relaxes_to_the_steady_state():
    model = model_of(1e4)
    domain = interval_cell(40)
    steady, _, T = steady_cell(domain, model)
    target = steady.solution.x.array.copy()
    problem = InternalStateTransportProblem(domain, T, model, reference_temperature=300.0)
    problem.initialise(1.0, total_mass=L)
    distances = []
    for _ in range(40):  # 4 L^2/<D>: forty slowest relaxation times L^2/(pi^2 <D>)
        problem.advance(0.1 * problem.time_scale)
        distances.append(np.abs(problem.solution.x.array - target).max())
    assert distances[-1] < 1e-8 * np.abs(target).max()
    assert problem.total_mass() == pytest.approx(L, rel=1e-12)


def test_species_confined_to_its_region():
    """The species lives in the hot half (region fluid) of a strip whose cold half is a
    solid: no-flux at the interface, zero outside, the fast limit over 320 K to 300 K."""
    domain = strip_cell(16)
    midpoints = dolfinx.mesh.compute_midpoints(domain.mesh, 2, np.arange(domain.cell_tags.indices.size,
                                                                          dtype=np.int32))
    values = np.where(midpoints[:, 0] < 0.5, 1, 2).astype(np.int32)
    domain.cell_tags = dolfinx.mesh.meshtags(domain.mesh, 2, domain.cell_tags.indices, values)
    domain.regions = {"fluid": 1, "solid": 2}
    model = model_of(1e12)
    problem, _, _ = steady_cell(domain, model, regions=["fluid"])
    assert problem.total_mass() == pytest.approx(L * 0.25 * L, rel=1e-12)
    rho = problem.total_density
    nodes = problem.concentrations[0].function_space.tabulate_dof_coordinates()[:, 0]
    assert np.all(rho.x.array[nodes > 0.5 + 1e-9] == 0.0) and np.all(rho.x.array[nodes < 0.5 + 1e-9] > 0.0)
    hot, interface = rho.x.array[np.isclose(nodes, 0.0)], rho.x.array[np.isclose(nodes, 0.5)]
    expected = float(model.mean_diffusivity(T_HOT) / model.mean_diffusivity(300.0))
    assert interface.mean() / hot.mean() == pytest.approx(expected, rel=1e-6)


def two_rank_numbers() -> dict:
    problem, ratio, T = steady_cell(strip_cell(12), model_of(1e4))
    numbers = problem.flux_norms()
    numbers.update(c_ratio_cold_hot=ratio, mass=problem.total_mass(),
                   soret_coefficient_fit=fit_soret_coefficient(problem.domain, problem.total_density, T))
    return numbers


@pytest.mark.mpi
@needs_mpirun
@pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="launches its own mpirun")
def test_two_ranks_give_the_serial_numbers(tmp_path):
    out = tmp_path / "n2.json"
    run = on_two_ranks([sys.executable, Path(__file__).resolve(), out], cwd=Path(__file__).resolve().parents[1])
    assert run.returncode == 0, run.stderr[-3000:]
    parallel = json.loads(out.read_text())
    serial = two_rank_numbers()
    for numbers in (serial, parallel):  # zero to round-off, which differs between the runs
        assert numbers.pop("total_flux_l2") < 1e-10 * max(numbers["state_flux_l2"])
    for key, value in serial.items():
        assert np.allclose(parallel[key], value, rtol=1e-9, atol=0.0), (key, value, parallel[key])


if __name__ == "__main__":  # mpirun -n 2 python tests/test_internal_states_fem.py OUT.json
    numbers = two_rank_numbers()
    if MPI.COMM_WORLD.rank == 0:
        Path(sys.argv[1]).write_text(json.dumps(numbers))


def test_states_with_their_own_soret_laws_second_order_and_fast_limit():
    """Free and bound forms of a molecule (the MST target), each with its own S_T. One
    state alone: rho ∝ exp(-S_T dT), the Galerkin Soret drift (no exponential fitting)
    converging as h^2. Two fast-switching states: rho ∝ exp(-int S_T dT) with
    S_T = (Cov_p(D, E)/(k_B T^2) + sum p_i D_i S_T,i)/<D> (Da = 1.7e7: the finite-rate
    layers and the conditioning of the stiff system each leave < 1e-3)."""
    import dataclasses

    from thermocfd.physics import ConstantSoret
    from thermocfd.physics.internal_states import InternalState, InternalStateModel, soret_exponent

    alone = InternalStateModel((InternalState("free", 0.0, ConstantDiffusivity(1e-11), soret=ConstantSoret(0.02)),))
    expected = math.exp(-0.02 * (T_COLD - T_HOT))
    errors = [abs(steady_cell(interval_cell(cells), alone)[1] / expected - 1.0) for cells in (8, 16, 32)]
    rates = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert errors[-1] < 2e-3 and np.all(rates > 1.9), (errors, rates)

    base = model_of(1e9, diffusivity_ratio=0.5, energy_difference=4.0)
    states = (dataclasses.replace(base.states[0], soret=ConstantSoret(0.02)),
              dataclasses.replace(base.states[1], soret=ConstantSoret(-0.01)))
    model = InternalStateModel(states, base.transitions)
    expected = math.exp(-soret_exponent(model, T_HOT, T_COLD))
    _, ratio, _ = steady_cell(interval_cell(64), model)
    assert ratio == pytest.approx(expected, rel=1e-3)
    without_own = math.exp(-soret_exponent(base, T_HOT, T_COLD))
    assert abs(expected / without_own - 1.0) > 0.1  # the states' own drift matters here
