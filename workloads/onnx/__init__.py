"""ONNX import, split along its seams: `passes` (graph rewrites before conversion), `convert`
(one converter per ONNX op type) and `detect` (compression read from weights).

The entry point stays `workloads.onnx_import.load_onnx`.
"""
