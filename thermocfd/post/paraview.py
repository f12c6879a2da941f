"""``open_in_paraview.py``: the ParaView state script written with every run.

The script is static: it finds the run's series (``fields/*.pvd``) next to itself when
it runs, so a run folder copied off a cluster opens the same way. It loads every series
(the fields and the particle clouds), colours the fields by temperature, cuts a slice
through the domain's centre normal to its thinnest axis (3D), puts velocity glyphs on the
slice (or on the 2D domain) where a velocity is stored, shows particle clouds as points
and goes to the last time step.

    paraview --script=open_in_paraview.py            # interactive
    xvfb-run -a pvpython open_in_paraview.py --screenshot view.png   # no display
"""

from __future__ import annotations

from pathlib import Path

SCRIPT_NAME = "open_in_paraview.py"

STATE_SCRIPT = '''"""Open this thermocfd run in ParaView (written by thermocfd; safe to edit).

    paraview --script=open_in_paraview.py
    xvfb-run -a pvpython open_in_paraview.py --screenshot view.png   # no display

Loads every series in fields/ (field files: colour by temperature, a slice through the
centre normal to the thinnest axis in 3D, velocity glyphs where a velocity is stored;
particle clouds: points coloured by their net speed), then goes to the last time step.
"""

import glob
import os
import sys

from paraview.simple import (ColorBy, GetActiveViewOrCreate, GetAnimationScene, GetColorTransferFunction,
                             GetScalarBar, Glyph, Hide, PVDReader, Render, SaveScreenshot, Show, Slice)

try:
    HERE = os.path.dirname(os.path.abspath(__file__))
except NameError:  # run from the GUI's Python shell: the run folder is the working directory
    HERE = os.getcwd()


def find_array(source, name):
    """The point array called NAME or "NAME [unit]", or None."""
    for key in source.PointData.keys():
        if key == name or key.startswith(name + " ["):
            return key
    return None


def colour(display, source, name, view, position=(0.89, 0.1)):
    """Colour by the point array NAME (with its unit), its colour bar at POSITION."""
    array = find_array(source, name)
    if array is None:
        return None
    ColorBy(display, ("POINTS", array))
    display.RescaleTransferFunctionToDataRange(True, False)
    display.SetScalarBarVisibility(view, True)
    bar = GetScalarBar(GetColorTransferFunction(array), view)
    bar.WindowLocation = "Any Location"  # at the edges, clear of the domain
    bar.Position = list(position)
    bar.ScalarBarLength = 0.8
    bar.RangeLabelFormat = bar.LabelFormat = "%-#.4g"
    return array


def add_glyphs(source, velocity, extent, view):
    """Arrows of one length (5 % of the domain) along the velocity, coloured by speed:
    the direction shows everywhere, also where the flow is slow."""
    glyphs = Glyph(registrationName="velocity glyphs", Input=source, GlyphType="Arrow")
    glyphs.OrientationArray = ["POINTS", velocity]
    glyphs.ScaleArray = ["POINTS", "No scale array"]
    glyphs.ScaleFactor = 0.05 * extent
    glyphs.GlyphMode = "Uniform Spatial Distribution (Bounds Based)"
    glyphs.MaximumNumberOfSamplePoints = 300
    display = Show(glyphs, view)
    colour(display, glyphs, velocity, view, position=[0.02, 0.1])
    GetColorTransferFunction(velocity).ApplyPreset("Cool to Warm", True)
    return glyphs


def main(argv):
    view = GetActiveViewOrCreate("RenderView")
    view.OrientationAxesVisibility = 1
    view.ViewSize = [1200, 800]
    shown_field = False
    planar, camera = True, None
    for path in sorted(glob.glob(os.path.join(HERE, "fields", "*.pvd"))):
        name = os.path.splitext(os.path.basename(path))[0]
        reader = PVDReader(registrationName=name, FileName=path)
        reader.UpdatePipeline(reader.TimestepValues[-1] if reader.TimestepValues else 0.0)
        info = reader.GetDataInformation()
        display = Show(reader, view)
        if info.GetDataSetTypeAsString() == "vtkPolyData":  # a particle cloud
            display.SetRepresentationType("Points")
            display.PointSize = 3
            colour(display, reader, "mean_speed", view, position=(0.15, 0.1))
            continue
        if shown_field:  # one field series in view; the others are loaded, hidden
            Hide(reader, view)
            continue
        shown_field = True
        bounds = info.GetBounds()
        extents = [bounds[2 * a + 1] - bounds[2 * a] for a in range(3)]
        size = max(extents)
        planar = min(extents) <= 1e-9 * size
        centre = [0.5 * (bounds[2 * a] + bounds[2 * a + 1]) for a in range(3)]
        temperature = colour(display, reader, "temperature", view)
        velocity = find_array(reader, "velocity") or find_array(reader, "gas_velocity")
        section = reader
        if not planar:
            display.Opacity = 0.25
            thinnest = extents.index(min(extents))
            section = Slice(registrationName="slice", Input=reader)
            section.SliceType = "Plane"
            section.SliceType.Origin = centre
            section.SliceType.Normal = normal = [1.0 if a == thinnest else 0.0 for a in range(3)]
            up = [0.0, 1.0, 0.0] if thinnest == 2 else [0.0, 0.0, 1.0]
            camera = ([c + 3.0 * size * n for c, n in zip(centre, normal)], centre, up)  # onto the slice
            section_display = Show(section, view)
            if temperature:
                colour(section_display, section, "temperature", view)
        if velocity:
            add_glyphs(section, velocity, size, view)
        if temperature:
            GetColorTransferFunction(temperature).ApplyPreset("Inferno (matplotlib)", True)
    scene = GetAnimationScene()
    scene.UpdateAnimationUsingDataTimeSteps()
    scene.AnimationTime = scene.EndTime
    view.InteractionMode = "2D" if planar else "3D"
    if camera is not None:
        view.CameraPosition, view.CameraFocalPoint, view.CameraViewUp = camera
    view.ResetCamera()
    Render(view)
    if "--screenshot" in argv:
        SaveScreenshot(argv[argv.index("--screenshot") + 1], view, ImageResolution=[1200, 800])


main(sys.argv)
'''


def write_state_script(out_dir: str | Path) -> Path:
    """Write ``out_dir/open_in_paraview.py`` (call on one rank); returns its path."""
    from ..output import write_atomic

    path = Path(out_dir) / SCRIPT_NAME
    write_atomic(path, STATE_SCRIPT)
    return path
