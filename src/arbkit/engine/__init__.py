"""The engine: matching, detection, sizing, fees and opportunities. Pure computation, no I/O."""
