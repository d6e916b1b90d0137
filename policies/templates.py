"""Case-note templates: TOML files in ``policies/templates/``, loaded and validated.

A template names the sections a draft must have, what belongs in each, how each is
written (prose, bullet list or an actions table), the speaker roles expected and
whether a visit of this type may be recorded at all.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policies.errors import PolicyError

__all__ = [
    "SECTION_STYLES",
    "Template",
    "TemplateSection",
    "default_policy_dir",
    "load_templates",
]

logger = logging.getLogger(__name__)

#: The ways a section can be written.
SECTION_STYLES = ("prose", "bullets", "actions")

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_VERSION = re.compile(r"^\d+(\.\d+){0,2}$")


@dataclass(frozen=True)
class TemplateSection:
    """One section of a template.

    Attributes:
        key: Short identifier, unique within the template (``"what-matters"``).
        title: Heading shown in the note.
        guidance: What belongs in the section, in plain words; also used to find
            the parts of the conversation that belong here.
        required: Whether the note is incomplete without it.
        style: ``"prose"``, ``"bullets"`` or ``"actions"``.
        max_statements: Most statements the draft puts in the section.
        quote: Whether the person's own words are kept as a verbatim quote here.
        speakers: Speaker roles whose words feed this section; empty means anyone.
        wishes: Whether the section holds only wishes, feelings and what the speaker
            said matters to them ("What matters to the person"); their other words go
            to the section they are about.
    """

    key: str
    title: str
    guidance: str
    required: bool = True
    style: str = "prose"
    max_statements: int = 6
    quote: bool = False
    speakers: tuple[str, ...] = ()
    wishes: bool = False


@dataclass(frozen=True)
class Template:
    """A case-note template.

    Attributes:
        name: Identifier used to choose it (``"home-visit"``).
        title: Human-readable name.
        purpose: When to use it.
        version: Version string (``"1.0"``), recorded in every draft.
        sections: The sections, in the order the note shows them.
        speaker_roles: Speaker roles expected in the conversation.
        recording_allowed: False for visit types that must not be recorded; the web
            app refuses uploads for them.
        person: How the note refers to the person the note is about when no name
            is known (``"The person"``, ``"The patient"``).
        author_roles: Roles of whoever writes the note (``["doctor"]``); their words are
            written as the author's own, without "said that". Empty: everyone's words
            are reported in the third person.
        reporting_verb: Verb used to report what someone said (``"said"``, ``"reports"``).
        source: File the template was read from.
    """

    name: str
    title: str
    purpose: str
    version: str
    sections: tuple[TemplateSection, ...]
    speaker_roles: tuple[str, ...] = ()
    recording_allowed: bool = True
    person: str = "The person"
    author_roles: tuple[str, ...] = ()
    reporting_verb: str = "said"
    source: str = ""

    def section(self, key: str) -> TemplateSection:
        """Return the section with ``key``.

        Raises:
            KeyError: If the template has no such section.
        """
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(key)


def default_policy_dir() -> Path:
    """Return the policy folder: ``$CARENOTES_POLICY_DIR`` if set, else the package's."""
    override = os.environ.get("CARENOTES_POLICY_DIR")
    return Path(override) if override else Path(__file__).parent


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML policy file, turning syntax errors into a :class:`PolicyError`.

    Raises:
        PolicyError: If the file cannot be read or is not valid TOML.
    """
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML ({exc}); fix the syntax there.") from exc
    except OSError as exc:
        raise PolicyError(f"{path}: cannot be read ({exc.strerror}).") from exc


def _field(data: dict[str, Any], key: str, kind: type, where: str, default: Any = ...) -> Any:
    if key not in data:
        if default is ...:
            raise PolicyError(f"{where}: missing field '{key}'; add it.")
        return default
    value = data[key]
    if kind is str and isinstance(value, str):
        if not value.strip():
            raise PolicyError(f"{where}: field '{key}' is empty; give it a value.")
        return value.strip()
    if kind is bool and isinstance(value, bool):
        return value
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is list and isinstance(value, list):
        return value
    raise PolicyError(
        f"{where}: field '{key}' must be {kind.__name__}, not {type(value).__name__}."
    )


def _section(data: Any, where: str) -> TemplateSection:
    if not isinstance(data, dict):
        raise PolicyError(f"{where}: each [[sections]] entry must be a table.")
    style = _field(data, "style", str, where, "prose")
    if style not in SECTION_STYLES:
        raise PolicyError(
            f"{where}: field 'style' is '{style}'; use one of {', '.join(SECTION_STYLES)}."
        )
    max_statements = _field(data, "max_statements", int, where, 6)
    if max_statements < 1:
        raise PolicyError(f"{where}: field 'max_statements' must be at least 1.")
    speakers = _field(data, "speakers", list, where, [])
    if not all(isinstance(s, str) and s.strip() for s in speakers):
        raise PolicyError(f"{where}: field 'speakers' must be a list of role names.")
    return TemplateSection(
        key=_field(data, "key", str, where),
        title=_field(data, "title", str, where),
        guidance=_field(data, "guidance", str, where),
        required=_field(data, "required", bool, where, True),
        style=style,
        max_statements=max_statements,
        quote=_field(data, "quote", bool, where, False),
        speakers=tuple(s.strip().lower() for s in speakers),
        wishes=_field(data, "wishes", bool, where, False),
    )


def parse_template(data: dict[str, Any], source: str) -> Template:
    """Validate one template's TOML data.

    Args:
        data: The parsed TOML.
        source: File name, used in error messages.

    Returns:
        The validated template.

    Raises:
        PolicyError: Naming the file and the field at fault.
    """
    name = _field(data, "name", str, source)
    if not _NAME.match(name):
        raise PolicyError(
            f"{source}: field 'name' is '{name}'; use lower-case letters, digits and hyphens."
        )
    version = data.get("version")
    if not isinstance(version, str) or not _VERSION.match(version):
        raise PolicyError(
            f"{source}: field 'version' must be a string such as \"1.0\", not {version!r}."
        )
    raw_sections = data.get("sections")
    if not isinstance(raw_sections, list) or not raw_sections:
        raise PolicyError(f"{source}: field 'sections' is missing or empty; add [[sections]].")
    sections = tuple(_section(s, f"{source}: sections[{i}]") for i, s in enumerate(raw_sections))
    keys = [s.key for s in sections]
    for key in keys:
        if keys.count(key) > 1:
            raise PolicyError(f"{source}: field 'sections': key '{key}' is used twice.")
    roles = _field(data, "speaker_roles", list, source, [])
    if not all(isinstance(r, str) and r.strip() for r in roles):
        raise PolicyError(f"{source}: field 'speaker_roles' must be a list of role names.")
    authors = _field(data, "author_roles", list, source, [])
    if not all(isinstance(r, str) and r.strip() for r in authors):
        raise PolicyError(f"{source}: field 'author_roles' must be a list of role names.")
    return Template(
        name=name,
        title=_field(data, "title", str, source),
        purpose=_field(data, "purpose", str, source, ""),
        version=version,
        sections=sections,
        speaker_roles=tuple(r.strip().lower() for r in roles),
        recording_allowed=_field(data, "recording_allowed", bool, source, True),
        person=_field(data, "person", str, source, "The person"),
        author_roles=tuple(r.strip().lower() for r in authors),
        reporting_verb=_field(data, "reporting_verb", str, source, "said"),
        source=source,
    )


def load_templates(directory: str | Path | None = None) -> dict[str, Template]:
    """Load and validate every ``*.toml`` template in a folder.

    Args:
        directory: Folder of template files. Defaults to ``$CARENOTES_POLICY_DIR/templates``
            when that variable is set, else the templates shipped with carenotes.

    Returns:
        Templates by name.

    Raises:
        PolicyError: If the folder is missing or empty, a file is invalid, or two files
            define the same template name.
    """
    folder = Path(directory) if directory is not None else default_policy_dir() / "templates"
    if not folder.is_dir():
        raise PolicyError(f"{folder}: template folder not found; create it or fix the path.")
    templates: dict[str, Template] = {}
    for path in sorted(folder.glob("*.toml")):
        template = parse_template(read_toml(path), str(path))
        if template.name in templates:
            raise PolicyError(
                f"{path}: field 'name': template '{template.name}' is already defined in "
                f"{templates[template.name].source}; rename one of them."
            )
        templates[template.name] = template
    if not templates:
        raise PolicyError(f"{folder}: no template files (*.toml) found; add at least one.")
    logger.info("loaded %d templates from %s", len(templates), folder)
    return templates
