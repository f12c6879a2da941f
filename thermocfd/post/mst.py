"""The MST assay as its user sees it: normalised fluorescence from time traces, the K_d
fit of a titration, the files the analysis tools read, and the pictures.

No FEM here (NumPy, SciPy, pandas, matplotlib): the MST pipeline computes the detected
signal F(t) of every capillary and hands it to these functions.

Windows (times relative to laser-on): F_cold is averaged over -1...0 s and F_hot over
19...20 s, as in BioPhyPy's MST analysis (steniegit/BioPhyPy, ``MST_data.py``:
``calc_fnorm(hot=20, cold=0)`` averages over ``[hot - 1, hot]`` and ``[cold - 1, cold]``),
which is the 20-s-laser default that DESIGN.md quotes; eSPC's MST tool (SPC facility,
EMBL Hamburg, SPC-Facility-EMBL-Hamburg/eSPC_biophysics_platform,
``thermoA_app/thermoAffinity/ui_files/ui_load_input_box.R``) opens with cold -1...0 s and
hot 20...21 s and, once a file is loaded, moves the hot window to 0...1 s
(``reactives/load_input_reactives.R``): that is the T-jump window used here. The vendor's
MO.Affinity Analysis defaults could not be checked here (its manual is not public).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..physics.binding import quadratic_fraction_bound

PER_MILLE = 1000.0
MOLAR = 1000.0  # mol/m^3 in 1 mol/L
CONCENTRATION_UNITS = {"M": MOLAR, "mM": 1e-3 * MOLAR, "uM": 1e-6 * MOLAR, "nM": 1e-9 * MOLAR}
"""mol/m^3 per unit, for the concentrations written to the instrument-style xlsx."""


# --- windows and F_norm --------------------------------------------------------------------
def _checked_window(name: str, window: Sequence[float]) -> tuple[float, float]:
    try:
        start, end = (float(v) for v in window)
    except (TypeError, ValueError):
        raise ValueError(f"{name} window must be (start, end) in s, got {window!r}") from None
    if not (math.isfinite(start) and math.isfinite(end) and end > start):
        raise ValueError(f"{name} window {window!r}: needs finite start < end (s after laser-on)")
    return start, end


@dataclass(frozen=True)
class MSTWindows:
    """Averaging windows in s relative to laser-on (defaults and their sources: module doc)."""

    cold: tuple[float, float] = (-1.0, 0.0)
    hot: tuple[float, float] = (19.0, 20.0)
    temperature_jump: tuple[float, float] = (0.0, 1.0)

    def __post_init__(self) -> None:
        for name in ("cold", "hot", "temperature_jump"):
            object.__setattr__(self, name, _checked_window(name, getattr(self, name)))


def window_mean(times, signal, start: float, end: float):
    """Mean over [start, end] of the piecewise-linear interpolant of the samples.

    Exact for a signal linear between samples, whether or not samples fall on the window
    edges (the open tools average the samples inside the window instead; on a uniform grid
    the two differ by the end-point weights only). ``signal``: shape (n_times,) or
    (n_traces, n_times). ValueError when the window is not inside the trace."""
    times = np.asarray(times, dtype=float)
    signal = np.asarray(signal, dtype=float)
    if times.ndim != 1 or times.size < 2 or signal.shape[-1] != times.size:
        raise ValueError(f"times must be 1D with one entry per sample (signal {signal.shape}, times {times.shape})")
    if not np.all(np.diff(times) > 0.0):
        raise ValueError("times must be strictly increasing")
    if start < times[0] or end > times[-1]:
        raise ValueError(f"window {start:g}...{end:g} s lies outside the trace ({times[0]:g}...{times[-1]:g} s)")
    nodes = np.concatenate(([start], times[(times > start) & (times < end)], [end]))
    left = np.clip(np.searchsorted(times, nodes, side="right") - 1, 0, times.size - 2)
    fraction = (nodes - times[left]) / (times[left + 1] - times[left])
    values = signal[..., left] * (1.0 - fraction) + signal[..., left + 1] * fraction
    return np.sum(0.5 * (values[..., 1:] + values[..., :-1]) * np.diff(nodes), axis=-1) / (end - start)


@dataclass(frozen=True)
class NormalisedFluorescence:
    """Window means (signal units) and F_norm = F_hot / F_cold in per mille; floats for one
    trace, arrays for several."""

    cold: float | np.ndarray
    hot: float | np.ndarray
    temperature_jump: float | np.ndarray
    f_norm: float | np.ndarray  # per mille
    f_norm_temperature_jump: float | np.ndarray  # per mille


def normalised_fluorescence(times, signal, laser_on: float = 0.0,
                            windows: MSTWindows = MSTWindows()) -> NormalisedFluorescence:
    """F_cold, F_hot, F_T-jump and F_norm (per mille) of one trace (``signal`` (n_times,))
    or of several on the same times ((n_traces, n_times)); ``laser_on`` on the clock of
    ``times`` (s). ValueError naming the window that is outside the trace."""
    relative = np.asarray(times, dtype=float) - float(laser_on)
    means = {}
    for name in ("cold", "hot", "temperature_jump"):
        try:
            means[name] = window_mean(relative, signal, *getattr(windows, name))
        except ValueError as error:
            raise ValueError(f"{name} window: {error} (times relative to laser-on at {laser_on:g} s)") from None
    cold = means["cold"]
    if np.any(np.asarray(cold) == 0.0):
        raise ValueError("F_cold is zero: F_norm is undefined")
    return NormalisedFluorescence(cold=cold, hot=means["hot"], temperature_jump=means["temperature_jump"],
                                  f_norm=PER_MILLE * means["hot"] / cold,
                                  f_norm_temperature_jump=PER_MILLE * means["temperature_jump"] / cold)


# --- traces and the titration --------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class CapillaryTrace:
    """One capillary's detected fluorescence (counts) against time (s, on the clock of
    ``laser_on``), with what the instrument export records about it. Concentrations in
    mol/m^3; ``mst_power`` and ``excitation_power`` in % (None: not recorded);
    ``temperature`` in K."""

    capillary: int
    ligand_concentration: float
    target_concentration: float
    times: np.ndarray
    fluorescence: np.ndarray
    laser_on: float = 0.0
    ligand: str = "ligand"
    target: str = "target"
    mst_power: float | None = None
    excitation_power: float | None = None
    temperature: float | None = None

    def __post_init__(self) -> None:
        times = np.asarray(self.times, dtype=float)
        fluorescence = np.asarray(self.fluorescence, dtype=float)
        where = f"capillary {self.capillary}"
        if times.ndim != 1 or times.size < 2 or fluorescence.shape != times.shape:
            raise ValueError(f"{where}: times and fluorescence must be 1D of one length "
                             f"(got {times.shape} and {fluorescence.shape})")
        if not np.all(np.diff(times) > 0.0):
            raise ValueError(f"{where}: times must be strictly increasing")
        if not (self.ligand_concentration >= 0.0 and self.target_concentration >= 0.0):
            raise ValueError(f"{where}: concentrations must be >= 0 mol/m^3")
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "fluorescence", fluorescence)

    @property
    def times_after_laser_on(self) -> np.ndarray:
        return self.times - self.laser_on


def normalise_traces(traces: Sequence[CapillaryTrace], windows: MSTWindows = MSTWindows()) -> NormalisedFluorescence:
    """:func:`normalised_fluorescence` of every trace (arrays in the order of ``traces``)."""
    results = [normalised_fluorescence(t.times, t.fluorescence, t.laser_on, windows) for t in traces]
    return NormalisedFluorescence(**{name: np.array([getattr(r, name) for r in results])
                                     for name in NormalisedFluorescence.__dataclass_fields__})


# --- the K_d fit ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class DissociationFit:
    """K_d fitted to F_norm(L_t) with ``F = F_u + (F_b - F_u) f_b(L_t; A_t, K_d)``.

    ``confidence_interval``: the profile-likelihood interval of K_d at
    ``confidence_level`` (0 or inf where the profile does not rise above the threshold
    within 1e4 times the titrated range: K_d is then not bounded by the data). Standard
    errors of F_u and F_b and of ln K_d are the linearised (Wald) ones."""

    dissociation_constant: float  # mol/m^3
    confidence_interval: tuple[float, float]  # mol/m^3
    confidence_level: float
    unbound: float  # F_u, units of f_norm
    bound: float  # F_b
    unbound_error: float
    bound_error: float
    log_dissociation_constant_error: float  # standard error of ln K_d
    residual_rms: float  # sqrt(mean(residual^2)), units of f_norm
    amplitude: float  # F_b - F_u
    signal_to_noise: float  # |amplitude| / residual standard deviation
    points: int
    target_total: np.ndarray  # mol/m^3, per point

    def model(self, ligand_total, target_total=None) -> np.ndarray:
        """The fitted curve at ``ligand_total`` (mol/m^3); ``target_total`` defaults to the
        fit's target concentration when it was the same for every point."""
        if target_total is None:
            if np.ptp(self.target_total) > 1e-12 * np.max(self.target_total, initial=0.0):
                raise ValueError("the titration had several target concentrations: pass target_total")
            target_total = self.target_total[0]
        fraction = quadratic_fraction_bound(target_total, np.asarray(ligand_total, dtype=float),
                                            self.dissociation_constant)
        return self.unbound + self.amplitude * fraction


