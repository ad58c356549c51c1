"""A partitioned step's slices prefer a worker: slice i of n goes to block i * W // n of
the run's W workers, the same block for every step, so a slice's input stays where
the slice before it ran (the cluster itself is exercised in
tests/monitoring/test_scale_out.py)."""

from __future__ import annotations

from dask import get_annotations
from prefect.task_runners import ThreadPoolTaskRunner

from ragline.compiler.partitions import Part
from ragline.compiler.placement import Placement

WORKERS = ["tcp://10.0.0.2:4000", "tcp://10.0.0.1:4000"]


def test_slices_go_to_their_workers_in_contiguous_blocks_ordered_by_address() -> None:
    placement = Placement(WORKERS)

    chosen = [placement.worker_for(Part(i, 8)) for i in range(8)]

    assert chosen == ["tcp://10.0.0.1:4000"] * 4 + ["tcp://10.0.0.2:4000"] * 4


def test_every_step_cut_the_same_way_puts_slice_i_on_the_same_worker() -> None:
    placement = Placement([f"tcp://10.0.0.{n}:4000" for n in range(1, 4)])

    for count in (3, 5, 8):
        first = [placement.worker_for(Part(i, count)) for i in range(count)]
        again = [placement.worker_for(Part(i, count, (0, None))) for i in range(count)]
        assert first == again
        assert len(set(first)) == 3  # every worker gets slices


def test_more_workers_than_slices_uses_spread_out_workers() -> None:
    placement = Placement([f"tcp://10.0.0.{n}:4000" for n in range(1, 9)])

    assert [placement.worker_for(Part(i, 2)) for i in range(2)] == [
        "tcp://10.0.0.1:4000",
        "tcp://10.0.0.5:4000",
    ]


def test_a_slice_submitted_near_its_worker_is_annotated_as_a_preference_only() -> None:
    placement = Placement(WORKERS)

    with placement.near(Part(5, 8)):
        inside = get_annotations()

    assert inside == {"workers": ["tcp://10.0.0.2:4000"], "allow_other_workers": True}
    assert get_annotations() == {}


def test_threads_have_no_workers_to_prefer() -> None:
    placement = Placement.of(ThreadPoolTaskRunner(max_workers=2))

    assert placement.workers == []
    assert placement.worker_for(Part(0, 4)) is None
    with placement.near(Part(0, 4)):
        assert get_annotations() == {}
