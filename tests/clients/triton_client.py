"""Asks `anneal serve` for predictions with NVIDIA's tritonclient (HTTP).

Usage: triton_client.py URL MODEL ROWS.csv binary|json

Reads the rows (a CSV with a header; an empty field is a missing value),
sends every model input as one [rows, 1] tensor, and prints the outputs as
one JSON object: {"prediction": [...], "proba_<label>": [...], ...}, every
value as text.

`binary` uses the client's defaults: set_data_from_numpy (binary tensor
data) and InferRequestedOutput(name) (binary outputs). `json` sends and asks
for JSON tensors; tritonclient then sends no Content-Type, and the server
refuses typeless bodies (a browser may send those cross-origin), so this
mode names application/json. JSON has no NaN, which numpy's float arrays
use for a missing value, so the json mode is given rows without one.
"""

import csv
import json
import sys

import numpy as np
import tritonclient.http as httpclient


def column(rows, name, datatype):
    cells = [r[name] for r in rows]
    if datatype == "FP64":
        # numpy's missing value; the server reads binary NaN as missing.
        values = [float(c) if c != "" else float("nan") for c in cells]
        return np.array(values, dtype=np.float64).reshape(-1, 1)
    return np.array([c.encode() for c in cells], dtype=np.object_).reshape(-1, 1)


def text(v):
    """A label (bytes from binary outputs, str from JSON ones) or a number
    as its shortest round-trip text (repr), which the test reads with a
    correctly rounded parser."""
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, str):
        return v
    return repr(v)


def main():
    url, model, path, mode = sys.argv[1:5]
    binary = mode == "binary"
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    client = httpclient.InferenceServerClient(url=url)
    meta = client.get_model_metadata(model)
    inputs = []
    for spec in meta["inputs"]:
        arr = column(rows, spec["name"], spec["datatype"])
        t = httpclient.InferInput(spec["name"], list(arr.shape), spec["datatype"])
        if binary:
            t.set_data_from_numpy(arr)
        else:
            t.set_data_from_numpy(arr, binary_data=False)
        inputs.append(t)
    names = [o["name"] for o in meta["outputs"]]
    if binary:
        outputs = [httpclient.InferRequestedOutput(n) for n in names]
        headers = None
    else:
        outputs = [httpclient.InferRequestedOutput(n, binary_data=False) for n in names]
        headers = {"Content-Type": "application/json"}
    result = client.infer(model, inputs, outputs=outputs, headers=headers)
    answer = {}
    for n in names:
        values = result.as_numpy(n).reshape(-1).tolist()
        answer[n] = [text(v) for v in values]
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
