"""thermocfd: continuum simulation of colloidal thermophoresis in microfluidics.

The Python API mirrors the command line::

    import thermocfd
    case = thermocfd.load_case("cases/soret_cell.toml", overrides=["temperature.hot=310"])
    results = thermocfd.run_case(case, "results/soret")
    results["c_ratio_cold_hot"]
"""

__version__ = "0.1.0"

from .case import Case, load_case  # noqa: E402
from .errors import CaseError, ThermocfdError  # noqa: E402


def run_case(case: Case, out_dir="results", resume: bool = False):
    """Run a case (see :func:`thermocfd.pipelines.run_case`); imports FEniCSx lazily.
    ``resume``: continue from the last checkpoint in ``out_dir`` (``--resume``)."""
    from .pipelines import run_case as _run_case

    return _run_case(case, out_dir, resume=resume)


__all__ = ["Case", "CaseError", "ThermocfdError", "load_case", "run_case", "__version__"]
