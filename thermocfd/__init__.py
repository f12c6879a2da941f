"""thermocfd: continuum simulation of colloidal thermophoresis in microfluidics."""

__version__ = "0.1.0"
