"""sqlcoder-quantize: turn a Hugging Face checkpoint of a text-to-SQL model into a GGUF that fits
the user's laptop, quantize it, measure what each quantization costs, register the result.

``convert`` (safetensors + tokenizer → GGUF, streamed tensor by tensor), ``quantize`` (llama.cpp's
quantizer through llama-cpp-python), ``ladder`` (several types measured side by side) and
``--register`` (into ``sqlcoder models``). Run as ``sqlcoder-quantize`` or ``python -m quantize``.
"""
