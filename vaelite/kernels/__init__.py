"""Hot loops of a training step: each has a readable NumPy reference and a compiled twin.

One file per topic. The public function of a topic dispatches on ``vaelite.get_backend()``.
"""
