"""The MST analysis layer without the FEM: window means and F_norm on traces with known
answers, the K_d fit (exact recovery, honest 95 % intervals over 200 noisy titrations),
the instrument-style files as the open tools read them, the pictures, and the
fluorophore, detection and bleaching laws."""

import math

import numpy as np
import pytest
from scipy.integrate import quad

from thermocfd.physics.binding import BindingEquilibrium, dilution_series, quadratic_fraction_bound
from thermocfd.physics.fluorescence import (DetectionProfile, ExponentialFluorophore, LinearFluorophore,
                                            Photobleaching)
from thermocfd.post.mst import (DOSE_RESPONSE_CSV_HEADER, RAW_DATA_SHEET, TRACES_CSV_COLUMNS, CapillaryTrace,
                                MSTWindows, fit_dissociation_constant, format_concentration, normalise_traces,
                                normalised_fluorescence, plot_dose_response, plot_traces, window_mean,
                                write_dose_response_csv, write_traces_csv, write_traces_xlsx)

NANOMOLAR = 1e-6  # mol/m^3
LIGAND = dilution_series(50e-3, 16)  # 50 uM down to 1.5 nM
TARGET = 50 * NANOMOLAR
KD = 300 * NANOMOLAR

# a piecewise-linear trace (times after laser-on): cold plateau, T-jump, slow depletion
KNOTS = np.array([-5.0, 0.0, 0.5, 30.0, 35.0])
LEVELS = np.array([1000.0, 1000.0, 960.0, 900.0, 990.0])


def trace_values(t):
    return np.interp(t, KNOTS, LEVELS)


def exact_mean(start, end):
    return quad(trace_values, start, end, points=KNOTS[(KNOTS > start) & (KNOTS < end)], epsabs=0.0,
                epsrel=1e-13)[0] / (end - start)


def irregular_times(seed=3):
    rng = np.random.default_rng(seed)
    return np.unique(np.concatenate([KNOTS, rng.uniform(-5.0, 35.0, 700)]))


def test_window_means_on_a_piecewise_linear_trace():
    times = irregular_times()
    signal = trace_values(times)
    for start, end in ((-1.0, 0.0), (0.0, 1.0), (19.0, 20.0), (-0.3, 0.7), (0.123, 0.456)):
        assert window_mean(times, signal, start, end) == pytest.approx(exact_mean(start, end), rel=1e-13)
    laser_on = 7.25  # the simulation clock starts 12.25 s before the first sample
    result = normalised_fluorescence(times + laser_on, signal, laser_on)
    assert result.cold == pytest.approx(1000.0, rel=1e-14)
    assert result.hot == pytest.approx(exact_mean(19.0, 20.0), rel=1e-13)
    assert result.f_norm == pytest.approx(1000.0 * exact_mean(19.0, 20.0) / 1000.0, rel=1e-13)
    assert result.f_norm_temperature_jump == pytest.approx(exact_mean(0.0, 1.0), rel=1e-13)
    # several traces at once
    stacked = normalised_fluorescence(times, np.vstack([signal, 2.0 * signal]))
    assert np.allclose(stacked.f_norm, result.f_norm, rtol=1e-14)


def test_windows_outside_the_trace_are_an_error():
    times = np.linspace(-0.5, 25.0, 200)
    with pytest.raises(ValueError, match=r"cold window: window -1...0 s lies outside the trace"):
        normalised_fluorescence(times, trace_values(times))
    with pytest.raises(ValueError, match="hot window"):
        normalised_fluorescence(times, trace_values(times), windows=MSTWindows(cold=(-0.5, 0.0), hot=(24.5, 25.5)))
    with pytest.raises(ValueError, match="start < end"):
        MSTWindows(hot=(20.0, 19.0))


