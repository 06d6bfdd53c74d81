"""``G`` networks of one architecture as one stacked model (:mod:`torch.func`): every parameter and buffer
is a ``(G, ...)`` tensor, and a forward pass is :func:`torch.func.functional_call` of one template network
on each network's slices: ``vmap``-ed over the networks (grouped convolutions; the GPU path) or a loop
over them (the CPU path, with channels-last kernels strided exactly as a lone CPU network's, so the
arithmetic and the results are bitwise a lone network's).

Batch-norm (every conv and the feature layer of the paper's nets) is handled per network: its running
mean, variance and batch counter are stacked buffers passed *into* the vmapped call, so each network's
training-mode statistics come from its own mini-batch and update its own running buffers in place (the
"functional_call with batched buffers" route of torch.func's batch-norm notes; no module patching and no
``track_running_stats=False``). Evaluation mode uses each network's own running statistics.

The stacked parameters are ordinary leaf tensors: the loss of the group is the *sum* of the networks'
mean losses, so the gradient of network ``g``'s slice is exactly that network's own gradient, and
:class:`torch.optim.Adam` (element-wise) on the stacked tensors keeps an independent first and second
moment per network and element (its step counter is shared, as every network steps together).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

__all__: list[str] = []

_CHANNELS_LAST = True
"""The CPU loop's layout: channels-last kernels and inputs (measured ~20% faster training and ~45% faster
inference of the MNIST net with oneDNN on 2 cores than NCHW; benchmarks/bench_train.py compares)."""


class _Both(nn.Module):
    """``forward`` = the wrapped network's ``features_and_logits`` (so functional_call can reach it)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net.features_and_logits(x)


class _Stack:
    """The stacked parameters ``(G, ...)`` and buffers ``(G, ...)`` of ``G`` same-architecture networks.

    Parameters
    ----------
    nets : sequence of nn.Module
        The networks (same class and sizes), each already initialised (e.g. from its own seed).
    device : torch.device
        Where the stacked tensors live.
    vectorize : bool
        ``True``: one ``vmap`` over the networks (their convolutions become one grouped convolution; the
        fast path on a GPU); ``False``: a loop of ``functional_call`` over the networks' slices, each in
        the CPU's channels-last layout (on the CPU oneDNN's grouped convolutions are slower than ``G``
        separate ones). Both give the same gradients to float rounding.
    precision : {"float32", "bfloat16"}
        The forward passes' arithmetic (:class:`knnoise.dnn.TrainOptions`): ``"bfloat16"`` runs them
        under :func:`torch.autocast`, batch-norm on float32 inputs (vmap's batch-norm takes no bfloat16
        input with float32 weights; a lone CUDA network's cuDNN batch-norm computes in float32 too); the
        outputs are float32 either way.
    """

    def __init__(
        self, nets: Sequence[nn.Module], device: torch.device, vectorize: bool, precision: str = "float32"
    ) -> None:
        self.size = len(nets)
        self.vectorize = bool(vectorize)
        self.autocast = precision == "bfloat16"
        self.keys = list(nets[0].state_dict().keys())  # the order of a lone network's state_dict
        self.template = copy.deepcopy(nets[0]).to("meta")
        if self.autocast:
            _float_batch_norm(self.template)
        self.both = _Both(self.template)
        params, buffers = stack_module_state(list(nets))
        self.channels_last = _CHANNELS_LAST and device.type == "cpu" and not self.vectorize
        layout = _channels_last if self.channels_last else (lambda t: t)
        self.params = {k: layout(v.detach().to(device)).requires_grad_(True) for k, v in params.items()}
        self.buffers = {k: v.detach().to(device) for k, v in buffers.items()}

    def param_groups(self, weight_decay: float) -> list[dict[str, Any]]:
        """Adam's parameter groups of the stacked weights (:func:`_param_groups`)."""
        return _param_groups(self.params.items(), weight_decay)

    def _one(self, params: dict, buffers: dict, x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.template, (params, buffers), (x,))

    def _one_both(self, params: dict, buffers: dict, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return functional_call(self.both, (params, buffers), (x,))

    def _map(self, fn: Any, params: dict, buffers: dict, x: torch.Tensor) -> Any:
        """``fn`` of every network's slices and inputs ``x[g]``, stacked along a new first axis, in the
        stack's precision; float32 outputs."""
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            out = self._map_each(fn, params, buffers, x)
        if not self.autocast:
            return out
        return tuple(o.float() for o in out) if isinstance(out, tuple) else out.float()

    def _map_each(self, fn: Any, params: dict, buffers: dict, x: torch.Tensor) -> Any:
        if self.vectorize:
            return vmap(fn)(params, buffers, x)
        outs = []
        for g in range(self.size):
            xg = x[g].contiguous(memory_format=torch.channels_last) if self.channels_last else x[g]
            outs.append(fn({k: v[g] for k, v in params.items()}, {k: v[g] for k, v in buffers.items()}, xg))
        if isinstance(outs[0], tuple):
            return tuple(torch.stack(parts) for parts in zip(*outs, strict=True))
        return torch.stack(outs)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Training-mode logits ``(G, B, L)`` of per-network batches ``x`` ``(G, B, C, H, W)``; updates each
        network's batch-norm running statistics."""
        self.template.train()
        return self._map(self._one, self.params, self.buffers, x)

    @torch.no_grad()
    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Evaluation-mode features ``(G, B, F)`` and logits ``(G, B, L)`` of ``x`` ``(G, B, C, H, W)``."""
        self.template.eval()
        params = {f"net.{k}": v.detach() for k, v in self.params.items()}
        buffers = {f"net.{k}": v for k, v in self.buffers.items()}
        return self._map(self._one_both, params, buffers, x)

    def state(self, g: int) -> dict[str, torch.Tensor]:
        """Network ``g``'s weights as a lone network's ``state_dict`` (detached contiguous CPU copies)."""
        both = {**self.params, **self.buffers}
        return {k: both[k][g].detach().to("cpu", copy=True).contiguous() for k in self.keys}

    @torch.no_grad()
    def load(self, states: Sequence[dict[str, torch.Tensor]]) -> None:
        """Overwrite every network's weights with ``states[g]`` (lone ``state_dict`` layouts)."""
        for k, v in {**self.params, **self.buffers}.items():
            v.copy_(torch.stack([s[k] for s in states]).to(v.device))


def _float_inputs(_module: nn.Module, inputs: tuple) -> tuple:
    """A forward pre-hook: the module's tensor inputs as float32."""
    return tuple(x.float() if isinstance(x, torch.Tensor) else x for x in inputs)


def _float_batch_norm(net: nn.Module) -> list[Any]:
    """Batch-norm of ``net`` on float32 inputs under bfloat16 autocast; the hooks' handles."""
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d)]
    return [m.register_forward_pre_hook(_float_inputs) for m in bns]


