"""Speech-to-text: a German recording spoken by espeak-ng from a real protocol excerpt, transcribed by the real
packaged Whisper model from MP3/OGG/WebM, chunked and resumed, and run through the whole chain to the extracted
agenda item and vote. The OpenAI-compatible backend is tested against a real local HTTP server.

Text: Plenarprotokoll 01/143 of 23 May 1951 (tests/fixtures/transcripts/bt_01-143_1951-05-23_excerpt.txt),
the chair's call of item 5 and his vote sequence on Umdruck Nr. 182. Quelle: Deutscher Bundestag.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kreiswissen.config import Settings
from kreiswissen.errors import BackendUnavailable, ConfigurationError, FileTooLarge, InputError, UnsupportedFormat
from kreiswissen.minutes.audio import probe, transcribe_audio
from kreiswissen.minutes.extract import extract
from kreiswissen.models.speech import (
    WHISPER_MODEL_BYTES,
    OpenAITranscriber,
    TimedText,
    Transcriber,
    WhisperTranscriber,
    ensure_whisper_model,
    get_transcriber,
)
from kreiswissen.runtime import Runtime

os.environ.setdefault("HF_HUB_OFFLINE", "1")

EXCERPT = Path(__file__).resolve().parents[1] / "fixtures" / "transcripts" / "bt_01-143_1951-05-23_excerpt.txt"
# Verbatim sentences of the chair (lines 106 and 72 of the excerpt).
REFERENCE = ("Ich rufe Punkt 5 der Tagesordnung auf. Ich bitte die Damen und Herren, die diesem Antrage "
             "zuzustimmen wünschen, eine Hand zu erheben. Ich bitte um die Gegenprobe. Der Antrag ist angenommen.")
# espeak-ng stresses "Tagesordnung" so that Whisper hears "Tag in Ordnung": a hyphen fixes the pronunciation only.
SPOKEN = REFERENCE.replace("Tagesordnung", "Tages-Ordnung")

pytestmark = pytest.mark.skipif(not (shutil.which("ffmpeg") and shutil.which("espeak-ng")),
                                reason="needs Debian ffmpeg and espeak-ng (scripts/install-system-deps.sh)")


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def wer(reference: str, hypothesis: str) -> float:
    ref, hyp = _words(reference), _words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(1, len(ref))


def test_the_sentences_are_verbatim_from_the_protocol() -> None:
    text = EXCERPT.read_text(encoding="utf-8")
    assert "Ich rufe Punkt 5 der Tagesordnung auf:" in text
    assert ("Ich bitte die Damen und Herren, die diesem Antrage zuzustimmen wünschen, eine Hand zu erheben. — "
            "Ich bitte um die Gegenprobe. — Der Antrag ist angenommen.") in text


@pytest.fixture(scope="module")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The recording as WAV (espeak-ng) and, converted by ffmpeg, as MP3, OGG (Opus) and WebM (Opus)."""
    d = tmp_path_factory.mktemp("audio")
    subprocess.run(["espeak-ng", "-v", "de", "-s", "150", "-w", str(d / "sitzung.wav"), SPOKEN], check=True)
    # 192 kbit/s: at lame's default 128 kbit/s Whisper base loses the end of this synthetic voice.
    for name, codec in (("sitzung.mp3", "libmp3lame"), ("sitzung.ogg", "libopus"), ("sitzung.webm", "libopus"),
                        ("sitzung.m4a", "aac")):
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(d / "sitzung.wav"), "-c:a", codec,
                        "-b:a", "192k", str(d / name)], check=True)
    return d


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("home"), threads=2)


@pytest.fixture(scope="module")
def whisper(settings: Settings) -> WhisperTranscriber:
    model_dir = ensure_whisper_model(settings.home)
    return WhisperTranscriber(model_dir, settings.speech_compute_type, threads=2)


