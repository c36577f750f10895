"""abcrnn's Python API: load a model and generate tunes; read a corpus, train,
evaluate and render. The command line and the web composer call these same
functions, so all three share one path and one set of defaults.

    import abcrnn
    model = abcrnn.load_model()                       # the shipped model
    tunes = model.generate(num_tunes=4, seed=7)       # guided, T = 1.0, as `abcrnn generate`
    print(tunes[0].abc)
    abcrnn.render(tunes, "out/four", formats=("mid", "svg"))

``import abcrnn`` itself loads nothing (no torch); each name imports its work
when it is first called.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

# the defaults of `abcrnn generate` (cli/core.py reads them from here)
TEMPERATURE = 1.0
MAX_LEN = 3000
SEED_MAX = 2**63 - 1


@dataclass(frozen=True)
class Tune:
    """One generated tune and how it was made."""
    abc: str                 # clean ABC, starting with X:
    ended: bool              # the model wrote <end> itself (False: max_len cut it off)
    seed: int                # the seed that makes this tune alone (the generation's seed + index)
    index: int               # its place in its generation (0-based)
    temperature: float
    top_k: int
    top_p: float
    guide: bool
    prime: str               # the text the model was started from (after <start>)
    notes: tuple[str, ...] = ()   # settings the opening's own fields overrode, in words

    @property
    def title(self) -> str:
        return next((ln[2:].strip() for ln in self.abc.split("\n") if ln.startswith("T:")), "")

    def __str__(self) -> str:
        return self.abc


class Model:
    """A trained CharRNN with its vocabulary and training facts (model.json)."""

    def __init__(self, path: str | Path | None = None, device: str = "cpu"):
        from abcrnn.model.checkpoint import load_checkpoint
        from abcrnn.model.device import pick_device
        from abcrnn.resources import shipped_model
        self.path = Path(path) if path is not None else shipped_model()
        self.device = pick_device(device)
        self.net, self.vocab, self.meta = load_checkpoint(self.path, device=self.device)

    @property
    def name(self) -> str:
        """The model folder's name (``model`` for the shipped one)."""
        return (self.path if self.path.is_dir() else self.path.parent).name

    @property
    def config(self):
        return self.net.config

    def generate(self, num_tunes: int = 1, temperature: float = TEMPERATURE, seed: int | None = None,
                 prime: str | None = None, *, top_k: int = 0, top_p: float = 1.0,
                 max_len: int = MAX_LEN, guide: bool = True, rhythm: str | None = None,
                 key: str | None = None, meter: str | None = None, unit: str | None = None,
                 title: str | None = None, form: str | None = None, structure: str = "folk",
                 headers: str = "folk", restate: float | None = None, opening: str | None = None,
                 cache: bool = False, deadline: float | None = None, progress=None) -> list[Tune]:
        """Sample ``num_tunes`` tunes in one batch.

        ``seed`` None draws a fresh one; tune i is the tune ``seed + i`` gives alone, and
        records that seed. ``prime`` is ABC the tunes start with (a real newline, not
        ``\\n``). ``guide`` keeps them well-formed, playable ABC in folk form
        (sampling/guide.py, sampling/form.py); False samples plainly as the study did
        (and ignores the settings below); temperature 0 is greedy.

        Ask as a musician would: ``rhythm`` ("jig"), ``key`` ("D", "Ador"), ``meter``
        ("6/8"), ``unit`` ("1/8"), ``title``, ``form`` ("AABB": the parts and their
        repeats; "folk" or "free" set ``structure``); what is not given comes from the
        model, consistent with what is (with ``guide`` False they are written as the
        header, which plain sampling cannot steer). ``structure="free"`` drops the folk form (parts of 4/8/16 bars, tonic ending...),
        ``headers="all"`` lets the header claim sources (Z:, D:, H:...) as the corpus's
        do; ``restate`` is the share of bars that restate an earlier bar (default: the
        training corpus's share). ``opening`` is music the body starts with, after the
        header the model writes under those settings; header lines it starts with (``X:``,
        ``T:``, ``M:6/8``...) are merged with the settings (merge: the opening's fields win,
        each Tune's ``notes`` say what gave way). ``cache`` mixes in the neural cache
        fitted on the validation tunes at training (model.json's "cache"). ``deadline``
        (time.monotonic()) stops a generation that runs past it (GenerationTimeout);
        ``progress(finished, num_tunes)`` is called every few steps and at the end."""
        from abcrnn.notation.tunes import START, format_tunebook, strip_markers
        from abcrnn.sampling.form import STRUCTURES, FormRules
        from abcrnn.sampling.sample import check_params, full_prime, sample
        check_params(temperature, top_k, top_p, max_len, num_tunes)
        seed = secrets.randbelow(2**32) if seed is None else _check_seed(seed)
        if form in STRUCTURES:                       # form="free" / "folk" says the structure
            structure, form = form, None
        prime, merged = self.merge(prime, opening, title=title, rhythm=rhythm, meter=meter,
                                   unit=unit, key=key)
        rules = FormRules(structure=structure, headers=headers, form=form, restate=restate,
                          opening=merged.music, profile=self.profile, **merged.settings())
        asked = [v for v in (merged.music, *merged.settings().values()) if v]
        missing = self.vocab.missing((prime or "") + "".join(asked))
        if missing:
            raise ValueError(f"characters not in the model's vocabulary: {' '.join(map(repr, missing))}")
        if not guide and asked:        # plain sampling cannot steer a header: the asked one is written
            prime = written_header(rules, prime) + (merged.music or "")
        start = full_prime(prime or START)
        samples = sample(self.net, self.vocab, start, num_tunes, max_len, temperature, top_k, top_p,
                         seed, self.device, guide=guide, deadline=deadline, form=rules,
                         cache=self.cache_config() if cache else None, progress=progress)
        body = start[len(START):].lstrip("\n")
        return [Tune(format_tunebook([strip_markers(s.text)], first_x=i + 1), s.ended, seed + i, i,
                     temperature, top_k, top_p, guide, body, merged.notes) for i, s in enumerate(samples)]

    @property
    def profile(self) -> dict:
        """What the model's training corpus is like (corpus/profile.py), or the default."""
        from abcrnn.corpus.profile import DEFAULT
        return self.meta.get("corpus_profile") or DEFAULT

    def merge(self, prime: str | None = None, opening: str | None = None, **asked):
        """(prime, sampling.header.Merged): how generate reads an opening and the settings
        asked (title, rhythm, meter, unit, key), the CLI and the web alike. A prime that is
        a header of its own (``X:``...) is read as the opening when settings are asked, so
        the two never both write a field; otherwise the prime is the model's to go on from."""
        from abcrnn.notation.tunes import START
        from abcrnn.sampling.header import merge_opening
        own = (prime or "")[len(START):].lstrip("\n") if (prime or "").startswith(START) else prime or ""
        if opening is None and own.lstrip().startswith("X:") and any(asked.values()):
            prime, opening = None, own.lstrip()
        return prime, merge_opening(opening, asked, self.profile, frozenset(self.vocab.stoi))

    def cache_config(self):
        """The neural cache fitted when the model was trained (model/cache.py)."""
        from abcrnn.model.cache import CacheConfig
        fitted = self.meta.get("cache")
        if not isinstance(fitted, dict) or not {"lam", "theta"} <= fitted.keys():
            raise ValueError(f"model {self.path} has no fitted cache (models trained before it was "
                             f"added; abcrnn train fits one at the end of a run)")
        return CacheConfig(float(fitted["lam"]), float(fitted["theta"]), int(fitted.get("gap", 8)))


