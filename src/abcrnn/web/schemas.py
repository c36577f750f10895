"""Request and response bodies of the JSON API, with their limits.

The limits keep one request's cost bounded on a small CPU machine: a generation
is at most NUM_TUNES_MAX x MAX_LEN_MAX characters (and GENERATE_SECONDS of
work, enforced in service.py); a render takes one tune of at most ABC_MAX chars.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_LEN_MAX = 4000          # characters per generated tune
MAX_LEN_DEFAULT = 2000      # a long reel with repeats is about 600-1200 characters
NUM_TUNES_MAX = 4
PRIME_MAX = 1000
ABC_MAX = 20_000            # characters of ABC sent to be rendered
SEED_MAX = 2**32 - 1        # what a browser's Math.random can pick exactly
FIELD_PATTERN = r"^[^\r\n]*$"   # a header value is one line


class GenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
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
    meter: str | None = Field(None, max_length=12, pattern=FIELD_PATTERN, examples=["6/8"],
                              description="M: field; omit to let the model choose")
    key: str | None = Field(None, max_length=12, pattern=FIELD_PATTERN, examples=["Ador"],
                            description="K: field; omit to let the model choose")
    length: str | None = Field(None, max_length=8, pattern=FIELD_PATTERN, examples=["1/8"],
                               description="L: unit note length; omit to let the model choose")
    rhythm: str | None = Field(None, max_length=20, pattern=FIELD_PATTERN, examples=["jig"],
                               description="R: the dance (jig, reel, polka...); M: follows it")
    title: str | None = Field(None, max_length=60, pattern=FIELD_PATTERN, examples=["The Kesh"],
                              description="T: the title; omit to let the model name the tune")
    form: str = Field("folk", max_length=12, pattern=r"^(folk|free|[A-Z]{1,12})$", examples=["AABB"],
                      description="folk (parts of 4, 8 or 16 bars, home on the tonic), free (the "
                                  "model's own structure), or the parts and repeats, e.g. AABB")
    guide: bool = Field(True, description="structure-guided decoding: header masks, bars that add up, "
                                          "lines abc2midi plays (see abcrnn.guide)")
    prime: str = Field("", max_length=PRIME_MAX,
                       description="ABC the tune starts with: its opening music, after the header "
                                   "the settings ask for, or a whole header of its own if it starts with X:")


class Tune(BaseModel):
    abc: str = Field(description="clean ABC of one tune, starting with X:")
    ended: bool = Field(description="the model ended the tune itself (not cut at max_len)")


class GenerateResponse(BaseModel):
    tunes: list[Tune]
    seed: int
    prime: str = Field(description="the text the model was started from")
    seconds: float


class RenderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    abc: str = Field(min_length=1, max_length=ABC_MAX, description="one tune in ABC notation")


class AudioRequest(RenderRequest):
    format: Literal["mp3", "wav"] = "mp3"


class Choice(BaseModel):
    value: str
    available: bool = Field(description="every character of it is in the model's vocabulary")


class Options(BaseModel):
    meters: list[Choice]
    keys: list[Choice]
    lengths: list[Choice]
    rhythms: list[Choice]
    forms: list[str]
    limits: dict[str, int]
    instrument: str | None = Field(description="instrument of the local note samples, if made")
    program: int | None = Field(description="its General MIDI program number (0-based)")


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
