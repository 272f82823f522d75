"""Image loading that names the file (and image id) it could not read or decode.

MMCV's ``LoadImageFromFile`` (what mmdet pipelines use) with the pinned stack (mmcv 2.1,
OpenCV 5.1): a zero-byte file fails inside ``cv2.imdecode`` with ``(-215:Assertion failed)
!buf.empty()`` and no file name; a truncated or corrupt file fails with ``AssertionError:
failed to load image: <path>`` (no image id) after libpng/libjpeg print their own errors;
decoders that accept truncated data (Pillow with ``ImageFile.LOAD_TRUNCATED_IMAGES``,
older OpenCV builds for JPEG) return an image whose missing rows are grey, silently; and
``ignore_empty=True`` skips bad images without a word. :class:`CheckedLoadImageFromFile`
overrides only the loading step: it checks that a JPEG/PNG file ends as its format requires
before decoding, and raises :class:`ImageDecodeError` naming the path and image id or,
with ``skip_undecodable=True``, logs that with a running count and returns ``None`` so
that MMEngine's dataset draws another image (training only).
"""
import logging
from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmdet.registry import TRANSFORMS
from mmengine import fileio
from mmengine.logging import print_log


class ImageDecodeError(OSError):
    """An image file could not be read or decoded."""


def _jpeg_truncation(data: bytes) -> Optional[str]:
    """Why a JPEG byte string is cut short, or None when its end-of-image marker is there.

    The marker segments before the first start-of-scan (SOS) are walked by their lengths
    (so a thumbnail embedded in EXIF, with its own markers, is stepped over); after SOS the
    entropy-coded data can only contain ``0xFF`` followed by ``0x00``, a restart marker or
    another marker, so the end-of-image marker ``FF D9`` must follow.
    """
    pos, n = 2, len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return f'bad JPEG marker at byte {pos}'
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:
            return 'JPEG ends before its first scan'
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2:pos + 4], 'big')
        if marker == 0xDA:  # start of scan
            return None if data.find(b'\xff\xd9', pos + 2 + length) >= 0 else (
                f'JPEG has no end-of-image marker (file truncated at {n} bytes)')
        pos += 2 + length
    return f'JPEG header is incomplete (file truncated at {n} bytes)'


def _png_truncation(data: bytes) -> Optional[str]:
    """Why a PNG byte string is cut short (no complete ``IEND`` chunk), or None."""
    end = data.rfind(b'IEND', 8)
    return None if end >= 0 and end + 8 <= len(data) else (
        f'PNG has no IEND chunk (file truncated at {len(data)} bytes)')


def truncation_problem(data: bytes) -> Optional[str]:
    """Describe how encoded image bytes are cut short, or None (unknown formats: None).

    Args:
        data (bytes): The content of an image file.

    Returns:
        str | None: The problem, or None when the file ends as its format requires.
    """
    if not data:
        return 'file is empty (0 bytes)'
    if data[:2] == b'\xff\xd8':
        return _jpeg_truncation(data)
    if data[:8] == b'\x89PNG\r\n\x1a\n':
        return _png_truncation(data)
    return None


@TRANSFORMS.register_module()
class CheckedLoadImageFromFile(LoadImageFromFile):
    """``LoadImageFromFile`` that names undecodable images or skips them.

    Args:
        skip_undecodable (bool): Return ``None`` for an image that cannot be read or
            decoded (logging a warning with its path, image id and the number skipped so
            far by this process) instead of raising. MMEngine's datasets then draw
            another image in training; in test mode they raise, as an evaluation on a
            subset of the images would be wrong. Switch it on from the command line with
            ``--cfg-options train_dataloader.dataset.pipeline.0.skip_undecodable=True``.
            Defaults to False.
        check_truncated (bool): Also reject JPEG files without an end-of-image marker and
            PNG files without a complete ``IEND`` chunk before decoding (whatever the
            decoder would make of them). Defaults to True.
        **kwargs: As :class:`mmcv.transforms.LoadImageFromFile`. ``ignore_empty=True``
            there acts like ``skip_undecodable=True`` here.

    Raises:
        ImageDecodeError: The image could not be read or decoded (``skip_undecodable``
            False), naming the file and the image id.
    """

    def __init__(self, *args, skip_undecodable: bool = False, check_truncated: bool = True,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.skip_undecodable = skip_undecodable
        self.check_truncated = check_truncated
        self.num_skipped = 0

    def _read_and_decode(self, filename: str) -> np.ndarray:
        if self.file_client_args is not None:
            img_bytes = fileio.FileClient.infer_client(self.file_client_args,
                                                       filename).get(filename)
        else:
            img_bytes = fileio.get(filename, backend_args=self.backend_args)
        problem = (truncation_problem(img_bytes) if self.check_truncated else
                   ('file is empty (0 bytes)' if not img_bytes else None))
        if problem is not None:
            raise ImageDecodeError(problem)
        img = mmcv.imfrombytes(img_bytes, flag=self.color_type, backend=self.imdecode_backend)
        if img is None or img.size == 0:
            raise ImageDecodeError(
                f'the {self.imdecode_backend} decoder could not decode its {len(img_bytes)} '
                'bytes (corrupt or not an image)')
        return img

    def transform(self, results: dict) -> Optional[dict]:
        """Load ``results['img_path']``.

        Args:
            results (dict): Result dict from :class:`mmengine.dataset.BaseDataset`.

        Returns:
            dict | None: ``results`` with ``img``, ``img_shape`` and ``ori_shape``; None
            when the image was skipped.
        """
        filename = results['img_path']
        try:
            img = self._read_and_decode(filename)
        except Exception as e:
            reason = str(e) if isinstance(e, ImageDecodeError) else f'{type(e).__name__}: {e}'
            where = f'image: {filename} (image id {results.get("img_id", "unknown")})'
            if self.skip_undecodable or self.ignore_empty:
                self.num_skipped += 1
                print_log(f'skipped undecodable {where}: {reason}; {self.num_skipped} '
                          'image(s) skipped so far by this data-loading process',
                          logger='current', level=logging.WARNING)
                return None
            raise ImageDecodeError(
                f'failed to load {where}: {reason}. Replace or remove the file, or skip such '
                'images in training (skip_undecodable=True on the train pipeline\'s '
                f'{type(self).__name__}, e.g. --cfg-options '
                'train_dataloader.dataset.pipeline.0.skip_undecodable=True)') from e
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (super().__repr__()[:-1]
                + f', skip_undecodable={self.skip_undecodable}, '
                f'check_truncated={self.check_truncated})')
