"""The semantic cache: after an exact miss, a question close in meaning to a stored one (same
tenant and everything else) gets its answer. Embedder (``embedder``), veto rules (``guard``), what
is compared (``text``), the vector index (``index``, ``persist``, ``shared``), the lookup the cache
stage makes (``lookup``, ``build``) and the offline evaluation (``evaluate``). Needs the
``semantic`` extra (numpy, onnxruntime, tokenizers); imported only when configured.

Importing it sets ``OPENBLAS_NUM_THREADS=1`` unless already set (before numpy is loaded, where it
is the first to load it): a lookup is a few small matrix-vector products, which one BLAS thread
does faster than a pool, and it leaves the other cores to the gateway's loops.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
