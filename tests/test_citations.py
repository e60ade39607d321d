"""Citation validation and repair, on hand-written cases."""

from ttd.citations import finalize, strip_sources_section
from ttd.hygiene import clean


def sources(*numbers):
    return {
        f"wiki:{n:03d}": {
            "id": f"wiki:{n:03d}",
            "n": n,
            "title": f"Title {n}",
            "location": f"https://x/{n}",
            "text": "",
        }
        for n in numbers
    }


def test_renumbers_in_order_of_first_use_and_lists_sources():
    out = finalize("B is true [7]. A is true [3]. Again [7].", sources(3, 7))
    assert out.body == "B is true [1]. A is true [2]. Again [1]."
    assert [s["run_n"] for s in out.sources] == [7, 3]
    assert "[1] Title 7. <https://x/7>" in out.markdown
    assert out.stats == {
        "cited": 2,
        "resolved": 3,
        "repaired": 0,
        "dropped": 0,
        "from_draft": 0,
        "from_facts": 0,
        "few_facts": 0,
        "facts": 0,
        "off_topic": 0,
        "facts_unchecked": 0,
        "answer_stated": 0,
        "compared": 0,
        "attributed": 0,
        "evidence_section": 0,
        "foreign_urls": 0,
        "unverified": 0,
        "hygiene": 0,
        "marks_trimmed": 0,
        "fragments_cited": 0,
        "facts_added": 0,
        "rewrites": 0,
        "rewrite_kept": 0,
    }


def test_repairs_the_forms_small_models_write():
    text = "a [S3]. b [source 4]. c [^3]. d [3-4]. e [wiki:004]. f [3, 4]."
    out = finalize(text, sources(3, 4))
    assert out.body == "a [1]. b [2]. c [1]. d [1][2]. e [2]. f [1][2]."
    assert out.stats["repaired"] == 6
    assert out.stats["dropped"] == 0


def test_grouped_marks_survive_the_cleaning_before_them():
    """ "[3, 4]" and "[3-4]" read as broken marks ("[3" and "4]"): the report's cleaning made "f , 4]." of
    them before `finalize` could repair them, and the sentence cited nothing."""
    text = "# R\n\na [S3]. b [source 4]. d [3-4]. e [wiki:004]. f [3, 4]. g [4; 3].\n\n```\nx = [3, 4]\n```\n"
    cleaned, fixes = clean(text)
    assert cleaned.split("\n\n")[1] == "a [3]. b [4]. d [3][4]. e [wiki:004]. f [3][4]. g [4][3]."
    assert "x = [3, 4]" in cleaned and fixes == 5  # code stays as written
    assert (
        finalize(cleaned, sources(3, 4)).body.split("\n\n")[1]
        == "a [1]. b [2]. d [1][2]. e [2]. f [1][2]. g [2][1]."
    )


def test_drops_what_does_not_resolve_and_counts_it():
    out = finalize("x [1]. y [12]. z [2][40].", sources(1, 2))
    assert out.body == "x [1]. y. z [2]."
    assert out.stats["dropped"] == 2
    assert out.stats["cited"] == 2


def test_a_dropped_first_mark_leaves_its_space_and_code_keeps_its_brackets():
    """A fabricated [9] leading "[9][1]" made "g[1]" of "g [9][1]"; finalize read "x = [3, 4]" in a code
    block as marks and rewrote the code."""
    marks = "g [9][1]. h[9] [2]. i [9][8]. j [9][8][2]. k [9] [x]. l [9][x]."
    text = marks + "\n\n```python\nx = [1, 2]\ny = a[1]\n```\n"
    out = finalize(text, sources(1, 2))
    assert out.body.split("\n\n")[0] == "g [1]. h [2]. i. j [2]. k [x]. l [x]."
    assert "x = [1, 2]\ny = a[1]" in out.body
    assert out.stats["dropped"] == 8 and out.stats["resolved"] == 3


def test_leaves_source_links_and_other_brackets_alone():
    text = "See [the docs](https://x/1) and [to verify] and a list [ ] item [1]."
    out = finalize(text, sources(1))
    assert "[the docs](https://x/1)" in out.body
    assert "[to verify]" in out.body
    assert out.body.endswith("item [1].")
    assert out.stats["foreign_urls"] == 0


def test_urls_that_are_not_sources_are_removed_and_counted():
    text = "See [the docs](https://evil.example/a), http://evil.example/b and <https://x/1>; claim [1]."
    out = finalize(text, sources(1))
    assert "evil.example" not in out.markdown
    assert out.body == "See the docs, and <https://x/1>; claim [1]."
    assert out.stats["foreign_urls"] == 2


def test_model_written_reference_lists_are_replaced():
    text = "Intro line.\n\nBody with claim [1].\n\nMore body.\n\n## References\n[1] A made-up book, 1999\n"
    assert "made-up" not in strip_sources_section(text)
    assert "made-up" not in strip_sources_section(text.replace("## References", "**Sources:**"))
    assert "made-up" not in strip_sources_section(text.replace("## References\n", "References: "))
    # a section of the report whose heading opens with the word stays (Robinhood's revenue)
    revenue = text.replace("## References\n[1] A made-up book, 1999", "## Sources of revenue\nFees [1].")
    assert strip_sources_section(revenue) == revenue
    out = finalize(text, sources(1))
    assert "made-up" not in out.markdown
    assert out.markdown.count("## Sources") == 1


def test_no_citations_gives_no_sources_section():
    out = finalize("Nothing cited here.", sources(1))
    assert "## Sources" not in out.markdown
    assert out.stats["cited"] == 0


def test_attribution_cites_only_sentences_a_passage_supports():
    from ttd.citations import attribute

    srcs = {
        "a": {
            "n": 4,
            "title": "Aqueduct",
            "text": "Roman aqueducts carried water by gravity along gentle gradients "
            "through stone channels, tunnels and arched bridges into city fountains.",
        },
        "b": {"n": 9, "title": "Legion", "text": "Marius reorganised the legions around 107 BC."},
    }
    text = (
        "# Rome\n\nAqueducts carried water by gravity through stone channels and arched bridges. "
        "Rome was important for many reasons in its long history. Marius did it [9].\n"
    )
    out, added = attribute(text, srcs, topic="How did Rome supply water?")
    assert added == 1
    assert "arched bridges [4]." in out
    assert "long history." in out and "history [" not in out  # unsupported: left uncited
    assert out.count("[9]") == 1  # an already cited sentence is left alone
