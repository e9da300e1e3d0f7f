"""The PNG encoder of tracklet.Image: valid files that Pillow reads back pixel for pixel, in every mode."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image as PIL

import tracklet
from tracklet.media._image import png_bytes, png_of_pixels

MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


def chunks(png):
    """(tag, data) of every chunk, each one's CRC checked."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    at, out = 8, []
    while at < len(png):
        (n,) = struct.unpack(">I", png[at : at + 4])
        tag, data = png[at + 4 : at + 8], png[at + 8 : at + 8 + n]
        (crc,) = struct.unpack(">I", png[at + 8 + n : at + 12 + n])
        assert crc == zlib.crc32(tag + data), tag
        out.append((tag, data))
        at += 12 + n
    return out


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (64, 64), (17, 300)])
def test_a_png_of_each_mode_reads_back_pixel_for_pixel(channels, shape):
    pixels = np.random.default_rng(channels).integers(0, 256, (*shape, channels), dtype=np.uint8)
    png = png_bytes(pixels)
    assert [tag for tag, _ in chunks(png)] == [b"IHDR", b"IDAT", b"IEND"]
    back = PIL.open(io.BytesIO(png))
    back.load()  # decodes every row: a bad filter byte or a short IDAT raises here
    assert back.mode == MODES[channels] and back.size == (shape[1], shape[0])
    got = np.asarray(back)
    assert np.array_equal(got, pixels[:, :, 0] if channels == 1 else pixels)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_the_childs_encoder_without_numpy_makes_the_same_bytes(channels):
    pixels = np.random.default_rng(7).integers(0, 256, (9, 13, channels), dtype=np.uint8)
    assert png_of_pixels(9, 13, channels, pixels.tobytes()) == png_bytes(pixels)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (np.array([[0.0, 0.5, 1.0]]), [0, 128, 255]),  # floats in [0, 1] scaled by 255, rounded
        (np.array([[-1.0, 0.0, 1.0]]), [0, 128, 255]),  # with a value below 0: [-1, 1] mapped to [0, 255]
        (np.array([[0.0, 100.0, 255.0]], np.float32), [0, 100, 255]),  # above 1: taken as 0-255
        (np.array([[True, False, True]]), [255, 0, 255]),
        (np.array([[0, 7, 255]], np.int64), [0, 7, 255]),
        (np.array([[0, 7, 255]], np.uint8), [0, 7, 255]),
    ],
)
def test_floats_bools_and_ints_are_drawn_as_wandb_draws_them(values, expected):
    image = tracklet.Image(values)
    back = np.asarray(PIL.open(io.BytesIO(image._bytes())))
    assert back.tolist() == [expected]


def test_channels_first_float_rgba_round_trips():
    chw = np.random.default_rng(3).random((4, 6, 5))
    image = tracklet.Image(chw)
    back = np.asarray(PIL.open(io.BytesIO(image._bytes())))
    assert back.shape == (6, 5, 4)
    assert np.array_equal(back, np.rint(chw.transpose(1, 2, 0) * 255).astype(np.uint8))


def test_the_array_is_copied_when_the_image_is_made():
    pixels = np.zeros((2, 2, 3), np.uint8)
    image = tracklet.Image(pixels)
    pixels[:] = 9
    assert image.to_numpy().tobytes() == bytes(12)
