"""Visualisation backends: MMEngine's local backend, writing images atomically."""
from __future__ import annotations

import os.path as osp

import cv2
import numpy as np
from mmengine.visualization import LocalVisBackend
from mmengine.visualization.vis_backend import force_init_env

from visionx.registry import VISBACKENDS
from visionx.utils.io import atomic_path


@VISBACKENDS.register_module()
class AtomicLocalVisBackend(LocalVisBackend):
    """``LocalVisBackend`` whose images appear whole or not at all (temporary file + rename).

    MMEngine's backend writes ``<save_dir>/vis_image/<name>_<step>.png`` with ``cv2.imwrite`` in place, so
    a killed run can leave a truncated PNG that later tools fail to decode.  Same layout and arguments.
    """

    @force_init_env
    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs) -> None:
        """Save the RGB uint8 ``image`` as ``<img_save_dir>/<name>_<step>.png``."""
        if image.dtype != np.uint8:
            raise ValueError(f'add_image expects a uint8 RGB image, got dtype {image.dtype}')
        with atomic_path(osp.join(self._img_save_dir, f'{name}_{step}.png')) as tmp:
            if not cv2.imwrite(str(tmp), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
                raise OSError(f'cannot write {tmp}')
