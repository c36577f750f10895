"""Request and response bodies of the JSON API, with their limits.

The limits keep one request's cost bounded on a small CPU machine: a generation
is at most NUM_TUNES_MAX x MAX_LEN_MAX characters (and GENERATE_SECONDS of
work, enforced in service.py); a render takes one tune of at most ABC_MAX chars.
"""
from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

MAX_LEN_MAX = 4000          # characters per generated tune
MAX_LEN_DEFAULT = 2000      # a long reel with repeats is about 600-1200 characters
NUM_TUNES_MAX = 4
PRIME_MAX = 1000
ABC_MAX = 20_000            # characters of ABC sent to be rendered
SEED_MAX = 2**32 - 1        # what a browser's Math.random can pick exactly
PROGRAM_MAX = 127           # General MIDI programs are 0-127
TEMPO_MIN, TEMPO_MAX = 24, 240   # beats per minute (folkrnn.org offers 24-204)
TEMPO_DEFAULT = 120              # the page's until one is chosen: a lively jig, an easy reel
MODEL_NAME_MAX = 100


def _header(what: str, pattern: str, examples: str, max_length: int):
    """A header field's value: one that ABC reads as that field (``pattern``), so never a
    '<' or '>' (the corpus's <start>/<end> markers), '%' (a comment) or a line break.
    The message names what was wanted, not the regular expression."""
    rx = re.compile(pattern)

    def check(value: str) -> str:
        if not rx.fullmatch(value):
            raise PydanticCustomError("header_value", f"'{{value}}' is not {what} (examples: {examples})",
                                      {"value": value[:max_length]})
        return value
    return Annotated[str, Field(max_length=max_length, json_schema_extra={"pattern": pattern}),
                     AfterValidator(check)]


Meter = _header("a meter", r"[1-9][0-9]?/[1-9][0-9]?|C\|?", "6/8, 2/4, 4/4, C, C|", 12)
Unit = _header("a unit note length", r"1/(1|2|4|8|16|32|64)", "1/8, 1/16, 1/4", 8)
Key = _header("a key", r"[A-G][#b]?((?i:m|min|minor|maj|major|ion|mix|dor|phr|lyd|loc|aeo|"
                       r"mixolydian|dorian))?", "D, Em, Ador, Bb, F#m, Gmix", 12)
Rhythm = _header("a rhythm", r"[A-Za-z][A-Za-z '\-]*", "jig, reel, slip jig", 20)
Title = _header("a title", r"[^<>%\x00-\x1f\x7f]*[^<>%\s\x00-\x1f\x7f][^<>%\x00-\x1f\x7f]*",
                "The Kesh, Drowsy Maggie", 60)
ModelName = Annotated[str, Field(min_length=1, max_length=MODEL_NAME_MAX, pattern=r"^[^<>/\\]+$")]


class GenerateRequest(BaseModel):
    # strict: true is not a temperature and "50" is not a length (no coercion)
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"temperature": 0.9, "seed": 42, "meter": "6/8", "key": "D", "length": "1/8",
         "prime": "|:A", "num_tunes": 1, "max_len": 1500}]})

    temperature: float = Field(1.0, ge=0, le=3, allow_inf_nan=False,
                               description="0 = always the likeliest character; higher = bolder")
    seed: int | None = Field(None, ge=0, le=SEED_MAX,
                             description="same seed + settings = same tune; omit for a random one")
    top_k: int = Field(0, ge=0, le=256, description="keep only the k likeliest characters (0 = off)")
    top_p: float = Field(1.0, gt=0, le=1, allow_inf_nan=False, description="nucleus sampling")
    num_tunes: int = Field(1, ge=1, le=NUM_TUNES_MAX)
    max_len: int = Field(MAX_LEN_DEFAULT, ge=1, le=MAX_LEN_MAX,
                         description=f"characters per tune (at most {MAX_LEN_MAX})")
    meter: Meter | None = Field(None, description="M: field; omit to let the model choose")
    key: Key | None = Field(None, description="K: field; omit to let the model choose")
    length: Unit | None = Field(None, description="L: unit note length; omit to let the model choose")
    rhythm: Rhythm | None = Field(None, description="R: the dance (jig, reel, polka...); M: follows it")
    title: Title | None = Field(None, description="T: the title; omit to let the model name the tune")
    form: str = Field("folk", max_length=12, pattern=r"^(folk|free|[A-Z]{1,12})$", examples=["AABB"],
                      description="folk (parts of 4, 8 or 16 bars, home on the tonic), free (the "
                                  "model's own structure), or the parts and repeats, e.g. AABB")
    guide: bool = Field(True, description="structure-guided decoding: header masks, bars that add up, "
                                          "lines abc2midi plays (see abcrnn.guide)")
    prime: str = Field("", max_length=PRIME_MAX,
                       description="ABC the tune starts with: header lines (T:, M:, K:...) and "
                                   "opening music; its header lines win over the settings, each "
                                   "setting that gives way is reported in notes")
    model: ModelName | None = Field(None, description="a name from GET /api/models; omit for the default")


