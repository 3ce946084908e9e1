"""Shared pieces of the demo model training: scene loading, letterboxing and reference tensors."""
import csv
import os

import numpy as np
import torch
from PIL import Image

# COCO-80 output indices (YOLO order) of the synthetic vehicle kinds.
COCO80_INDEX = {"car": 2, "bus": 5, "truck": 7}
INPUT_SIZE = 320
PAD_VALUE = 114


def letterbox(rgb):
    """Place an HxWx3 uint8 image centred on a 320x320 canvas of value 114.

    The scenes are 320 pixels wide, so the yolo-letterbox recipe of
    visionbench only pads rows (scale 1). Returns the canvas and the top pad.
    """
    h, w, _ = rgb.shape
    if w != INPUT_SIZE or h > INPUT_SIZE:
        raise ValueError(f"scene is {w}x{h}; the demo models expect 320 pixels wide")
    top = (INPUT_SIZE - h) // 2
    canvas = np.full((INPUT_SIZE, INPUT_SIZE, 3), PAD_VALUE, dtype=np.uint8)
    canvas[top:top + h] = rgb
    return canvas, top


def to_tensor(canvas):
    """Convert HxWx3 uint8 RGB to a 1x3xHxW float32 tensor divided by 255."""
    x = canvas.astype(np.float32) / np.float32(255.0)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]


def load_scenes(folder):
    """Load DIR/images/*.png and DIR/gt.csv.

    Returns a list of (rgb uint8 HxWx3, boxes float32 Nx4 as x0,y0,x1,y1,
    labels int64 N as COCO-80 indices).
    """
    boxes = {}
    with open(os.path.join(folder, "gt.csv"), newline="") as f:
        for row in csv.DictReader(f):
            boxes.setdefault(row["image"], []).append(
                ([float(row[k]) for k in ("xmin", "ymin", "xmax", "ymax")],
                 COCO80_INDEX[row["label"]]))
    scenes = []
    for name in sorted(os.listdir(os.path.join(folder, "images"))):
        rgb = np.asarray(Image.open(os.path.join(folder, "images", name)).convert("RGB"))
        items = boxes.get(name, [])
        b = np.array([i[0] for i in items], dtype=np.float32).reshape(-1, 4)
        c = np.array([i[1] for i in items], dtype=np.int64)
        scenes.append((rgb, b, c))
    return scenes


def save_reference(model, x, out_prefix, stride):
    """Write x and every stride-th value of the model's output as raw float32.

    The equivalence test runs the engine on the same input and compares
    those values at 1e-4 relative tolerance.
    """
    with torch.no_grad():
        y = model(x)
    flat = y.detach().numpy().astype(np.float32).reshape(-1)
    flat[::stride].tofile(out_prefix + f".out0.every{stride}.f32")
    return y