def written_header(rules, prime: str | None) -> str:
    """For plain sampling with settings asked: the prime's own header, else X:1 and the
    fields asked (T, R, M, L, K; K:C when no key is asked, as ABC assumes), then the
    prime as the body's start."""
    if prime and prime.lstrip().startswith("X:"):
        return prime.lstrip()
    fields = [("T", rules.title), ("R", rules.rhythm), ("M", rules.meter), ("L", rules.unit),
              ("K", rules.key or "C")]
    return "X:1\n" + "".join(f"{f}:{v.strip()}\n" for f, v in fields if v) + (prime or "")


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
        raise ValueError(f"seed must be a whole number from 0 to {SEED_MAX}, got {seed!r}")
    return seed


def load_model(path: str | Path | None = None, device: str = "cpu") -> Model:
    """A model folder made by ``abcrnn train`` (or its model.json); None: the shipped model.
    ``device``: ``cpu``, ``cuda`` or ``auto``."""
    return Model(path, device)


def load_corpus(path: str | Path | None = None):
    """Every tune of a file, a folder of .abc/.txt files or ``music21:NAME`` (None: the
    bundled corpus), as a corpus.read.Corpus (``.tunes``, ``.fragments``...)."""
    from abcrnn.corpus.read import load_corpus as read
    return read(path)


def train(config=None, *, resume: bool = False, overwrite: bool = False, progress: bool = True,
          given: set | None = None, **settings) -> Model:
    """Train a model (settings as ``abcrnn train``'s flags: ``train(out="out/run",
    minutes=5, hidden_size=512)``, or a training.config.TrainConfig) and return its best
    checkpoint. With ``resume`` the run in ``out`` goes on; only the settings given
    (``given``: their names, for a TrainConfig) change, and only those that may. A run
    already in ``out`` is refused unless ``resume`` or ``overwrite`` (which deletes it)."""
    from abcrnn.training.config import TrainConfig
    from abcrnn.training.loop import train as run
    if config is None:
        config, given = TrainConfig(**settings), set(settings)
    elif settings:
        raise TypeError("give either a TrainConfig or settings, not both")
    run(config, resume=resume, progress=progress, given=given, overwrite=overwrite)
    return Model(config.out)


def evaluate(tunes, corpus=None, workers: int = 2):
    """Score tunes (Tune objects or ABC texts) against a corpus (None: the bundled one):
    a music.evaluate.Report with per-tune rows and the aggregate."""
    from abcrnn.music.evaluate import evaluate_tunes
    texts = [t.abc if isinstance(t, Tune) else str(t) for t in tunes]
    ended = [t.ended for t in tunes] if all(isinstance(t, Tune) for t in tunes) else None
    reference = corpus if isinstance(corpus, list) else load_corpus(corpus).tunes
    return evaluate_tunes(texts, reference, ended, workers=workers)


def render(tunes, out_dir: str | Path, formats=None, tunebook: bool = False, title: str = "abcrnn tunebook"):
    """Render tunes (Tune objects, ABC texts, or one ABC text of several tunes) into
    ``out_dir``: MIDI, WAV, MP3, SVG, PDF, PNG (``formats``, default all), or with
    ``tunebook`` an index.html with every tune's score, audio and ABC."""
    from abcrnn.music.render import FORMATS, render_file
    from abcrnn.music.tunebook import write_tunebook
    from abcrnn.notation.tunes import split_abc
    if isinstance(tunes, str):
        texts = split_abc(tunes)
    else:
        texts = [t.abc if isinstance(t, Tune) else str(t) for t in tunes]
    if tunebook:
        return write_tunebook(texts, out_dir, title=title)
    return render_file("\n\n".join(texts), out_dir, formats or FORMATS)
