"""scikit-learn's side of `cargo bench --bench predict`: the same titanic
model size (one-hot pclass/sex, median-imputed age with a missing indicator,
standard scaling, MLP 64-64) fitted on datasets/titanic.csv, then
`predict_proba` timed on the same 200,000 rows (the file's rows repeated),
preprocessing included, as anneal's predict includes it.

    python3 benches/compare/predict_sklearn.py [--rows 200000] [--runs 5]

Prints rows/s (median of the runs) and single-row latency.
"""
import argparse
import os
import statistics
import time

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    df = pd.read_csv(os.path.join(ROOT, "datasets", "titanic.csv"))
    y = df.pop("survived")
    pre = ColumnTransformer([
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["pclass", "sex"]),
        ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()),
         ["age", "sibsp", "parch"]),
    ])
    model = Pipeline([("pre", pre), ("mlp", MLPClassifier((64, 64), max_iter=50, random_state=42))])
    model.fit(df, y)
    big = pd.concat([df] * (a.rows // len(df) + 1), ignore_index=True).iloc[: a.rows]
    times = []
    for _ in range(a.runs + 1):
        t = time.perf_counter()
        model.predict_proba(big)
        times.append(time.perf_counter() - t)
    times = times[1:]
    med = statistics.median(times)
    one = big.iloc[:1]
    lat = []
    for _ in range(200):
        t = time.perf_counter()
        model.predict_proba(one)
        lat.append(time.perf_counter() - t)
    print(f"scikit-learn {__import__('sklearn').__version__}: predict_proba {a.rows} rows: "
          f"median {med:.3f} s = {a.rows / med:,.0f} rows/s; 1-row latency median "
          f"{statistics.median(lat) * 1e6:.0f} us")


if __name__ == "__main__":
    main()
