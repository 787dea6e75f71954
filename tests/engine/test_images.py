"""Digit preprocessing (engine.predict.images.prepare_digit): the ink is found in every canvas convention,
cropped, scaled to a 20-pixel box and centred by centre of mass in 28x28 (MNIST), or put on
scikit-learn's 8x8 digits grid."""

from __future__ import annotations

import io

import numpy as np
import pytest
from digit_drawing import draw_digit
from PIL import Image
from scipy.ndimage import center_of_mass

from engine.predict.images import BlankImageError, ink_map, prepare_digit

CONVENTIONS = ("light_on_dark", "dark_on_light", "transparent")
PLACEMENTS = {  # (left, top, width, height) on the 280x280 canvas, slant
    "centred": ((70, 40, 140, 200), 0.0),
    "off_centre": ((170, 150, 80, 110), 0.0),
    "small": ((20, 30, 25, 40), 0.0),
    "slanted": ((60, 40, 150, 200), 0.45),
    "wide": ((20, 100, 240, 60), 0.0),
}


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("placement", PLACEMENTS)
@pytest.mark.parametrize("digit", [1, 4, 7, 8])
def test_mnist_input_is_centred_by_mass_and_fits_a_20_pixel_box(convention, placement, digit):
    box, slant = PLACEMENTS[placement]
    brush = 4 if placement == "small" else 18
    x = prepare_digit(draw_digit(digit, convention, box=box, brush=brush, slant=slant))
    assert x.shape == (28, 28) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() == pytest.approx(1.0)
    cy, cx = center_of_mass(x)
    assert abs(cy - 13.5) <= 1.0 and abs(cx - 13.5) <= 1.0, (cy, cx)
    rows = np.flatnonzero((x > 0.2).any(1))
    cols = np.flatnonzero((x > 0.2).any(0))
    longer = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
    assert 18 <= longer <= 21  # the longer side scaled to 20 px (edges may fall under the threshold)


@pytest.mark.parametrize("digit", [0, 3, 7])
def test_three_conventions_give_the_same_input(digit):
    images = [prepare_digit(draw_digit(digit, c, box=(90, 60, 110, 160))) for c in CONVENTIONS]
    for other in images[1:]:
        assert np.abs(images[0] - other).max() < 0.05


def test_aspect_ratio_is_kept():
    tall = prepare_digit(draw_digit(1, box=(100, 20, 30, 240), brush=10))
    rows = np.flatnonzero((tall > 0.2).any(1))
    cols = np.flatnonzero((tall > 0.2).any(0))
    assert len(rows) >= 18 and len(cols) <= 8  # a thin, tall stroke stays thin and tall


def test_position_on_the_canvas_does_not_matter():
    a = prepare_digit(draw_digit(5, box=(10, 10, 100, 130)))
    b = prepare_digit(draw_digit(5, box=(170, 140, 100, 130)))
    assert np.abs(a - b).max() < 1e-5


def test_blank_canvases_raise_blank_image_error():
    for paper in ((0, 0, 0, 0), (255, 255, 255, 255), (0, 0, 0, 255)):
        with pytest.raises(BlankImageError, match="blank"):
            prepare_digit(Image.new("RGBA", (280, 280), paper))
    noise = np.full((280, 280), 250, np.uint8)
    noise[::7, ::5] = 246  # JPEG-like faint noise on white paper is not ink
    with pytest.raises(BlankImageError):
        prepare_digit(noise)


def test_png_and_jpeg_bytes_and_paths(tmp_path):
    img = draw_digit(2, "dark_on_light")
    ref = prepare_digit(img)
    for fmt in ("PNG", "JPEG"):
        buf = io.BytesIO()
        img.convert("RGB" if fmt == "JPEG" else "RGBA").save(buf, fmt)
        assert np.abs(prepare_digit(buf.getvalue()) - ref).max() < 0.15
        path = tmp_path / f"two.{fmt.lower()}"
        path.write_bytes(buf.getvalue())
        assert np.abs(prepare_digit(str(path)) - ref).max() < 0.15
    with pytest.raises(ValueError, match="PNG or JPEG"):
        prepare_digit(b"not an image")


def test_ink_map_reads_alpha_for_transparent_images_whatever_the_colour():
    img = np.zeros((10, 10, 4), np.uint8)
    img[4:6, 2:8] = (255, 255, 255, 255)  # white paint on a transparent background
    dark = img.copy()
    dark[4:6, 2:8, :3] = 0  # black paint: the same ink
    assert np.array_equal(ink_map(img), ink_map(dark))
    assert ink_map(img)[5, 5] == 1.0 and ink_map(img)[0, 0] == 0.0


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_digits_8x8_convention(convention):
    from sklearn.datasets import load_digits

    x = prepare_digit(draw_digit(1, convention, box=(150, 150, 40, 100), brush=14), shape=(8, 8))
    assert x.shape == (8, 8) and x.min() >= 0.0 and x.max() <= 1.0
    assert (x > 0.05).any(1).all()  # a tall digit fills all 8 rows, like scikit-learn's digits
    assert (x[:, :2].sum() + x[:, -2:].sum()) < 0.5  # and sits in the middle columns
    digits = load_digits().images / 16.0
    assert abs(x.mean() - digits.mean()) < 0.2  # ink per block on the same scale


