"""Turning files into `Document`s: finding them, reading each format, reporting bad ones.

A bad file never stops the others: each problem is a `FileProblem` naming the
file, what is wrong with it and how to fix it.
"""

from ragline.ingest.discover import FileProblem, discover
from ragline.ingest.readers import FORMATS, read_file

__all__ = ["FORMATS", "FileProblem", "discover", "read_file"]
