"""CLI pieces for retrieval, for `ttd.cli` to mount: `ttd index` and `ttd cache clear`.

They only parse options and print; assembling a retriever is `ttd.retrieval.factory`'s job.
"""

from __future__ import annotations

from pathlib import Path

import typer

from ttd.errors import TTDError

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
