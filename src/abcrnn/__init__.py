"""abcrnn: compose folk tunes in ABC notation with character-level recurrent networks.

    import abcrnn
    tunes = abcrnn.load_model().generate(num_tunes=2, seed=7)
    print(tunes[0].abc)

The public names (``load_model``, ``Model``, ``Tune``, ``load_corpus``, ``train``,
``evaluate``, ``render``) live in abcrnn.api and are loaded on first use, so
``import abcrnn`` costs nothing (no torch).
"""
__version__ = "0.2.0"
__all__ = ["Model", "Tune", "evaluate", "load_corpus", "load_model", "render", "train"]


def __getattr__(name: str):
    if name in __all__:
        from abcrnn import api
        return getattr(api, name)
    raise AttributeError(f"module 'abcrnn' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