def _profile(log_kd: np.ndarray, ligand, target, f_norm, weights):
    """Weighted RSS of the best (F_u, F_b) at each ln K_d, and those (F_u, F_b) (the
    signal is linear in them: variable projection)."""
    fraction = quadratic_fraction_bound(target, ligand, np.exp(np.asarray(log_kd, dtype=float))[..., None])
    root_w = np.sqrt(weights)
    design = np.stack([(1.0 - fraction) * root_w, fraction * root_w], axis=-1)  # (..., n, 2)
    coefficients = np.linalg.pinv(design) @ (root_w * f_norm)[..., None]
    residual = root_w * f_norm - (design @ coefficients)[..., 0]
    return np.sum(residual * residual, axis=-1), coefficients[..., 0]


def fit_dissociation_constant(ligand_total, f_norm, target_total, sigma=None, *, absolute_sigma: bool = False,
                              confidence_level: float = 0.95) -> DissociationFit:
    """Fit K_d, F_u and F_b to a titration (least squares; ``sigma`` per point gives
    weights 1/sigma^2, relative unless ``absolute_sigma``).

    ln K_d is the fitted variable (K_d stays positive, and a titration spaced evenly in
    log L resolves ln K_d evenly); F_u and F_b enter linearly and are solved exactly for
    every ln K_d, so RSS(ln K_d) is the exact profile, and its minimum is found on a grid
    over 1e-4...1e4 times the titrated range (481 points) and refined by Brent, with no
    starting guess to get wrong. The interval is where the profile stays
    below ``RSS_min (1 + F_{1, n-3}(level) / (n - 3))`` (sigma estimated from the
    residuals) or ``chi2_min + chi2_1(level)`` (absolute sigma): the profile-likelihood
    interval, asymmetric in K_d as the data make it.
    """
    from scipy import optimize, stats

    ligand = np.asarray(ligand_total, dtype=float)
    f_norm = np.asarray(f_norm, dtype=float)
    target = np.broadcast_to(np.asarray(target_total, dtype=float), ligand.shape).copy()
    if ligand.ndim != 1 or f_norm.shape != ligand.shape:
        raise ValueError(f"ligand_total and f_norm must be 1D of one length (got {ligand.shape}, {f_norm.shape})")
    points = ligand.size
    if points < 4:
        raise ValueError(f"a K_d fit has 3 parameters and needs at least 4 points, got {points}")
    if not (np.all(np.isfinite(ligand)) and np.all(ligand > 0.0)):
        raise ValueError("ligand concentrations must be positive and finite (mol/m^3)")
    if not (np.all(np.isfinite(target)) and np.all(target >= 0.0)):
        raise ValueError("target concentrations must be >= 0 and finite (mol/m^3)")
    if not np.all(np.isfinite(f_norm)):
        raise ValueError("f_norm must be finite")
    if sigma is None:
        weights = np.ones(points)
    else:
        sigma = np.broadcast_to(np.asarray(sigma, dtype=float), ligand.shape)
        if not np.all(np.isfinite(sigma) & (sigma > 0.0)):
            raise ValueError("sigma must be positive and finite")
        weights = 1.0 / sigma**2
    if not 0.0 < confidence_level < 1.0:
        raise ValueError(f"confidence_level must lie in (0, 1), got {confidence_level!r}")

    def rss(log_kd: float) -> float:
        return float(_profile(np.array(log_kd), ligand, target, f_norm, weights)[0])

    low, high = math.log(ligand.min()) - math.log(1e4), math.log(ligand.max()) + math.log(1e4)
    grid = np.linspace(low, high, 481)
    profile = _profile(grid, ligand, target, f_norm, weights)[0]
    best = int(np.argmin(profile))
    bracket = (grid[max(best - 1, 0)], grid[min(best + 1, grid.size - 1)])
    log_kd = float(optimize.minimize_scalar(rss, bounds=bracket, method="bounded",
                                            options={"xatol": 1e-12}).x)
    rss_at_best, coefficients = _profile(np.array(log_kd), ligand, target, f_norm, weights)
    rss_min, (unbound, bound) = float(rss_at_best), (float(c) for c in coefficients)

    dof = points - 3
    if absolute_sigma:
        threshold = rss_min + float(stats.chi2.ppf(confidence_level, 1))
    else:
        threshold = rss_min * (1.0 + float(stats.f.ppf(confidence_level, 1, dof)) / dof)

    def excess(x: float) -> float:
        return rss(x) - threshold

    below = grid < log_kd
    lower_side, upper_side = np.flatnonzero(below & (profile > threshold)), np.flatnonzero(~below & (profile > threshold))
    lower = (math.exp(optimize.brentq(excess, grid[lower_side[-1]], log_kd, xtol=1e-12))
             if lower_side.size else 0.0)
    upper = (math.exp(optimize.brentq(excess, log_kd, grid[upper_side[0]], xtol=1e-12))
             if upper_side.size else math.inf)

    # linearised errors: J = dF/d(ln K_d, F_u, F_b) at the optimum
    step = 1e-6
    fractions = [quadratic_fraction_bound(target, ligand, math.exp(log_kd + s)) for s in (-step, 0.0, step)]
    jacobian = np.column_stack([(bound - unbound) * (fractions[2] - fractions[0]) / (2.0 * step),
                                1.0 - fractions[1], fractions[1]])
    residual = f_norm - (unbound + (bound - unbound) * fractions[1])
    variance = 1.0 if absolute_sigma else rss_min / dof
    covariance = variance * np.linalg.pinv(jacobian.T @ (weights[:, None] * jacobian))
    errors = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    noise = math.sqrt(float(np.sum(residual * residual)) / dof)
    return DissociationFit(
        dissociation_constant=math.exp(log_kd), confidence_interval=(lower, upper),
        confidence_level=confidence_level, unbound=unbound, bound=bound,
        unbound_error=float(errors[1]), bound_error=float(errors[2]),
        log_dissociation_constant_error=float(errors[0]),
        residual_rms=math.sqrt(float(np.mean(residual * residual))), amplitude=bound - unbound,
        signal_to_noise=abs(bound - unbound) / noise if noise > 0.0 else math.inf,
        points=points, target_total=target)


