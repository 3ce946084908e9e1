"""Train a tiny 1000-way (ImageNet-1k index) scene classifier on synthetic scenes and export it.

The largest vehicle of a scene sets its class: car -> 436 (beach wagon),
truck -> 867 (trailer truck), bus -> 779 (school bus); a scene without
vehicles -> 919 (street sign). visionbench's classifier decoder sums the
softmax over the ImageNet vehicle classes, so it scores "vehicle present".

Usage (developers only; see tools/train/README.md):
    nice python3 tools/train/classifier.py --train DIR --reference PNG --minutes 8 --out models/NAME.onnx
"""
import argparse
import math
import os
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from common import load_scenes, save_reference

IMAGENET_CLASS = {2: 436, 7: 867, 5: 779}   # COCO-80 index -> ImageNet-1k index
NO_VEHICLE_CLASS = 919
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def conv(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 2, 1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class Classifier(nn.Module):
    """Four strided convs, global average pooling and a 1000-way linear layer (logits)."""

    def __init__(self, width):
        super().__init__()
        w = width
        self.features = nn.Sequential(conv(3, w), conv(w, 2 * w), conv(2 * w, 4 * w), conv(4 * w, 8 * w),
                                      conv(8 * w, 8 * w))
        self.fc = nn.Linear(8 * w, 1000)

    def forward(self, x):
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


def imagenet_crop(rgb):
    """Apply the imagenet-crop recipe: shorter side to 256 (bilinear), centre 224 crop, mean/std."""
    h, w, _ = rgb.shape
    scale = 256 / min(h, w)
    nw, nh = round(w * scale), round(h * scale)
    img = np.asarray(Image.fromarray(rgb).resize((nw, nh), Image.BILINEAR))
    x0, y0 = (nw - 224) // 2, (nh - 224) // 2
    return normalize(img[y0:y0 + 224, x0:x0 + 224])


def reference_crop(rgb):
    """Centre 224x224 crop without resizing; the equivalence test builds the same tensor in C."""
    h, w, _ = rgb.shape
    x0, y0 = (w - 224) // 2, (h - 224) // 2
    return normalize(rgb[y0:y0 + 224, x0:x0 + 224])


def normalize(crop):
    x = (crop.astype(np.float32) / np.float32(255.0) - MEAN) / STD
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1).astype(np.float32)))[None]


def label_of(boxes, labels):
    if len(labels) == 0:
        return NO_VEHICLE_CLASS
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return IMAGENET_CLASS[int(labels[int(np.argmax(areas))])]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", required=True)
    ap.add_argument("--reference", required=True, help="PNG for the recorded reference output")
    ap.add_argument("--width", type=int, default=8)
    ap.add_argument("--minutes", type=float, default=8.0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)

    # Preprocess every scene once; flips double the data.
    scenes = load_scenes(args.train)
    xs = torch.cat([imagenet_crop(rgb) for rgb, _, _ in scenes])
    ys = torch.tensor([label_of(b, c) for _, b, c in scenes])
    net = Classifier(args.width)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)

    start, budget, step = time.time(), args.minutes * 60, 0
    order = list(range(len(scenes)))
    net.train()
    while time.time() - start < budget:
        rng.shuffle(order)
        for k in range(0, len(order) - args.batch + 1, args.batch):
            elapsed = time.time() - start
            if elapsed > budget:
                break
            for g in opt.param_groups:
                g["lr"] = args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * elapsed / budget)))
            idx = torch.tensor(order[k:k + args.batch])
            x = xs[idx]
            if rng.random() < 0.5:
                x = torch.flip(x, [3])
            loss = F.cross_entropy(net(x), ys[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step % 20 == 0:
                print(f"step {step} loss {loss.item():.3f} time {elapsed:.0f}s", flush=True)
    print(f"trained {step} steps ({step * args.batch} images) in {time.time() - start:.0f}s", flush=True)

    net.eval()
    x = reference_crop(np.asarray(Image.open(args.reference).convert("RGB")))
    torch.onnx.export(net, x, args.out, opset_version=13, input_names=["input"], output_names=["logits"],
                      do_constant_folding=True)
    save_reference(net, x, os.path.splitext(args.out)[0], 1)
    print(f"exported {args.out}; parameters {sum(p.numel() for p in net.parameters())}", flush=True)


if __name__ == "__main__":
    main()
