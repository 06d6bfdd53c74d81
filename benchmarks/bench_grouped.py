"""Networks per hour: one at a time (knnoise.dnn.train) against a group trained as one stacked model
(knnoise.dnn.train_group) with group sizes 1, 4, 16 on the CPU and 1, 8, 32, 128 on a GPU (as many as
:func:`knnoise.dnn.group_size` says fit), in the same run, as ratios against one at a time.

Workload: the MNIST net on 6,000 MNIST training images (1,000 test images), one epoch of the paper's
schedule, no training-set outputs; every network has its own noisy labels (20% uniform noise, its own
draw) and seed. On the CPU (2 torch threads) the group is the loop over the stacked networks' slices
(``vectorize=False``, the default there, bitwise lone training); on a GPU the vmapped one. One-at-a-time
is measured (after an untimed warm-up network) before and after the groups (the machine may be shared),
and the ratios use their mean.

Also: the time of one training step (batch 256) of 4 networks alone, as the CPU loop, and vmapped
(grouped convolutions), to show why the CPU default is the loop; then, to measure before speeding up the
GPU path (issue 19), one training step of a group (32 on a GPU, 4 on the CPU) as the trainer takes it,
under each candidate speed-up: as trained (float32; on CUDA cuDNN's convolutions use TF32, torch's
default), TF32 matrix products too (CUDA), bf16 autocast, channels-last inputs (CUDA; the CPU loop is
channels-last already; vmap may lay the merged slices out again); on a GPU also the largest group's whole
run in bfloat16; and a torch.profiler table of the as-trained step: its top operators and, on a GPU, how
much of the step's wall time the GPU is busy (low: launch-bound, where CUDA graphs would pay).
"""

from __future__ import annotations

import contextlib
import time

import numpy as np
import torch
from torch.nn import functional as F

from knnoise.data import load
from knnoise.dnn import PAPER_SCHEDULES, group_size, pick_device, train, train_group
from knnoise.dnn._stacked import _param_groups, _Stack
from knnoise.dnn.devices import _on_device
from knnoise.dnn.models import build_model

N_TRAIN, N_TEST, GAMMA = 6_000, 1_000, 0.2
LONE = 2  # networks trained one at a time, before and after the groups
SIZES = {"cpu": (1, 4, 16), "cuda": (1, 8, 32, 128)}  # group sizes by device type (a GPU: as many as fit)
VARIANT_GROUP = {"cpu": 4, "cuda": 32}  # the group whose step the speed-up candidates are timed on


def _noisy(y: np.ndarray, n: int) -> list[np.ndarray]:
    """``n`` independent 20%-uniform-noise draws of the labels ``y``."""
    out = []
    for seed in range(n):
        rng = np.random.default_rng(seed)
        noisy = y.copy()
        picked = rng.choice(len(y), size=round(GAMMA * len(y)), replace=False)
        noisy[picked] = rng.integers(0, 10, size=len(picked))
        out.append(noisy)
    return out


def _lone(ds, labels, kwargs) -> float:
    start = time.perf_counter()
    for seed, y in enumerate(labels):
        train(ds, y, seed=seed, **kwargs)
    return (time.perf_counter() - start) / len(labels)


def _grouped(ds, labels, kwargs) -> float:
    start = time.perf_counter()
    train_group(ds, labels, list(range(len(labels))), **kwargs, max_group=len(labels))
    return (time.perf_counter() - start) / len(labels)


def _step_times(dev: torch.device, g: int = 4, batch: int = 256, steps: int = 3) -> dict[str, float]:
    """Seconds per training step of ``g`` MNIST nets: alone (summed), the CPU loop, vmapped."""
    x = torch.rand(g, batch, 1, 28, 28, device=dev)
    y = torch.randint(0, 10, (g, batch), device=dev)
    nets = [build_model("mnist", 10) for _ in range(g)]
    times = {}
    for name, vectorize in (("loop", False), ("vmap", True)):
        stack = _Stack(nets, dev, vectorize)
        opt = torch.optim.Adam(stack.param_groups(1e-7), lr=0.01)

        def step(stack=stack, opt=opt):
            losses = F.cross_entropy(stack.logits(x).flatten(0, 1), y.flatten(), reduction="none")
            opt.zero_grad(set_to_none=True)
            losses.view(g, batch).mean(1).sum().backward()
            opt.step()

        times[name] = _per_step(step, steps, dev)
    total = 0.0
    for i, net in enumerate(nets):
        net = _on_device(net, dev).train()
        opt = torch.optim.Adam(_param_groups(net.named_parameters(), 1e-7), lr=0.01)
        xi = x[i].contiguous(memory_format=torch.channels_last) if dev.type == "cpu" else x[i]

        def lone_step(net=net, opt=opt, xi=xi, yi=y[i]):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(xi), yi).backward()
            opt.step()

        total += _per_step(lone_step, steps, dev)
    times["alone"] = total
    return times


@contextlib.contextmanager
def _tf32_matmul(on: bool):
    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = on or before
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before


