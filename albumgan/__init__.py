"""albumgan: album-cover GANs, trained, exported to ONNX and served in chat.

This package is the torch-free core every part stands on: the model-file contract
(`modelfile`), the label schema (`labels`), seeds -> latents (`latent`), the typed TOML reader
(`typed_config`), crash-safe writes (`atomic`), Spotify link parsing (`links`) and the
feature/metadata sources (`sources`). The parts live beside it: `albumgan.bot` (bot/),
`albumgan.training` (training/) and `albumgan.export` (export/); see the README's
"What is where" for who may import whom.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("albumgan")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