def test_grid_titles_read_pred_true_in_green_or_red():
    from ui.image_grid import GREEN, RED, grid_figure, grid_items

    preds, trues = [7, 2, 1, 0, 4, 9], [7, 2, 1, 0, 4, 4]
    assert grid_items(preds, trues, only_mistakes=True, limit=10) == [5]
    assert grid_items(preds, trues, only_mistakes=False, limit=4) == [0, 1, 2, 3]
    images = np.random.default_rng(0).random((6, 28, 28)).astype(np.float32)
    fig = grid_figure(images, preds, trues, [str(d) for d in range(10)], columns=3)
    titles = sorted((a.text, a.font.color) for a in fig.layout.annotations)
    assert titles == sorted([("7 (7)", GREEN), ("2 (2)", GREEN), ("1 (1)", GREEN), ("0 (0)", GREEN),
                             ("4 (4)", GREEN), ("9 (4)", RED)])


def test_predict_image_helpers():
    from ui.predict_image import input_picture, pick_source

    x = np.zeros((28, 28), np.float32)
    x[10:18, 13:15] = 1.0
    pic = input_picture(x, size=196)
    assert pic.size == (196, 196) and np.asarray(pic)[100, 100] == 255 and np.asarray(pic)[0, 0] == 0
    canvas = np.zeros((280, 280, 4), np.uint8)
    assert pick_source(canvas, b"png")[0] == b"png"  # an upload wins over the canvas
    assert pick_source(canvas, None)[0] is canvas or np.array_equal(pick_source(canvas, None)[0], canvas)
    assert pick_source(None, None)[0] is None


def test_brush_width_changes_the_input_little():
    from engine.predict.images import stroke_width

    widths = []
    for brush in (6, 18, 40):
        x = prepare_digit(draw_digit(4, box=(60, 40, 150, 200), brush=brush))
        widths.append(stroke_width(x > 0.5))
    assert max(widths) - min(widths) < 1.0 and all(1.6 < w < 3.2 for w in widths), widths


def canvas(paint: str) -> np.ndarray:
    """What the Predict page's canvas returns (RGBA, black paper, white paint): blank, one dot, full ink."""
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., 3] = 255
    if paint == "dot":
        yy, xx = np.ogrid[:280, :280]
        rgba[(yy - 140) ** 2 + (xx - 100) ** 2 <= 81] = 255
    elif paint == "full":
        rgba[:] = 255
    return rgba


@pytest.mark.parametrize("shape", [(28, 28), (8, 8)])
def test_canvas_blank_one_dot_and_full_ink(home, shape):
    """A blank canvas gets a message; a single dot and a canvas painted all over get a prediction (the
    canvas says its paper is black, so all-white is all ink, not a sheet of white paper)."""
    from engine.config.run_config import make_config
    from engine.jobs.store import RunStore
    from engine.predict.predictor import InputError, Predictor
    from engine.training.run import execute
    from ui.predict_image import pick_source

    store = RunStore(home)
    run_id = store.create_run(make_config(dataset="digits", model="linear", epochs=2), status="running")
    assert execute(store, run_id, threads=1)["status"] == "done"
    # the digits run takes 8x8; for MNIST's 28x28 the preprocessing alone is checked
    predictor = Predictor.from_run(store, run_id) if shape == (8, 8) else None
    for paint in ("blank", "dot", "full"):
        source, what, paper = pick_source(canvas(paint), None)
        assert what == "your drawing" and paper == 0.0
        if paint == "blank":
            with pytest.raises(BlankImageError, match="blank: draw a digit"):
                prepare_digit(source, shape, paper)
            if predictor:
                with pytest.raises(InputError, match="blank"):
                    predictor.predict_images([source], paper)
            continue
        x = prepare_digit(source, shape, paper)
        assert x.shape == shape and x.max() == pytest.approx(1.0, abs=0.05)
        if paint == "full":  # the whole canvas is the digit's box: a filled square in the middle
            assert x.mean() > 0.3
        if predictor:
            item = predictor.predict_images([source], paper)[0]
            assert item["label"] in range(10) and abs(sum(item["probs"]) - 1) < 1e-3
    with pytest.raises(BlankImageError):  # without the known paper, all-white is read as blank paper
        prepare_digit(canvas("full"), shape)
