"""Every code block of the documentation runs (docs/*.md, and README.md's Python).

The pages run top to bottom, each block in one namespace per page, like cells of a
notebook; see ``_pages`` for the markup and ``conftest`` for the world they run in.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ._pages import Block, Directive, parse_page
from ._runner import run_block
from .conftest import PageEnv

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "docs").rglob("*.md"))


def _page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("page", [*PAGES, ROOT / "README.md"], ids=_page_id)
def test_examples_run(page: Path, page_env: PageEnv) -> None:
    items = parse_page(page.read_text(), _page_id(page))
    if page.name == "README.md":  # its shell block is the set-up itself
        items = [i for i in items if isinstance(i, Block) and i.language == "python"]
    ns: dict[str, object] = {"__name__": "__main__", "hosts": page_env.hosts}
    for item in items:
        if isinstance(item, Directive):
            page_env.setup(item.name, ns)
        else:
            run_block(item, ns, page_env.cwd, page_env.home, page_env.env, page)
