// Two-wall (Soret) cell, 2D, in micrometres: hot wall at x = 0, cold wall at x = 100.
// Regenerate: gmsh -2 -format msh41 two_wall_cell_2d.geo -o two_wall_cell_2d.msh
// Case files use it with [mesh] file = "meshes/two_wall_cell_2d.msh", unit = "1 um".
L = 100;   // wall distance
H = 25;    // height
lc = 4;    // target element size
Point(1) = {0, 0, 0, lc};
Point(2) = {L, 0, 0, lc};
Point(3) = {L, H, 0, lc};
Point(4) = {0, H, 0, lc};
Line(1) = {1, 2};
Line(2) = {2, 3};
Line(3) = {3, 4};
Line(4) = {4, 1};
Curve Loop(1) = {1, 2, 3, 4};
Plane Surface(1) = {1};
Physical Surface("fluid", 1) = {1};
Physical Curve("hot", 1) = {4};
Physical Curve("cold", 2) = {2};
Physical Curve("walls", 3) = {1, 3};
