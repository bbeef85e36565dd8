#!/usr/bin/env bash
# Installs the Debian packages Kreiswissen needs, only when they are missing:
# Tesseract OCR with German language data (scanned PDFs and images); for the tests also OpenLDAP's slapd
# (the LDAP/AD login tests start a real directory server on loopback; no system service is configured), a
# compiler for llama-cpp-python, Debian's Chromium (the end-to-end browser tests drive it with Playwright; no browser
# download) and npm (installs axe-core, the accessibility checker those tests run in that browser).
# ffmpeg/ffprobe read and convert recordings (WAV, MP3, M4A, OGG, WebM) for speech-to-text; espeak-ng speaks the
# German test recordings of the audio tests.
set -euo pipefail

need=()
command -v tesseract >/dev/null 2>&1 || need+=(tesseract-ocr)
if ! command -v tesseract >/dev/null 2>&1 || ! tesseract --list-langs 2>/dev/null | grep -qx deu; then
  need+=(tesseract-ocr-deu)
fi
[ -x /usr/sbin/slapd ] || need+=(slapd)
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || need+=(ffmpeg)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
# A C/C++ toolchain: llama-cpp-python (the tests' real LLM server, and in-process GGUF models) builds from source.
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
# Fonts for rendering test images of scanned documents.
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
# pdftotext/pdftoppm: the minutes export tests read and render the PDFs.
command -v pdftotext >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
# The end-to-end tests: a headless browser (driven through the DevTools protocol; chromium-driver is for WebDriver
# clients) and npm for axe-core (tests/e2e/package-lock.json).
[ -x /usr/bin/chromium ] || need+=(chromium)
# German browser UI strings (file picker, date fields) in the screenshots.
[ -d /usr/lib/chromium/locales ] && [ -e /usr/lib/chromium/locales/de.pak ] || need+=(chromium-l10n)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
# Emoji (the 👍/👎 feedback buttons) in the browser tests' screenshots.
[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || need+=(fonts-noto-color-emoji)
command -v npm >/dev/null 2>&1 || need+=(npm)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "Installing system packages: ${need[*]}"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "Missing packages ${need[*]} and no root rights: please install them (apt-get install ${need[*]})." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
