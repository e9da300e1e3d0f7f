"""What wandb's ``Image(masks=..., boxes=...)`` lays over an image: segmentation masks and bounding boxes.

A mask is a class id per pixel (``mask_data``, the image's height x width, ids 0-255), stored as a gray PNG of its
own (a blob the image's entry refers to); boxes are JSON in the entry's meta. Both keep their ``class_labels``
(id -> name). They are checked when the Image is made, as its pixels are, and read back as
``image.masks`` / ``image.boxes`` in wandb's shapes; the dashboard draws them over the image.
"""

from __future__ import annotations

import math

from .._errors import UsageError
from ._base import need

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

__all__ = ["check_boxes", "check_masks", "decode_masks", "encode_masks", "labels_back"]

_POSITIONS = ({"minX", "maxX", "minY", "maxY"}, {"middle", "width", "height"})


def check_masks(masks: Any, size: tuple[int, int] | None) -> dict[str, dict[str, Any]]:
    """``{name: {"mask_data": uint8 (H, W) array, "class_labels": {id: name}}}`` from wandb's ``masks=``;
    ``size`` (width, height) is the image's where known. UsageError names the mask and what is wrong."""
    if not isinstance(masks, dict):
        raise UsageError(f"Image(masks=...) is a dict of name -> {{'mask_data': array, 'class_labels': {{0: 'bg'}}}}; got {type(masks).__name__}")
    out = {}
    for name, mask in masks.items():
        where = f"Image(masks=...) {name!r}"
        if not isinstance(mask, dict) or "mask_data" not in mask:
            raise UsageError(f"{where}: give {{'mask_data': a (height, width) array of class ids, 'class_labels': {{...}}}}"
                             + (" (a mask from a file is not taken: load it as an array)" if isinstance(mask, dict) and "path" in mask else ""))
        np = need("numpy", "Image(masks=...)")
        data = mask["mask_data"]
        if hasattr(data, "detach"):  # a torch tensor
            data = data.detach().cpu().numpy()
        arr = np.asarray(data)
        if arr.ndim != 2 or arr.dtype.kind not in "biu" and not (arr.dtype.kind == "f" and np.all(arr == np.round(arr))):
            raise UsageError(f"{where}: mask_data is a (height, width) array of class ids; got shape {arr.shape} of {arr.dtype}")
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise UsageError(f"{where}: class ids run from {int(arr.min())} to {int(arr.max())}; a mask holds 0-255")
        if size is not None and (arr.shape[1], arr.shape[0]) != size:
            raise UsageError(f"{where}: mask_data is {arr.shape[1]}x{arr.shape[0]} (width x height) and the image {size[0]}x{size[1]}")
        out[str(name)] = {"mask_data": np.array(arr, dtype=np.uint8, order="C", copy=True),
                          "class_labels": _labels(mask.get("class_labels"), where)}
    return out


def check_boxes(boxes: Any) -> dict[str, dict[str, Any]]:
    """wandb's ``boxes=`` checked and made plain JSON: ``{name: {"box_data": [...], "class_labels": {"id": name}}}``."""
    if not isinstance(boxes, dict):
        raise UsageError(f"Image(boxes=...) is a dict of name -> {{'box_data': [...], 'class_labels': {{...}}}}; got {type(boxes).__name__}")
    out = {}
    for name, group in boxes.items():
        where = f"Image(boxes=...) {name!r}"
        if not isinstance(group, dict) or not isinstance(group.get("box_data"), (list, tuple)):
            raise UsageError(f"{where}: give {{'box_data': [{{'position': {{'minX': ..., 'maxX': ..., 'minY': ..., 'maxY': ...}}, "
                             "'class_id': 0}, ...], 'class_labels': {...}}")
        data = [_box(b, f"{where} box {i}") for i, b in enumerate(group["box_data"])]
        out[str(name)] = {"box_data": data, "class_labels": _labels(group.get("class_labels"), where)}
    return out


def _box(box: Any, where: str) -> dict[str, Any]:
    if not isinstance(box, dict) or not isinstance(box.get("position"), dict):
        raise UsageError(f"{where}: a box is {{'position': {{'minX', 'maxX', 'minY', 'maxY'}} or {{'middle', 'width', 'height'}}, 'class_id': ...}}")
    pos = box["position"]
    if not any(keys <= set(pos) for keys in _POSITIONS):
        raise UsageError(f"{where}: position needs minX, maxX, minY, maxY or middle, width, height; got {sorted(pos)}")
    plain: dict[str, Any] = {}
    for key, value in pos.items():
        values = value if key == "middle" else [value]
        if key == "middle" and (not isinstance(value, (list, tuple)) or len(value) != 2):
            raise UsageError(f"{where}: position middle is [x, y]; got {value!r}")
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) for v in values):
            raise UsageError(f"{where}: position {key} must be a finite number; got {value!r}")
        plain[key] = [float(v) for v in value] if key == "middle" else float(value)
    out: dict[str, Any] = {"position": plain}
    domain = box.get("domain")
    if domain not in (None, "pixel"):
        raise UsageError(f"{where}: domain is 'pixel' (positions in pixels) or left out (fractions of the image); got {domain!r}")
    if domain:
        out["domain"] = domain
    class_id = box.get("class_id")
    if class_id is not None:
        if isinstance(class_id, bool) or not isinstance(class_id, int):
            raise UsageError(f"{where}: class_id is a whole number; got {class_id!r}")
        out["class_id"] = class_id
    if box.get("box_caption") is not None:
        out["box_caption"] = str(box["box_caption"])
    scores = box.get("scores")
    if scores is not None:
        if not isinstance(scores, dict) or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in scores.values()):
            raise UsageError(f"{where}: scores is a dict of name -> number; got {scores!r}")
        out["scores"] = {str(k): float(v) for k, v in scores.items()}
    return out


def _labels(labels: Any, where: str) -> dict[str, str]:
    if labels is None:
        return {}
    if not isinstance(labels, dict) or any(isinstance(k, bool) or not isinstance(k, int) for k in labels):
        raise UsageError(f"{where}: class_labels is a dict of class id (int) -> name; got {labels!r}")
    return {str(k): str(v) for k, v in labels.items()}


def labels_back(labels: dict[str, str]) -> dict[int, str]:
    """Class labels as given (int ids; JSON keeps them as strings)."""
    return {int(k): v for k, v in labels.items()}


def encode_masks(masks: dict[str, dict[str, Any]], put: Callable[[bytes], tuple[str, int]]) -> dict[str, dict[str, Any]]:
    """Store each mask as a gray PNG (``put``); the meta that names them."""
    from ._image import png_bytes

    return {name: {"digest": put(png_bytes(m["mask_data"][:, :, None]))[0], "class_labels": m["class_labels"]}
            for name, m in masks.items()}


def decode_masks(meta: dict[str, dict[str, Any]], get: Callable[[str], bytes]) -> dict[str, dict[str, Any]]:
    """``{name: {"mask_data": (H, W) uint8 array, "class_labels": {id: name}}}`` read back (needs Pillow)."""
    import io

    np = need("numpy", "Image.masks")
    pil = need("PIL.Image", "Image.masks")
    out = {}
    for name, m in meta.items():
        with pil.open(io.BytesIO(get(m["digest"]))) as im:
            out[name] = {"mask_data": np.asarray(im.convert("L")), "class_labels": labels_back(m.get("class_labels") or {})}
    return out