class Tune(BaseModel):
    abc: str = Field(description="clean ABC of one tune, starting with X:1")
    ended: bool = Field(description="the model ended the tune itself (not cut at max_len)")
    seed: int = Field(description="this tune's own seed: num_tunes 1 with it (and the same settings) "
                                  "gives this tune again, character for character")


class GenerateResponse(BaseModel):
    tunes: list[Tune]
    seed: int = Field(description="the batch's seed: the first tune's")
    prime: str = Field(description="the text the model was started from")
    seconds: float
    model: str = Field(description="the name of the model that made the tunes")
    notes: list[str] = Field(description="how the opening and the settings were merged, in words "
                                         "(a conflict, a field the opening's value won)")


class RenderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    abc: str = Field(min_length=1, max_length=ABC_MAX, description="one tune in ABC notation")


class PlayRequest(RenderRequest):
    program: int | None = Field(None, ge=0, le=PROGRAM_MAX,
                                description="General MIDI program (0-127) written as %%MIDI program; "
                                            "omit for the tune's own, else the default instrument's")
    tempo: int | None = Field(None, ge=TEMPO_MIN, le=TEMPO_MAX,
                              description="beats per minute, written as Q: in place of the tune's own "
                                          "(the beat: 3/8 in 6/8, 9/8, 12/8; 1/2 in 2/2 and C|; "
                                          "else 1/4); omit to keep the tune's")


class AudioRequest(PlayRequest):
    format: Literal["mp3", "wav"] = "mp3"


class CheckRequest(RenderRequest):
    pass


class CheckWarning(BaseModel):
    line: int = Field(description="1-based line of the text sent")
    bar: int = Field(description="1-based bar of the tune (0: not about one bar)")
    message: str


class CheckResponse(BaseModel):
    warnings: list[CheckWarning]


class Choice(BaseModel):
    value: str
    available: bool = Field(description="every character of it is in the model's vocabulary")


class Instrument(BaseModel):
    name: str = Field(description="what a musician calls it: fiddle, flute...")
    program: int = Field(description="General MIDI program (0-based)")
    gm_name: str = Field(description="abcjs's name, the folder its samples are served from: "
                                     "/soundfont/<gm_name>-mp3/<note>.mp3")
    samples: bool = Field(description="its note samples are rendered (else the default's play)")


class Corpus(BaseModel):
    name: str | None = Field(description="the training corpus's file or folder name, if recorded")
    tunes: int | None = Field(description="tunes in its training + validation split, if recorded")


class ModelInfo(BaseModel):
    name: str = Field(description="the value for GenerateRequest.model")
    steps: int
    parameters: int
    best_val_loss: float | None
    cell: str | None = Field(description="lstm, gru...")
    hidden_size: int | None
    num_layers: int | None
    corpus: Corpus
    default: bool
    loaded: bool = Field(description="in memory now (others load on first use)")


class Options(BaseModel):
    meters: list[Choice]
    keys: list[Choice]
    lengths: list[Choice]
    rhythms: list[Choice]
    forms: list[str]
    limits: dict[str, int]
    instrument: str | None = Field(description="the default instrument's abcjs name, if its "
                                               "note samples are made (kept for old pages)")
    program: int | None = Field(description="its General MIDI program number (0-based)")
    instruments: list[Instrument] = Field(description="the instruments the page offers, the default first")
    tempo: dict[str, int] = Field(description="min, max and default beats per minute (the beat: "
                                              "see PlayRequest.tempo)")


class Health(BaseModel):
    status: Literal["ok"]
    model: str
    steps: int
    parameters: int
    vocab_size: int
    best_val_loss: float | None
    sheet_music: bool = Field(description="abcjs is installed (npm ci)")
    sound: bool = Field(description="note samples are rendered (python -m abcrnn.web.soundfont)")


class Error(BaseModel):
    error: str = Field(description="what went wrong, for people")
    detail: object = None
