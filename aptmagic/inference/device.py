from __future__ import annotations

from typing import Any

from aptmagic.inference.spec import ModelSpec


def resolve_device(requested: str) -> str:
    import torch

    if requested != "auto":
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def resolve_dtype(spec: ModelSpec, device: str) -> Any:
    import torch

    if spec.dtype != "auto":
        return getattr(torch, spec.dtype)
    return torch.float16 if device in ("cuda", "mps") else torch.float32


def module_bytes(*modules: Any) -> int:
    """Bytes held by the parameters and buffers of torch modules."""
    total = 0
    for module in modules:
        if module is None or not hasattr(module, "parameters"):
            continue
        for tensor in list(module.parameters()) + list(module.buffers()):
            total += tensor.numel() * tensor.element_size()
    return total