def _group_step(dev: torch.device, g: int, *, bf16: bool = False, channels_last: bool = False, batch=256):
    """One training step of ``g`` MNIST nets as the trainer takes it on ``dev`` (vmapped on a GPU, the
    loop on the CPU), with the asked-for speed-ups."""
    x = torch.rand(g, batch, 1, 28, 28, device=dev)
    if channels_last:  # every network's slice x[g] (and the kernels) channels-last
        x = x.permute(0, 1, 3, 4, 2).contiguous().permute(0, 1, 4, 2, 3)
    y = torch.randint(0, 10, (g, batch), device=dev)
    precision = "bfloat16" if bf16 else "float32"
    stack = _Stack([build_model("mnist", 10) for _ in range(g)], dev, dev.type == "cuda", precision)
    if channels_last:
        for k, v in stack.params.items():
            if v.ndim == 5:
                stack.params[k] = v.detach().permute(0, 1, 3, 4, 2).contiguous().permute(0, 1, 4, 2, 3)
                stack.params[k].requires_grad_(True)
    opt = torch.optim.Adam(stack.param_groups(1e-7), lr=0.01)

    def step():
        losses = F.cross_entropy(stack.logits(x).flatten(0, 1), y.flatten(), reduction="none")
        opt.zero_grad(set_to_none=True)
        losses.view(g, batch).mean(1).sum().backward()
        opt.step()

    return step


def _variants(dev: torch.device) -> None:
    """Seconds per training step of a group under each speed-up candidate, and the as-trained profile."""
    g = VARIANT_GROUP[dev.type]
    cuda = dev.type == "cuda"
    candidates = {"as trained (float32)": {}, "bf16 autocast": {"bf16": True}}
    if cuda:
        candidates |= {"+ TF32 matmul": {"tf32": True}, "channels-last inputs": {"channels_last": True}}
    steps = 10 if cuda else 2
    base = None
    print(f"one training step of a group of {g} ({'vmapped' if cuda else 'the CPU loop'}, batch 256):")
    for name, options in candidates.items():
        try:
            with _tf32_matmul(options.pop("tf32", False)):
                seconds = _per_step(_group_step(dev, g, **options), steps, dev)
        except Exception as err:  # a candidate this torch or device cannot run is reported, not fatal
            print(f"  {name:22s} failed: {type(err).__name__}: {str(err)[:120]}")
            continue
        base = seconds if name.startswith("as trained") else base
        ratio = f"{base / seconds:5.2f}x as trained" if base else "(as trained failed)"
        print(f"  {name:22s} {seconds * 1000:8.1f} ms  {ratio}")
    _profile(dev, g)


def _profile(dev: torch.device, g: int, steps: int = 3) -> None:
    """torch.profiler over ``steps`` as-trained steps: the top operators by own device (CPU) time, and the
    share of the wall time the device is busy."""
    from torch.profiler import ProfilerActivity, profile

    step = _group_step(dev, g)
    step()
    cuda = dev.type == "cuda"
    if cuda:
        torch.cuda.synchronize(dev)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    start = time.perf_counter()
    with profile(activities=activities) as prof:
        for _ in range(steps):
            step()
        if cuda:
            torch.cuda.synchronize(dev)
    wall = time.perf_counter() - start
    events = prof.key_averages()
    key = "self_device_time_total" if cuda else "self_cpu_time_total"
    busy = sum(getattr(e, key, 0.0) for e in events) / 1e6
    share = f", the GPU busy {busy * 1000:.0f} ms ({100 * busy / wall:.0f}%)" if cuda else ""
    print(f"profile of {steps} as-trained steps: wall {wall * 1000:.0f} ms{share}; top operators:")
    print(events.table(sort_by=key, row_limit=8, max_name_column_width=40))


def _per_step(step, steps: int, dev: torch.device) -> float:
    step()  # warm-up (oneDNN / cuDNN primitive selection)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    return (time.perf_counter() - start) / steps


def main() -> None:
    dev = pick_device("auto")
    threads = 2 if dev.type == "cpu" else None
    ds = load("mnist").subset(n_train=N_TRAIN, n_test=N_TEST, seed=0)
    kwargs = {**PAPER_SCHEDULES["mnist"], "epochs": 1, "train_outputs": False, "progress": False}
    kwargs.update(device=str(dev), num_threads=threads)
    fit = group_size(ds, device=dev) if dev.type == "cuda" else max(SIZES["cpu"])
    sizes = [g for g in SIZES[dev.type] if g <= fit]
    labels = _noisy(ds.y_train, max(sizes))
    print(f"torch {torch.__version__} on {dev} ({threads or 'default'} threads); MNIST net, {N_TRAIN:,} "
          f"training images, {N_TEST:,} test images, 1 epoch, batch 256; seconds per network")  # fmt: skip
    _lone(ds, labels[:1], kwargs)  # warm-up, untimed (oneDNN primitive creation, first-touch memory)
    before = _lone(ds, labels[:LONE], kwargs)
    group = {g: _grouped(ds, labels[:g], kwargs) for g in sizes}
    after = _lone(ds, labels[:LONE], kwargs)
    lone = (before + after) / 2
    print(f"  one at a time: {before:7.2f} s before, {after:7.2f} s after the groups -> "
          f"{3600 / lone:7.0f} networks/h")  # fmt: skip
    for g, seconds in group.items():
        print(f"  group of {g:3d}:  {seconds:7.2f} s           -> {3600 / seconds:7.0f} networks/h, "
              f"{lone / seconds:5.2f}x one at a time")  # fmt: skip
    if dev.type == "cuda":  # on the CPU bfloat16 is several times slower (the step times below)
        g = max(sizes)
        seconds = _grouped(ds, labels[:g], {**kwargs, "precision": "bfloat16"})
        print(f"  group of {g:3d} in bfloat16: {seconds:7.2f} s -> {3600 / seconds:7.0f} networks/h, "
              f"{group[g] / seconds:5.2f}x the float32 group")  # fmt: skip
    steps = _step_times(dev)
    ratios = f"loop {steps['alone'] / steps['loop']:.2f}x, vmap {steps['alone'] / steps['vmap']:.2f}x alone"
    each = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in steps.items())
    print(f"one training step of 4 networks (batch 256, 28x28): {each}; {ratios}")
    _variants(dev)
