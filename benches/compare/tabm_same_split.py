"""The reference TabM (PyTorch, the `tabm` package by its authors) on exactly
anneal's split: trained on the rows anneal trained on, early-stopped on
anneal's validation rows, scored on its test rows.

    python tabm_same_split.py RUN_DIR DATA.csv TARGET [--regression] [--max-rows N]

The model is the package's own default (`TabM.make`: k = 32 members,
blocks of 512, dropout 0.1) with piecewise-linear numeric embeddings
(48 quantile bins, width 16: the paper's TabM with embeddings), numeric
columns quantile-normalised and categorical columns as codes with an
unknown slot, as in the package's example; AdamW (lr 2e-3, weight decay
3e-4), batch 256, the mean of the member losses, patience 16 epochs on the
validation loss. Prints one JSON line. Tables with more than --max-rows
training rows (default 20,000) are skipped: on 2 CPU cores k = 32 members
of width 512 would take hours on them.
"""
import json
import sys
import time

import numpy as np
import pandas as pd
import rtdl_num_embeddings
import tabm
import torch
from sklearn.preprocessing import QuantileTransformer


def load(run, path, target):
    df = pd.read_csv(path)
    pred = pd.read_csv(f"{run}/predictions.csv")
    rowcol = [c for c in pred.columns if c in ("row", "file_row", "data_row")][0]
    split = dict(zip(pred[rowcol], pred["split"]))
    df = df[df[target].notna()].copy()
    df["_split"] = [split.get(i + 1, "train") for i in df.index]
    return df


def encode(df, target, tr):
    X = df.drop(columns=[target, "_split"])
    num = list(X.select_dtypes("number").columns)
    cat = [c for c in X.columns if c not in num]
    # A numeric column constant on the training rows carries nothing, and
    # the bins of the numeric embeddings refuse it.
    num = [c for c in num if X.loc[tr, c].nunique() > 1]
    xn = X[num].fillna(X.loc[tr, num].median()).to_numpy(np.float64)
    if num:
        qt = QuantileTransformer(output_distribution="normal", subsample=10**9, random_state=0,
                                 n_quantiles=max(min(tr.sum() // 30, 1000), 10)).fit(xn[tr])
        xn = qt.transform(xn)
    codes, cards = [], []
    for c in cat:
        v = X[c].fillna("__missing__").astype(str)
        seen = {s: i for i, s in enumerate(sorted(v[tr].unique()))}
        codes.append(v.map(lambda s: seen.get(s, len(seen))).to_numpy(np.int64))
        cards.append(len(seen) + 1)
    xc = np.stack(codes, 1) if codes else None
    return xn.astype(np.float32), xc, cards


def main():
    run, path, target = sys.argv[1:4]
    regression = "--regression" in sys.argv
    max_rows = int(sys.argv[sys.argv.index("--max-rows") + 1]) if "--max-rows" in sys.argv else 20000
    df = load(run, path, target)
    sp = df["_split"].to_numpy()
    tr, va, te = sp == "train", sp == "valid", sp == "test"
    if tr.sum() > max_rows:
        print(json.dumps({"skipped": f"{int(tr.sum())} training rows > --max-rows {max_rows}"}))
        return
    torch.manual_seed(42)
    torch.set_num_threads(2)
    xn, xc, cards = encode(df, target, tr)
    y = df[target]
    if regression:
        yv = y.to_numpy(np.float64)
        mu, sd = yv[tr].mean(), yv[tr].std()
        yt = torch.tensor((yv - mu) / sd, dtype=torch.float32)
        d_out = 1
    else:
        labels = sorted(y.astype(str).unique())
        yt = torch.tensor(y.astype(str).map({l: i for i, l in enumerate(labels)}).to_numpy(), dtype=torch.long)
        d_out = len(labels)
    Xn = torch.tensor(xn)
    Xc = torch.tensor(xc) if xc is not None else None
    n_num = xn.shape[1]
    emb = None
    if n_num:
        bins = rtdl_num_embeddings.compute_bins(Xn[torch.tensor(tr)], n_bins=48)
        emb = rtdl_num_embeddings.PiecewiseLinearEmbeddings(bins, 16, activation=False, version="B")
    model = tabm.TabM.make(n_num_features=n_num, cat_cardinalities=cards, d_out=d_out,
                           num_embeddings=emb)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=3e-4)

    def forward(idx):
        return model(Xn[idx] if n_num else None, Xc[idx] if Xc is not None else None)

    def loss_of(out, idx):  # out: (B, k, d_out); the mean of the member losses
        k = out.shape[1]
        if regression:
            return ((out.squeeze(-1) - yt[idx, None]) ** 2).mean()
        return torch.nn.functional.cross_entropy(out.flatten(0, 1), yt[idx].repeat_interleave(k))

    def predict(mask):
        model.eval()
        idx = torch.tensor(np.flatnonzero(mask))
        with torch.no_grad():
            outs = [forward(idx[i:i + 1024]) for i in range(0, len(idx), 1024)]
        out = torch.cat(outs)
        return out.squeeze(-1).mean(1) if regression else out.softmax(-1).mean(1)

    def val_loss():
        p = predict(va)
        idx = torch.tensor(np.flatnonzero(va))
        if regression:
            return float(((p - yt[idx]) ** 2).mean())
        return float(torch.nn.functional.nll_loss(p.clamp_min(1e-12).log(), yt[idx]))

    t = time.time()
    best, best_state, wait, epochs = float("inf"), None, 0, 0
    train_idx = torch.tensor(np.flatnonzero(tr))
    while wait < 16 and epochs < 200:
        model.train()
        for b in train_idx[torch.randperm(len(train_idx))].split(256):
            opt.zero_grad()
            loss_of(forward(b), b).backward()
            opt.step()
        epochs += 1
        v = val_loss()
        if v < best:
            best, wait = v, 0
            best_state = {k: x.clone() for k, x in model.state_dict().items()}
        else:
            wait += 1
    model.load_state_dict(best_state)
    p = predict(te)
    idx = np.flatnonzero(te)
    out = {"tabm_s": time.time() - t, "tabm_epochs": epochs}
    if regression:
        from sklearn.metrics import r2_score
        yv = y.to_numpy(np.float64)
        out["tabm_r2"] = float(r2_score(yv[idx], p.numpy() * sd + mu))
    else:
        out["tabm_acc"] = float((p.argmax(1).numpy() == yt[idx].numpy()).mean())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
