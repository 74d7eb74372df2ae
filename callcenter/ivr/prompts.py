"""Which file Asterisk plays for a prompt name in a language.

A prompt the project ships (sounds/<language>/<name>.*) is played by its
absolute path inside the Asterisk root; any other name is a core sound, which
Asterisk looks up in the channel's language itself.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

__all__ = ["PromptResolver"]


class PromptResolver:
    def __init__(self, sounds_dir: Path, in_root_dir: PurePosixPath) -> None:
        self._in_root_dir = in_root_dir
        # Scanned once: the set of shipped prompts changes only with a rebuild and restart.
        self._shipped = {
            str(path.relative_to(sounds_dir).with_suffix(""))
            for path in sounds_dir.glob("*/**/*")
            if path.is_file() and path.suffix != ".txt"
        }

    def has(self, language: str, name: str) -> bool:
        return f"{language}/{name}" in self._shipped

    def path(self, language: str, name: str) -> str:
        if self.has(language, name):
            return str(self._in_root_dir / language / name)
        return name
