"""The project's own prompts: text in sounds/prompts.tsv, audio made with espeak-ng and sox.

Prompts are made in the codecs used on the wire (A-law and mu-law at 8 kHz),
so Asterisk plays them without transcoding. A prompt is remade only when its
text changes (the text is kept beside the audio).
"""

from __future__ import annotations

import csv
import logging
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from callcenter.errors import ConfigError

__all__ = ["PROMPT_FORMATS", "PromptText", "build_music", "build_prompts", "read_prompt_texts", "shipped_prompts"]

log = logging.getLogger(__name__)

PROMPT_FORMATS = ("alaw", "ulaw")
_VOICES = {"ru": "ru", "en": "en-us"}


@dataclass(frozen=True)
class PromptText:
    language: str
    name: str
    text: str


def read_prompt_texts(table: Path) -> list[PromptText]:
    prompts = []
    with table.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle, delimiter="\t"), start=2):
            language, name, text = row.get("language"), row.get("name"), row.get("text")
            if not language or not name or not text:
                raise ConfigError(f"{table}:{line}: expected three tab-separated columns: language, name, text")
            if language not in _VOICES:
                raise ConfigError(f"{table}:{line}: language {language!r} is not one of {sorted(_VOICES)}")
            if ".." in name or name.startswith("/"):
                raise ConfigError(f"{table}:{line}: prompt name {name!r} must be a relative path")
            prompts.append(PromptText(language, name, text))
    return prompts


def build_prompts(sounds_dir: Path) -> int:
    """Make the audio of every prompt whose text changed; return how many were made."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise ConfigError(f"{tool} is not installed (apt-get install espeak-ng sox)")
    made = 0
    for prompt in read_prompt_texts(sounds_dir / "prompts.tsv"):
        base = sounds_dir / prompt.language / prompt.name
        text_file = base.with_suffix(".txt")
        up_to_date = all(base.with_suffix("." + fmt).exists() for fmt in PROMPT_FORMATS)
        if up_to_date and text_file.exists() and text_file.read_text(encoding="utf-8") == prompt.text:
            continue
        base.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as scratch:
            wav = Path(scratch) / "speech.wav"
            subprocess.run(
                ["espeak-ng", "-v", _VOICES[prompt.language], "-s", "150", "-w", str(wav), prompt.text],
                check=True,
                capture_output=True,
            )
            for fmt in PROMPT_FORMATS:
                encoding = "a-law" if fmt == "alaw" else "u-law"
                subprocess.run(
                    [
                        "sox",
                        str(wav),
                        "-t",
                        "raw",
                        "-r",
                        "8000",
                        "-c",
                        "1",
                        "-e",
                        encoding,
                        str(base.with_suffix("." + fmt)),
                    ],
                    check=True,
                    capture_output=True,
                )
        text_file.write_text(prompt.text, encoding="utf-8")
        made += 1
        log.info("made prompt %s/%s", prompt.language, prompt.name)
    return made


def shipped_prompts(sounds_dir: Path) -> frozenset[tuple[str, str]]:
    """(language, name) of every prompt the project ships: made already, or listed to be made."""
    listed = {(prompt.language, prompt.name) for prompt in read_prompt_texts(sounds_dir / "prompts.tsv")}
    made: set[tuple[str, str]] = set()
    for path in sounds_dir.glob("*/**/*"):
        if path.is_file() and path.suffix[1:] in PROMPT_FORMATS and path.relative_to(sounds_dir).parts[0] in _VOICES:
            language, *name = path.relative_to(sounds_dir).with_suffix("").parts
            made.add((language, "/".join(name)))
    return frozenset(listed | made)


# Music on hold, made here rather than downloaded: slow chords (C, Am, F, G), soft and free of rights.
_CHORDS = ((261.63, 329.63, 392.00), (220.00, 261.63, 329.63), (174.61, 220.00, 261.63), (196.00, 246.94, 293.66))
MUSIC_DIR = "moh"


def build_music(sounds_dir: Path) -> bool:
    """Make the music on hold (sounds/moh/calm.alaw, .ulaw) if it is not there; True when made."""
    target = sounds_dir / MUSIC_DIR / "calm"
    if all(target.with_suffix("." + fmt).exists() for fmt in PROMPT_FORMATS):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        parts = []
        for index, chord in enumerate(_CHORDS * 2):
            part = Path(scratch) / f"chord{index}.wav"
            tones = [argument for frequency in chord for argument in ("sine", f"{frequency}")]
            subprocess.run(
                [
                    "sox",
                    "-n",
                    "-r",
                    "8000",
                    "-c",
                    "3",
                    str(part),
                    "synth",
                    "4",
                    *tones,
                    "fade",
                    "q",
                    "0.5",
                    "4",
                    "0.8",
                    "remix",
                    "-",
                    "gain",
                    "-14",
                ],
                check=True,
                capture_output=True,
            )
            parts.append(str(part))
        for fmt in PROMPT_FORMATS:
            encoding = "a-law" if fmt == "alaw" else "u-law"
            subprocess.run(
                [
                    "sox",
                    *parts,
                    "-t",
                    "raw",
                    "-r",
                    "8000",
                    "-c",
                    "1",
                    "-e",
                    encoding,
                    str(target.with_suffix("." + fmt)),
                ],
                check=True,
                capture_output=True,
            )
    log.info("made music on hold %s", target)
    return True