@contextlib.contextmanager
def _in_precision(net: nn.Module, precision: str, device_type: str) -> Iterator[None]:
    """``net``'s forward passes in the block in ``precision``, as a stack of it trains them."""
    if precision != "bfloat16":
        yield
        return
    handles = _float_batch_norm(net)
    try:
        with torch.autocast(device_type, dtype=torch.bfloat16):
            yield
    finally:
        for handle in handles:
            handle.remove()


def _param_groups(named: Iterable[tuple[str, torch.Tensor]], weight_decay: float) -> list[dict[str, Any]]:
    """Adam's parameter groups: L2 on the weights (conv/linear kernels, batch-norm scales), not on the
    biases, as the authors' L2 terms."""
    named = list(named)
    decay = [p for n, p in named if not n.endswith("bias")]
    rest = [p for n, p in named if n.endswith("bias")]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def _channels_last(t: torch.Tensor) -> torch.Tensor:
    """A stacked conv kernel ``(G, O, I, kh, kw)`` whose slices ``[g]`` have exactly the strides of a lone
    CPU network's channels-last kernel (so oneDNN picks the same kernels); other tensors unchanged."""
    if t.ndim != 5:
        return t
    one = torch.empty_like(t[0], memory_format=torch.channels_last)
    out = torch.empty_strided(t.shape, (one.numel(), *one.stride()), dtype=t.dtype, device=t.device)
    return out.copy_(t)


def _activation_bytes(net: nn.Module, x: torch.Tensor) -> int:
    """Bytes of every leaf module's output per example of the float batch ``x`` (a forward with hooks)."""
    total = [0]

    def hook(_module: nn.Module, _inputs: Any, out: Any) -> None:
        if isinstance(out, torch.Tensor):
            total[0] += out.numel() * out.element_size()

    leaves = [m for m in net.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        with torch.no_grad():
            net.eval()(x)
    finally:
        for h in handles:
            h.remove()
    return total[0] // len(x)


def _bytes_per_network(net: nn.Module, sample: torch.Tensor, batch_size: int) -> int:
    """Rough device memory of one network in a group: weights, gradient, two Adam moments, the best
    checkpoint and a spare copy (6x the weights), plus 3x the activations of a training batch (saved for
    backward, their gradients, workspace)."""
    weights = sum(t.numel() * t.element_size() for t in net.state_dict().values())
    return 6 * weights + 3 * _activation_bytes(net, sample) * batch_size
