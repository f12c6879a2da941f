"""Elementary functions that work on NumPy arrays, Python floats and UFL expressions.

Physics laws are written once with these and evaluated by the FEM solvers (UFL), by the
particle tracker and by the analytic references (NumPy). ufl is imported only when a UFL
expression is passed, so this module does not depend on the FEniCSx stack.
"""

from __future__ import annotations

import numpy as np


def _is_ufl(x) -> bool:
    return hasattr(x, "ufl_shape")


def _dispatch(name: str, ufl_name: str | None = None):
    numpy_function = getattr(np, name)

    def function(x):
        if _is_ufl(x):
            import ufl

            return getattr(ufl, ufl_name or name)(x)
        return numpy_function(x)

    function.__name__ = name
    function.__doc__ = f"{name}(x) for NumPy values and UFL expressions."
    return function


exp = _dispatch("exp")
ln = _dispatch("log", "ln")  # ufl.log is the logging module
sqrt = _dispatch("sqrt")
sin = _dispatch("sin")
cos = _dispatch("cos")
tanh = _dispatch("tanh")


def positive_part(x):
    """max(x, 0) for NumPy values and UFL expressions."""
    if _is_ufl(x):
        import ufl

        return ufl.max_value(x, 0.0)
    return np.maximum(x, 0.0)


def where_nonnegative(x, if_nonnegative, if_negative):
    """``if_nonnegative`` where x >= 0, else ``if_negative`` (NumPy or UFL)."""
    if _is_ufl(x):
        import ufl

        return ufl.conditional(ufl.ge(x, 0.0), if_nonnegative, if_negative)
    return np.where(np.asarray(x) >= 0.0, if_nonnegative, if_negative)
