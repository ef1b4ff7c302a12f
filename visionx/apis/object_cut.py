"""Object cut: background removal with BASNet (BASNet 2021, Sec. "Applications"; ObjectCut pipeline).

:class:`ObjectCutter` loads a BASNet checkpoint once (VisionX or the official ``basnet.pth`` layout) and
cuts many images: each is read at full resolution (any of JPEG / PNG / WebP / TIFF / BMP, grey, RGBA, 16-bit,
EXIF orientation applied), resized to the network size (320 as ObjectCut, 256 as the BASNet test script),
and the refined saliency map (output 0, min-max normalised) is upsampled back to the full resolution as
the alpha matte.  Only the network input is small, so an 8000x6000 photo costs one 320x320 forward pass
plus an image-sized resize.

Optional ObjectCut post-processing on the 8-bit map at network resolution: hard threshold (>= 5 -> 255,
else 0), erode once with a 3x3 kernel, Gaussian blur sigma = 2, unsharp mask (5x5 Gaussian, sigma = 1,
amount 15), then Lanczos resize to the image size.
"""
from __future__ import annotations

import dataclasses
import os
import re
import threading
from pathlib import Path
from typing import Iterable, Sequence

import cv2
import numpy as np
import torch
from PIL import Image, ImageColor, ImageOps

from visionx.utils import CheckpointMismatchError, ConfigError, DataFormatError, UserFileNotFoundError
from visionx.utils.precision import autocast, resolve_precision

__all__ = ['IMAGE_SUFFIXES', 'DEFAULT_MAX_PIXELS', 'image_size', 'read_image', 'load_basnet_weights', 'objectcut_postprocess', 'CutResult',
           'ObjectCutter']

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.bmp')
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


def _check_normalisation(preprocessor: dict | None, source: str) -> None:
    """Refuse a model trained with other input statistics than the ones :class:`ObjectCutter` applies
    (RGB, ``x / max``, ImageNet mean / std: the official ``ToTensorLab``; mmseg configs give them on the
    0..255 scale with ``bgr_to_rgb=True``)."""
    from visionx.utils import ConfigError
    if not preprocessor:
        return
    mean, std = preprocessor.get('mean'), preprocessor.get('std')
    ok = (mean is not None and std is not None and preprocessor.get('bgr_to_rgb', False)
          and np.allclose(np.asarray(mean, np.float64) / 255, IMAGENET_MEAN, atol=1e-4)
          and np.allclose(np.asarray(std, np.float64) / 255, IMAGENET_STD, atol=1e-4))
    if not ok:
        raise ConfigError(f'{source}: the model was trained with data_preprocessor mean={mean}, std={std}, '
                          f"bgr_to_rgb={preprocessor.get('bgr_to_rgb', False)}, but object cut feeds RGB images "
                          'normalised as the official BASNet test (x / max, ImageNet mean / std)')


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if np.issubdtype(arr.dtype, np.integer):
        peak = 65535 if arr.max(initial=0) > 255 else 255
        return (arr.astype(np.float64) * (255.0 / peak)).round().clip(0, 255).astype(np.uint8)
    arr = arr.astype(np.float64)
    peak = arr.max(initial=0.0)
    scale = 255.0 if peak <= 1.0 else 255.0 / peak
    return (arr * scale).round().clip(0, 255).astype(np.uint8)


