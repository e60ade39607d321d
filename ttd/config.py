"""One typed configuration for a research run.

Layers, later wins: the preset in `agents/NAME.toml`, a user config file (`--config`), environment
variables (`TTD_MODEL`, `TTD_<ROLE>_MODEL`, `TTD_STEPS`, `TTD_API_BASE`), then explicit arguments from the
CLI or the Python API. The resolved config is saved in the run directory, so a resumed run uses the
same models and steps as the run it continues.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, model_validator

from ttd import validate
from ttd.errors import ConfigError
from ttd.resources import agents_dir, preset_names

Role = Literal["plan", "draft", "question", "answer", "revise", "report", "judge", "verify"]
ROLES: tuple[Role, ...] = ("plan", "draft", "question", "answer", "revise", "report", "judge", "verify")
DEFAULT_MODEL = "local/qwen2.5-coder-1.5b"
DEFAULT_MAX_TOKENS: dict[str, int] = {
    "plan": 400,
    "draft": 700,
    "question": 120,
    "answer": 350,
    "revise": 1000,
    "report": 1400,
    "judge": 400,
    "verify": 500,
}


class Models(BaseModel):
    """The model behind each role (any litellm model name, or `local/<name>`, or `dllm/<path>`)."""

    model_config = ConfigDict(extra="forbid")

    plan: str = DEFAULT_MODEL
    draft: str = DEFAULT_MODEL
    question: str = DEFAULT_MODEL
    answer: str = DEFAULT_MODEL
    revise: str = DEFAULT_MODEL
    report: str = DEFAULT_MODEL
    judge: str = DEFAULT_MODEL
    verify: str = DEFAULT_MODEL

    def for_role(self, role: str) -> str:
        return str(getattr(self, role))

    def distinct(self) -> list[str]:
        return sorted({self.for_role(r) for r in ROLES})


class RetrievalConfig(BaseModel):
    """What the answer agent searches. With nothing named, the offline Wikipedia index is used."""

    model_config = ConfigDict(extra="forbid")

    k: int = Field(5, ge=1, le=50, description="passages retrieved per question")
    corpora: list[str] = Field(default_factory=list, description="local corpora built with `ttd index`")
    search: list[str] = Field(default_factory=list, description="web search providers")
    wiki: bool | None = Field(None, description="offline Wikipedia; default: on when nothing else is named")
    dense: bool = True
    cache: bool = True
    allow_hosts: list[str] = Field(default_factory=list)
    passage_chars: int = Field(700, ge=100, description="characters of each passage shown to the model")
    anchor: bool = Field(
        True, description="fuse each step's search results with the research question's (RRF)"
    )


Component = Literal["plan", "question", "answer", "report"]
COMPONENTS: tuple[Component, ...] = ("plan", "question", "answer", "report")


class EvolutionConfig(BaseModel):
    """Component-wise self-evolution (paper section 2.2): n variants, s judge-guided revisions, one merge.

    n = 1 and s = 0 for a component means it is generated once, as in the plain loop.
    """

    model_config = ConfigDict(extra="forbid")

    n: dict[str, int] = Field(default_factory=lambda: dict.fromkeys(COMPONENTS, 1))
    s: dict[str, int] = Field(default_factory=lambda: dict.fromkeys(COMPONENTS, 0))
    temperatures: list[float] = Field(
        default_factory=lambda: [0.4, 0.8, 1.0, 0.6, 0.9], description="per-variant temperature, cycled"
    )
    top_k: list[int] = Field(
        default_factory=lambda: [40, 20, 80, 60, 30], description="per-variant top_k, cycled"
    )

    @model_validator(mode="after")
    def _known_components(self) -> EvolutionConfig:
        for name, table in (("n", self.n), ("s", self.s)):
            unknown = set(table) - set(COMPONENTS)
            if unknown:
                raise ValueError(
                    f"evolution.{name} has unknown components {sorted(unknown)}; use {COMPONENTS}"
                )
            if any(v < (1 if name == "n" else 0) for v in table.values()):
                raise ValueError(f"evolution.{name} values must be at least {1 if name == 'n' else 0}")
        self.n = {c: int(self.n.get(c, 1)) for c in COMPONENTS}
        self.s = {c: int(self.s.get(c, 0)) for c in COMPONENTS}
        return self

    def active(self, component: str) -> bool:
        return self.n.get(component, 1) > 1 or self.s.get(component, 0) > 0


class VerifyConfig(BaseModel):
    """Claim-level noise: how claims are checked, when noise ends the loop, what the report keeps.

    `mode`: "llm" (lexical first pass, then batched model checks of the unclear claims), "lexical" or "embed"
    (no model call), or "off". `unverified`: "list" puts report claims no source supports under a "Not
    verified" heading; "drop" removes them. `between_hops`: a short answer's draft with a hop still to go
    is half an answer; its check mostly feeds the next question, so by default it costs no model call.
    """

    model_config = ConfigDict(extra="forbid")

    mode: Literal["off", "lexical", "embed", "llm"] = "llm"
    noise_threshold: float = Field(0.2, ge=0, le=1, description="stop when a draft's noise is at most this")
    patience: int = Field(2, ge=1, description="stop when noise has not fallen for this many steps")
    keep_best: bool = Field(
        True, description="reject a revision noisier than the draft it revised (R_t stays R_{t-1})"
    )
    ground: bool = Field(
        True,
        description="after each revision of a report question: the step's cited facts it left out go in, "
        "claims a source contradicts go, and unsupported ones go where their section now holds a supported "
        "claim or that stood unsupported word for word in R_{t-1} (ttd/ground.py)",
    )
    subject: bool = Field(
        True,
        description="a report question's grafts and report facts come only from passages that name its "
        "subject (its quoted or capitalised names, ttd/subject.py); off, any passage sharing its words",
    )
    unverified: Literal["list", "drop"] = "list"
    rewrite_below: float = Field(
        0.8,
        ge=0,
        le=1,
        description="a report question's written report with a smaller share of supported claims is asked "
        "for once more, shown its unsupported claims; the better supported of the two is kept (0: never)",
    )
    between_hops: Literal["lexical", "llm"] = Field(
        "lexical",
        description="how a short answer's drafts before its last hop are checked (lexical: no model call)",
    )
    relevance: Literal["off", "llm", "embed", "auto"] = Field(
        "auto",
        description="a report question's cited facts are checked against the question and those about "
        "another subject left out (ttd/relevance.py): llm, by the verifier's model; embed, by sentence "
        "embeddings, no model call; auto: llm with a hosted verifier, embed with an embedded one (the "
        "embedded 1.5B's labels dropped more on-topic facts than off-topic ones in real runs)",
    )
    batch: int = Field(10, ge=1, description="claims per verifier call")
    support: float = Field(0.75, gt=0, le=1, description="word overlap accepted as support without a call")
    floor: float = Field(0.3, ge=0, le=1, description="word overlap below which a claim is not checked")


class BudgetConfig(BaseModel):
    """Caps on spending. When one is reached, evolution and denoising stop and the report is written."""

    model_config = ConfigDict(extra="forbid")

    max_calls: int | None = Field(None, ge=1)
    max_tokens: int | None = Field(None, ge=1)
    max_usd: float | None = Field(None, gt=0)


class ResearchConfig(BaseModel):
    """Everything that shapes a run. Field names are the keys of preset files and API keyword arguments."""

    model_config = ConfigDict(extra="forbid")

    agent: str = "default"
    description: str = ""
    models: Models = Field(default_factory=Models)
    steps: StrictInt = Field(4, ge=0, le=100, description="denoising steps N (paper: 20)")
    min_steps: StrictInt = Field(
        1, ge=0, description="steps before the question agent may declare the plan covered"
    )
    hops: StrictInt = Field(
        2, ge=1, le=100, description="most steps for a short-answer question (one per plan hop, within steps)"
    )
    short_report: Literal["draft", "write", "evidence", "reason"] = Field(
        "write",
        description='a denoised short answer\'s report: "draft" = R_T grounded as it is (no call), '
        '"write" = the report model rewrites it from the notes and the passages they cite, "evidence" = '
        'it answers from the run\'s passages alone, "reason" = it is read hop by hop, a sentence per '
        "call, from the question's own passages, then the run's nearest each sentence (ttd/reader.py)",
    )
    few_facts: int = Field(
        5,
        ge=0,
        le=100,
        description="a report question with fewer cited facts than this gets them set out under their "
        "topics without a writer call (given 2-4 facts a 1.5B filled its room with its own claims)",
    )
    early_exit: bool = Field(
        True, description="stop before N steps when the plan is covered or questions repeat"
    )
    denoise: bool = Field(
        True, description="draft R0 and revise it each step; false = the paper's backbone agent"
    )
    dedup_threshold: float = Field(0.8, gt=0, le=1, description="question similarity that counts as a repeat")
    temperature: float = Field(0.4, ge=0, le=2)
    seed: StrictInt | None = Field(
        None, description="sampling seed for every call that sets none (repeatable runs where supported)"
    )
    max_tokens: dict[str, StrictInt] = Field(
        default_factory=lambda: dict(DEFAULT_MAX_TOKENS),
        description="per role; a table that names some roles keeps the defaults of the others",
    )
    api_base: str | None = None
    concurrency: StrictInt = Field(4, ge=1, description="model calls in flight at once")
    timeout: float = Field(
        300, gt=0, le=3600, description="seconds per model call (retries multiply it: keep it modest)"
    )
    retries: StrictInt = Field(
        3, ge=0, le=10, description="retries of transient failures (429, 5xx, timeouts)"
    )
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig)
    evolution: EvolutionConfig = Field(default_factory=EvolutionConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    verify: VerifyConfig = Field(default_factory=VerifyConfig)

    def roles_in_use(self) -> tuple[Role, ...]:
        """The roles a run with these settings calls: the judge only for self-evolution, the verifier only
        in `llm` mode. Checks before a run cover these, so an unused role's model never blocks a run."""
        unused = set()
        if not any(self.evolution.active(c) for c in COMPONENTS):
            unused.add("judge")
        if self.verify.mode != "llm":
            unused.add("verify")
        return tuple(r for r in ROLES if r not in unused)

    @model_validator(mode="after")
    def _known_roles(self) -> ResearchConfig:
        unknown = set(self.max_tokens) - set(ROLES)
        if unknown:
            raise ValueError(f"max_tokens has unknown roles {sorted(unknown)}; roles are {', '.join(ROLES)}")
        bad = {r: v for r, v in self.max_tokens.items() if not 1 <= v <= 100_000}
        if bad:
            raise ValueError(f"max_tokens values must be 1..100000, got {bad}")
        self.max_tokens = {**DEFAULT_MAX_TOKENS, **self.max_tokens}
        return self


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        elif value is not None:
            out[key] = value
    return out


