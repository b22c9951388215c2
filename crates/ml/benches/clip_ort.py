"""The ONNX Runtime side of `cargo bench -p shoebox-ml --bench clip`.

    python clip_ort.py export DIR   # full-size ViT-B/32 with random weights: checkpoint + ONNX
    python clip_ort.py bench DIR    # ONNX Runtime timings as JSON on stdout

The checkpoint (config.json, model.safetensors, preprocessor_config.json, tokenizer.json copied
from the tiny fixture: same vocabulary) is what candle loads, so both run the same weights.
Pinned: torch==2.5.1 transformers==4.46.3 onnxruntime==1.20.1 onnx==1.17.0.
"""

import json
import pathlib
import shutil
import sys
import time

import numpy as np

FIXTURE = pathlib.Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "clip-tiny"
BATCHES = [1, 8, 32]
QUERY = "a photo of a dog playing on the beach at sunset"


def export(out: pathlib.Path):
    import torch
    from transformers import CLIPConfig, CLIPModel

    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    config = CLIPConfig(
        text_config=dict(hidden_act="quick_gelu"),
        vision_config=dict(hidden_act="quick_gelu", patch_size=32),
        projection_dim=512,
    )
    model = CLIPModel(config).eval()
    model.save_pretrained(out, safe_serialization=True)
    for name in ["preprocessor_config.json", "tokenizer.json"]:
        shutil.copy(FIXTURE / name, out / name)

    class Vision(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, pixel_values):
            return self.m.get_image_features(pixel_values=pixel_values)

    class Text(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids):
            return self.m.get_text_features(input_ids=input_ids)

    with torch.no_grad():
        torch.onnx.export(
            Vision(model), (torch.randn(1, 3, 224, 224),), str(out / "vision.onnx"),
            input_names=["pixel_values"], output_names=["embeds"],
            dynamic_axes={"pixel_values": {0: "batch"}}, opset_version=17, dynamo=False,
        )
        torch.onnx.export(
            Text(model), (torch.tensor([[49406, 320, 1125, 49407]]),), str(out / "text.onnx"),
            input_names=["input_ids"], output_names=["embeds"],
            dynamic_axes={"input_ids": {0: "batch", 1: "seq"}}, opset_version=17, dynamo=False,
        )


def bench(out: pathlib.Path):
    import onnxruntime as ort
    from tokenizers import Tokenizer

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    vision = ort.InferenceSession(str(out / "vision.onnx"), options, providers=["CPUExecutionProvider"])
    text = ort.InferenceSession(str(out / "text.onnx"), options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    result = {"threads": options.intra_op_num_threads, "images_per_s": {}}
    for batch in BATCHES:
        x = rng.standard_normal((batch, 3, 224, 224), dtype=np.float32)
        vision.run(None, {"pixel_values": x})
        runs, started = 0, time.perf_counter()
        while runs < 3 or time.perf_counter() - started < 8.0:
            vision.run(None, {"pixel_values": x})
            runs += 1
        result["images_per_s"][str(batch)] = batch * runs / (time.perf_counter() - started)
    ids = np.array([Tokenizer.from_file(str(out / "tokenizer.json")).encode(QUERY).ids], dtype=np.int64)
    times = []
    for _ in range(30):
        started = time.perf_counter()
        text.run(None, {"input_ids": ids})
        times.append(time.perf_counter() - started)
    result["text_ms"] = 1000 * float(np.median(times[5:]))
    print(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("export", "bench"):
        sys.exit(__doc__)
    {"export": export, "bench": bench}[sys.argv[1]](pathlib.Path(sys.argv[2]))
