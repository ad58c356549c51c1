"""Tests of the built-in step types, one module per type (`test_<type>.py`).

A package, so these modules do not clash with same-named ones elsewhere under tests/.
"""
