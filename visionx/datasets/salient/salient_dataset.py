"""Generic salient-object dataset: an image folder and a mask folder with matching basenames.

Covers the usual SOD layouts by configuring ``data_prefix`` and the suffixes, e.g.

=========== ================================ ================================ ====== ======
dataset     images                           masks                            img    mask
=========== ================================ ================================ ====== ======
DUTS-TR     DUTS-TR/DUTS-TR-Image            DUTS-TR/DUTS-TR-Mask             .jpg   .png
DUTS-TE     DUTS-TE/DUTS-TE-Image            DUTS-TE/DUTS-TE-Mask             .jpg   .png
ECSSD       ECSSD/images                     ECSSD/ground_truth_mask          .jpg   .png
HKU-IS      HKU-IS/imgs                      HKU-IS/gt                        .png   .png
PASCAL-S    PASCAL-S/Imgs                    PASCAL-S/GT                      .jpg   .png
DUT-OMRON   DUT-OMRON/DUT-OMRON-image        DUT-OMRON/pixelwiseGT-new-PNG    .jpg   .png
SOD         SOD/Imgs                         SOD/GT                           .jpg   .png
=========== ================================ ================================ ====== ======

Masks are read by :class:`~visionx.datasets.salient.transforms.LoadSalientMask` as float maps in [0, 1]
(soft values kept), never through mmseg's ``LoadAnnotations`` whose ``ignore_index=255`` would silently drop
every foreground pixel of a 0/255 mask.
"""
from __future__ import annotations

import os.path as osp

from mmseg.datasets import BaseSegDataset

from visionx.registry import DATASETS
from visionx.utils.errors import DataFormatError, UserFileNotFoundError


@DATASETS.register_module()
class SalientDataset(BaseSegDataset):
    """Image folder + mask folder salient-object dataset (DUTS, ECSSD, HKU-IS, PASCAL-S, DUT-OMRON, SOD).

    Args:
        dataset_name: Name stored in every sample's meta (``dataset_name``); :class:`SODMetric` groups its
            results by it, so one test run over a ``ConcatDataset`` prints one row per test set.
        img_suffix: Image file suffix (``'.jpg'``).
        seg_map_suffix: Mask file suffix (``'.png'``).
        **kwargs: ``data_root``, ``data_prefix=dict(img_path=..., seg_map_path=...)``, ``pipeline``, ... as
            for mmseg's ``BaseSegDataset``.

    Raises:
        FileNotFoundError: the image folder is missing, or an image has no mask.
        ValueError: the image folder holds no image with ``img_suffix``.
    """

    METAINFO = dict(classes=('background', 'salient'), palette=[[0, 0, 0], [255, 255, 255]])

    def __init__(self, dataset_name: str | None = None, img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png', **kwargs) -> None:
        self.dataset_name = dataset_name
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)

    def load_data_list(self) -> list[dict]:
        img_dir = self.data_prefix.get('img_path', '')
        ann_dir = self.data_prefix.get('seg_map_path', None)
        if not osp.isdir(img_dir):
            raise UserFileNotFoundError(f'SalientDataset: image folder {img_dir!r} does not exist (expected a '
                                        f'folder of *{self.img_suffix} images)')
        data_list = super().load_data_list()
        if not data_list:
            raise DataFormatError(f'SalientDataset: no *{self.img_suffix} image found in {img_dir!r}')
        name = self.dataset_name or osp.basename(osp.normpath(self.data_root or img_dir))
        for info in data_list:
            info['dataset_name'] = name
            if ann_dir is not None and not osp.isfile(info['seg_map_path']):
                raise UserFileNotFoundError(
                    f'SalientDataset: mask {info["seg_map_path"]!r} for image {info["img_path"]!r} is missing '
                    f'(expected a *{self.seg_map_suffix} mask with the same basename in {ann_dir!r})')
        return data_list
