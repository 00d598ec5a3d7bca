"""Parse untrusted RDF documents (Turtle, RDF/XML, JSON-LD) into a graph, safely.

A harvested catalogue comes from someone else's server, so parsing must never reach
out on our behalf: RDF/XML with a DOCTYPE could declare external entities (XXE, e.g.
``file:///etc/passwd``) or entity bombs, and a JSON-LD ``@context`` given as a URL makes
rdflib download it. Both are refused *before* rdflib sees the document, and every
parser failure becomes a :class:`~vntwin.errors.ValidationError` that names the format.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

from rdflib import Graph

from vntwin.errors import TooLarge, ValidationError

#: Default size limit, the same as ``Settings.harvest_max_bytes``' default.
DEFAULT_MAX_BYTES = 50 * 1024**2

#: Accepted spellings of each format (names, file extensions, media types).
_FORMATS: dict[str, str] = {
    **dict.fromkeys(("turtle", "ttl", "text/turtle", "n3", "nt", "n-triples"), "turtle"),
    **dict.fromkeys(
        ("xml", "rdf", "rdfxml", "rdf/xml", "rdf+xml", "owl", "application/rdf+xml"), "xml"
    ),
    **dict.fromkeys(
        ("json-ld", "jsonld", "json", "application/ld+json", "application/json"), "json-ld"
    ),
}
_LABELS = {"turtle": "Turtle", "xml": "RDF/XML", "json-ld": "JSON-LD"}

_DECLARATION_RE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>")
_XML_ENCODING_RE = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_XML_START_RE = re.compile(r"^<(\?xml|!--|!DOCTYPE|[A-Za-z_][\w.-]*(:[A-Za-z_][\w.-]*)?[\s>/])")


def normalize_format(fmt: str) -> str:
    """Return ``turtle``, ``xml`` or ``json-ld`` for a format name, extension or media type."""
    key = fmt.strip().lower().split(";")[0].strip().lstrip(".")
    try:
        return _FORMATS[key]
    except KeyError:
        raise ValidationError(
            {"format": [f"Unknown RDF format {fmt!r}: use Turtle, RDF/XML or JSON-LD."]}
        ) from None


def detect_format(data: bytes) -> str:
    """Guess the format from the first non-blank characters of the document."""
    # NULs are dropped so UTF-16/32 without a BOM is still recognised (and then refused).
    head = _decode(data[:4096]).replace("\x00", "").lstrip("\ufeff \t\r\n")
    if head.startswith(("{", "[")):
        return "json-ld"
    if _XML_START_RE.match(head):
        return "xml"
    return "turtle"


def read_graph(
    data: bytes | str,
    fmt: str | None = None,
    *,
    base: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Graph:
    """Parse an RDF document into a graph, refusing anything that could fetch or expand.

    ``fmt`` is a format name, extension or media type, or None to detect it from the
    content. Raises TooLarge over ``max_bytes`` and ValidationError for unsafe or
    malformed input.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > max_bytes:
        raise TooLarge(f"The document is {len(raw)} bytes; the limit is {max_bytes} bytes.")
    kind = normalize_format(fmt) if fmt else detect_format(raw)
    graph = Graph()
    try:
        if kind == "json-ld":
            document = _load_json(raw)
            _refuse_remote_contexts(document)
            graph.parse(data=document, format="json-ld", publicID=base)
        elif kind == "xml":
            graph.parse(data=_safe_xml(raw), format="xml", publicID=base)
        else:
            graph.parse(data=_decode(raw, "turtle"), format="turtle", publicID=base)
    except (ValidationError, TooLarge):
        raise
    except RecursionError:
        raise _invalid(kind, "the document is nested too deeply") from None
    except Exception as exc:  # every rdflib parser has its own exception types
        raise _invalid(kind, str(exc) or type(exc).__name__) from exc
    return graph


def _invalid(kind: str, message: str) -> ValidationError:
    label = _LABELS[kind]
    message = " ".join(message.split())[:500]
    return ValidationError({"data": [f"Invalid {label}: {message}"]})


def _decode(raw: bytes, kind: str | None = None) -> str:
    """Decode by BOM (UTF-8/16/32), else UTF-8; strictly when ``kind`` names the format."""
    boms = (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    )
    encoding = next((enc for bom, enc in boms if raw.startswith(bom)), "utf-8")
    if kind is None:
        return raw.decode(encoding, errors="replace")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise _invalid(kind, f"the document is not valid {encoding}: {exc}") from exc


def _safe_xml(raw: bytes) -> str:
    """Return the RDF/XML as text with no DOCTYPE/ENTITY and no encoding declaration.

    The text is decoded here (BOM, then the XML declaration's encoding, then UTF-8)
    and the check runs on the decoded text, so no encoding trick can hide a DOCTYPE;
    the declaration is removed so the parser reads exactly the text we checked.
    """
    declared = _XML_ENCODING_RE.match(raw)
    if declared and not raw.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = raw.decode(declared.group(1).decode("ascii"))
        except (UnicodeDecodeError, LookupError) as exc:
            raise _invalid("xml", f"cannot decode the document: {exc}") from exc
    else:
        text = _decode(raw, "xml")
    text = text.lstrip("\ufeff")
    if "\x00" in text:  # a UTF-16/32 document without a BOM: expat would re-detect it
        raise _invalid("xml", "NUL characters are not allowed; send UTF-8 or use a BOM")
    if _DECLARATION_RE.search(text.encode("utf-8")):
        raise ValidationError(
            {"data": ["Invalid RDF/XML: DOCTYPE and ENTITY declarations are not allowed."]}
        )
    body = _XML_DECL_RE.sub("", text, count=1)
    if re.match(r"\s*<\?xml\s", body):
        raise _invalid("xml", "more than one XML declaration")
    return body


def _load_json(raw: bytes) -> Any:
    try:
        return json.loads(_decode(raw, "json-ld"))
    except RecursionError:
        raise _invalid("json-ld", "the document is nested too deeply") from None
    except ValueError as exc:
        raise _invalid("json-ld", str(exc)) from exc


def _refuse_remote_contexts(document: Any) -> None:
    """Reject any ``@context`` that is or contains a URL string, and any ``@import``.

    rdflib would fetch those with urllib. Every context rdflib loads comes from an
    ``@context`` key (top-level, nested in a node, or scoped in a term definition) or
    an ``@import`` key, so walking every key of the document finds them all.
    """
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        for key, value in item.items():
            if key == "@import":
                raise _remote_context(value)
            if key == "@context":
                entries = value if isinstance(value, list) else [value]
                for entry in entries:
                    if isinstance(entry, str):
                        raise _remote_context(entry)
                    if isinstance(entry, list):
                        raise _invalid("json-ld", "a @context list may not nest lists")
            stack.append(value)


def _remote_context(value: Any) -> ValidationError:
    return ValidationError(
        {
            "data": [
                f"Invalid JSON-LD: remote contexts are not fetched ({str(value)[:200]!r}); "
                "embed the @context in the document."
            ]
        }
    )


__all__ = ["DEFAULT_MAX_BYTES", "detect_format", "normalize_format", "read_graph"]
