"""The report's plots are real pictures: PNGs of the expected size with something drawn in them."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from kfval.report import plots


def picture(data: bytes) -> Image.Image:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.convert("RGB")


def colours(image: Image.Image) -> set[tuple[int, int, int]]:
    return {pixel for _, pixel in image.getcolors(maxcolors=1 << 24) or []}


@pytest.mark.parametrize(
    "data",
    [
        plots.loss_curves(
            {"mnist-master-0": [(0.0, 2.3), (0.5, 0.4), (1.0, 0.2)], "mnist-worker-0": [(0.0, 2.2)]},
            title="mnist: training loss per rank",
        ),
        plots.against_threshold("accuracy", [(1.0, 0.95), (2.0, 0.97)], threshold=0.9662, comparison=">="),
        plots.against_threshold("cross entropy", [(1.0, 2400.0)], threshold=2277.07, comparison="<"),
        plots.phase_timeline(
            [("a-0", "Pending", 0.0, 1.0), ("a-0", "Running", 1.0, 5.0), ("a-0", "Succeeded", 5.0, 6.0)],
            title="pod phases",
        ),
        plots.trend(
            {"suite duration (s)": [60.0, None, 75.0], "M: accuracy": [0.97, 0.96, 0.98]}, runs=["a", "b", "c"]
        ),
    ],
    ids=["loss", "accuracy", "cross-entropy", "phases", "trend"],
)
def test_each_plot_is_a_png_with_a_drawing_in_it(data: bytes) -> None:
    image = picture(data)

    assert image.width >= 600 and image.height >= 80
    assert len(colours(image)) > 20  # lines, text and fills, not a blank canvas


def test_a_value_on_the_wrong_side_of_its_threshold_is_drawn_red() -> None:
    red = tuple(int(plots.FAIL_COLOUR[i : i + 2], 16) for i in (1, 3, 5))
    green = tuple(int(plots.PASS_COLOUR[i : i + 2], 16) for i in (1, 3, 5))

    failing = colours(picture(plots.against_threshold("a", [(1.0, 0.5)], threshold=0.9, comparison=">=")))
    passing = colours(picture(plots.against_threshold("a", [(1.0, 0.95)], threshold=0.9, comparison=">=")))

    assert red in failing and green not in failing
    assert green in passing and red not in passing


def test_the_phase_timeline_has_a_row_per_pod() -> None:
    one = picture(plots.phase_timeline([("a", "Running", 0.0, 1.0)], title="t"))
    three = picture(
        plots.phase_timeline([("a", "Running", 0.0, 1.0), ("b", "Pending", 0, 2), ("c", "Failed", 1, 2)], title="t")
    )

    assert three.height > one.height