# --- files ---------------------------------------------------------------------------------
TRACES_CSV_COLUMNS = ("capillary", "ligand_concentration_mol_per_m3", "target_concentration_mol_per_m3",
                      "time_after_laser_on_s", "fluorescence_counts")


def write_traces_csv(path: str | Path, traces: Sequence[CapillaryTrace]) -> Path:
    """All traces in one long table, one row per sample (SI; times after laser-on)."""
    import pandas as pd

    frames = [pd.DataFrame({TRACES_CSV_COLUMNS[0]: t.capillary, TRACES_CSV_COLUMNS[1]: t.ligand_concentration,
                            TRACES_CSV_COLUMNS[2]: t.target_concentration,
                            TRACES_CSV_COLUMNS[3]: t.times_after_laser_on, TRACES_CSV_COLUMNS[4]: t.fluorescence})
              for t in traces]
    path = Path(path)
    pd.concat(frames, ignore_index=True).to_csv(path, index=False)
    return path


DOSE_RESPONSE_CSV_HEADER = ("Capillary Index", "Response", "Ligand Concentration", "Target Concentration", "Buffer")


def write_dose_response_csv(path: str | Path, traces: Sequence[CapillaryTrace], response: Sequence[float],
                            buffer: str = "buffer") -> Path:
    """F_norm per capillary in NanoTemper's dose-response CSV layout, as eSPC's MST tool
    reads it (``thermoA_app/thermoAffinity/helpers.py``: a first line containing
    "capillary index" and "response", ';'-separated, columns by position; concentrations
    in mol/L, which the tool recognises and converts)."""
    response = np.asarray(response, dtype=float)
    if response.shape != (len(traces),):
        raise ValueError(f"one response per trace: {len(traces)} traces, response shape {response.shape}")
    if any(c in buffer for c in ";\n"):
        raise ValueError(f"buffer name {buffer!r} must not contain ';' or a line break")
    lines = [";".join(DOSE_RESPONSE_CSV_HEADER)]
    for trace, value in zip(traces, response):
        # repr of a Python float: the shortest exact digits (NumPy 2 spells its scalars np.float64(...))
        lines.append(f"{trace.capillary};{float(value)!r};{float(trace.ligand_concentration) / MOLAR!r};"
                     f"{float(trace.target_concentration) / MOLAR!r};{buffer}")
    path = Path(path)
    path.write_text("\n".join(lines) + "\n")
    return path