def test_model_directory_is_assembled_once_and_complete(settings: Settings, whisper: WhisperTranscriber) -> None:
    model_dir = settings.home / "models" / "whisper-base"
    assert (model_dir / "model.bin").stat().st_size == WHISPER_MODEL_BYTES
    assert {p.name for p in model_dir.iterdir()} == {"model.bin", "config.json", "tokenizer.json",
                                                      "vocabulary.txt"}
    mtime = (model_dir / "model.bin").stat().st_mtime_ns
    assert ensure_whisper_model(settings.home) == model_dir
    assert (model_dir / "model.bin").stat().st_mtime_ns == mtime  # not joined again
    assert not [p for p in model_dir.parent.iterdir() if p.name.startswith(".whisper-base-")]  # no temp dirs
    assert isinstance(whisper, Transcriber)
    assert isinstance(get_transcriber(settings), WhisperTranscriber)


@pytest.mark.parametrize("name", ["sitzung.mp3", "sitzung.ogg"])  # WebM (Opus, as OGG) and M4A: probed below
def test_recording_is_transcribed_with_timestamps(audio_dir: Path, whisper: WhisperTranscriber,
                                                   settings: Settings, tmp_path: Path, name: str) -> None:
    fractions: list[float] = []
    started = time.perf_counter()
    transcript = transcribe_audio(audio_dir / name, whisper, tmp_path, fractions.append, settings=settings)
    elapsed = time.perf_counter() - started
    duration = transcript.metadata["duration_s"]
    text = " ".join(s.text for s in transcript.segments)
    print(f"\n{name}: {duration:.1f} s audio in {elapsed:.1f} s (RTF {elapsed / duration:.2f}), "
          f"WER {wer(REFERENCE, text):.0%}: {text}")
    assert transcript.format == "audio" and transcript.source == name
    # Robust words only: espeak's "Gegenprobe" comes back as "gegen Probe", "der" as "mehr".
    assert {"punkt", "tagesordnung", "antrag", "angenommen"} <= set(_words(text))
    assert wer(REFERENCE, text) < 0.35
    starts = [s.start_s for s in transcript.segments]
    assert all(s.start_s is not None and s.end_s is not None for s in transcript.segments)
    assert starts == sorted(starts) and starts[0] is not None and starts[0] < 1.0
    assert all(0 <= s.start_s <= s.end_s <= duration for s in transcript.segments)  # type: ignore[operator]
    assert all(s.speaker is None for s in transcript.segments)  # no diarisation
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)
    # The whole chain: recording → transcript → agenda item 5 with its vote, verbatim and timed.
    structure = extract(transcript)
    item = next(i for i in structure.agenda_items if i.number == "5")
    assert [v.outcome for v in item.votes] == ["angenommen"]
    vote = item.votes[0]
    assert "angenommen" in vote.text and vote.source.start_s is not None
    assert vote.source.start_s > item.source.start_s  # type: ignore[operator]


class Counting:
    """The real transcriber, counting the chunks it is given."""

    def __init__(self, inner: Transcriber) -> None:
        self.inner, self.calls, self.model_id = inner, 0, inner.model_id

    def transcribe(self, path: Path, *, language: str = "de", progress=None) -> list[TimedText]:  # type: ignore[no-untyped-def]
        self.calls += 1
        return self.inner.transcribe(path, language=language, progress=progress)


class Interrupted(Exception):
    pass


def test_chunks_are_resumed_after_an_interruption(audio_dir: Path, whisper: WhisperTranscriber,
                                                  settings: Settings, tmp_path: Path) -> None:
    recording = audio_dir / "sitzung.mp3"
    counting = Counting(whisper)
    chunks = -(-probe(recording, settings).duration_s // 5)  # 5-second chunks
    assert chunks == 3

    def stop_in_second_chunk(fraction: float) -> None:
        if fraction > 1 / chunks + 1e-9:
            raise Interrupted

    with pytest.raises(Interrupted):
        transcribe_audio(recording, counting, tmp_path, stop_in_second_chunk, chunk_s=5, settings=settings)
    assert counting.calls == 2  # the first chunk finished, the second was interrupted
    (state_file,) = tmp_path.glob("*.json")
    assert list(json.loads(state_file.read_text())["chunks"]) == ["0"]

    counting.calls = 0
    fractions: list[float] = []
    transcript = transcribe_audio(recording, counting, tmp_path, fractions.append, chunk_s=5, settings=settings)
    assert counting.calls == 2  # only the two chunks not yet done
    assert fractions[0] == pytest.approx(1 / 3) and fractions[-1] == 1.0
    starts = [s.start_s for s in transcript.segments]
    assert starts == sorted(starts) and max(starts) >= 5.0  # type: ignore[type-var]
    assert "angenommen" in _words(" ".join(s.text for s in transcript.segments))

    counting.calls = 0  # everything done: a third run only reads the resume file
    again = transcribe_audio(recording, counting, tmp_path, chunk_s=5, settings=settings)
    assert counting.calls == 0 and again.segments == transcript.segments
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]  # chunk WAVs cleaned up


