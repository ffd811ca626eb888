"""Build hook for the cffi extension modules.

Every ``<package>/_build_<name>.py`` that defines ``ffibuilder`` is compiled by
``pip install``; adding a C component needs no change here.
"""
import glob

from setuptools import setup

cffi_modules = sorted(
    f"{path}:ffibuilder" for path in glob.glob("*/_build_*.py")
)

setup(cffi_modules=cffi_modules)
