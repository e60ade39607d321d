"""Local corpora: mixed file types (with a real PDF), exact offsets, incremental updates, list and drop."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ttd import paths
from ttd.errors import TTDError
from ttd.retrieval.chunking import chunk_text
from ttd.retrieval.corpus import Corpus, corpus_path, drop_corpus, list_corpora
from ttd.retrieval.fusion import rrf
from ttd.retrieval.hybrid import CorpusRetriever

MD = """# Lighthouses

Intro paragraph about coastal navigation aids and their keepers. Lighthouses mark dangerous coastlines,
hazardous shoals, reefs and safe entries to harbours, and they also assist in aerial navigation. Their
number has declined because of the expense of maintenance and the arrival of electronic navigation.

## Fresnel lens

The Fresnel lens, invented by Augustin-Jean Fresnel in 1822, focuses light with concentric prisms.
It allowed the light of a lamp to be seen much further away than with the mirrors used before, and its
thin rings weighed far less than a solid lens of the same focal length would have weighed.

## Automation

Most lighthouses were automated by the late twentieth century, ending the keeper profession.
"""
RST = """Volcanoes
=========

Basaltic lava flows are fluid; rhyolitic magma is viscous and explosive.
"""
HTML = """<html><head><title>Tea history</title><script>var tracking = 'zzscriptzz';</script></head>
<body><nav>Home | About</nav><article><h1>Tea history</h1>
<p>Tea drinking spread from Yunnan province through the Tang dynasty, when Lu Yu wrote the Classic of Tea,
a treatise describing cultivation, preparation and the ceremony of drinking tea in great detail.</p>
<p>Later the Dutch East India Company carried tea to Europe in the early seventeenth century.</p>
</article></body></html>"""


def _hand_pdf(pages: list[str]) -> bytes:
    """A minimal valid PDF written by hand (catalog, page tree, Helvetica, one text line per page)."""
    n = len(pages)
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(n))
        + b"] /Count %d >>" % n,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, text in enumerate(pages):
        stream = b"BT /F1 12 Tf 72 720 Td (" + text.encode("latin-1") + b") Tj ET"
        objs.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >>"
            b" >> /Contents %d 0 R >>" % (5 + 2 * i)
        )
        objs.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def make_pdf(path: Path, pages: list[str]) -> None:
    """A real PDF: drawn with reportlab when installed, else written by hand."""
    try:
        from reportlab.pdfgen import canvas
    except ImportError:
        path.write_bytes(_hand_pdf(pages))
        return
    c = canvas.Canvas(str(path))
    for text in pages:
        c.drawString(72, 720, text)
        c.showPage()
    c.save()


def test_hand_written_pdf_reads_back(tmp_path: Path) -> None:
    from ttd.retrieval.loaders import pdf_pages

    pytest.importorskip("pypdf")
    (tmp_path / "h.pdf").write_bytes(_hand_pdf(["First page text", "Second page text"]))
    assert pdf_pages(tmp_path / "h.pdf") == ["First page text", "Second page text"]


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    d = tmp_path / "docs"
    (d / "sub").mkdir(parents=True)
    (d / ".hidden").mkdir()
    (d / "notes.txt").write_text("Octopuses have three hearts and blue copper-based blood.\n")
    (d / "lights.md").write_text(MD)
    (d / "sub" / "geo.rst").write_text(RST)
    (d / "tea.html").write_text(HTML)
    (d / "records.jsonl").write_text(
        json.dumps({"title": "Zebra stripes", "text": "Zebra stripes deter biting horseflies."})
        + "\n\n"
        + json.dumps({"title": "Axolotl", "text": "Axolotls regenerate limbs and spinal cord."})
        + "\n"
    )
    (d / "image.png").write_bytes(b"\x89PNG not indexed")
    (d / ".hidden" / "secret.txt").write_text("hidden text must not be indexed")
    pytest.importorskip("pypdf")
    make_pdf(
        d / "paper.pdf",
        [
            "Quokkas live on Rottnest Island near Perth.",
            "The second page mentions the marsupial diet of grasses.",
        ],
    )
    return d


def search(names: list[str], query: str, k: int = 5):  # noqa: ANN201
    return asyncio.run(CorpusRetriever(names, dense=False).search(query, k))


def test_home_resolution(ttd_home: Path) -> None:
    assert paths.data_dir() == ttd_home
    assert corpus_path("x").parent == ttd_home / "corpora"


def test_index_mixed_folder(docs: Path, ttd_home: Path) -> None:
    with Corpus("mixed") as c:
        report = c.update([docs])
        assert report.added == 6 and report.updated == report.removed == 0
        rows = c.chunks()
    assert corpus_path("mixed").is_file() and corpus_path("mixed").is_relative_to(ttd_home)
    by_loc: dict[str, list] = {}
    for r in rows:
        by_loc.setdefault(r.location, []).append(r)
    assert not any("secret" in r.text or "PNG" in r.text for r in rows)
    # offsets of plain-text formats point at the exact characters of the file
    for name in ("notes.txt", "lights.md", "sub/geo.rst"):
        source = (docs / name).read_text()
        for r in by_loc[str(docs / name)]:
            assert source[r.start : r.end] == r.text
    md = by_loc[str(docs / "lights.md")]
    assert md[0].title == "Lighthouses"
    assert any(r.section.endswith("Fresnel lens") and "1822" in r.text for r in md)
    assert by_loc[str(docs / "sub/geo.rst")][0].title == "Volcanoes"
    # HTML: main text, title, no script
    tea = by_loc[str(docs / "tea.html")]
    assert tea[0].title == "Tea history" and "Lu Yu" in " ".join(r.text for r in tea)
    assert not any("zzscriptzz" in r.text for r in tea)
    # JSONL: one document per record, line-addressed
    assert by_loc[f"{docs / 'records.jsonl'}#L3"][0].title == "Axolotl"
    # PDF: text read back with pypdf, page known
    pdf = by_loc[str(docs / "paper.pdf")]
    assert "Rottnest Island" in pdf[0].text and pdf[0].meta["page"] == 1
    # stable ids: location plus span
    from ttd.retrieval.base import stable_id

    assert rows[0].id == stable_id(rows[0].location, f"{rows[0].start}-{rows[0].end}")

    hits = search(["mixed"], "Where do quokkas live?")
    assert hits[0].location == str(docs / "paper.pdf") and hits[0].provider == "corpus:mixed"
    assert search(["mixed"], "axolotl regenerate")[0].title == "Axolotl"
    assert search(["mixed"], "Fresnel lens prisms")[0].meta["section"].endswith("Fresnel lens")


def test_incremental_update(docs: Path) -> None:
    with Corpus("inc") as c:
        c.update([docs])
        g0, ids0 = c.generation(), {r.id for r in c.chunks()}
        again = c.update([docs])
        assert (again.added, again.updated, again.unchanged, again.removed) == (0, 0, 6, 0)
        assert c.generation() == g0 and {r.id for r in c.chunks()} == ids0

        (docs / "notes.txt").write_text("Octopuses have three hearts. They also taste with their arms.\n")
        (docs / "sub" / "geo.rst").unlink()
        (docs / "new.md").write_text("# Tardigrades\n\nTardigrades survive the vacuum of space.\n")
        r = c.update()  # no paths: the roots indexed before
        assert (r.added, r.updated, r.unchanged, r.removed) == (1, 1, 4, 1)
        assert c.generation() > g0
        texts = " ".join(x.text for x in c.chunks())
        assert "taste with their arms" in texts and "Basaltic" not in texts and "Tardigrades" in texts
    assert search(["inc"], "tardigrades vacuum")[0].title == "Tardigrades"
    assert not any("Basaltic" in p.text for p in search(["inc"], "basaltic lava rhyolitic magma"))


def test_retriever_sees_updates_without_restart(docs: Path) -> None:
    with Corpus("live") as c:
        c.update([docs / "notes.txt"])
    retr = CorpusRetriever(["live"], dense=False)
    assert not asyncio.run(retr.search("tardigrades", 3))
    (docs / "more.txt").write_text("Tardigrades are tiny.\n")
    with Corpus("live") as c:
        c.update([docs / "more.txt"])
    assert asyncio.run(retr.search("tardigrades", 3))[0].text.startswith("Tardigrades")


def test_list_and_drop_and_unknown(docs: Path) -> None:
    with Corpus("one") as c:
        c.update([docs / "notes.txt"])
    listed = list_corpora()
    assert [x["name"] for x in listed] == ["one"] and listed[0]["files"] == 1
    assert drop_corpus("one") and not drop_corpus("one")
    with pytest.raises(TTDError, match="no corpus named 'one'"):
        CorpusRetriever(["one"])
    with pytest.raises(TTDError, match="not allowed"):
        Corpus("../evil")


def test_cli_index_list_drop(docs: Path) -> None:
    import typer

    from ttd.retrieval.commands import cache_app, index

    app = typer.Typer()
    app.command("index")(index)
    app.add_typer(cache_app, name="cache")
    runner = CliRunner()
    res = runner.invoke(app, ["index", str(docs), "--name", "papers", "--no-dense"])
    assert res.exit_code == 0, res.output
    assert "papers: 6 added" in res.output
    res = runner.invoke(app, ["index", str(docs), "--name", "papers", "--no-dense"])
    assert "6 unchanged" in res.output
    res = runner.invoke(app, ["index", "--list"])
    assert res.output.startswith("papers\t6 files")
    assert runner.invoke(app, ["index", "--drop", "papers"]).exit_code == 0
    assert "no corpora yet" in runner.invoke(app, ["index", "--list"]).output
    assert runner.invoke(app, ["cache", "clear"]).output.startswith("cleared 0")


def test_deleted_embeddings_follow_their_chunks(docs: Path) -> None:
    import numpy as np

    with Corpus("emb") as c:
        c.update([docs])
        n = c.embed_missing("fake", lambda texts: np.ones((len(texts), 4), dtype=np.float32))
        assert n == c.count_chunks() and c.embed_missing("fake", lambda t: pytest.fail("recomputed")) == 0
        (docs / "lights.md").unlink()
        c.update([docs])
        left = c.db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
        assert left == c.count_chunks()
    assert isinstance(sqlite3.connect(corpus_path("emb")).execute("SELECT 1").fetchone(), tuple)


def test_chunking_offsets_overlap_and_structure() -> None:
    para = " ".join(f"Sentence number {i} talks about topic {i % 7}." for i in range(120))
    text = f"# Title\n\n{para}\n\n## Second\n\nShort closing section."
    chunks = chunk_text(text, max_chars=500, overlap=100, min_chars=50)
    assert all(text[c.start : c.end] == c.text for c in chunks)
    assert all(len(c.text) <= 500 for c in chunks)
    body = [c for c in chunks if "Sentence number" in c.text]
    assert len(body) >= 8
    assert all(b.start < a.end for a, b in zip(body, body[1:], strict=False))  # overlap
    assert chunks[-1].section.endswith("Second") and "Short closing" in chunks[-1].text
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_rrf_prefers_agreement() -> None:
    fused = rrf([["a", "b", "c"], ["b", "c", "a"], ["b"]])
    assert fused[0][0] == "b"


def test_factory_uses_corpora(docs: Path) -> None:
    from ttd.config import RetrievalConfig
    from ttd.retrieval.factory import build_retriever

    with Corpus("fac") as c:
        c.update([docs / "notes.txt"])
    retr = build_retriever(RetrievalConfig(corpora=["fac"], dense=False))
    assert isinstance(retr, CorpusRetriever)
    assert asyncio.run(retr.search("octopus hearts", 1))[0].provider == "corpus:fac"
