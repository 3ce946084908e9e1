"""Train a tiny three-level detector on synthetic scenes and export it with the YOLOv8 or YOLOv5 output layout.

Usage (developers only; see tools/train/README.md):
    nice python3 tools/train/detector.py --layout yolov8 --width 8 --train DIR --minutes 15 --out models/NAME.onnx
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

from common import INPUT_SIZE, letterbox, load_scenes, save_reference, to_tensor

NUM_CLASSES = 80
STRIDES = (8, 16, 32)
# YOLOv5's default anchors (width, height in input pixels) per stride.
V5_ANCHORS = (((10, 13), (16, 30), (33, 23)),
              ((30, 61), (62, 45), (59, 119)),
              ((116, 90), (156, 198), (373, 326)))
# YOLOv8-layout boxes: size = (2 sigmoid(t))^2 * 4 * stride, so each level
# covers sizes up to 16 strides. A box goes to the first level whose limit
# is at least its longer side.
V8_LEVEL_MAX = (48, 112, 1e9)


def conv(cin, cout, stride, batchnorm=True):
    if not batchnorm:   # the exported form: BatchNorm folded into the bias
        return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.ReLU(inplace=True))
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class Detector(nn.Module):
    """Plain strided CNN with one 1x1 prediction conv per level (strides 8, 16, 32).

    forward returns the raw per-level maps; Exported wraps it with the
    decoding that the ONNX file contains.
    """

    def __init__(self, width, layout, batchnorm=True):
        super().__init__()
        w, bn = width, batchnorm
        self.layout = layout
        self.stem = nn.Sequential(conv(3, w, 2, bn), conv(w, 2 * w, 2, bn), conv(2 * w, 2 * w, 1, bn))
        self.p3 = nn.Sequential(conv(2 * w, 4 * w, 2, bn), conv(4 * w, 4 * w, 1, bn))
        self.p4 = nn.Sequential(conv(4 * w, 8 * w, 2, bn), conv(8 * w, 8 * w, 1, bn))
        self.p5 = nn.Sequential(conv(8 * w, 8 * w, 2, bn), conv(8 * w, 8 * w, 1, bn))
        per_cell = 4 + NUM_CLASSES if layout == "yolov8" else 3 * (5 + NUM_CLASSES)
        self.heads = nn.ModuleList(nn.Conv2d(c, per_cell, 1) for c in (4 * w, 8 * w, 8 * w))
        for head in self.heads:   # score logits start at a low prior (about 0.7 %)
            if layout == "yolov8":
                head.bias.data[4:] = -5.0
            else:
                head.bias.data.view(3, 5 + NUM_CLASSES)[:, 4:] = -5.0

    def forward(self, x):
        s = self.stem(x)
        f3 = self.p3(s)
        f4 = self.p4(f3)
        f5 = self.p5(f4)
        return [h(f) for h, f in zip(self.heads, (f3, f4, f5))]


def load_onnx_weights(net, path):
    """Copy the Conv weights and biases of an exported ONNX file, in graph order, into a
    Detector built with batchnorm=False (the folded form), to continue training it."""
    import onnx
    from onnx import numpy_helper
    model = onnx.load(path)
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    onnx_convs = [n for n in model.graph.node if n.op_type == "Conv"]
    torch_convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    if len(onnx_convs) != len(torch_convs):
        raise ValueError(f"{path}: {len(onnx_convs)} Conv nodes, the network has {len(torch_convs)}")
    for node, module in zip(onnx_convs, torch_convs):
        module.weight.data = torch.from_numpy(inits[node.input[1]].copy())
        module.bias.data = torch.from_numpy(inits[node.input[2]].copy())


def grid(n):
    ys, xs = torch.meshgrid(torch.arange(n, dtype=torch.float32), torch.arange(n, dtype=torch.float32),
                            indexing="ij")
    return xs, ys


def decode_level(raw, level, layout):
    """Decode one level's raw map to boxes (cx, cy, w, h in input pixels) and score logits.

    yolov8: raw is Bx84xHxW -> boxes Bx4xHxW, logits Bx80xHxW.
    yolov5: raw is Bx255xHxW -> boxes Bx3x4xHxW, logits Bx3x81xHxW (objectness first).
    """
    s = STRIDES[level]
    n = raw.shape[-1]
    gx, gy = grid(n)
    if layout == "yolov8":
        t = torch.sigmoid(raw[:, :4])
        cx = (t[:, 0] * 2 - 0.5 + gx) * s
        cy = (t[:, 1] * 2 - 0.5 + gy) * s
        w = (t[:, 2] * 2) * (t[:, 2] * 2) * (4 * s)
        h = (t[:, 3] * 2) * (t[:, 3] * 2) * (4 * s)
        return torch.stack([cx, cy, w, h], 1), raw[:, 4:]
    r = raw.view(raw.shape[0], 3, 5 + NUM_CLASSES, n, n)
    t = torch.sigmoid(r[:, :, :4])
    anchors = torch.tensor(V5_ANCHORS[level], dtype=torch.float32).view(1, 3, 2, 1, 1)
    cx = (t[:, :, 0] * 2 - 0.5 + gx) * s
    cy = (t[:, :, 1] * 2 - 0.5 + gy) * s
    w = (t[:, :, 2] * 2) * (t[:, :, 2] * 2) * anchors[:, :, 0]
    h = (t[:, :, 3] * 2) * (t[:, :, 3] * 2) * anchors[:, :, 1]
    return torch.stack([cx, cy, w, h], 2), r[:, :, 4:]


class Exported(nn.Module):
    """The ONNX graph: decoding in the graph, scores after sigmoid, one output.

    yolov8: 1 x (4 + 80) x 2100 at 320x320. yolov5: 1 x 6300 x (5 + 80).
    """

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        outs = []
        for level, raw in enumerate(self.net(x)):
            boxes, logits = decode_level(raw, level, self.net.layout)
            if self.net.layout == "yolov8":
                b = boxes.shape[0]
                outs.append(torch.cat([boxes, torch.sigmoid(logits)], 1).view(b, 4 + NUM_CLASSES, -1))
            else:
                b = boxes.shape[0]
                y = torch.cat([boxes, torch.sigmoid(logits)], 2)          # B x 3 x 85 x H x W
                outs.append(y.permute(0, 1, 3, 4, 2).reshape(b, -1, 5 + NUM_CLASSES))
        return torch.cat(outs, 2 if self.net.layout == "yolov8" else 1)


def cells_for(cx, cy, s, n):
    """Return the centre cell and its two nearest neighbours (YOLOv5's rule) that lie inside the grid."""
    gx, gy = cx / s, cy / s
    i, j = int(gx), int(gy)
    cells = [(i, j), (i - 1 if gx - i < 0.5 else i + 1, j), (i, j - 1 if gy - j < 0.5 else j + 1)]
    return [(a, b) for a, b in cells if 0 <= a < n and 0 <= b < n]


def giou(p, t):
    """Generalised IoU of Nx4 boxes given as cx, cy, w, h."""
    p0, p1 = p[:, :2] - p[:, 2:] / 2, p[:, :2] + p[:, 2:] / 2
    t0, t1 = t[:, :2] - t[:, 2:] / 2, t[:, :2] + t[:, 2:] / 2
    inter = (torch.min(p1, t1) - torch.max(p0, t0)).clamp(min=0).prod(1)
    union = p[:, 2:].prod(1) + t[:, 2:].prod(1) - inter + 1e-7
    hull = (torch.max(p1, t1) - torch.min(p0, t0)).prod(1) + 1e-7
    iou = inter / union
    return iou - (hull - union) / hull


def loss_fn(raws, targets, layout):
    """Box GIoU loss on assigned cells plus BCE score losses, each summed and divided by the positives."""
    box_loss, score_loss, positives = 0.0, 0.0, 0
    for level, raw in enumerate(raws):
        s, n = STRIDES[level], raw.shape[-1]
        boxes, logits = decode_level(raw, level, layout)
        score_target = torch.zeros_like(logits)
        pred, true = [], []
        for bi, (gt_boxes, gt_labels) in enumerate(targets):
            for (x0, y0, x1, y1), label in zip(gt_boxes.tolist(), gt_labels.tolist()):
                cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
                if layout == "yolov8":
                    lo = V8_LEVEL_MAX[level - 1] if level > 0 else 0
                    if not lo < max(w, h) <= V8_LEVEL_MAX[level]:
                        continue
                    for i, j in cells_for(cx, cy, s, n):
                        score_target[bi, label, j, i] = 1.0
                        pred.append(boxes[bi, :, j, i])
                        true.append(torch.tensor([cx, cy, w, h]))
                else:
                    for a, (aw, ah) in enumerate(V5_ANCHORS[level]):
                        if max(w / aw, aw / w, h / ah, ah / h) >= 4.0:
                            continue
                        for i, j in cells_for(cx, cy, s, n):
                            score_target[bi, a, 0, j, i] = 1.0
                            score_target[bi, a, 1 + label, j, i] = 1.0
                            pred.append(boxes[bi, a, :, j, i])
                            true.append(torch.tensor([cx, cy, w, h]))
        if pred:
            box_loss = box_loss + (1.0 - giou(torch.stack(pred), torch.stack(true))).sum()
            positives += len(pred)
        if layout == "yolov8":
            score_loss = score_loss + F.binary_cross_entropy_with_logits(logits, score_target, reduction="sum")
        else:
            obj = F.binary_cross_entropy_with_logits(logits[:, :, 0], score_target[:, :, 0], reduction="sum")
            mask = score_target[:, :, 0:1] > 0
            cls = F.binary_cross_entropy_with_logits(logits[:, :, 1:], score_target[:, :, 1:],
                                                     reduction="none")
            score_loss = score_loss + obj + (cls * mask).sum()
    positives = max(positives, 1)
    return (5.0 * box_loss + score_loss) / positives


def batches(scenes, batch_size, rng):
    """Yield (input tensor Bx3x320x320, targets) forever, shuffled, with random horizontal flips."""
    order = list(range(len(scenes)))
    while True:
        rng.shuffle(order)
        for start in range(0, len(order) - batch_size + 1, batch_size):
            xs, targets = [], []
            for k in order[start:start + batch_size]:
                rgb, b, c = scenes[k]
                b = b.copy()
                if rng.random() < 0.5:
                    rgb = rgb[:, ::-1]
                    b[:, [0, 2]] = rgb.shape[1] - b[:, [2, 0]]
                canvas, top = letterbox(np.ascontiguousarray(rgb))
                b[:, [1, 3]] += top
                xs.append(to_tensor(canvas))
                targets.append((torch.from_numpy(b), torch.from_numpy(c)))
            yield torch.cat(xs), targets


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layout", choices=("yolov8", "yolov5"), required=True)
    ap.add_argument("--width", type=int, default=8, help="channels of the first conv")
    ap.add_argument("--train", required=True, help="visionbench synth output folder for training")
    ap.add_argument("--reference", required=True,
                    help="PNG whose letterboxed tensor becomes the recorded reference input")
    ap.add_argument("--minutes", type=float, default=15.0, help="training time budget")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--init", help="state dict (.pt) to start from, written by an earlier run")
    ap.add_argument("--init-onnx", help="exported .onnx to continue training (trains without BatchNorm)")
    ap.add_argument("--save", help="also write the trained state dict (.pt) here, for --init")
    ap.add_argument("--out", required=True, help="ONNX file to write")
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    scenes = load_scenes(args.train)
    net = Detector(args.width, args.layout, batchnorm=args.init_onnx is None)
    if args.init_onnx:
        load_onnx_weights(net, args.init_onnx)
    if args.init:
        net.load_state_dict(torch.load(args.init))
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)

    # Train for the time budget with a cosine learning rate over that time.
    start = time.time()
    budget = args.minutes * 60
    step = 0
    net.train()
    for x, targets in batches(scenes, args.batch, rng):
        elapsed = time.time() - start
        if elapsed > budget:
            break
        for g in opt.param_groups:
            g["lr"] = args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * elapsed / budget)))
        loss = loss_fn(net(x), targets, args.layout)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 20 == 0:
            print(f"step {step} images {step * args.batch} loss {loss.item():.3f} "
                  f"time {elapsed:.0f}s", flush=True)
    print(f"trained {step} steps ({step * args.batch} images) in {time.time() - start:.0f}s", flush=True)

    # Save the weights, export with opset 13 and record the reference output.
    if args.save:
        torch.save(net.state_dict(), args.save)
    stem = os.path.splitext(args.out)[0]
    net.eval()
    model = Exported(net).eval()
    from PIL import Image
    canvas, _ = letterbox(np.asarray(Image.open(args.reference).convert("RGB")))
    x = to_tensor(canvas)
    torch.onnx.export(model, x, args.out, opset_version=13, input_names=["images"],
                      output_names=["output0"], do_constant_folding=True)
    y = save_reference(model, x, stem, 13)
    print(f"exported {args.out} output {tuple(y.shape)}; "
          f"parameters {sum(p.numel() for p in net.parameters())}", flush=True)


if __name__ == "__main__":
    main()