def test_non_audio_corrupt_and_oversize_files_are_refused(audio_dir: Path, whisper: WhisperTranscriber,
                                                          settings: Settings, tmp_path: Path) -> None:
    counting = Counting(whisper)
    for name, container in (("sitzung.m4a", "mp4"), ("sitzung.wav", "wav"), ("sitzung.webm", "webm")):
        info = probe(audio_dir / name, settings)
        assert container in info.format_name and 12 < info.duration_s < 15
    text = tmp_path / "protokoll.mp3"
    text.write_text("Ich rufe Punkt 5 der Tagesordnung auf.\n" * 50, encoding="utf-8")
    garbage = tmp_path / "sitzung.wav"
    garbage.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt " + os.urandom(4000))
    truncated = tmp_path / "kaputt.webm"
    truncated.write_bytes((audio_dir / "sitzung.webm").read_bytes()[:60])
    empty = tmp_path / "leer.ogg"
    empty.write_bytes(b"")
    for path in (text, garbage, truncated, empty):
        with pytest.raises(UnsupportedFormat) as info:
            transcribe_audio(path, counting, tmp_path / "work", settings=settings)
        assert "keine lesbare Audiodatei" in info.value.user_message
    with pytest.raises(InputError, match="no such file"):
        transcribe_audio(tmp_path / "fehlt.mp3", counting, tmp_path / "work", settings=settings)
    small = Settings(home=settings.home, max_file_bytes=1000)
    with pytest.raises(FileTooLarge) as too_large:
        transcribe_audio(audio_dir / "sitzung.mp3", counting, tmp_path / "work", settings=small)
    assert "zu groß" in too_large.value.user_message
    assert counting.calls == 0


