"""generator.lib.imaging: derive (validation, thumbnail sizes and colour, for the store step)
and preview_of (the preview made on first view)."""

import io
import tempfile

import pytest
from PIL import Image

from generator.lib.imaging import (
    PREVIEW_SIZE,
    THUMB_DENSE_SIZE,
    THUMB_SIZE,
    InvalidImage,
    derive,
    preview_of,
)


def png(width, height, colour=(200, 40, 40), mode="RGB"):
    out = io.BytesIO()
    Image.new(mode, (width, height), colour).save(out, "PNG")
    out.seek(0)
    return out


def size_of(data):
    with Image.open(io.BytesIO(data)) as image:
        return image.format, image.size


def test_a_4k_image_gets_fitted_thumbnails_and_a_fitted_preview_later():
    derived = derive(png(3840, 2160))
    assert (derived.width, derived.height, derived.format) == (3840, 2160, "PNG")
    assert size_of(derived.thumbnail) == ("WEBP", (THUMB_SIZE, 225))
    assert size_of(derived.thumbnail_2x) == ("WEBP", (THUMB_DENSE_SIZE, 338))
    assert size_of(preview_of(png(3840, 2160), (3840, 2160))) == ("WEBP", (PREVIEW_SIZE, 810))
    assert (derived.thumb_width, derived.thumb_height) == (THUMB_SIZE, 225)
    assert derived.placeholder_color == "#c82828"


def test_a_small_image_is_never_enlarged():
    derived = derive(png(300, 500, mode="RGBA", colour=(0, 0, 255, 255)))
    assert size_of(derived.thumbnail) == ("WEBP", (240, 400))
    preview = preview_of(png(300, 500, mode="RGBA", colour=(0, 0, 255, 255)), (300, 500))
    assert size_of(preview) == ("WEBP", (300, 500))


def test_a_truncated_image_is_refused_as_invalid():
    data = png(800, 800, colour=(1, 2, 3)).getvalue()
    with pytest.raises(InvalidImage):
        derive(io.BytesIO(data[: len(data) // 2]))


def test_garbage_is_refused_as_invalid():
    with pytest.raises(InvalidImage):
        derive(io.BytesIO(b"not an image at all"))


def test_the_file_reads_whole_from_the_start_afterwards():
    # The store copies the original from the same temporary file once derive() has read it.
    data = png(1200, 900, colour=(9, 90, 200)).getvalue()
    with tempfile.TemporaryFile() as tmp:
        tmp.write(data)
        tmp.seek(0)
        derive(tmp)
        tmp.seek(0)
        assert tmp.read() == data