@pytest.mark.parametrize("target, kd", [(TARGET, KD), (5000 * NANOMOLAR, KD), (1 * NANOMOLAR, 20 * NANOMOLAR)])
def test_fit_recovers_kd_from_noise_free_titration(target, kd):
    f_norm = 905.0 - 18.0 * quadratic_fraction_bound(target, LIGAND, kd)
    fit = fit_dissociation_constant(LIGAND, f_norm, target)
    assert fit.dissociation_constant == pytest.approx(kd, rel=1e-6)
    assert fit.unbound == pytest.approx(905.0, rel=1e-9) and fit.amplitude == pytest.approx(-18.0, rel=1e-6)
    lower, upper = fit.confidence_interval
    assert lower <= kd <= upper and upper / lower < 1.0 + 1e-4
    assert np.allclose(fit.model(LIGAND), f_norm, rtol=1e-9)


def test_fit_intervals_cover_the_truth():
    """200 titrations with 1 per-mille noise on an 18 per-mille amplitude: the 95 % profile
    interval must contain the true K_d in 90-99 % of them."""
    rng = np.random.default_rng(2026)
    clean = 905.0 - 18.0 * quadratic_fraction_bound(TARGET, LIGAND, KD)
    covered, widths = 0, []
    for _ in range(200):
        fit = fit_dissociation_constant(LIGAND, clean + rng.normal(0.0, 1.0, LIGAND.size), TARGET)
        lower, upper = fit.confidence_interval
        covered += lower <= KD <= upper
        widths.append(upper / lower)
    assert 0.90 <= covered / 200 <= 0.99
    assert 1.2 < np.median(widths) < 5.0  # informative, not trivially wide
    assert fit.signal_to_noise == pytest.approx(18.0, rel=0.5)
    assert fit.residual_rms == pytest.approx(1.0, rel=0.5)


def test_fit_without_signal_reports_an_open_interval():
    rng = np.random.default_rng(5)
    fit = fit_dissociation_constant(LIGAND, 900.0 + rng.normal(0.0, 1.0, LIGAND.size), TARGET)
    lower, upper = fit.confidence_interval
    assert lower == 0.0 or upper == math.inf


def titration_traces(laser_on=5.0):
    """16 capillaries whose F_norm follows the quadratic model exactly (piecewise-linear
    traces, different brightness per capillary, T-jump to 97 %)."""
    f_norm = 905.0 - 18.0 * BindingEquilibrium(KD).fraction_bound(TARGET, LIGAND)
    times = np.arange(-5.0, 30.0 + 1e-9, 0.1) + laser_on
    traces = []
    for k, (ligand, value) in enumerate(zip(LIGAND, f_norm)):
        cold = 1000.0 * (1.0 + 0.03 * k)
        levels = cold * np.array([1.0, 1.0, 0.97, value / 1000.0, value / 1000.0])
        signal = np.interp(times - laser_on, [-5.0, 0.0, 0.4, 15.0, 30.0], levels)
        traces.append(CapillaryTrace(k + 1, float(ligand), TARGET, times, signal, laser_on=laser_on,
                                     ligand="compound 7", target="labelled protein", mst_power=40.0,
                                     excitation_power=20.0, temperature=298.15))
    return traces, f_norm


def test_titration_of_traces_gives_back_kd():
    traces, f_norm = titration_traces()
    normalised = normalise_traces(traces)
    assert np.allclose(normalised.f_norm, f_norm, rtol=1e-13)
    fit = fit_dissociation_constant([t.ligand_concentration for t in traces], normalised.f_norm, TARGET)
    assert fit.dissociation_constant == pytest.approx(KD, rel=1e-6)


