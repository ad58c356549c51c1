"""Operations: Prefect deployments, schedules, serving and run listings.

Nothing here is imported by `ragline validate`; every module imports Prefect
lazily or is itself only imported by the commands that need a server.
"""