RAW_DATA_SHEET = "RawData"
"""Sheet and labels that the open tools look up in an MO.Control export (column A holds
the labels of the first capillary; capillary k's block is columns 3k (label / time),
3k + 1 (value / fluorescence) and an empty separator):

- eSPC ``thermoA_app/thermoAffinity/mst.py`` (``load_MST_xlsx``): sheet "RawData";
  column 0 labels "Time [s]" (the data start on the next row), "Ligand Concentration:",
  "Capillary Position:", "Ligand:", "TargetConcentration:"; values in columns 1 + 3k;
  the number of capillaries is (columns + 1) / 3; times from column 0;
- BioPhyPy ``MST_data.py``: sheet "RawData", "Time [s]" in column 0, "Ligand
  Concentration:" and "Ligand:" in every block of their rows, each value in the cell to
  the right of its label; concentrations read as uM (multiplied by 1e-6 to M).

The rows "Target:", "Concentration Unit:", "MST Power [%]:", "Excitation Power [%]:" and
"Temperature [°C]:" are thermocfd's own (for the reader; the tools do not look them up).
"""
TIME_LABEL = "Time [s]"
FLUORESCENCE_LABEL = "Raw Fluorescence [counts]"


def _metadata_rows(trace: CapillaryTrace, unit: str) -> list[tuple[str, object]]:
    scale = CONCENTRATION_UNITS[unit]

    def optional(value, convert=float):
        return None if value is None else convert(value)

    return [("Capillary Position:", int(trace.capillary)),
            ("Target:", trace.target),
            ("TargetConcentration:", trace.target_concentration / scale),
            ("Ligand:", trace.ligand),
            ("Ligand Concentration:", trace.ligand_concentration / scale),
            ("Concentration Unit:", unit.replace("u", "\u00b5")),
            ("MST Power [%]:", optional(trace.mst_power)),
            ("Excitation Power [%]:", optional(trace.excitation_power)),
            ("Temperature [\u00b0C]:", optional(trace.temperature, lambda T: float(T) - 273.15))]


