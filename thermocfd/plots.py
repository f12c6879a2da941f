"""Line plots with matplotlib (off-screen, Agg)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def soret_profile_figure(profile: dict, path: Path, steady: bool, decay=None,
                         reference_label: str = r"steady $\propto e^{-\int S_T\,dT}$") -> None:
    """Temperature and concentration across a Soret cell, with the analytic profile."""
    plt = _pyplot()
    panels = 3 if decay is not None else 2
    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 3.6), constrained_layout=True)
    x_um = np.asarray(profile["x"]) * 1e6
    axes[0].plot(x_um, profile["T"], color="tab:red")
    axes[0].set(xlabel="x (µm)", ylabel="T (K)", title="temperature")
    axes[1].semilogy(x_um, profile["c"], "o", ms=3, color="tab:blue",
                     label="thermocfd" if steady else "thermocfd (end of run)")
    axes[1].semilogy(x_um, profile["c_reference"], "-", color="black", lw=1,
                     label=reference_label)
    axes[1].set(xlabel="x (µm)", ylabel="c", title="concentration")
    axes[1].legend(fontsize=8)
    if decay is not None:
        time, distance = decay
        axes[2].semilogy(time, np.asarray(distance) / distance[0], color="tab:green")
        axes[2].set(xlabel="t (s)", ylabel=r"$\|c - c_\infty\| / \|c_0 - c_\infty\|$", title="relaxation")
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def histogram_figure(centres, histogram, stderr, eulerian, path: Path) -> None:
    """Tracked-particle histogram (with 2 standard errors) against the Eulerian solution."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.8), constrained_layout=True)
    x_um = np.asarray(centres) * 1e6
    ax.errorbar(x_um, histogram, yerr=2 * np.asarray(stderr), fmt="o", ms=4, capsize=2,
                label="Brownian particles (±2 s.e.)")
    ax.plot(x_um, eulerian, "-", color="black", lw=1.2, label="Eulerian steady state (FEM)")
    ax.set(xlabel="x (µm), hot wall at left", ylabel="c / mean c", title="tracking vs transport solver")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)
