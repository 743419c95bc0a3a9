"""`albumgan-export CHECKPOINT -o models/NAME.onnx`: ship a trained generator as ONNX."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from albumgan.export.errors import ExportError
from albumgan.export.parity import FP16_TOLERANCE, FP32_TOLERANCE
from albumgan.logsafe import configure_logging


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="albumgan-export",
        description="Export a checkpoint's EMA generator to a self-describing, parity-checked ONNX file.",
    )
    p.add_argument("checkpoint", type=Path, help="checkpoint file (ckpt-NNNNNN.pt)")
    p.add_argument("-o", "--output", type=Path, required=True, help="target file, e.g. models/NAME.onnx")
    p.add_argument("--name", help="model name shown to users (default: the output file's stem)")
    p.add_argument("--model-version", help="version string (default: STEP-WEIGHTSHASH8)")
    p.add_argument("--fp16", action="store_true", help="also write NAME.fp16.onnx for GPU serving")
    p.add_argument("--eval-json", type=Path, help="JSON object of evaluation figures to embed")
    p.add_argument("--raw-weights", action="store_true", help="export the raw generator, not its EMA")
    p.add_argument("--no-subpixel", action="store_true", help="keep upsample+conv as is (slower, smaller file)")
    p.add_argument(
        "--training-state",
        type=Path,
        metavar="PATH",
        help="also write the small fp16 state that `albumgan-train --fine-tune PATH` continues from",
    )
    p.add_argument(
        "--data",
        type=Path,
        metavar="DATASET",
        help="the checkpoint's training dataset, to record each feature's trained range when an "
        "older conditional checkpoint lacks them",
    )
    p.add_argument("--tolerance", type=float, default=FP32_TOLERANCE, help="fp32 parity tolerance")
    p.add_argument("--fp16-tolerance", type=float, default=FP16_TOLERANCE, help="fp16 parity tolerance")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def _read_eval(path: Path | None) -> dict | None:
    if path is None:
        return None
    try:
        figures = json.loads(path.read_text())
    except OSError as exc:
        raise ExportError(f"cannot read eval file {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ExportError(f"eval file {path} is not valid JSON ({exc})") from exc
    if not isinstance(figures, dict):
        raise ExportError(f"eval file {path} must hold a JSON object")
    return figures


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    for chatty in ("onnxscript", "onnx_ir"):  # per-pass INFO lines from the ONNX optimiser
        logging.getLogger(chatty).setLevel(logging.WARNING)
    # Imported here so that `--help` and argument errors answer without loading torch.
    from albumgan.export.onnx_export import export_checkpoint

    try:
        results = export_checkpoint(
            args.checkpoint,
            args.output,
            name=args.name,
            version=args.model_version,
            fp16=args.fp16,
            eval_figures=_read_eval(args.eval_json),
            ema=not args.raw_weights,
            tolerance=args.tolerance,
            fp16_tolerance=args.fp16_tolerance,
            subpixel=not args.no_subpixel,
            dataset=args.data,
        )
    except ExportError as exc:
        print(f"albumgan-export: error: {exc}", file=sys.stderr)
        return 1
    if args.training_state is not None:
        from albumgan.training.checkpoint import write_training_artefact

        path = write_training_artefact(args.checkpoint, args.training_state)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB): training state for --fine-tune")
    for result in results:
        info = result.info
        print(
            f"wrote {result.path} ({result.size_bytes / 1e6:.1f} MB): {info.kind} {info.name} v{info.version}, "
            f"step {info.step}, {info.resolution} px, z_dim {info.z_dim}"
        )
        print(f"  {result.parity.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
