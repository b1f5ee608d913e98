"""The Python peer of `whyline serve`: the demo random forest behind FastAPI, answering the
Open Inference Protocol (KServe V2) infer route with scikit-learn's predict_proba.

    python/.venv-serve/bin/python python/peer/serve_sklearn.py --port 7879

One process, one uvicorn worker (uvloop and httptools, uvicorn's fastest stock setup). At
start the forest is retrained as python/make_demo_model.py trains it and its predict_proba
on the demo rows is checked against crates/whyline-load/tests/fixtures/demo_rows.expected.json,
the fixture the Rust tests compare whyline's JSON model with: both servers serve the same
model. Nothing is recorded or explained here; the peer is the bare prediction.

Routes: POST /v2/models/{name}/infer, GET /v2/models/{name}, GET /v2/health/live,
GET /v2/health/ready.
"""

import argparse
from typing import Any, List, Optional

import numpy as np
import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from demo_forest import FEATURES, check_against_fixture, train


class InputTensor(BaseModel):
    name: str
    shape: List[int]
    datatype: str
    data: List[float]
    parameters: Optional[dict[str, Any]] = None


class InferRequest(BaseModel):
    id: Optional[str] = None
    inputs: List[InputTensor]
    parameters: Optional[dict[str, Any]] = None


def build_app(model_name, model):
    app = FastAPI(title="scikit-learn peer")
    classes = [str(c) for c in model.classes_]
    n_features = len(FEATURES)

    @app.get("/v2/health/live")
    def live():
        return {"live": True}

    @app.get("/v2/health/ready")
    def ready():
        return {"ready": True}

    @app.get("/v2/models/{name}")
    def metadata(name: str):
        if name != model_name:
            raise HTTPException(status_code=404, detail=f"unknown model {name}")
        return {
            "name": model_name,
            "platform": "scikit-learn",
            "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, n_features]}],
            "outputs": [{"name": "predict_proba", "datatype": "FP64", "shape": [-1, len(classes)]}],
            "parameters": {"features": FEATURES, "classes": classes},
        }

    @app.post("/v2/models/{name}/infer")
    def infer(name: str, request: InferRequest):
        if name != model_name:
            raise HTTPException(status_code=404, detail=f"unknown model {name}")
        if len(request.inputs) != 1:
            raise HTTPException(status_code=400, detail="expected one input tensor")
        tensor = request.inputs[0]
        if len(tensor.data) % n_features != 0:
            raise HTTPException(status_code=400, detail=f"expected rows of {n_features} features")
        X = np.asarray(tensor.data, dtype=np.float64).reshape(-1, n_features)
        proba = model.predict_proba(X)
        return {
            "model_name": model_name,
            "id": request.id,
            "outputs": [{
                "name": "predict_proba",
                "shape": list(proba.shape),
                "datatype": "FP64",
                "data": proba.ravel().tolist(),
            }],
        }

    return app


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7879)
    parser.add_argument("--model-name", default="demo")
    args = parser.parse_args()
    model = train()
    rows = check_against_fixture(model)
    print(f"peer: demo forest retrained, predict_proba equals the fixture on {rows} rows", flush=True)
    uvicorn.run(
        build_app(args.model_name, model),
        host=args.host,
        port=args.port,
        workers=1,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