#: Default pixel limit of :func:`read_image` (``--max-pixels``): above the 108 MP of current phone cameras,
#: far below the 400 MP of a 20000 x 20000 decompression bomb (4 GB RSS when decoded).
DEFAULT_MAX_PIXELS = 120_000_000
_PIL_LIMIT_LOCK = threading.Lock()


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) from the image header, without decoding the pixels.

    PIL's own decompression-bomb check is bypassed here (the caller applies its own limit).

    Raises:
        DataFormatError: the header is not that of a JPEG / PNG / WebP / TIFF / BMP image.
    """
    with _PIL_LIMIT_LOCK:
        limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            with Image.open(path) as img:
                return img.size
        except (OSError, SyntaxError, ValueError) as err:
            raise DataFormatError(f'{path}: not a readable image ({err}); expected JPEG, PNG, WebP, TIFF or '
                                  'BMP') from None
        finally:
            Image.MAX_IMAGE_PIXELS = limit


def read_image(path: str | os.PathLike, max_pixels: int | None = DEFAULT_MAX_PIXELS
               ) -> tuple[np.ndarray, np.ndarray | None]:
    """Read an image as RGB uint8 with EXIF orientation applied.

    The pixel count is read from the header and checked against ``max_pixels`` before anything is decoded,
    on every path (PIL, and OpenCV for the 16-bit colour TIFFs PIL cannot decode): a small file declaring a
    huge size (a decompression bomb) is refused instead of filling the memory.

    Args:
        path: JPEG / PNG / WebP / TIFF / BMP file; grey, palette, RGBA and 16-bit images are accepted.
        max_pixels: Largest accepted width x height; None or 0: no limit.

    Returns:
        ``(rgb, alpha)``: (H, W, 3) uint8 and the image's own (H, W) uint8 alpha channel, or None.

    Raises:
        UserFileNotFoundError: ``path`` does not exist.
        DataFormatError: the file is empty, truncated, not a decodable image, or larger than ``max_pixels``.
    """
    path = Path(path)
    if not path.is_file():
        raise UserFileNotFoundError(f'{path}: no such file')
    if path.stat().st_size == 0:
        raise DataFormatError(f'{path}: empty file (0 bytes)')
    width, height = image_size(path)
    if max_pixels and width * height > max_pixels:
        raise DataFormatError(f'{path}: {width} x {height} = {width * height:,} pixels, more than the limit of '
                              f'{max_pixels:,} (possible decompression bomb; raise --max-pixels to accept it)')
    try:
        with _PIL_LIMIT_LOCK:  # size checked above; PIL's own limit would refuse images the user allowed
            limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                img = Image.open(path)
            finally:
                Image.MAX_IMAGE_PIXELS = limit
        with img:
            img.load()  # decodes now, so truncated files fail here
            img = ImageOps.exif_transpose(img)
            if img.mode in ('I;16', 'I;16B', 'I;16L', 'I', 'F'):
                rgb = _to_uint8(np.asarray(img))
                return np.repeat(rgb[..., None], 3, axis=2), None
            alpha = None
            if img.mode in ('RGBA', 'LA', 'PA') or (img.mode == 'P' and 'transparency' in img.info):
                img = img.convert('RGBA')
                alpha = np.asarray(img)[..., 3].copy()
            return np.asarray(img.convert('RGB')).copy(), alpha
    except (OSError, SyntaxError, ValueError) as pil_err:
        # PIL cannot decode some 16-bit colour TIFFs; OpenCV can (without EXIF rotation).  The header size
        # was checked above, so this decode is bounded too.
        data = np.fromfile(path, np.uint8)
        arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
        if arr is None:
            raise DataFormatError(f'{path}: not a readable image ({pil_err}); expected JPEG, PNG, WebP, TIFF or '
                                  'BMP') from None
        alpha = None
        if arr.ndim == 2:
            arr = np.repeat(arr[..., None], 3, axis=2)
        elif arr.shape[2] == 4:
            alpha = _to_uint8(arr[..., 3])
            arr = cv2.cvtColor(arr[..., :3], cv2.COLOR_BGR2RGB)
        else:
            arr = cv2.cvtColor(arr[..., :3], cv2.COLOR_BGR2RGB)
        return _to_uint8(arr), alpha


def load_basnet_weights(model: torch.nn.Module, checkpoint: str | os.PathLike, assign: bool = False,
                        loaded: dict | None = None) -> None:
    """Load a VisionX or official BASNet checkpoint into ``model`` (strict, weights-only unpickling).

    Args:
        model: A ``BASNet``; may live on the ``meta`` device when ``assign=True`` (no random init needed).
        checkpoint: VisionX checkpoint (``{'state_dict': ...}``) or the official ``basnet.pth``.
        assign: Adopt the checkpoint tensors instead of copying into existing ones.
        loaded: The checkpoint already loaded from ``checkpoint`` (skips reading the file again).

    Raises:
        UserFileNotFoundError: no such checkpoint.
        CheckpointMismatchError: the file is not a BASNet checkpoint (names missing / unexpected keys).
    """
    from visionx.models.converters.basnet import convert_official_basnet, is_official_basnet
    path = Path(checkpoint)
    if not path.is_file():
        raise UserFileNotFoundError(f'checkpoint {path} not found (expected a VisionX BASNet .pth or the '
                                'official basnet.pth)')
    try:
        state = loaded if loaded is not None else torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # noqa: BLE001 - re-raised with the file name
        raise CheckpointMismatchError(f'checkpoint {path} cannot be loaded safely: {err}') from None
    if not isinstance(state, dict):
        raise CheckpointMismatchError(f'checkpoint {path} does not hold a state dict')
    if is_official_basnet(state):
        state = convert_official_basnet(state)
    else:
        state = state.get('state_dict', state)
        state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    # the loss has no parameters; data_preprocessor buffers are rebuilt from the config
    state = {k: v for k, v in state.items() if not k.startswith('data_preprocessor.')}
    own = {k for k in model.state_dict() if not k.startswith('data_preprocessor.')}
    missing = sorted(own - set(state) - {k for k in own if k.endswith('num_batches_tracked')})
    unexpected = sorted(set(state) - own)
    if missing or unexpected:
        raise CheckpointMismatchError(f'checkpoint {path} is not a BASNet checkpoint: {len(missing)} missing keys '
                         f'(e.g. {missing[:3]}), {len(unexpected)} unexpected keys (e.g. {unexpected[:3]})')
    own_state = model.state_dict()
    shapes = [k for k, v in state.items() if tuple(v.shape) != tuple(own_state[k].shape)]
    if shapes:
        raise CheckpointMismatchError(f'checkpoint {path} is not a BASNet checkpoint: shape mismatch for {shapes[:3]}')
    for k in own:  # PyTorch-0.4.0 checkpoints (the official one) have no BN num_batches_tracked
        if k.endswith('num_batches_tracked') and k not in state:
            state[k] = torch.zeros((), dtype=torch.long)
    model.load_state_dict(state, strict=False, assign=assign)


def _unsharp(img: np.ndarray, sigma: float = 1.0, amount: float = 15.0, ksize: int = 5) -> np.ndarray:
    blurred = cv2.GaussianBlur(img, (ksize, ksize), sigma)
    return np.clip(img + amount * (img - blurred), 0, 255)


def objectcut_postprocess(mask8: np.ndarray, threshold: int = 5) -> np.ndarray:
    """ObjectCut's matte clean-up on an 8-bit map at network resolution.

    Args:
        mask8: (h, w) uint8 saliency map (min-max normalised x 255).
        threshold: Hard threshold; ``>= threshold`` becomes 255, the rest 0.

    Returns:
        np.ndarray: (h, w) uint8 matte.
    """
    m = np.where(mask8 >= threshold, 255, 0).astype(np.uint8)
    m = cv2.erode(m, np.ones((3, 3), np.uint8), iterations=1)
    m = cv2.GaussianBlur(m.astype(np.float32), (0, 0), 2.0)
    return _unsharp(m).round().astype(np.uint8)


def parse_background(spec: str | None, size_hw: tuple[int, int]) -> np.ndarray | None:
    """A background colour name / ``#rrggbb`` / ``r,g,b`` or an image path -> (H, W, 3) uint8, or None."""
    if spec is None:
        return None
    h, w = size_hw
    if re.fullmatch(r'\d{1,3},\d{1,3},\d{1,3}', spec):
        return np.broadcast_to(np.array([int(v) for v in spec.split(',')], np.uint8), (h, w, 3))
    if Path(spec).is_file():
        bg, _ = read_image(spec)
        # cover: scale so both sides are at least the target, then centre-crop
        scale = max(h / bg.shape[0], w / bg.shape[1])
        nh, nw = max(h, round(bg.shape[0] * scale)), max(w, round(bg.shape[1] * scale))
        bg = np.asarray(Image.fromarray(bg).resize((nw, nh), Image.BILINEAR))
        top, left = (nh - h) // 2, (nw - w) // 2
        return bg[top:top + h, left:left + w]
    try:
        rgb = ImageColor.getrgb(spec)[:3]
    except ValueError:
        raise ConfigError(f'background {spec!r} is neither an image file nor a colour (name, #rrggbb or '
                         'r,g,b)') from None
    return np.broadcast_to(np.array(rgb, np.uint8), (h, w, 3))


