"""The Soret cell end to end (Python API == CLI) against the analytic references."""

import json
import math
import re

import numpy as np
import pytest

import tomllib

import thermocfd
from thermocfd.case import apply_overrides, case_from_dict
from thermocfd.errors import ThermocfdError

CASE = "cases/soret_cell.toml"


def run(repo_root, tmp_path, *overrides):
    """The shipped Soret cell with overrides; with a mesh.file the file replaces [geometry]."""
    path = repo_root / CASE
    raw = apply_overrides(tomllib.loads(path.read_text()), list(overrides) + ["output.pictures=false"])
    if "file" in raw.get("mesh", {}):
        del raw["geometry"]
    return thermocfd.run_case(case_from_dict(raw, source=str(path)), tmp_path)


@pytest.mark.parametrize("soret_dT, tolerance", [(0.5, 2e-3), (10.0, 1e-2)])
def test_steady_ratio_and_mass(repo_root, tmp_path, soret_dT, tolerance):
    results = run(repo_root, tmp_path, f"solute.soret_coefficient={soret_dT / 10.0}")
    assert results["c_ratio_cold_hot"] == pytest.approx(math.exp(soret_dT), rel=tolerance)
    assert results["mass_change_rel"] < 1e-10
    assert results["soret_coefficient_fit"] == pytest.approx(soret_dT / 10.0, rel=1e-3)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["c_ratio_cold_hot"] == results["c_ratio_cold_hot"]
    assert summary["inputs"]["solute"]["soret_coefficient"] == {"law": "constant", "value": soret_dT / 10.0}
    assert (tmp_path / "fields" / "soret_cell.pvd").exists()


def test_piazza_soret_and_stokes_einstein_profile(repo_root, tmp_path):
    """S_T(T) changes sign inside the cell; D(T) from water's viscosity."""
    results = run(repo_root, tmp_path,
                  'solute.soret_coefficient={law="piazza", s_inf="0.2 1/K", t_star="298 K", t0="8 K"}',
                  'solute.diffusivity={law="stokes_einstein", radius="20 nm"}', "mesh.degree=2")
    assert results["profile_max_rel_error"] < 5e-3
    assert results["c_ratio_cold_hot"] == pytest.approx(results["c_ratio_expected"], rel=1e-3)
    assert results["mass_change_rel"] < 1e-10


@pytest.mark.parametrize("soret_dT", [0.5, 4.0])
def test_transient_relaxation_time(repo_root, tmp_path, soret_dT):
    results = run(repo_root, tmp_path, "time.transient=true", f"solute.soret_coefficient={soret_dT / 10.0}",
                  "output.fields=false")
    L, D = 1e-4, 1e-11
    expected = 1.0 / (D * (math.pi**2 / L**2 + (soret_dT / L) ** 2 / 4))
    assert results["relaxation_time"] == pytest.approx(expected, rel=0.02)
    assert results["relaxation_time_reference"] == pytest.approx(expected, rel=1e-12)
    assert results["mass_change_rel"] < 1e-10


def test_three_dimensional_box(repo_root, tmp_path):
    results = run(repo_root, tmp_path, "geometry.dimension=3", "mesh.resolution=0.4",
                  "solute.soret_coefficient=0.2")
    assert results["c_ratio_cold_hot"] == pytest.approx(math.exp(2.0), rel=1e-6)
    assert results["mass_change_rel"] < 1e-10


def test_imported_gmsh_mesh(repo_root, tmp_path):
    results = run(repo_root, tmp_path, 'mesh.file="../meshes/two_wall_cell_2d.msh"', 'mesh.unit="1 um"')
    assert results["c_ratio_cold_hot"] == pytest.approx(math.exp(0.5), rel=1e-6)
    assert results["num_cells"] > 100


def _as_vtu(repo_root, tmp_path, tag_data="tags", fluid_tag=10):
    """The shipped gmsh mesh rewritten by meshio as VTU with bare integer tags (no names)."""
    import meshio

    mesh = meshio.read(repo_root / "meshes" / "two_wall_cell_2d.msh")
    cell_data = {}
    if tag_data:
        cell_data[tag_data] = [np.where(block.dim == 2, fluid_tag, values)
                               for block, values in zip(mesh.cells, mesh.cell_data["gmsh:physical"])]
    path = tmp_path / "cell.vtu"
    meshio.write(path, meshio.Mesh(mesh.points, mesh.cells, cell_data=cell_data))
    return path


def test_imported_meshio_mesh_with_named_tags(repo_root, tmp_path):
    """Any meshio format: a VTU with integer tags named in the case file runs like the .msh."""
    path = _as_vtu(repo_root, tmp_path)
    reference = run(repo_root, tmp_path / "msh", 'mesh.file="../meshes/two_wall_cell_2d.msh"', 'mesh.unit="1 um"')
    results = run(repo_root, tmp_path / "vtu", f'mesh.file="{path}"', 'mesh.unit="1 um"',
                  "mesh.tags={fluid = 10, hot = 1, cold = 2, walls = 3}")
    assert results["num_cells"] == reference["num_cells"]
    assert results["c_ratio_cold_hot"] == pytest.approx(reference["c_ratio_cold_hot"], rel=1e-12)


@pytest.mark.parametrize("overrides, message", [
    ((), "mesh has no boundary named 'hot'"),
    (("mesh.tags={hot = 7}",), "no cells or facets carry tag 7 (named 'hot')"),
    (("mesh.tags={hot = -1}",), "mesh.tags.hot"),
])
def test_imported_meshio_mesh_bad_tags(repo_root, tmp_path, overrides, message):
    path = _as_vtu(repo_root, tmp_path)
    with pytest.raises(ThermocfdError, match=re.escape(message)):
        run(repo_root, tmp_path / "out", f'mesh.file="{path}"', *overrides)


def test_imported_meshio_mesh_without_tags(repo_root, tmp_path):
    path = _as_vtu(repo_root, tmp_path, tag_data=None)
    with pytest.raises(ThermocfdError, match="no integer cell tags"):
        run(repo_root, tmp_path / "out", f'mesh.file="{path}"')