def test_xlsx_has_the_layout_the_open_tools_read(tmp_path):
    pd = pytest.importorskip("pandas")
    openpyxl = pytest.importorskip("openpyxl")
    traces, _ = titration_traces()
    path = write_traces_xlsx(tmp_path / "traces.xlsx", traces)
    assert openpyxl.load_workbook(path).sheetnames == [RAW_DATA_SHEET] == ["RawData"]
    data = pd.read_excel(pd.ExcelFile(path), "RawData", index_col=None, header=None)
    labels = list(data.iloc[:, 0].values)

    def row_of(label):
        return labels.index(label)

    # eSPC thermoAffinity (load_MST_xlsx): labels in column 0, values in columns 1 + 3k
    first_sample = row_of("Time [s]") + 1
    capillaries = (len(data.iloc[first_sample, :]) + 1) / 3
    assert capillaries == len(traces)
    value_columns = [1 + 3 * k for k in range(len(traces))]
    ligand_uM = np.array(data.iloc[row_of("Ligand Concentration:"), value_columns]).astype(float)
    assert np.allclose(ligand_uM, LIGAND / 1e-3, rtol=1e-12)
    assert list(data.iloc[row_of("Capillary Position:"), value_columns]) == list(range(1, 17))
    assert data.iloc[row_of("Ligand:"), 1] == "compound 7"
    target_uM = np.array(data.iloc[row_of("TargetConcentration:"), value_columns]).astype(float)
    assert np.allclose(target_uM, TARGET / 1e-3, rtol=1e-12)
    signal = np.array(data.iloc[first_sample:, value_columns]).astype(float)
    times = np.array(data.iloc[first_sample:, 0]).astype(float)
    assert np.allclose(times, traces[0].times_after_laser_on, rtol=0.0, atol=1e-12)
    assert np.allclose(signal, np.column_stack([t.fluorescence for t in traces]), rtol=1e-14)
    # BioPhyPy (MST_data): the label in every block, its value in the next column
    row = np.array(data.iloc[row_of("Ligand Concentration:"), :])
    assert list(np.argwhere(row == "Ligand Concentration:").squeeze() + 1) == value_columns
    names = np.array(data.iloc[row_of("Ligand:"), :])
    assert list(np.argwhere(names == "Ligand:").squeeze() + 1) == value_columns
    # F_norm from the file with the tools' windows equals ours
    back = normalised_fluorescence(times, signal.T)
    assert np.allclose(back.f_norm, normalise_traces(traces).f_norm, rtol=1e-13)


def test_xlsx_refuses_traces_on_different_times(tmp_path):
    traces, _ = titration_traces()
    shifted = CapillaryTrace(99, 1e-3, TARGET, traces[1].times[::2], traces[1].fluorescence[::2])
    with pytest.raises(ValueError, match="capillary 99"):
        write_traces_xlsx(tmp_path / "bad.xlsx", [traces[0], shifted])
    with pytest.raises(ValueError, match="concentration_unit"):
        write_traces_xlsx(tmp_path / "bad.xlsx", traces, concentration_unit="ppm")


def test_csv_files(tmp_path):
    pd = pytest.importorskip("pandas")
    traces, f_norm = titration_traces()
    table = pd.read_csv(write_traces_csv(tmp_path / "traces.csv", traces))
    assert tuple(table.columns) == TRACES_CSV_COLUMNS
    assert len(table) == sum(t.times.size for t in traces)
    third = table[table.capillary == 3]
    assert np.allclose(third.fluorescence_counts, traces[2].fluorescence, rtol=1e-15)
    assert np.allclose(third.time_after_laser_on_s, traces[2].times_after_laser_on, rtol=1e-15)
    assert third.ligand_concentration_mol_per_m3.iloc[0] == traces[2].ligand_concentration
    # NanoTemper's dose-response CSV as eSPC's loader detects and reads it (by position)
    path = write_dose_response_csv(tmp_path / "dose.csv", traces, f_norm)
    lines = path.read_text().splitlines()
    assert "capillary index" in lines[0].lower() and "response" in lines[0].lower()
    assert all(len(line.split(";")) == len(DOSE_RESPONSE_CSV_HEADER) for line in lines)
    dose = pd.read_csv(path, sep=";")
    assert np.allclose(dose.iloc[:, 1], f_norm, rtol=1e-15)
    assert np.allclose(dose.iloc[:, 2], LIGAND / 1000.0, rtol=1e-15)  # mol/L
    assert np.allclose(dose.iloc[:, 3], TARGET / 1000.0, rtol=1e-15)


def test_pictures(tmp_path):
    traces, f_norm = titration_traces()
    fit = fit_dissociation_constant(LIGAND, f_norm + np.random.default_rng(1).normal(0, 1.0, LIGAND.size), TARGET)
    for path in (plot_traces(tmp_path / "traces.png", traces), plot_traces(tmp_path / "raw.png", traces,
                                                                          normalised=False),
                 plot_dose_response(tmp_path / "dose.png", LIGAND, f_norm, fit, sigma=1.0)):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    assert format_concentration(KD) == "300 nM" and format_concentration(4.1e-3) == "4.1 \u00b5M"


