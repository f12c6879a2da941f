"""Particle mesh builders: named regions/boundaries, curved cells, and clear messages for
bad input (non-positive radius, particle overlapping a wall or another particle, missing
particle tags in an imported mesh)."""

import dolfinx.fem
import numpy as np
import pytest
import ufl

from thermocfd.errors import ThermocfdError
from thermocfd.fem.mesh import structured_domain
from thermocfd.fem.mobility import MobilityProblem, Particle
from thermocfd.fem.particle_mesh import (GeometryError, SphereSpec, channel_with_spheres,
                                         particle_near_wall, sphere_in_box, spheres_in_box)


def test_sphere_in_box_regions_and_boundaries():
    a = 2e-6
    domain = sphere_in_box(a, 3 * a, surface_size=0.6 * a, far_size=2 * a)
    assert set(domain.regions) == {"fluid", "particle"}
    assert set(domain.boundaries) == {"particle_surface", "xmin", "xmax", "ymin", "ymax", "zmin", "zmax"}
    assert domain.length_scale == a
    # the particle surface is an interior interface: tagged facets exist somewhere
    n_surface = domain.comm.allreduce(domain.facet_tags.find(domain.boundaries["particle_surface"]).size)
    assert n_surface > 0
    # curved (quadratic) cells: surface nodes lie on the unit sphere (scaled coordinates)
    x = domain.mesh.geometry.x
    r = np.linalg.norm(x, axis=1)
    near = np.abs(r - 1.0) < 0.01  # interior nodes sit >= ~0.03 off the sphere (gmsh 4.8 and 4.13)
    assert near.sum() > 0 and np.allclose(r[near], 1.0, atol=1e-6)
    # and no curved cell is inverted (the cells curving would fold stay straight)
    inverted = ufl.conditional(ufl.lt(ufl.det(ufl.Jacobian(domain.mesh)), 0.0), 1.0, 0.0)
    form = dolfinx.fem.form(inverted * ufl.dx(domain=domain.mesh, metadata={"quadrature_degree": 4}))
    assert domain.comm.allreduce(dolfinx.fem.assemble_scalar(form)) == 0.0


def test_near_wall_and_channel_names():
    domain = particle_near_wall(1.0, 2.5, half_width=4.0, height=6.0, surface_size=0.6, far_size=2.0)
    assert set(domain.boundaries) == {"particle_surface", "wall", "outer"}
    assert domain.metadata["wall_distance"] == 2.5
    channel = channel_with_spheres(8.0, 3.0, 3.0, [SphereSpec((4.0, 1.5, 1.5), 0.5, "bead")],
                                   surface_size=0.4, far_size=1.5)
    assert set(channel.boundaries) == {"bead_surface", "inlet", "outlet", "walls"}
    assert set(channel.regions) == {"fluid", "bead"}


@pytest.mark.parametrize("radius", [0.0, -1e-6, float("nan")])
def test_non_positive_radius(radius):
    with pytest.raises(GeometryError, match="radius must be positive"):
        sphere_in_box(radius, 1e-5)
    with pytest.raises(ThermocfdError, match="radius"):
        particle_near_wall(radius, 2e-6)


def test_particle_overlapping_wall():
    with pytest.raises(GeometryError, match="overlaps the wall"):
        particle_near_wall(1e-6, 0.8e-6)
    with pytest.raises(GeometryError, match="overlaps or touches the wall 'xmax'"):
        spheres_in_box([SphereSpec((4.5e-6, 0.0, 0.0), 1e-6)], (-5e-6,) * 3, (5e-6,) * 3)


def test_particles_overlapping_each_other():
    spheres = [SphereSpec((0.0, 0.0, 0.0), 1e-6, "a"), SphereSpec((1.5e-6, 0.0, 0.0), 1e-6, "b")]
    with pytest.raises(GeometryError, match="particles 'a' and 'b' overlap"):
        spheres_in_box(spheres, (-5e-6,) * 3, (5e-6,) * 3)


def test_missing_particle_tags_in_imported_mesh():
    domain = structured_domain([1.0, 1.0, 1.0], [2, 2, 2], {"walls": lambda x: np.full(x.shape[1], True)})
    with pytest.raises(ThermocfdError, match="particle surface 'bead_surface' is not a tagged boundary"):
        MobilityProblem(domain, 1e-3, [Particle("bead", "bead_surface", (0.5, 0.5, 0.5))])
    domain.boundaries["bead_surface"] = 1
    with pytest.raises(ThermocfdError, match="particle region 'bead' is not a tagged region"):
        MobilityProblem(domain, 1e-3, [Particle("bead", "bead_surface", (0.5, 0.5, 0.5))])
