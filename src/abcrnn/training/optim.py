"""AdamW for training: torch's fused kernel, without torch.optim.

Why not ``torch.optim.AdamW``: the first use of any torch.optim optimizer imports
``torch._dynamo`` (its methods are wrapped by ``torch._disable_dynamo``), which
takes ~1 s here, a quarter of ``abcrnn train``'s start-up and 4% of the time to
reach validation loss 1.40 (docs/BENCHMARKS.md). This class calls the very kernel
``torch.optim.AdamW(fused=True)`` calls, ``torch._fused_adamw_``, so updates are
the same to the bit, and its ``state_dict`` has torch's layout, so checkpoints
move freely between the two (tests/test_speed_paths.py).
"""
from __future__ import annotations

import torch

# torch.optim.AdamW's per-group options, as its state_dict lists them
_FIXED = {"amsgrad": False, "maximize": False, "foreach": None, "capturable": False,
          "differentiable": False, "fused": True, "decoupled_weight_decay": True}


class AdamW:
    """The parts of torch.optim.AdamW that training uses: ``param_groups`` (their
    "lr" is set by the schedule), ``step``, ``zero_grad``, ``state_dict`` and
    ``load_state_dict``. CPU and CUDA tensors only (the fused kernel's devices)."""

    def __init__(self, params, lr: float, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        groups = list(params)
        if groups and not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        self.param_groups = [{"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                              **_FIXED, **g, "params": list(g["params"])} for g in groups]
        self.state: dict = {}     # parameter -> {"step", "exp_avg", "exp_avg_sq"}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for g in self.param_groups:
            for p in g["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        for g in self.param_groups:
            params = [p for p in g["params"] if p.grad is not None]
            for device in {p.device for p in params}:   # the kernel takes one device at a time
                ps = [p for p in params if p.device == device]
                st = [self._state(p) for p in ps]
                steps = [s["step"] for s in st]
                torch._foreach_add_(steps, 1)
                beta1, beta2 = g["betas"]
                torch._fused_adamw_(ps, [p.grad for p in ps], [s["exp_avg"] for s in st],
                                    [s["exp_avg_sq"] for s in st], [], steps, lr=g["lr"],
                                    beta1=beta1, beta2=beta2, weight_decay=g["weight_decay"],
                                    eps=g["eps"], amsgrad=False, maximize=False)

    def _state(self, p: torch.Tensor) -> dict:
        if p not in self.state:     # as torch's fused path: step is a float32 tensor on p's device
            self.state[p] = {"step": torch.zeros((), dtype=torch.float32, device=p.device),
                             "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                             "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format)}
        return self.state[p]

    def _params(self) -> list:
        return [p for g in self.param_groups for p in g["params"]]

    def state_dict(self) -> dict:
        """torch's layout: parameters numbered across groups in order."""
        index = {p: i for i, p in enumerate(self._params())}
        groups = [{k: v for k, v in g.items() if k != "params"} | {"params": [index[p] for p in g["params"]]}
                  for g in self.param_groups]
        return {"state": {index[p]: dict(s) for p, s in self.state.items()}, "param_groups": groups}

    def load_state_dict(self, sd: dict) -> None:
        """From this class or torch.optim.Adam(W): hyper-parameters and moments."""
        if len(sd["param_groups"]) != len(self.param_groups) or any(
                len(a["params"]) != len(b["params"]) for a, b in zip(sd["param_groups"], self.param_groups)):
            raise ValueError("optimizer state does not match the model's parameter groups")
        for mine, saved in zip(self.param_groups, sd["param_groups"]):
            for k in ("lr", "eps", "weight_decay"):
                mine[k] = saved[k]
            mine["betas"] = tuple(saved["betas"])
        params = self._params()
        self.state = {}
        for i, s in sd["state"].items():
            p = params[int(i)]
            step = torch.as_tensor(s["step"], dtype=torch.float32)       # copied: never shared
            self.state[p] = {"step": step.to(p.device, copy=True).reshape(()),
                             "exp_avg": s["exp_avg"].to(p.device, p.dtype, copy=True),
                             "exp_avg_sq": s["exp_avg_sq"].to(p.device, p.dtype, copy=True)}