def test_fluorophore_laws():
    linear, exponential = LinearFluorophore(-0.015, 298.15), ExponentialFluorophore(-0.015, 298.15)
    assert linear.brightness(298.15) == 1.0 == exponential.brightness(298.15)
    assert linear.brightness(302.15) == pytest.approx(1.0 - 0.06, rel=1e-14)
    assert exponential.brightness(302.15) == pytest.approx(math.exp(-0.06), rel=1e-14)
    h = 1e-4
    assert (exponential.brightness(298.15 + h) - exponential.brightness(298.15 - h)) / (2 * h) == pytest.approx(
        -0.015, rel=1e-7)


def test_detection_profile_widths_and_volume():
    profile = DetectionProfile(center=(1e-3, 0.0, 2e-4), lateral_radius=20e-6, depth_of_field=60e-6)
    centre = np.array(profile.center)
    assert profile.weight(centre) == 1.0
    assert profile.weight(centre + [20e-6, 0.0, 0.0]) == pytest.approx(math.exp(-2.0), rel=1e-14)
    assert profile.weight(centre + [0.0, 20e-6 / math.sqrt(2), 20e-6 / math.sqrt(2) * 3]) == pytest.approx(
        math.exp(-1.0 - 2.0 * (3 * 20 / math.sqrt(2) / 60) ** 2), rel=1e-13)
    assert profile.weight(centre + [0.0, 0.0, 60e-6]) == pytest.approx(math.exp(-2.0), rel=1e-14)
    # the integral over a box of +-4 widths (Gaussian: the trapezoid rule is spectrally exact)
    axes = [c + np.linspace(-4.0, 4.0, 81) * w for c, w in zip(profile.center, (20e-6, 20e-6, 60e-6))]
    grid = np.stack(np.meshgrid(*axes, indexing="ij")).reshape(3, -1)
    cell = np.prod([a[1] - a[0] for a in axes])
    assert np.sum(profile.weight(grid)) * cell == pytest.approx(profile.volume(), rel=1e-6)
    # 2D cross-section (x along the capillary, y optical)
    section = DetectionProfile(center=(0.0, 1e-4), lateral_radius=20e-6, depth_of_field=60e-6, optical_axis=1)
    assert section.weight(np.array([[20e-6], [1e-4 + 60e-6]]))[0] == pytest.approx(math.exp(-4.0), rel=1e-14)
    with pytest.raises(ValueError, match="3D centre"):
        profile.weight(np.zeros((2, 4)))


def test_detection_and_fluorophore_accept_ufl():
    ufl = pytest.importorskip("ufl")
    import dolfinx.mesh  # a mesh of either dolfinx version (UFL 2024 has no VectorElement)
    from mpi4py import MPI

    x = ufl.SpatialCoordinate(dolfinx.mesh.create_unit_cube(MPI.COMM_SELF, 1, 1, 1))
    profile = DetectionProfile(center=(1e-4, 0.0, 2e-4), lateral_radius=20e-6, depth_of_field=60e-6)
    point = (1.1e-4, -5e-6, 2.3e-4)
    assert profile.weight(x)(point) == pytest.approx(float(profile.weight(np.array(point))), rel=1e-14)
    T = 298.15 + 1e4 * x[0]
    law = ExponentialFluorophore(-0.01)
    assert law.brightness(T)(point) == pytest.approx(law.brightness(298.15 + 1.1), rel=1e-14)


def test_photobleaching_factor():
    bleaching = Photobleaching(0.01)
    factor = bleaching.factor([-1.0, 0.0, 10.0, 30.0], excitation_start=0.0)
    assert np.allclose(factor, [1.0, 1.0, math.exp(-0.1), math.exp(-0.3)], rtol=1e-15)
    with pytest.raises(ValueError, match="rate"):
        Photobleaching(-1.0)
