"""Workflow model -> Prefect flow. Imports Prefect; `ragline.spec` never does."""