def write_traces_xlsx(path: str | Path, traces: Sequence[CapillaryTrace], concentration_unit: str = "uM") -> Path:
    """The traces as an MO.Control-style export (:data:`RAW_DATA_SHEET`), readable by the
    open MST tools: per capillary the metadata rows, then "Time [s]" / "Raw Fluorescence
    [counts]" and the samples (times after laser-on). All traces must share their times
    after laser-on (the tools read one time column). ``concentration_unit``: one of
    :data:`CONCENTRATION_UNITS` (uM is what BioPhyPy assumes; eSPC asks the user)."""
    from openpyxl import Workbook

    if concentration_unit not in CONCENTRATION_UNITS:
        raise ValueError(f"concentration_unit {concentration_unit!r}: use one of {', '.join(CONCENTRATION_UNITS)}")
    if not traces:
        raise ValueError("no traces to write")
    times = traces[0].times_after_laser_on
    for trace in traces[1:]:
        other = trace.times_after_laser_on
        if other.shape != times.shape or not np.allclose(other, times, rtol=0.0, atol=1e-9 * max(1.0, np.ptp(times))):
            raise ValueError(f"capillary {trace.capillary}: its times after laser-on differ from capillary "
                             f"{traces[0].capillary}'s; the export has one time column (resample first)")
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = RAW_DATA_SHEET
    blocks = [_metadata_rows(trace, concentration_unit) for trace in traces]

    def row(pairs):
        cells: list = []
        for k, (label, value) in enumerate(pairs):
            cells += [label, value] + ([None] if k < len(pairs) - 1 else [])
        sheet.append(cells)

    for r in range(len(blocks[0])):
        row([block[r] for block in blocks])
    sheet.append([])
    row([(TIME_LABEL, FLUORESCENCE_LABEL)] * len(traces))
    for i, t in enumerate(times):
        row([(float(t), float(trace.fluorescence[i])) for trace in traces])
    path = Path(path)
    workbook.save(path)
    return path


