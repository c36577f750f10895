"""Training on several processes through torchrun (DistributedDataParallel, gloo on CPU)."""
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from abcrnn.model.charrnn import CharRNN
from abcrnn.model.config import ModelConfig

pytestmark = pytest.mark.slow

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
# gloo on the loopback interface: the machine's other interfaces play no part in the test
ENV = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}

# Each rank: the same model (seed 0), its own batch, one DDP backward; rank 0 saves the
# averaged gradients. Written to a file and run by torchrun, as a user would run training.
GRAD_SCRIPT = textwrap.dedent('''
    import sys, torch, torch.distributed as dist
    from safetensors.torch import save_file
    from torch.nn.parallel import DistributedDataParallel
    from abcrnn.model.charrnn import CharRNN
    from abcrnn.model.config import ModelConfig
    from abcrnn.training.ddp import rank_weighted
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(20, "lstm", 12, 2, 0.0, 6))
    ddp = DistributedDataParallel(model)
    g = torch.Generator().manual_seed(100 + rank)
    idx = torch.randint(20, (3, 9), generator=g)
    targets = torch.randint(20, (3, 9), generator=g)
    if rank == 1:
        targets[:, 4:] = -1     # padding past a tune's end: rank 1 has fewer real targets
    _, loss, _ = ddp(idx, targets)
    rank_weighted(loss, targets).backward()
    if rank == 0:
        save_file({n: p.grad for n, p in model.named_parameters()}, sys.argv[1])
    dist.barrier()          # no rank leaves while another still talks to it
    dist.destroy_process_group()
''')


def test_ddp_gradients_equal_one_process_on_the_union_of_batches(tmp_path):
    script = tmp_path / "grads.py"
    script.write_text(GRAD_SCRIPT)
    out = tmp_path / "grads.safetensors"
    r = subprocess.run(TORCHRUN + [str(script), str(out)], capture_output=True, text=True, timeout=120, env=ENV)
    assert r.returncode == 0, r.stderr[:3000]
    from safetensors.torch import load_file
    ddp_grads = load_file(str(out))

    torch.manual_seed(0)
    model = CharRNN(ModelConfig(20, "lstm", 12, 2, 0.0, 6))
    batches = []
    for rank in range(2):
        g = torch.Generator().manual_seed(100 + rank)
        idx, targets = torch.randint(20, (3, 9), generator=g), torch.randint(20, (3, 9), generator=g)
        if rank == 1:
            targets[:, 4:] = -1
        batches.append((idx, targets))
    idx = torch.cat([b[0] for b in batches])
    targets = torch.cat([b[1] for b in batches])
    _, loss, _ = model(idx, targets)       # mean over every real target of the union
    loss.backward()
    for name, p in model.named_parameters():
        torch.testing.assert_close(ddp_grads[name], p.grad, rtol=1e-5, atol=1e-6)


def test_torchrun_training_writes_one_checkpoint_from_rank_zero_and_resumes(tmp_path, corpus_file):
    run = tmp_path / "run"
    cmd = TORCHRUN + ["-m", "abcrnn", "train", "--corpus", str(corpus_file), "--out", str(run),
                      "--hidden-size", "16", "--embed-size", "8", "--seq-len", "32", "--batch-size", "4",
                      "--max-steps", "6", "--eval-interval", "3", "--quiet"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=ENV)
    assert r.returncode == 0, r.stderr[-2000:]
    last = json.loads((run / "last.json").read_text())
    assert last["step"] == 6 and [h["step"] for h in last["history"]] == [3, 6]
    assert all(torch.isfinite(torch.tensor([h["train_loss"], h["val_loss"]])).all()
               for h in last["history"])
    assert len(list(run.glob("last-*.safetensors"))) == 2       # weights + optimizer/RNG state
    assert len(list(run.glob("model-*.safetensors"))) == 1
    assert not list(run.glob(".*.tmp"))
    # only rank 0 reports
    assert r.stdout.count("step 6:") == 1
    resume = TORCHRUN + ["-m", "abcrnn", "train", "--out", str(run), "--max-steps", "9", "--resume", "--quiet"]
    r = subprocess.run(resume, capture_output=True, text=True, timeout=180, env=ENV)
    assert r.returncode == 0, r.stderr[-2000:]
    after = json.loads((run / "last.json").read_text())
    assert after["step"] == 9 and after["history"][:2] == last["history"]
    # rank 0 alone reports, and reports the step it reached (rank 1 holds the resumed history)
    assert [ln.split(":")[0] for ln in r.stdout.splitlines()] == ["step 9"], r.stdout
    assert [h["step"] for h in after["history"]] == [3, 6, 9]
