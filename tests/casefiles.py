"""Writing case files from tables in tests (the inverse of tomllib for the simple TOML
that case files use: scalars, arrays and nested tables)."""

import json


def to_toml(table: dict, prefix: str = "") -> str:
    plain = {k: v for k, v in table.items() if not isinstance(v, dict)}
    nested = {k: v for k, v in table.items() if isinstance(v, dict)}
    lines = [f"{key} = {json.dumps(value)}" for key, value in plain.items()]
    for key, value in nested.items():
        name = f"{prefix}{key}"
        lines += [f"\n[{name}]", to_toml(value, prefix=f"{name}.")]
    return "\n".join(lines)
