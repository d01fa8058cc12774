#!/usr/bin/env python3
"""Writes a synthetic classification CSV of any size, deterministically, with
the standard library only (no numpy/polars on a fresh machine):

    python3 gen_rows.py --rows 10000000 --out data/rows-10m.csv

Columns, as ../../../shared/peers/gen_synth.py lays them out for the 1M-row
benchmark: 8 numeric features (age, income, score_a, score_b, ratio,
visits, balance, temp; about 5% of each missing), 4 categorical ones
(color 5 levels, region 12, device 3, product 40 with Zipf-like shares),
an `id` (the split key) and a binary `label` drawn from a logistic model
of the features. About 96 bytes a row.
"""

import argparse
import math
import os
import random


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default="data/rows-10m.csv")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    colors = ["red", "green", "blue", "black", "white"]
    regions = [f"region_{i:02d}" for i in range(12)]
    devices = ["desktop", "mobile", "tablet"]
    products = [f"P{i:03d}" for i in range(40)]
    pw = [1.0 / (i + 1) for i in range(40)]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w", buffering=1 << 20) as f:
        f.write("id,age,income,score_a,score_b,ratio,visits,balance,temp,"
                "color,region,device,product,label\n")
        block = []
        for i in range(args.rows):
            age = rng.randint(18, 90)
            income = round(math.exp(rng.gauss(10.5, 0.6)), 2)
            score_a = round(rng.gauss(0, 1), 4)
            score_b = round(rng.gauss(50, 10), 3)
            ratio = round(rng.random(), 5)
            visits = min(int(rng.expovariate(1 / 3)), 30)
            balance = round(rng.gauss(1000, 5000), 2)
            temp = round(rng.gauss(20, 8), 1)
            color = rng.randrange(5)
            region = rng.randrange(12)
            r = rng.random()
            device = 0 if r < 0.5 else (1 if r < 0.9 else 2)
            product = rng.choices(range(40), weights=pw)[0]
            z = (0.03 * (age - 50) + 0.8 * (math.log(income) - 10.5) + 0.7 * score_a
                 - 0.04 * (score_b - 50) + 1.2 * (ratio - 0.5) + 0.15 * (visits - 3)
                 + 0.0001 * (balance - 1000) + 0.3 * (device == 1) - 0.5 * (color == 3)
                 + 0.05 * (region - 6) + 0.4 * (product < 5) - 0.3)
            label = 1 if rng.random() < 1 / (1 + math.exp(-z)) else 0
            nums = [age, income, score_a, score_b, ratio, visits, balance, temp]
            cells = ["" if rng.random() < 0.05 else str(v) for v in nums]
            cats = [colors[color], regions[region], devices[device], products[product]]
            block.append(f"{i},{','.join(cells)},{','.join(cats)},{label}\n")
            if len(block) == 100_000:
                f.write("".join(block))
                block.clear()
        f.write("".join(block))
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