# --- pictures ------------------------------------------------------------------------------
def format_concentration(value: float) -> str:
    """A concentration in mol/m^3 as the lab says it: '312 nM', '4.1 uM'."""
    if value == 0.0 or not math.isfinite(value):
        return f"{value:g}"
    molar = value / MOLAR
    units = (("M", 1.0), ("mM", 1e-3), ("\u00b5M", 1e-6), ("nM", 1e-9), ("pM", 1e-12))
    unit, scale = next((u for u in units if abs(molar) >= u[1]), units[-1])
    return f"{molar / scale:.3g} {unit}"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_traces(path: str | Path, traces: Sequence[CapillaryTrace], windows: MSTWindows = MSTWindows(),
                normalised: bool = True) -> Path:
    """Trace overlay: one colour per capillary (log colour scale of the ligand
    concentration), the cold, hot and T-jump windows shaded; F_norm (per mille, each trace
    divided by its F_cold) or the raw signal."""
    from matplotlib.colors import LogNorm

    plt = _pyplot()
    ligand = np.array([t.ligand_concentration for t in traces]) / MOLAR
    positive = ligand[ligand > 0.0]
    norm = LogNorm(vmin=positive.min(), vmax=positive.max()) if positive.size else None
    cmap = plt.get_cmap("viridis")
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for trace, c in zip(traces, ligand):
        y = trace.fluorescence
        if normalised:
            y = PER_MILLE * y / window_mean(trace.times_after_laser_on, y, *windows.cold)
        colour = cmap(norm(c)) if (norm is not None and c > 0.0) else "black"
        ax.plot(trace.times_after_laser_on, y, color=colour, lw=1.0)
    for (start, end), colour, label in ((windows.cold, "tab:blue", "cold"), (windows.hot, "tab:red", "hot"),
                                        (windows.temperature_jump, "tab:orange", "T-jump")):
        ax.axvspan(start, end, color=colour, alpha=0.2, label=label)
    if norm is not None:
        bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax)
        bar.set_label("ligand concentration (M)")
    ax.set_xlabel("time after laser-on (s)")
    ax.set_ylabel("F_norm (\u2030)" if normalised else "fluorescence (counts)")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_dose_response(path: str | Path, ligand, f_norm, fit: DissociationFit, sigma=None) -> Path:
    """F_norm against the ligand concentration (log axis, in M), the fitted quadratic
    model, and K_d with its confidence interval."""
    plt = _pyplot()
    ligand = np.asarray(ligand, dtype=float)
    fig, ax = plt.subplots(figsize=(6.0, 4.5))
    ax.errorbar(ligand / MOLAR, f_norm, yerr=sigma, fmt="o", color="black", ms=4, label="simulated F_norm")
    dense = np.geomspace(ligand.min() / 3.0, ligand.max() * 3.0, 400)
    if np.ptp(fit.target_total) <= 1e-12 * np.max(fit.target_total, initial=0.0):
        ax.plot(dense / MOLAR, fit.model(dense), color="tab:red", label="quadratic fit")
    kd, (lower, upper) = fit.dissociation_constant, fit.confidence_interval
    ax.axvline(kd / MOLAR, color="tab:red", ls="--", lw=1.0)
    ax.axvspan(max(lower, dense[0]) / MOLAR, min(upper, dense[-1]) / MOLAR, color="tab:red", alpha=0.15,
               label=f"K_d = {format_concentration(kd)} ({100 * fit.confidence_level:.0f} % CI "
                     f"{format_concentration(lower)} \u2013 {format_concentration(upper)})")
    ax.set_xscale("log")
    ax.set_xlabel("ligand concentration (M)")
    ax.set_ylabel("F_norm (\u2030)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