def test_missing_ffmpeg_is_a_backend_error_with_a_hint(audio_dir: Path, settings: Settings,
                                                       monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no ffprobe
    with pytest.raises(BackendUnavailable) as info:
        probe(audio_dir / "sitzung.mp3", settings)
    assert "apt-get install ffmpeg" in info.value.user_message


# --------------------------------------------------------------------------------------------------------------
# OpenAI-compatible /v1/audio/transcriptions against a real local HTTP server

VERBOSE = {"task": "transcribe", "language": "german", "duration": 4.9, "text": "Ich bitte um die Gegenprobe. "
           "Der Antrag ist angenommen.",
           "segments": [{"id": 0, "start": 0.0, "end": 2.1, "text": " Ich bitte um die Gegenprobe."},
                        {"id": 1, "start": 2.1, "end": 4.2, "text": " Der Antrag ist angenommen."}]}


class Handler(BaseHTTPRequestHandler):
    requests: list[tuple[str, dict[str, str], bytes]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Handler.requests.append((self.path, dict(self.headers), body))
        mode = self.path.split("/")[1]
        if mode == "slow":
            time.sleep(1.5)
        status, payload = {
            "ok": (200, json.dumps(VERBOSE).encode()),
            "slow": (200, json.dumps(VERBOSE).encode()),
            "plain": (200, json.dumps({"text": "Der Antrag ist abgelehnt."}).encode()),
            "error": (500, b'{"error": {"message": "CUDA out of memory"}}'),
            "garbage": (200, b"<html>Bad Gateway</html>"),
            "wrong": (200, b'{"segments": [{"begin": 1}]}'),
        }[mode]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError):  # the client gave up waiting (the timeout test)
            self.wfile.write(payload)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_openai_transcriber_sends_multipart_and_reads_segments(server: str, audio_dir: Path, settings: Settings,
                                                               tmp_path: Path) -> None:
    Handler.requests.clear()
    transcriber = OpenAITranscriber(f"{server}/ok/v1", "whisper-large-v3", api_key="geheim", timeout_s=10)
    # Through the chunking: 5-second chunks of a 13-second recording, times shifted by each chunk's offset.
    transcript = transcribe_audio(audio_dir / "sitzung.ogg", transcriber, tmp_path, chunk_s=5, settings=settings)
    assert len(Handler.requests) == 3
    path, headers, body = Handler.requests[0]
    assert path == "/ok/v1/audio/transcriptions"
    assert headers["Authorization"] == "Bearer geheim"
    assert headers["Content-Type"].startswith("multipart/form-data")
    for field in (b'name="model"', b"whisper-large-v3", b'name="response_format"', b"verbose_json",
                  b'name="language"', b'name="file"; filename="chunk-00000.wav"', b"RIFF"):
        assert field in body
    assert [(s.start_s, s.end_s) for s in transcript.segments] == [
        (0.0, 2.1), (2.1, 4.2), (5.0, 7.1), (7.1, 9.2), (10.0, 12.1), (12.1, transcript.metadata["duration_s"])]
    assert transcript.segments[1].text == "Der Antrag ist angenommen."

    plain = OpenAITranscriber(f"{server}/plain/v1", "m").transcribe(audio_dir / "sitzung.wav")
    assert plain == [TimedText(0.0, 0.0, "Der Antrag ist abgelehnt.")]  # no segments: one piece, end unknown


@pytest.mark.parametrize(("url", "reason"), [
    ("/error/v1", "HTTP 500"),
    ("/garbage/v1", "unlesbare Antwort"),
    ("/wrong/v1", "unlesbare Antwort"),
    ("/slow/v1", "Zeitüberschreitung"),
    ("dead", "keine Verbindung"),
])
def test_openai_transcriber_failures_are_backend_errors(server: str, audio_dir: Path, url: str,
                                                        reason: str) -> None:
    base = "http://127.0.0.1:9/v1" if url == "dead" else server + url  # port 9 (discard): nothing listens
    with pytest.raises(BackendUnavailable) as info:
        OpenAITranscriber(base, "m", timeout_s=0.5).transcribe(audio_dir / "sitzung.wav")
    assert reason in info.value.user_message
    assert info.value.user_message.startswith("Der Spracherkennungs-Server")


def test_get_transcriber_picks_the_http_backend_when_configured(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="SPEECH_MODEL"):
        get_transcriber(Settings(home=tmp_path, speech_base_url="http://127.0.0.1:9/v1"))
    http = get_transcriber(Settings(home=tmp_path, speech_base_url="http://127.0.0.1:9/v1", speech_model="w"))
    assert isinstance(http, OpenAITranscriber) and http.model_id == "openai:w"
    assert not (tmp_path / "models").exists()  # the packaged model is not assembled for an HTTP backend


def test_a_recording_uploaded_as_a_job_becomes_a_timed_draft(audio_dir: Path, rt: Runtime) -> None:
    """The browser's way: the recording as a minutes job, transcribed by the worker with progress in the job,
    stored as the owner's draft with its timed transcript; the recording and the resume state are removed."""
    clerk_name = "protokoll-audio"
    rt.identity.add_user("test", clerk_name, [], password="Lange Passphrase für die Tests 2026!",
                         roles=["redakteur"])
    clerk = rt.identity.get_user(clerk_name).principal()
    job_id = rt.jobs.submit_minutes(clerk, "sitzung.mp3", (audio_dir / "sitzung.mp3").read_bytes(),
                                    agenda=[{"number": "5", "title": "Antrag betreffend Tabaksteuer", "public": True}])
    assert rt.jobs.run_next("test") == job_id
    (job,) = rt.jobs.status(clerk, [job_id])
    assert job["status"] == "done", job["message"]
    record = rt.minutes.get(clerk, job["minutes_id"])
    assert record["source_file"] == "sitzung.mp3"
    item = next(i for i in record["content"]["agenda_items"] if i["number"] == "5")
    assert item["title"] == "Antrag betreffend Tabaksteuer"
    assert [v["outcome"] for v in item["votes"]] == ["angenommen"] and item["votes"][0]["source"]["start_s"] > 0
    segments = rt.minutes.transcript_segments(clerk, job["minutes_id"])
    assert segments and all("start_s" in s for s in segments)
    assert not list((rt.settings.home / "speech").glob("*.json"))
    assert not (rt.settings.home / "speech" / "jobs" / job_id).exists()
