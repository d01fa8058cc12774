"""Reference TabM (PyTorch, the `tabm` package 0.0.3) with anneal's default
`tabm` shape: k = 8, 2 blocks of 256, dropout 0.1, arch 'tabm', AdamW
(lr 1e-3, wd 1e-4), gradient norm clipped to 1.0, MSE averaged over the k
members (regression, as flights), on data of the same shape as anneal's
model matrix. Timed epochs after a 50-step warm-up.

    python3 benches/compare/torch_tabm.py --device cuda|cpu --inputs D --rows N --batch B --epochs E --out r.json
"""
import argparse, json, time
import torch, tabm

ap = argparse.ArgumentParser()
ap.add_argument("--device", default="cuda")
ap.add_argument("--threads", type=int, default=0)
ap.add_argument("--inputs", type=int, required=True)
ap.add_argument("--rows", type=int, required=True)
ap.add_argument("--batch", type=int, required=True)
ap.add_argument("--epochs", type=int, default=2)
ap.add_argument("--k", type=int, default=8)
ap.add_argument("--arch", default="tabm", help="tabm or tabm-mini")
ap.add_argument("--out", required=True)
a = ap.parse_args()
if a.threads:
    torch.set_num_threads(a.threads)
dev = torch.device(a.device)
torch.manual_seed(42)
model = tabm.TabM.make(n_num_features=a.inputs, d_out=1, k=a.k, n_blocks=2, d_block=256,
                       dropout=0.1, arch_type=a.arch).to(dev)
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4, eps=1e-8)
X = torch.rand(a.rows, a.inputs, device=dev)
y = torch.randn(a.rows, device=dev)
sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)

def steps(n=None):
    perm = torch.randperm(a.rows, device=dev)
    total = torch.zeros((), device=dev)
    done = 0
    for i in range(0, a.rows, a.batch):
        idx = perm[i:i + a.batch]
        opt.zero_grad(set_to_none=True)
        pred = model(X[idx]).squeeze(-1)              # (B, k)
        loss = ((pred - y[idx, None]) ** 2).mean()    # the mean of the member losses
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        total += loss.detach()
        done += 1
        if n is not None and done >= n:
            break
    return float(total)

model.train()
steps(50)
sync()
times = []
for _ in range(a.epochs):
    t = time.perf_counter(); steps(); sync(); times.append(time.perf_counter() - t)
res = {"device": torch.cuda.get_device_name(0) if dev.type == "cuda" else f"cpu, {torch.get_num_threads()} threads",
       "torch": torch.__version__, "tabm": tabm.__version__ if hasattr(tabm, "__version__") else "0.0.3",
       "arch": a.arch, "inputs": a.inputs, "k": a.k, "blocks": [256, 256], "batch": a.batch, "rows": a.rows,
       "epoch_seconds": times, "samples_per_second": a.rows / min(times)}
json.dump(res, open(a.out, "w"), indent=1)
print("TORCH_TABM", json.dumps(res))
