"""ONNX import, split along its seams: `read` (the file, the graph inputs and ONNX shape
inference), `names` (text checks, node names), `passes` (graph rewrites before conversion),
`importer` (the state of one import and its steps), `convert` (one converter per ONNX op type),
`packed` (parts of a packed linear layer), `compression` (bit-widths and sparsity attached to
the ops) and `detect` (the sparsity scheme read from a weight).

The entry point stays `workloads.onnx_import.load_onnx`.
"""
