"""Parsing untrusted RDF: size limit, no external entities, no remote contexts, clean errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from vntwin.dcat.harvest import parse_catalog
from vntwin.dcat.read import normalize_format, read_graph
from vntwin.errors import TooLarge, ValidationError

DATASET = '{"@id": "http://x/d", "@type": "dcat:Dataset", "dct:title": "T"}'
INLINE_CONTEXT = {"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/"}


def test_size_limit() -> None:
    doc = b"<http://x/d> a <http://www.w3.org/ns/dcat#Dataset> .\n"
    assert len(parse_catalog(doc, max_bytes=len(doc))) == 1
    with pytest.raises(TooLarge):
        parse_catalog(doc + b" ", max_bytes=len(doc))


def test_default_size_limit_is_settings_default() -> None:
    from vntwin.settings import Settings

    default = Settings.model_fields["harvest_max_bytes"].default
    with pytest.raises(TooLarge):
        read_graph(b" " * (default + 1))


XXE = """<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:dct="http://purl.org/dc/terms/" xmlns:dcat="http://www.w3.org/ns/dcat#">
  <dcat:Dataset rdf:about="http://x/d"><dct:title>&xxe;</dct:title></dcat:Dataset>
</rdf:RDF>
"""
LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>
"""


@pytest.mark.parametrize(
    "payload",
    [
        XXE.encode("utf-8"),
        XXE.encode("utf-16"),  # with BOM
        XXE.encode("utf-16-le"),  # no BOM: expat would sniff UTF-16 from "<\0?\0"
        XXE.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="utf-16"?>').encode(
            "utf-16"
        ),
        XXE.replace("<!DOCTYPE", "<!doctype").encode("utf-8"),
        LAUGHS.encode("utf-8"),
        XXE.replace('<?xml version="1.0"?>\n', "").encode("utf-8"),
    ],
    ids=["utf8", "utf16-bom", "utf16-no-bom", "declared-utf16", "lowercase", "laughs", "no-decl"],
)
@pytest.mark.parametrize("fmt", [None, "xml"])
def test_no_external_entities(payload: bytes, fmt: str | None, no_network: list[str]) -> None:
    with open("/etc/passwd", encoding="utf-8") as fh:
        secret = fh.readline().strip()
    try:
        pkgs = parse_catalog(payload, fmt)
    except ValidationError as exc:
        assert "RDF/XML" in str(exc)
        assert secret not in str(exc)
    else:  # pragma: no cover - only reached if the guard is broken
        assert secret not in json.dumps(pkgs)
        pytest.fail(f"a document with a DOCTYPE was accepted: {pkgs}")
    assert no_network == []


def test_rdfxml_without_doctype_still_parses() -> None:
    doc = XXE.replace('<!DOCTYPE rdf:RDF [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>\n', "")
    [pkg] = parse_catalog(doc.replace("&xxe;", "Tiêu đề").encode("utf-8"))
    assert pkg["title"] == "Tiêu đề"


REMOTE = "http://127.0.0.1:9/ctx"


def _doc(context: Any, body: dict[str, Any] | None = None) -> bytes:
    return json.dumps({"@context": context, **(body or json.loads(DATASET))}).encode("utf-8")


REMOTE_CONTEXT_DOCS = {
    "string": _doc(REMOTE),
    "list": _doc([INLINE_CONTEXT, REMOTE]),
    "import": _doc({"@import": REMOTE, **INLINE_CONTEXT}),
    "nested-node": _doc(
        INLINE_CONTEXT,
        {"@id": "http://x/c", "dcat:dataset": {"@context": REMOTE, "@id": "http://x/d"}},
    ),
    "scoped-term": _doc(
        {**INLINE_CONTEXT, "ds": {"@id": "dcat:dataset", "@context": REMOTE}},
        {"@id": "http://x/c", "ds": {"@id": "http://x/d"}},
    ),
    "in-graph-array": json.dumps([{"@context": [REMOTE], "@id": "http://x/d"}]).encode(),
    "relative": _doc("ctx.jsonld"),
}


@pytest.mark.parametrize("name", sorted(REMOTE_CONTEXT_DOCS))
@pytest.mark.parametrize("fmt", [None, "json-ld"])
def test_no_remote_jsonld_contexts(name: str, fmt: str | None, no_network: list[str]) -> None:
    with pytest.raises(ValidationError, match="remote contexts are not fetched"):
        parse_catalog(REMOTE_CONTEXT_DOCS[name], fmt, base="http://127.0.0.1:9/doc")
    assert no_network == []


def test_the_network_trap_catches_rdflib_fetching(no_network: list[str]) -> None:
    """Without our guard, rdflib would try to fetch the context: the trap must see it."""
    from rdflib import Graph

    with pytest.raises(Exception):  # noqa: B017 - whatever rdflib raises on a failed fetch
        Graph().parse(data=REMOTE_CONTEXT_DOCS["string"].decode(), format="json-ld")
    assert no_network, "the trap did not record rdflib's fetch attempt"


def test_inline_context_is_fine(no_network: list[str]) -> None:
    [pkg] = parse_catalog(_doc(INLINE_CONTEXT))
    assert pkg["title"] == "T"
    assert no_network == []


@pytest.mark.parametrize(
    ("payload", "fmt", "label"),
    [
        (b"<http://x/d> a <http://www.w3.org/ns/dcat#Dataset ", "turtle", "Turtle"),
        (b"@prefix : <http://x/> . :a :b", None, "Turtle"),
        (
            b"<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><oops>",
            "xml",
            "RDF/XML",
        ),
        (b'{"@context": {}, "@id": ', "json-ld", "JSON-LD"),
        (b'{"@context": 5, "@id": "x"}', "json-ld", "JSON-LD"),
        (b"[" * 100_000 + b"]" * 100_000, None, "JSON-LD"),
        (b"<http://x/\xc3\x28> a <http://x/T> .", "turtle", "Turtle"),
    ],
)
def test_malformed_input_is_a_validation_error(payload: bytes, fmt: str | None, label: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_catalog(payload, fmt)
    message = str(info.value)
    assert label in message
    assert info.value.errors["data"]
    assert len(message) > len(label) + 12  # carries the parser's own message


def test_unknown_format_name() -> None:
    with pytest.raises(ValidationError, match="Unknown RDF format"):
        normalize_format("csv")


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("ttl", "turtle"),
        (".TTL", "turtle"),
        ("text/turtle; charset=utf-8", "turtle"),
        ("rdf", "xml"),
        ("application/rdf+xml", "xml"),
        ("jsonld", "json-ld"),
        ("application/ld+json", "json-ld"),
    ],
)
def test_format_names(name: str, kind: str) -> None:
    assert normalize_format(name) == kind