@dataclasses.dataclass
class CutResult:
    """Outputs of one cut: ``rgba`` (H, W, 4), ``alpha`` (H, W), optionally ``composite`` (H, W, 3).

    ``constant`` is True when the image had a single colour: no object can be told from the background, so
    the alpha is 0 everywhere (255 with ``invert``) instead of the network's min-max-normalised response.
    """
    rgba: np.ndarray
    alpha: np.ndarray
    composite: np.ndarray | None = None
    constant: bool = False


class ObjectCutter:
    """Load BASNet once, cut many images.

    The network is the ``model`` of ``config``, else of the config stored in the checkpoint by
    ``tools/train.py``; it must be a ``BASNet``.  A checkpoint without a stored config (the official
    ``basnet.pth``, a bare state dict) is loaded into BASNet's one architecture (ResNet-34 encoder, the
    official decoder and refinement module).  Either way the checkpoint must fill exactly the network's
    tensors (:func:`load_basnet_weights`).

    **Constant images.** On an image of a single colour the network's map is flat up to padding artefacts,
    which the per-image min-max normalisation would stretch to a full 0-255 matte.  Such an image has no
    object to cut, so its alpha is 0 everywhere (the cut-out is fully transparent; 255 with ``invert``) and
    :attr:`CutResult.constant` is set.

    Args:
        checkpoint: VisionX BASNet checkpoint or the official ``basnet.pth`` (converted on the fly).
        config: Config file whose ``model`` is a BASNet (default: the checkpoint's stored config, if any).
        device: Torch device.
        input_size: Network input side (320 as ObjectCut; 256 as the BASNet test script).
        fuse_bn: Fold BatchNorm into the preceding convs (inference only; same outputs up to float error).
        channels_last: Use the channels-last memory format.
        model: An already built (and loaded) ``BASNet``; skips ``checkpoint``.
        precision: ``'auto'`` (bf16 on a CUDA GPU with bf16 or a CPU with AMX / AVX-512 BF16, else fp32),
            ``'fp32'``, ``'bf16'`` (autocast; any CPU, slower without AMX / AVX-512 BF16) or ``'fp16'``
            (CUDA only).  The resolved value is :attr:`precision`.  See configs/basnet/README.md for the
            measured differences from fp32.

    Example:
        >>> cutter = ObjectCutter('basnet.pth')
        >>> rgb, _ = read_image('cat.jpg')
        >>> cutter.cut(rgb).rgba  # (H, W, 4) uint8
    """

    def __init__(self, checkpoint: str | os.PathLike | None = None, device: str | torch.device = 'cpu',
                 input_size: int = 320, fuse_bn: bool = True, channels_last: bool = True,
                 model: torch.nn.Module | None = None, config: str | os.PathLike | None = None,
                 precision: str = 'auto') -> None:
        if input_size < 32:
            raise ConfigError(f'input_size must be >= 32, got {input_size}')
        self.device = torch.device(device)
        self.precision = resolve_precision(precision, self.device)
        self.input_size = int(input_size)
        if model is None:
            if checkpoint is None:
                raise ConfigError('ObjectCutter needs a checkpoint (VisionX BASNet .pth or official basnet.pth)')
            model = self._load(checkpoint, config)
        model = model.eval()
        if fuse_bn:  # note: folds the BNs of a passed-in ``model`` in place
            from visionx.models.salient.basnet import fuse_conv_bn_
            model = fuse_conv_bn_(model)
        self.model = model.to(self.device)
        self.channels_last = channels_last
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)

    @staticmethod
    def _load(checkpoint: str | os.PathLike, config: str | os.PathLike | None) -> torch.nn.Module:
        """BASNet of ``config`` / the stored config / the default architecture, filled from ``checkpoint``."""
        import visionx.models  # noqa: F401  (registers BASNet)
        from visionx.apis.inference import check_model_type, config_from_checkpoint, read_checkpoint
        from visionx.models.salient import BASNet
        from visionx.utils import load_config
        ckpt = read_checkpoint(checkpoint)
        if config is not None:
            cfg, source = load_config(config), f'config {config}'
        else:
            cfg, source = config_from_checkpoint(ckpt, checkpoint), f'the config stored in checkpoint {checkpoint}'
        kwargs: dict = dict(encoder=dict(type='BASNetEncoder'))
        if cfg is not None:
            check_model_type(cfg, ('BASNet',), 'object cut', source)
            _check_normalisation(cfg.model.get('data_preprocessor'), source)
            # the architecture's arguments; the data preprocessor (training-time batching) and the
            # initialisation are not needed: ObjectCutter normalises images itself, the weights are loaded
            kwargs.update({k: v for k, v in cfg.model.items() if k not in ('type', 'data_preprocessor', 'init_cfg')})
        kwargs['encoder'] = dict(kwargs['encoder'] or dict(type='BASNetEncoder'), init_cfg=None)
        # built on the meta device and filled from the checkpoint: no time spent on random init
        with torch.device('meta'):
            model = BASNet(**kwargs)
        load_basnet_weights(model, checkpoint, assign=True, loaded=ckpt)
        if any(t.is_meta for t in (*model.parameters(), *model.buffers())):
            raise CheckpointMismatchError(f'checkpoint {checkpoint} does not fill every BASNet tensor')
        return model

    def preprocess(self, rgb: np.ndarray) -> torch.Tensor:
        """(H, W, 3) uint8 -> (3, S, S) float: bilinear resize, / max, ImageNet normalisation."""
        img = cv2.resize(rgb, (self.input_size, self.input_size), interpolation=cv2.INTER_LINEAR)
        img = img.astype(np.float32)
        peak = img.max()
        img = img / peak if peak > 0 else img
        img = (img - IMAGENET_MEAN) / IMAGENET_STD
        return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))

    @torch.inference_mode()
    def predict(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Saliency maps at network resolution for a batch of (H, W, 3) uint8 images.

        Returns:
            list of (S, S) float32 maps in [0, 1] (refined output, min-max normalised per image).
        """
        if not images:
            return []
        batch = torch.stack([self.preprocess(im) for im in images]).to(self.device)
        if self.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        with autocast(self.precision, self.device):
            logits = self.model.forward_logits(batch)[0]
        prob = logits.float().sigmoid()[:, 0]
        lo = prob.flatten(1).min(1)[0][:, None, None]
        hi = prob.flatten(1).max(1)[0][:, None, None]
        prob = torch.where(hi - lo > 1e-8, (prob - lo) / (hi - lo).clamp_min(1e-8), torch.zeros_like(prob))
        return list(prob.cpu().numpy())

    @staticmethod
    def alpha_from_map(prob: np.ndarray, size_hw: tuple[int, int], postprocess: bool = False,
                       threshold: int = 5) -> np.ndarray:
        """Upsample a network-resolution map to (H, W) uint8 alpha (bilinear, or ObjectCut's pipeline)."""
        mask8 = (np.clip(prob, 0, 1) * 255).round().astype(np.uint8)
        h, w = size_hw
        if postprocess:
            return np.asarray(Image.fromarray(objectcut_postprocess(mask8, threshold)).resize((w, h),
                                                                                              Image.LANCZOS))
        return np.asarray(Image.fromarray(mask8).resize((w, h), Image.BILINEAR))

    @staticmethod
    def is_constant(rgb: np.ndarray) -> bool:
        """True when every pixel of the (H, W, 3) image has the same colour."""
        flat = rgb.reshape(-1, rgb.shape[-1])
        return bool((flat == flat[0]).all())

    @staticmethod
    def compose(rgb: np.ndarray, alpha: np.ndarray, background: str | None = None,
                invert: bool = False, constant: bool = False) -> CutResult:
        """RGBA cut-out (and a composite over ``background``) from an image and its alpha."""
        if invert:
            alpha = 255 - alpha
        rgba = np.dstack([rgb, alpha])
        composite = None
        bg = parse_background(background, alpha.shape)
        if bg is not None:
            a = alpha.astype(np.float32)[..., None] / 255.0
            composite = (rgb * a + bg * (1 - a)).round().clip(0, 255).astype(np.uint8)
        return CutResult(rgba=rgba, alpha=alpha, composite=composite, constant=constant)

    def _result(self, rgb: np.ndarray, prob: np.ndarray, background: str | None, postprocess: bool,
                invert: bool) -> CutResult:
        if self.is_constant(rgb):
            return self.compose(rgb, np.zeros(rgb.shape[:2], np.uint8), background, invert, constant=True)
        return self.compose(rgb, self.alpha_from_map(prob, rgb.shape[:2], postprocess), background, invert)

    def cut(self, rgb: np.ndarray, background: str | None = None, postprocess: bool = False,
            invert: bool = False) -> CutResult:
        """Cut one (H, W, 3) uint8 RGB image."""
        return self.cut_batch([rgb], background, postprocess, invert)[0]

    def cut_many(self, images: Iterable[np.ndarray], batch_size: int = 1, **kwargs) -> Iterable[CutResult]:
        """Cut images in batches of ``batch_size`` network passes; yields one :class:`CutResult` each."""
        buf: list[np.ndarray] = []
        for im in images:
            buf.append(im)
            if len(buf) == batch_size:
                yield from self.cut_batch(buf, **kwargs)
                buf = []
        if buf:
            yield from self.cut_batch(buf, **kwargs)

    def cut_batch(self, images: list[np.ndarray], background: str | None = None, postprocess: bool = False,
                   invert: bool = False) -> list[CutResult]:
        """Cut a list of (H, W, 3) uint8 images in one network pass (constant images skip the network)."""
        todo = [i for i, im in enumerate(images) if not self.is_constant(im)]
        probs = dict(zip(todo, self.predict([images[i] for i in todo])))
        return [self._result(im, probs.get(i), background, postprocess, invert) for i, im in enumerate(images)]
