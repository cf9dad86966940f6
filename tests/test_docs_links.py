"""The README and docs/ as a reader follows them: the README stays short (what the service is, the two
commands, configuration, deploy, links), and every relative link and anchor leads somewhere."""
import re
from pathlib import Path

import pytest

from tests.live_server import ROOT

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
README_BYTES = 12 * 1024


def anchors(document: Path) -> set[str]:
    """The anchors GitHub gives the document's headings."""
    found = set()
    for line in document.read_text().splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", heading).replace(" ", "-"))
    return found


def test_the_readme_fits_on_a_screen_or_two():
    assert len((ROOT / "README.md").read_bytes()) <= README_BYTES


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_leads_somewhere(document):
    broken = []
    for target in LINK.findall(document.read_text()):
        if re.match(r"^(https?:|mailto:)", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (document.parent / path).resolve() if path else document
        if not linked.exists():
            broken.append(target)
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(target)
    assert not broken, f"{document.name}: {broken}"
