"""abcrnn: compose folk tunes in ABC notation with character-level recurrent networks."""
__version__ = "0.1.0"
