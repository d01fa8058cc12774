"""The anneal default model's training step in PyTorch on CUDA, for a
throughput ratio against `anneal bench --backend wgpu`: an MLP
inputs -> 256 -> 256 -> outputs, ReLU, dropout 0.1, AdamW (lr 1e-3, wd 1e-4),
gradient norm clipped to 1.0, cross-entropy, float32, the given batch size,
shuffled each epoch, on data of the same shape as anneal's model matrix
(throughput does not depend on the values). Timed epochs after one warm-up
epoch, with torch.cuda.synchronize at the ends.

    python3 benches/compare/torch_gpu.py --inputs D --outputs K --rows N --batch B --epochs E --out result.json
"""
import argparse, json, time
import torch
from torch import nn

ap = argparse.ArgumentParser()
ap.add_argument("--inputs", type=int, required=True)
ap.add_argument("--outputs", type=int, default=2)
ap.add_argument("--rows", type=int, required=True)
ap.add_argument("--batch", type=int, required=True)
ap.add_argument("--epochs", type=int, default=3)
ap.add_argument("--hidden", default="256,256")
ap.add_argument("--out", required=True)
a = ap.parse_args()
dev = torch.device("cuda")
torch.manual_seed(42)
hidden = [int(h) for h in a.hidden.split(",")]
layers, d = [], a.inputs
for h in hidden:
    layers += [nn.Linear(d, h), nn.ReLU(), nn.Dropout(0.1)]
    d = h
layers.append(nn.Linear(d, a.outputs))
model = nn.Sequential(*layers).to(dev)
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4, eps=1e-8)
loss_fn = nn.CrossEntropyLoss()
X = torch.rand(a.rows, a.inputs, device=dev)
y = torch.randint(0, a.outputs, (a.rows,), device=dev)

def epoch():
    perm = torch.randperm(a.rows, device=dev)
    total = torch.zeros((), device=dev)
    for i in range(0, a.rows, a.batch):
        idx = perm[i:i + a.batch]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(X[idx]), y[idx])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        total += loss.detach()
    return float(total)  # one read-back per epoch, as anneal does on a GPU

model.train()
epoch()
torch.cuda.synchronize()
times = []
for _ in range(a.epochs):
    t = time.perf_counter()
    epoch()
    torch.cuda.synchronize()
    times.append(time.perf_counter() - t)
best = min(times)
res = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "inputs": a.inputs,
       "hidden": hidden, "batch": a.batch, "rows": a.rows, "epoch_seconds": times,
       "samples_per_second": a.rows / best, "median_samples_per_second": a.rows / sorted(times)[len(times) // 2]}
json.dump(res, open(a.out, "w"), indent=1)
print("TORCH", json.dumps(res))
