"""MLflow's own schema enforcement on an anneal artifact's MLmodel.

    python mlflow_signature.py ARTIFACT DATA.csv

Loads MLmodel with mlflow (mlflow-skinny), reads DATA.csv with pandas (an
integer column with gaps becomes float64 there) and enforces the signature
on it, as `mlflow.pyfunc` does before predicting. Prints the declared types,
the row count and the missing cells as JSON; exits non-zero when MLflow
refuses the frame.
"""
import json
import sys

import pandas as pd
from mlflow.models import Model
from mlflow.models.utils import _enforce_schema


def main() -> None:
    artifact, data = sys.argv[1:3]
    model = Model.load(artifact)
    inputs = model.signature.inputs
    frame = pd.read_csv(data)[[c.name for c in inputs.inputs]]
    checked = _enforce_schema(frame, inputs)
    print(json.dumps({
        "types": {c.name: c.type.name for c in inputs.inputs},
        "rows": len(checked),
        "missing": int(checked.isna().sum().sum()),
    }))


if __name__ == "__main__":
    main()
