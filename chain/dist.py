"""Data parallelism over torch.distributed, for `torchrun --nproc-per-node N xstilts.py ...` (NCCL for CUDA
tensors, gloo for CPU ones). Every rank runs the same program on the same data order; the loop gives rank r
the micro-batches j ≡ r (mod N) of each optimiser step and sums the gradients over ranks (`sum_grads`), so a
step is the one-process step with the same global batch (its loss weights each example alike whatever rank
holds it). Rank 0 alone writes files (callers check util.main). Evaluation gives each rank
every N-th batch and gathers the outputs. A plain all-reduce rather than the DDP wrapper: an epoch's last step
may leave a rank without a micro-batch, and multi-task steps use one head of several, which DDP handles only
with extra passes (find_unused_parameters); for one node's GPUs the summed all-reduce is the same traffic.
"""
import os

import torch
import torch.distributed as dist

from util import total, world


def init():
    """Join torchrun's process group when it launched us (WORLD_SIZE > 1); each rank takes its own GPU, where the
    node has one for it (ranks of a --device cpu run may outnumber the GPUs; chain/stage.py device_of says so
    for a CUDA run)."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        if int(os.environ.get("LOCAL_RANK", "0")) < torch.cuda.device_count():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo")


def finish(ok):
    """Leave the process group (its threads must stop before exit): after a barrier when the command succeeded."""
    if dist.is_initialized():
        if ok:
            dist.barrier()
        dist.destroy_process_group()


def sum_grads(params):
    """Sum each parameter's gradient over ranks, one flat buffer per dtype and device. A gradient some rank
    lacks counts as zeros there; one that no rank has stays None, as on one process (AdamW skips it)."""
    if world() == 1:
        return
    params = [p for p in params if p.requires_grad]
    has = total(torch.tensor([p.grad is not None for p in params], dtype=torch.int32))
    groups = {}
    for p, n in zip(params, has.tolist()):
        if n:
            p.grad = torch.zeros_like(p) if p.grad is None else p.grad
            groups.setdefault((p.grad.dtype, p.grad.device), []).append(p.grad)
    for grads in groups.values():
        flat = total(torch.cat([g.reshape(-1) for g in grads]))
        for g, part in zip(grads, flat.split([g.numel() for g in grads])):
            g.copy_(part.view_as(g))

