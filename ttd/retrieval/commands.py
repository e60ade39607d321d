"""CLI pieces for retrieval, for `ttd.cli` to mount: `ttd index` and `ttd cache clear`, plus
`build_from_options`, which turns the research options into one `Retriever`.
"""

from __future__ import annotations

from pathlib import Path

import typer

from ttd.errors import TTDError
from ttd.retrieval.base import Retriever

cache_app = typer.Typer(help="The cache of web search results and fetched pages.", no_args_is_help=True)


def index(
    paths: list[Path] = typer.Argument(None, help="Files or folders (.txt .md .rst .html .pdf .jsonl)."),
    name: str | None = typer.Option(None, "--name", "-n", help="Corpus to build or update."),
    list_: bool = typer.Option(False, "--list", help="List corpora and exit."),
    drop: str | None = typer.Option(None, "--drop", help="Delete the named corpus and exit."),
    dense: bool = typer.Option(
        True, "--dense/--no-dense", help="Compute embeddings now (when the 'index' extra is installed)."
    ),
) -> None:
    """Build or update a local corpus for `ttd research --corpus NAME` (unchanged files are skipped)."""
    from ttd.retrieval.corpus import Corpus, drop_corpus, list_corpora

    if list_:
        rows = list_corpora()
        if not rows:
            typer.echo("no corpora yet: ttd index PATH --name NAME")
        for r in rows:
            typer.echo(f"{r['name']}\t{r['files']} files\t{r['chunks']} chunks\t{', '.join(r['roots'])}")
        return
    if drop:
        if not drop_corpus(drop):
            raise TTDError(f"no corpus named {drop!r} (see `ttd index --list`)")
        typer.echo(f"dropped {drop}")
        return
    if not name:
        raise TTDError("name the corpus: ttd index PATH... --name NAME")
    missing = [str(p) for p in paths or [] if not p.expanduser().exists()]
    if missing:  # checked before the corpus is opened, so a typo never leaves an empty corpus behind
        raise TTDError(f"{missing[0]} does not exist: check the path (nothing was indexed)")
    with Corpus(name) as c:
        report = c.update(paths or [])
        if dense:
            from ttd.retrieval.dense import dense_available, get_embedder

            if dense_available():
                emb = get_embedder()
                report.embedded = c.embed_missing(emb.name, emb.encode)
            else:
                typer.echo(
                    "dense embeddings skipped (pip install 'ttd-dr[index]'); searches will be lexical "
                    "until they are computed"
                )
    typer.echo(report.summary() + (f"; {report.embedded} chunks embedded" if report.embedded else ""))


@cache_app.command("clear")
def clear() -> None:
    """Delete every cached search result and fetched page."""
    from ttd.retrieval.cache import clear_cache

    typer.echo(f"cleared {clear_cache()} cache entries")


def build_from_options(
    corpora: list[str],
    search: list[str],
    dense: bool = True,
    cache: bool = True,
    allow_hosts: list[str] | None = None,
) -> Retriever | None:
    """The retriever for `--corpus` / `--search` options: None when neither is given, one backend alone,
    or a `MultiRetriever` over local corpora and the web together."""
    parts: list[Retriever] = []
    if corpora:
        from ttd.retrieval.hybrid import CorpusRetriever

        parts.append(CorpusRetriever(corpora, dense=dense))
    if search:
        from ttd.retrieval.cache import Cache
        from ttd.retrieval.fetch import PageFetcher
        from ttd.retrieval.providers import make_provider
        from ttd.retrieval.web import WebRetriever

        store = Cache(enabled=cache)
        providers = [make_provider(n) for n in dict.fromkeys(search)]
        parts.append(
            WebRetriever(providers, cache=store, fetcher=PageFetcher(allow_hosts or [], cache=store))
        )
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    from ttd.retrieval.multi import MultiRetriever

    return MultiRetriever(parts)
