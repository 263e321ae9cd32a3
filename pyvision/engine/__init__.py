"""The recognition engine: plain Python, no Django.

decode -> preprocess -> onnxruntime -> top-k, for one image or a batch. Import what
you need from its modules (``classifier``, ``registry``, ...): this package imports
nothing itself, so the web process can read the model list without loading
onnxruntime.
"""
