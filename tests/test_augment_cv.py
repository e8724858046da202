"""data.augment on OpenCV: pictures resampled a chunk at a time as one tall picture, the same
whatever the chunks or OpenCV's threads, each picture kept to itself."""

import cv2
import numpy as np
import pytest

from fcnn_cli.data.augment import DeformedEpochs, Deformer, Draws
from fcnn_cli.data.augment_spec import AugmentSpec, Draw, Elastic

EVERYTHING = AugmentSpec(shift=Draw(2), rotate=Draw(15), scale=Draw(0.1), shear=Draw(0.2),
                         elastic=Elastic(34, 4, p=0.5), hflip=0.5)


def noise(n: int, shape: tuple[int, ...], dtype: type = np.uint8, seed: int = 0) -> np.ndarray:
    info = np.iinfo(dtype)
    return np.random.default_rng(seed).integers(info.min, info.max, (n, int(np.prod(shape))),
                                                 dtype=dtype, endpoint=True)


@pytest.fixture
def cv_threads():  # type: ignore[no-untyped-def]
    kept = cv2.getNumThreads()
    yield
    cv2.setNumThreads(kept)


@pytest.mark.parametrize("n,shape", [(700, (28, 28)), (400, (100, 100)), (700, (9, 12, 3))])
def test_an_epoch_is_the_same_whatever_the_chunks(n: int, shape: tuple[int, ...]) -> None:
    x = noise(n, shape)  # more than one chunk of the default size
    whole = Deformer(EVERYTHING, shape)
    one_by_one = Deformer(EVERYTHING, shape)
    one_by_one.chunk = 1
    odd = Deformer(EVERYTHING, shape)
    odd.chunk = 37
    made = whole.epoch(x, 5, 2, np.empty_like(x))
    assert np.array_equal(made, one_by_one.epoch(x, 5, 2, np.empty_like(x)))
    assert np.array_equal(made, odd.epoch(x, 5, 2, np.empty_like(x)))
    assert not np.array_equal(made, x)


def test_tall_pictures_are_resampled_in_chunks_opencv_accepts() -> None:
    deformer = Deformer(AugmentSpec(), (100, 100))
    assert deformer.chunk * 100 < 2 ** 15 - 1  # remap refuses taller pictures


def test_opencvs_thread_count_does_not_change_the_pixels(cv_threads: None) -> None:
    x = noise(1000, (28, 28))
    deformer = Deformer(EVERYTHING, (28, 28))
    cv2.setNumThreads(1)
    alone = deformer.epoch(x, 1, 0, np.empty_like(x))
    cv2.setNumThreads(4)
    assert np.array_equal(alone, deformer.epoch(x, 1, 0, np.empty_like(x)))


def test_training_holds_opencv_to_one_thread_and_gives_its_count_back(cv_threads: None
                                                                      ) -> None:
    cv2.setNumThreads(3)
    with DeformedEpochs(Deformer(EVERYTHING, (28, 28)), noise(50, (28, 28)), seed=1) as d:
        d.get(0, more=True)
        assert cv2.getNumThreads() == 1
    assert cv2.getNumThreads() == 3


def test_a_picture_never_takes_pixels_from_its_neighbours_in_the_stack() -> None:
    # Black and white pictures in turn, pushed and stretched far past their edges: the
    # stack's neighbours must not bleed in, the edge repeats instead.
    x = np.zeros((6, 28 * 28), np.uint8)
    x[1::2] = 255
    deformer = Deformer(AugmentSpec(), (28, 28))
    for name, value in (("ty", 30.0), ("ty", -30.0), ("tx", 30.0), ("scale", 0.3),
                        ("angle", 0.8)):
        draws = Draws.identity(6)
        setattr(draws, name, np.full(6, value, np.float32))
        out = deformer(x, draws)
        assert (out[::2] == 0).all() and (out[1::2] == 255).all(), name


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.uint16, np.int16])
def test_every_pixel_type_training_keeps_raw_is_deformed(dtype: type) -> None:
    x = noise(3, (28, 28), dtype)
    draws = Draws.identity(3)
    draws.tx = np.full(3, 2, np.float32)
    out = Deformer(AugmentSpec(), (28, 28))(x, draws)
    assert out.dtype == dtype
    pictures, moved = x.reshape(3, 28, 28), out.reshape(3, 28, 28)
    assert np.array_equal(moved[:, :, 2:], pictures[:, :, :-2])
    assert np.array_equal(moved[:, :, :2], np.repeat(pictures[:, :, :1], 2, axis=2))


def test_signed_pictures_interpolate_like_unsigned_ones() -> None:
    x = np.array([[-100, 60, 120, -128]], np.int8)
    draws = Draws.identity(1)
    draws.tx = np.full(1, -0.5, np.float32)  # each pixel: the mean of it and its right
    out = Deformer(AugmentSpec(), (1, 4))(x, draws)
    assert out.tolist() == [[-20, 90, -4, -128]]


def test_each_picture_is_what_warp_affine_makes_of_it_with_its_own_map() -> None:
    spec = AugmentSpec(shift=Draw(2), rotate=Draw(20), scale=Draw(0.2), shear=Draw(0.2),
                       hflip=0.5)
    x = noise(40, (28, 28))
    deformer = Deformer(spec, (28, 28))
    draws = deformer.draw(40, np.random.default_rng(2))
    ours = deformer(x, draws).reshape(40, 28, 28).astype(int)
    qy, qx = deformer.coordinates(draws)  # affine: steps along x and y, value at (0, 0)
    maps = np.stack([np.stack([q[:, 0, 1] - q[:, 0, 0], q[:, 1, 0] - q[:, 0, 0], q[:, 0, 0]],
                              axis=1) for q in (qx, qy)], axis=1)
    for picture, deformed, m in zip(x.reshape(40, 28, 28), ours, maps):
        theirs = cv2.warpAffine(picture, m, (28, 28), flags=cv2.INTER_LINEAR
                                | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
        assert np.abs(deformed - theirs).max() <= 1  # their map is rounded to 1/32 pixel
