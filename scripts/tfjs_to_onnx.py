#!/usr/bin/env python3
"""Convert one TF.js graph model (model.json + weights .bin) to ONNX; runs in the tool venv.

Called by ``scripts/build_models.py`` with the throw-away tool venv's Python
(tensorflow-cpu + tf2onnx, which cannot live in the main venv: their protobuf
pin clashes with mediapipe's). It also runs TensorFlow itself on the reference
inputs it is given and saves the outputs, so the caller can check that the ONNX
file computes the same thing under the runtimes the package uses.

Usage: tfjs_to_onnx.py MODEL.json OUT.onnx --inputs REF_IN.npz --outputs REF_OUT.npz
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

if not hasattr(np, "product"):  # tf2onnx 1.17 still calls np.product, removed in numpy 2
    np.product = np.prod  # type: ignore[attr-defined]

import tensorflow as tf
from google.protobuf import json_format
from tensorflow.core.framework import graph_pb2

_NP = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}


def read_weights(model_json: dict, folder: Path) -> dict[str, np.ndarray]:
    """All weights of a TF.js graph model, dequantised to their original dtype."""
    out: dict[str, np.ndarray] = {}
    for group in model_json["weightsManifest"]:
        blob = b"".join((folder / p).read_bytes() for p in group["paths"])
        pos = 0
        for w in group["weights"]:
            shape, count = w["shape"], int(np.prod(w["shape"], dtype=np.int64))
            quant = w.get("quantization")
            if quant and quant["dtype"] == "float16":
                arr = np.frombuffer(blob, np.float16, count, pos).astype(np.float32)
                pos += 2 * count
            elif quant:  # uint8 / uint16 affine quantisation
                qd = np.dtype(quant["dtype"])
                q = np.frombuffer(blob, qd, count, pos).astype(np.float32)
                arr = q * np.float32(quant["scale"]) + np.float32(quant["min"])
                pos += qd.itemsize * count
            else:
                dt = np.dtype(_NP[w["dtype"]])
                arr = np.frombuffer(blob, dt, count, pos)
                pos += dt.itemsize * count
            out[w["name"]] = arr.astype(_NP[w["dtype"]]).reshape(shape)
        if pos != len(blob):
            raise SystemExit(f"weights manifest covers {pos} of {len(blob)} bytes")
    return out


def unfuse(gd: graph_pb2.GraphDef) -> None:
    """Split TF.js's fused convolutions into plain TensorFlow ops.

    The TF.js converter fuses Conv2D / DepthwiseConv2dNative with BiasAdd and an
    activation; ``FusedDepthwiseConv2dNative`` exists only in TF.js, and
    ``_FusedConv2D`` is a grappler-internal op that tf2onnx does not translate
    reliably. Each becomes conv -> BiasAdd -> activation under the original name.
    """
    nodes = list(gd.node)
    del gd.node[:]
    for node in nodes:
        if node.op not in ("_FusedConv2D", "FusedDepthwiseConv2dNative"):
            gd.node.append(node)
            continue
        fused = [s.decode() for s in node.attr["fused_ops"].list.s]
        if not fused or fused[0] != "BiasAdd" or len(node.input) != 3 or any(
                f not in ("Relu", "Relu6") for f in fused[1:]):
            raise SystemExit(f"{node.name}: unsupported fusion {fused} with {len(node.input)} inputs")
        conv = gd.node.add()
        conv.name, conv.op = node.name + "/conv", ("Conv2D" if node.op == "_FusedConv2D"
                                                     else "DepthwiseConv2dNative")
        conv.input.extend(node.input[:2])
        for key in ("strides", "padding", "dilations", "data_format", "explicit_paddings", "T"):
            if key in node.attr:
                conv.attr[key].CopyFrom(node.attr[key])
        bias = gd.node.add()
        bias.name, bias.op = (node.name + "/bias" if len(fused) > 1 else node.name), "BiasAdd"
        bias.input.extend([conv.name, node.input[2]])
        bias.attr["T"].CopyFrom(node.attr["T"])
        if "data_format" in node.attr:
            bias.attr["data_format"].CopyFrom(node.attr["data_format"])
        if len(fused) > 1:
            act = gd.node.add()
            act.name, act.op = node.name, fused[1]
            act.input.append(bias.name)
            act.attr["T"].CopyFrom(node.attr["T"])


def graph_def(model_path: Path) -> tuple[graph_pb2.GraphDef, dict]:
    """The frozen GraphDef: topology from the JSON, weights folded in as constants."""
    model = json.loads(model_path.read_text())
    gd = graph_pb2.GraphDef()
    json_format.ParseDict(model["modelTopology"], gd)
    weights = read_weights(model, model_path.parent)
    for node in gd.node:
        if node.op == "Const" and node.name in weights:
            # TF.js stores int64 constants as int32; the node's own dtype attr keeps the truth.
            dtype = tf.dtypes.as_dtype(node.attr["dtype"].type).as_numpy_dtype
            node.attr["value"].tensor.CopyFrom(
                tf.make_tensor_proto(weights.pop(node.name).astype(dtype)))
        node.device = ""
    if weights:
        raise SystemExit(f"weights without a Const node: {sorted(weights)[:3]}")
    unfuse(gd)
    return gd, model["signature"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--inputs", type=Path, required=True, help="npz: one array per model input, by order")
    ap.add_argument("--outputs", type=Path, required=True, help="npz written: TensorFlow's outputs")
    ap.add_argument("--opset", type=int, default=13)
    args = ap.parse_args()

    import tf2onnx

    gd, sig = graph_def(args.model)
    in_names = list(sig["inputs"])
    out_names = sorted(sig["outputs"])
    ref = np.load(args.inputs)
    feeds = [ref[k] for k in sorted(ref.files)]

    with tf.Graph().as_default() as g:
        tf.graph_util.import_graph_def(gd, name="")
        with tf.compat.v1.Session(graph=g) as sess:
            res = sess.run(out_names, dict(zip(in_names, feeds)))
    np.savez(args.outputs, **{n.split(":")[0]: r for n, r in zip(out_names, res)})

    proto, _ = tf2onnx.convert.from_graph_def(gd, input_names=in_names, output_names=out_names,
                                              opset=args.opset)
    proto.producer_name = "pose_ros build_models (tf2onnx)"
    tmp = args.out.with_suffix(".part")
    tmp.write_bytes(proto.SerializeToString())
    os.replace(tmp, args.out)
    print(f"{args.out}: inputs {in_names} outputs {out_names}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