def _expand_models(data: dict[str, Any]) -> dict[str, Any]:
    """`models.default` (or a top-level `model`) fills every role not named explicitly."""
    data = dict(data)
    for key in ("models", "max_tokens", "retrieval", "evolution", "budget"):
        if key in data and not isinstance(data[key], dict):
            raise ConfigError(f"'{key}' must be a table such as [{key}], not {type(data[key]).__name__}")
    models = dict(data.get("models") or {})
    default = data.pop("model", None)
    if default is None:
        default = models.pop("default", None)
    for role, name in [("model", default), *models.items()]:
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ConfigError(
                f"the model for '{role}' is {name!r}: name one as PROVIDER/MODEL, e.g. openai/gpt-4.1-mini"
            )
    if default:
        models = {**{r: default for r in ROLES}, **models}
    if models:
        data["models"] = models
    return data


def read_toml(path: Path, what: str) -> dict[str, Any]:
    path = validate.regular_file(path, what)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} does not exist: check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{what} {path} cannot be read ({exc.__class__.__name__}): check its permissions"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{what} {path} is not valid TOML ({exc}): fix the file") from None


def load_preset(name: str) -> dict[str, Any]:
    path = validate.contained(agents_dir(), f"{name}.toml", "agent preset")
    if not path.is_file():
        raise ConfigError(f"unknown agent preset '{name}': choose one of {', '.join(preset_names())}")
    return _expand_models(read_toml(path, "preset"))


