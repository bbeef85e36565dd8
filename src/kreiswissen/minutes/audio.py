"""Recordings → :class:`Transcript`: probe with ffprobe, cut into 16 kHz mono WAV chunks with ffmpeg, transcribe
chunk by chunk with progress, and resume an interrupted run.

Decisions worth knowing:

- Any container ffprobe identifies with an audio stream is accepted (WAV, MP3, M4A/MP4, OGG/Opus, WebM/Matroska,
  FLAC, also video recordings of a session, of which only the sound is used). Anything else — a text file, an
  image, a truncated or corrupt file — is refused before any transcription starts.
- Chunks have a fixed length (``chunk_s``, default 300 s) without overlap; a word spoken across a cut may be
  misrecognised. Cutting at silences would avoid that and is a possible refinement.
- Resume: after each chunk its result is written to ``<work_dir>/<sha256 of the recording>.json`` (atomically).
  A rerun with the same recording, chunk length and transcriber skips the finished chunks. Change any of these
  and the file starts over.
- Times are seconds from the start of the recording (each chunk's pieces are shifted by its offset).
- No speaker labels: speaker diarisation is out of scope, so every segment has ``speaker=None`` (the extraction
  then treats every sentence as possibly the chair's).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kreiswissen.config import Settings, get_settings
from kreiswissen.errors import BackendUnavailable, FileTooLarge, InputError, UnsupportedFormat
from kreiswissen.models.speech import TimedText, Transcriber

from .model import Segment, Transcript

SAMPLE_RATE = 16_000
DEFAULT_CHUNK_S = 300
RESUME_VERSION = 1


@dataclass(frozen=True)
class AudioInfo:
    duration_s: float
    format_name: str  # as ffprobe names the container, e.g. "mp3", "ogg", "matroska,webm", "wav"
    codec: str  # the first audio stream's codec


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackendUnavailable(
            f"{name} not found on PATH",
            user_message=f"Für Audiodateien wird ffmpeg benötigt ('{name}' fehlt). Bitte installieren: "
            "apt-get install ffmpeg (oder scripts/install-system-deps.sh ausführen).",
        )
    return found


def _refuse(path: Path, reason_en: str, reason_de: str) -> UnsupportedFormat:
    return UnsupportedFormat(f"{path.name}: {reason_en}",
                             user_message=f"Die Datei '{path.name}' ist keine lesbare Audiodatei: {reason_de}.")


def probe(path: Path, settings: Settings | None = None) -> AudioInfo:
    """Duration and format of a recording; refuses missing, over-size, non-audio and corrupt files."""
    settings = settings or get_settings()
    if not path.is_file():
        raise InputError(f"{path}: no such file", user_message=f"Die Datei '{path.name}' gibt es nicht.")
    size = path.stat().st_size
    if size > settings.max_file_bytes:
        raise FileTooLarge(
            f"{path.name}: {size} bytes > {settings.max_file_bytes}",
            user_message=f"Die Datei '{path.name}' ist zu groß ({size / 2**20:.1f} MB, erlaubt sind "
            f"{settings.max_file_bytes / 2**20:.1f} MB).",
        )
    if size == 0:
        raise _refuse(path, "empty file", "die Datei ist leer")
    ffprobe = _tool("ffprobe")
    try:
        result = subprocess.run(
            [ffprobe, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
            capture_output=True, text=True, timeout=60, check=False)
    except subprocess.TimeoutExpired as exc:
        raise _refuse(path, "ffprobe timed out", "die Datei konnte nicht untersucht werden") from exc
    if result.returncode != 0:
        raise _refuse(path, f"ffprobe failed: {result.stderr.strip()[:300]}",
                      "das Format ist unbekannt oder die Datei ist beschädigt")
    try:
        data: dict[str, Any] = json.loads(result.stdout or "{}")
    except ValueError as exc:
        raise _refuse(path, "unreadable ffprobe output", "die Datei konnte nicht untersucht werden") from exc
    audio = [s for s in data.get("streams", []) if s.get("codec_type") == "audio"]
    if not audio:
        raise _refuse(path, "no audio stream", "sie enthält keine Tonspur")
    fmt = data.get("format", {})
    try:
        duration = float(fmt.get("duration") or audio[0].get("duration") or 0.0)
    except ValueError:
        duration = 0.0
    if duration <= 0:
        raise _refuse(path, "no duration", "die Länge der Aufnahme ist nicht bestimmbar (beschädigt?)")
    return AudioInfo(duration, str(fmt.get("format_name", "")), str(audio[0].get("codec_name", "")))


def extract_chunk(path: Path, start_s: float, length_s: float, out: Path) -> None:
    """``length_s`` seconds of the recording from ``start_s`` as 16 kHz mono 16-bit WAV."""
    ffmpeg = _tool("ffmpeg")
    command = [ffmpeg, "-nostdin", "-v", "error", "-y", "-ss", f"{start_s:.3f}", "-t", f"{length_s:.3f}",
               "-i", str(path), "-vn", "-ac", "1", "-ar", str(SAMPLE_RATE), "-c:a", "pcm_s16le", "-f", "wav",
               str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0 or not out.is_file() or out.stat().st_size <= 44:
        raise UnsupportedFormat(
            f"{path.name}: ffmpeg failed at {start_s:.0f}s: {result.stderr.strip()[:300]}",
            user_message=f"Die Audiodatei '{path.name}' ist ab Sekunde {start_s:.0f} nicht lesbar "
            "(beschädigt oder unvollständig).",
        )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _load_state(file: Path, expected: dict[str, Any]) -> dict[str, list[list[Any]]]:
    try:
        state = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(state, dict) or any(state.get(k) != v for k, v in expected.items()):
        return {}
    chunks = state.get("chunks")
    return chunks if isinstance(chunks, dict) else {}


def _save_state(file: Path, expected: dict[str, Any], chunks: dict[str, list[list[Any]]]) -> None:
    tmp = file.with_name(file.name + ".tmp")
    tmp.write_text(json.dumps({**expected, "chunks": chunks}, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, file)


def transcribe_audio(path: Path, transcriber: Transcriber, work_dir: Path,
                     progress: Callable[[float], None] | None = None, *, language: str = "de",
                     chunk_s: float | None = None, settings: Settings | None = None) -> Transcript:
    """Transcript of a recording (``format="audio"``), transcribed in chunks and resumable from ``work_dir``."""
    settings = settings or get_settings()
    chunk_s = float(chunk_s or settings.speech_chunk_s or DEFAULT_CHUNK_S)
    info = probe(path, settings)
    work_dir.mkdir(parents=True, exist_ok=True)
    sha = file_sha256(path)
    state_file = work_dir / f"{sha}.json"
    expected = {"version": RESUME_VERSION, "sha256": sha, "chunk_s": chunk_s, "model": transcriber.model_id,
                "language": language}
    done = _load_state(state_file, expected)
    count = max(1, int(-(-info.duration_s // chunk_s)))  # ceil
    # A last sliver under half a second is no speech worth a model call: it joins the previous chunk.
    if count > 1 and info.duration_s - (count - 1) * chunk_s < 0.5:
        count -= 1

    def report(fraction: float) -> None:
        if progress is not None:
            progress(min(1.0, max(0.0, fraction)))

    report(sum(1 for i in range(count) if str(i) in done) / count)
    with tempfile.TemporaryDirectory(prefix="kw-audio-", dir=work_dir) as tmp:
        for i in range(count):
            if str(i) in done:
                continue
            start = i * chunk_s
            length = chunk_s if i < count - 1 else info.duration_s - start + 1.0  # to the end
            wav = Path(tmp) / f"chunk-{i:05d}.wav"
            extract_chunk(path, start, length, wav)
            real_length = min(length, info.duration_s - start)
            finished_before = sum(1 for j in range(count) if str(j) in done)

            def within(fraction: float, base: int = finished_before) -> None:
                report((base + fraction) / count)

            pieces = transcriber.transcribe(wav, language=language, progress=within)
            wav.unlink(missing_ok=True)
            done[str(i)] = [[round(start + p.start_s, 3),
                             round(start + (p.end_s if p.end_s > p.start_s else real_length), 3), p.text]
                            for p in pieces]
            _save_state(state_file, expected, done)
            report(sum(1 for j in range(count) if str(j) in done) / count)

    segments: list[Segment] = []
    duration = round(info.duration_s, 3)
    for i in range(count):
        for start, end, text in done.get(str(i), []):
            # Whisper may place the end of the last words after the end of the recording.
            piece = TimedText(min(float(start), duration), min(float(end), duration), str(text))
            segments.append(Segment(index=len(segments), text=piece.text, speaker=None, kind="speech",
                                    start_s=piece.start_s, end_s=max(piece.start_s, piece.end_s)))
    return Transcript(source=path.name, format="audio", segments=segments,
                      metadata={"duration_s": duration, "audio_format": info.format_name,
                                "codec": info.codec, "transcriber": transcriber.model_id, "language": language,
                                "chunk_s": chunk_s, "sha256": sha})
