"""Runs an exported model.onnx with ONNX Runtime and compares it with anneal.

usage: parity.py MODEL.onnx ARTIFACT_DIR [DATA.csv PREDICTIONS.csv]

Checks the model with `onnx.checker.check_model(full_check=True)`, runs it
on the artifact's golden examples (examples.json: inputs as read, outputs as
`anneal predict` gave them) and, when given, on every row of DATA.csv
against PREDICTIONS.csv (written by `anneal predict` from the same file).
Prints one JSON object: row counts, label mismatches, the largest absolute
probability difference and the largest relative difference of regression
values, the declared inputs/outputs, opsets and metadata.
"""

import csv
import json
import math
import sys

import numpy as np
import onnx
import onnxruntime as ort


def load_kinds(artifact):
    with open(f"{artifact}/preprocess.json") as f:
        pre = json.load(f)
    return {feat["column"]: feat["kind"] for feat in pre["features"]}, pre


def numeric(v):
    if v is None or v == "":
        return math.nan
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, str):
        low = v.strip().lower()
        if low in ("true", "false"):
            return 1.0 if low == "true" else 0.0
        return float(v)
    return float(v)


def text(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def feeds(kinds, rows):
    """rows: list of dicts column -> raw value (None for missing)."""
    out = {}
    for col, kind in kinds.items():
        cells = [r.get(col) for r in rows]
        if kind == "numeric":
            out[col] = np.array([[numeric(c)] for c in cells], dtype=np.float64)
        else:
            out[col] = np.array([[text(c)] for c in cells], dtype=object)
    return out


def label_text(v):
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, bytes):
        return v.decode()
    return str(v)


class Compare:
    def __init__(self, labels):
        self.labels = labels
        self.mismatches = 0
        self.max_proba = 0.0
        self.max_rel = 0.0
        self.rows = 0

    def row(self, pred, proba, expected):
        """expected: dict prediction/proba_<label> -> value."""
        self.rows += 1
        if self.labels is None:
            want = float(expected["prediction"])
            got = float(pred)
            rel = abs(got - want) / max(abs(want), 1e-12)
            self.max_rel = max(self.max_rel, rel)
            return
        if label_text(pred) != label_text(expected["prediction"]):
            self.mismatches += 1
        for j, label in enumerate(self.labels):
            d = abs(float(proba[j]) - float(expected[f"proba_{label}"]))
            self.max_proba = max(self.max_proba, d)


def run(sess, kinds, rows):
    names = [o.name for o in sess.get_outputs()]
    res = dict(zip(names, sess.run(None, feeds(kinds, rows))))
    return res["prediction"], res.get("probabilities")


def main():
    model_path, artifact = sys.argv[1], sys.argv[2]
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    kinds, pre = load_kinds(artifact)
    labels = pre["target"].get("labels")
    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])

    with open(f"{artifact}/examples.json") as f:
        examples = json.load(f)["rows"]
    golden = Compare(labels)
    pred, proba = run(sess, kinds, [e["input"] for e in examples])
    for i, e in enumerate(examples):
        golden.row(pred[i], None if proba is None else proba[i], e["output"])

    data = Compare(labels)
    if len(sys.argv) > 4:
        with open(sys.argv[3], newline="") as f:
            rows = [{k: (v if v != "" else None) for k, v in r.items()} for r in csv.DictReader(f)]
        with open(sys.argv[4], newline="") as f:
            expected = list(csv.DictReader(f))
        assert len(rows) == len(expected), (len(rows), len(expected))
        pred, proba = run(sess, kinds, rows)
        for i, e in enumerate(expected):
            data.row(pred[i], None if proba is None else proba[i], e)

    info = lambda v: [v.name, onnx.helper.printable_type(v.type)]
    print(json.dumps({
        "golden": {"rows": golden.rows, "mismatches": golden.mismatches,
                   "max_proba_diff": golden.max_proba, "max_rel_diff": golden.max_rel},
        "data": {"rows": data.rows, "mismatches": data.mismatches,
                 "max_proba_diff": data.max_proba, "max_rel_diff": data.max_rel},
        "inputs": [info(v) for v in model.graph.input],
        "outputs": [info(v) for v in model.graph.output],
        "opsets": {o.domain or "ai.onnx": o.version for o in model.opset_import},
        "metadata": {p.key: p.value for p in model.metadata_props},
    }, sort_keys=True))


if __name__ == "__main__":
    main()