def _from_env(env: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if env.get("TTD_MODEL"):
        data["model"] = env["TTD_MODEL"]
    roles = {r: env[f"TTD_{r.upper()}_MODEL"] for r in ROLES if env.get(f"TTD_{r.upper()}_MODEL")}
    if roles:
        data["models"] = roles
    if env.get("TTD_STEPS"):
        try:
            data["steps"] = int(env["TTD_STEPS"])
        except ValueError:
            raise ConfigError(
                f"TTD_STEPS={env['TTD_STEPS']!r} is not a whole number: fix or unset it"
            ) from None
    if env.get("TTD_API_BASE"):
        data["api_base"] = env["TTD_API_BASE"]
    return _expand_models(data)


def resolve_config(
    agent: str | None = None,
    config_file: str | Path | None = None,
    env: dict[str, str] | None = None,
    **overrides: Any,
) -> ResearchConfig:
    """Build the run's config from preset, file, environment and explicit overrides (in that order).

    Overrides take config field names, plus `model` (all roles) and `<role>_model` (one role).
    """
    env = dict(os.environ) if env is None else env
    agent = agent or env.get("TTD_AGENT") or "default"
    data = load_preset(agent)
    data["agent"] = agent
    if config_file:
        data = _merge(data, _expand_models(read_toml(Path(config_file), "config file")))
    data = _merge(data, _from_env(env))
    explicit: dict[str, Any] = {"models": {}}
    for key, value in overrides.items():
        if value is None:
            continue
        if key.endswith("_model") and key[: -len("_model")] in ROLES:
            explicit["models"][key[: -len("_model")]] = value
        elif key in RetrievalConfig.model_fields:
            explicit.setdefault("retrieval", {})[key] = value
        else:
            explicit[key] = value
    data = _merge(data, _expand_models(explicit))
    try:
        return ResearchConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "config"
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"invalid setting {where}: {msg} (preset '{agent}')") from None
