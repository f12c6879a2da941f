"""Convergence plots of the manufactured-solution tests (log-log error against h).

    .venv/bin/python benchmarks/convergence_plots.py   # writes cases/gallery/convergence.png
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
logging.getLogger().setLevel(logging.WARNING)

import mms  # noqa: E402
import test_heat  # noqa: E402
import test_transport  # noqa: E402


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for degree, marker in ((1, "o"), (2, "s")):
        ns = [4, 8, 16, 32] if degree == 1 else [4, 8, 16]
        h = np.array([1.0 / n for n in ns])
        heat = [test_heat.solve_mms(n, degree, advect=True) for n in ns]
        transport = [test_transport.solve_mms(n, degree, peclet=1.0) for n in ns]
        for ax, errors, label in ((axes[0], heat, "heat"), (axes[1], transport, "Soret transport")):
            rate = mms.observed_rates(list(h), errors)[-1]
            ax.loglog(h, errors, marker=marker, label=f"P{degree}: rate {rate:.2f}")
            ax.loglog(h, errors[-1] * (h / h[-1]) ** (degree + 1), "k:", lw=0.8)
            ax.set(xlabel="h", ylabel="L2 error", title=f"{label}: manufactured solution")
    for ax in axes:
        ax.grid(alpha=0.3, which="both")
        ax.legend()
    target = ROOT / "cases" / "gallery" / "convergence.png"
    target.parent.mkdir(exist_ok=True)
    fig.savefig(target, dpi=90)
    print(target)


if __name__ == "__main__":
    main()
