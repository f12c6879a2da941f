"""Quantities with units in case files, converted to SI with pint.

Numbers are SI. Strings carry a unit: ``"25 um"``, ``"2 K"``, ``"1e-12 m^2/s"``,
``"25 degC"``. The expected physical dimension is given by an SI unit string (``"m"``,
``"K"``, ``"1/K"``...); a value of another dimension is an error naming the key.
"""

from __future__ import annotations

import functools
import math
import re

from .errors import CaseError

_NUMBER_AND_UNIT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


@functools.lru_cache(maxsize=1)
def registry():
    import pint

    return pint.UnitRegistry(autoconvert_offset_to_baseunit=True)


def to_si(value: object, unit: str, key: str) -> float:
    """Convert a case-file value (number or "number unit" string) to an SI float.

    ``unit`` is the SI unit the key is expressed in ("" for dimensionless).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise CaseError(key, value, f"expected a number{_unit_hint(unit)}")
    if isinstance(value, (int, float)):
        try:
            result = float(value)
        except OverflowError:  # an integer beyond double precision (TOML parses 10^400 as an int)
            raise CaseError(key, value, "must be a finite number") from None
    else:
        result = _parse_string(value, unit, key)
    if not math.isfinite(result):
        raise CaseError(key, value, "must be a finite number")
    return result


def _unit_hint(unit: str) -> str:
    return f" in {unit} or a string with a unit, e.g. '1 {unit}'" if unit else ""


def _parse_string(text: str, unit: str, key: str) -> float:
    match = _NUMBER_AND_UNIT.match(text)
    if not match:
        raise CaseError(key, text, f"expected a number with a unit{_unit_hint(unit)}")
    number, unit_text = float(match.group(1)), match.group(2)
    if not unit_text:
        return number
    ureg = registry()
    import pint

    try:
        quantity = ureg.Quantity(number, unit_text)
        target = ureg.Unit(unit) if unit else ureg.dimensionless
        return float(quantity.to(target).magnitude)
    except pint.DimensionalityError:
        expected = str(ureg.Unit(unit).dimensionality) if unit else "dimensionless"
        raise CaseError(key, text, f"wrong unit: expected {unit or 'a dimensionless number'} "
                        f"({expected})") from None
    except (pint.UndefinedUnitError, pint.errors.DefinitionSyntaxError, AttributeError,
            TypeError, ValueError, AssertionError):
        raise CaseError(key, text, f"unknown unit {unit_text!r}") from None
    except (ArithmeticError, KeyError, IndexError, RecursionError):
        # pint evaluates the unit text as an expression: "m/0", "m**1e400", deep nesting
        raise CaseError(key, text, f"not a unit: {unit_text!r}") from None
