"""HTML to PDF with whatever converter the machine has, or a clear "none installed".

Tried in order: WeasyPrint (Python package), a headless Chromium/Chrome
(``--print-to-pdf``), LibreOffice (``soffice --convert-to pdf``). Nothing is installed
or downloaded here: without any of them the caller is told which ones were looked for.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import tempfile
from pathlib import Path

from vntwin.errors import VntwinError

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
OFFICE_NAMES = ("soffice", "libreoffice")
TIMEOUT_S = 120


class PdfUnavailable(VntwinError):
    """No HTML-to-PDF converter is installed."""


def converter() -> tuple[str, str] | None:
    """(kind, executable or module) of the first converter found, or None."""
    if importlib.util.find_spec("weasyprint") is not None:
        return "weasyprint", "weasyprint"
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return "chromium", found
    for name in OFFICE_NAMES:
        found = shutil.which(name)
        if found:
            return "libreoffice", found
    return None


def html_to_pdf(html_path: Path, pdf_path: Path) -> str:
    """Convert; returns the converter used. Raises :class:`PdfUnavailable` when none is."""
    found = converter()
    if found is None:
        raise PdfUnavailable(
            "no PDF converter is installed (looked for the weasyprint package, "
            f"{', '.join(CHROMIUM_NAMES)} and {', '.join(OFFICE_NAMES)}): the HTML report "
            "was written; print it to PDF from a browser, or install one of them")
    kind, exe = found
    html_path, pdf_path = html_path.resolve(), pdf_path.resolve()
    if kind == "weasyprint":
        import weasyprint  # type: ignore[import-not-found]

        weasyprint.HTML(filename=str(html_path)).write_pdf(str(pdf_path))
        return kind
    with tempfile.TemporaryDirectory(prefix="vntwin-pdf-") as tmp:
        if kind == "chromium":
            command = [exe, "--headless", "--no-sandbox", "--disable-gpu",
                       "--disable-background-networking", "--disable-component-update",
                       "--disable-sync", "--no-first-run", "--no-pdf-header-footer",
                       f"--user-data-dir={tmp}", f"--print-to-pdf={pdf_path}",
                       html_path.as_uri()]
        else:
            command = [exe, "--headless", "--convert-to", "pdf", "--outdir", tmp,
                       str(html_path)]
        try:
            done = subprocess.run(command, capture_output=True, timeout=TIMEOUT_S,  # noqa: S603
                                  check=False, env={"HOME": tmp, "PATH": "/usr/bin:/bin"})
        except subprocess.TimeoutExpired:
            raise VntwinError(f"{kind} did not finish the PDF in {TIMEOUT_S} s") from None
        if kind == "libreoffice":
            made = Path(tmp) / (html_path.stem + ".pdf")
            if made.exists():
                shutil.move(str(made), pdf_path)
        if done.returncode != 0 or not pdf_path.exists():
            raise VntwinError(f"{kind} could not write the PDF: "
                              f"{done.stderr.decode(errors='replace')[-300:]}")
    return kind
